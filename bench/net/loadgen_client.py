"""loadgen's endpoint client, run by compare_clients.py as a separate process (so its CPU can be
read from /proc like a peer's): one test through the typed API with the native EndpointSut,
then the client's per-query records (monotonic-clock stamps) and stats as JSON."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile

import loadgen
from loadgen.net.datasets import synthetic_llm
from loadgen.net.endpoint import Endpoint, EndpointSut, endpoint_qsl


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("urls", nargs="+")
    ap.add_argument("--scenario", choices=("server", "offline"), default="server")
    ap.add_argument("--rate", type=float, default=100.0, help="Server: Poisson rate, req/s")
    ap.add_argument("--count", type=int, required=True, help="queries (min and max query count)")
    ap.add_argument("--max-duration-s", type=float, default=120.0)
    ap.add_argument("--stream", action="store_true")
    ap.add_argument("--output-tokens", type=int, default=1)
    ap.add_argument("--input-len", type=int, default=16)
    ap.add_argument("--max-connections", type=int, default=64)
    ap.add_argument("--out", required=True, help="records JSON")
    a = ap.parse_args()

    dataset = synthetic_llm(1024, input_len=a.input_len, output_len=a.output_tokens, form="prompt")
    endpoint = Endpoint(
        a.urls,
        api="openai",
        model="truth-model",
        stream=a.stream,
        ignore_eos=True,
        max_connections=a.max_connections,
    )
    scenario = loadgen.Scenario.SERVER if a.scenario == "server" else loadgen.Scenario.OFFLINE
    settings = loadgen.Settings(
        scenario=scenario,
        mode=loadgen.Mode.PERFORMANCE,
        server_target_qps=a.rate,
        offline_expected_qps=max(a.rate, 1.0),
        min_query_count=a.count,
        max_query_count=a.count,
        min_duration_ms=0,
        max_duration_ms=int(a.max_duration_s * 1000),
        server_target_latency_ns=10**10,
    )
    with EndpointSut(endpoint, dataset) as sut, tempfile.TemporaryDirectory() as logs:
        result = loadgen.run(sut, endpoint_qsl(dataset), settings, log_dir=logs, progress=False)
        out = {"records": sut.records(), "stats": sut.stats(), "valid": result.valid}
    with open(a.out, "w") as f:
        json.dump(out, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
