"""Client CPU per request of the kserve-grpc SUT, the native gRPC client (gRPC C++) and the grpcio
fallback in the same run, next to the native HTTP client (kserve, binary tensors), against the
same tritonserver: an Offline run of N queries, the client process's CPU time (every thread:
loadgen, the client's threads, gRPC's own) divided by the requests. The server runs in its own
processes, so its CPU is not counted.

Usage: python bench/grpc_cost.py --http 127.0.0.1:P1 --grpc 127.0.0.1:P2 [--queries 3000]
[--rounds 2]
(a tritonserver on tests/servers/triton_model_repo, e.g. started by tests/servers/tritonserver.py)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from typing import Any

import loadgen
import numpy as np
from loadgen.net.datasets import Dataset, Sample
from loadgen.net.endpoint import Endpoint, EndpointSut, endpoint_qsl
from loadgen.net.grpc_aio_sut import GrpcioEndpointSut
from loadgen.net.grpc_endpoint import GrpcEndpoint, GrpcEndpointSut


def measure(sut: Any, dataset: Dataset, queries: int, qps: float) -> tuple[float, float, int]:
    settings = loadgen.Settings(
        scenario=loadgen.Scenario.OFFLINE,
        offline_expected_qps=qps,
        min_duration_ms=0,
        min_query_count=queries,
    )
    with tempfile.TemporaryDirectory() as logs:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        result = loadgen.run(sut, endpoint_qsl(dataset), settings, log_dir=logs)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    stats = sut.stats()
    assert stats["failed"] == 0, stats["last_failure"]
    return cpu, wall, result.samples_completed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--http", required=True)
    parser.add_argument("--grpc", required=True)
    parser.add_argument("--queries", type=int, default=3000)
    parser.add_argument("--tokens", type=int, default=16, help="responses per streamed request")
    parser.add_argument("--rounds", type=int, default=2, help="native and grpcio measured in turn")
    a = parser.parse_args()
    tensors = Dataset(
        [Sample(tensors={"INPUT0": np.full((1, 16), i, np.float32)}) for i in range(64)]
    )
    stream = Dataset(
        [
            Sample(
                tensors={
                    "text_input": np.array([b"x"], dtype=object),
                    "max_tokens": np.array([a.tokens], np.int32),
                }
            )
        ]
        * 16
    )
    rows = []
    with EndpointSut(
        Endpoint(
            f"http://{a.http}",
            api="kserve",
            model="identity",
            stream=False,
            binary_tensors=True,
            max_connections=16,
        ),
        tensors,
    ) as http:
        rows.append(
            ("kserve HTTP (native)", "request", *measure(http, tensors, a.queries, 5000), 1)
        )
    # The native client and grpcio, each once per round, alternating (the machine is shared).
    unary, streamed = (
        GrpcEndpoint(a.grpc, model="identity"),
        GrpcEndpoint(a.grpc, model="stream", stream=True),
    )
    n = max(a.queries // a.tokens, 50)
    for _ in range(a.rounds):
        for label, make in (("native", GrpcEndpointSut), ("grpcio", GrpcioEndpointSut)):
            with make(unary, tensors) as sut:
                rows.append(
                    (
                        f"kserve-grpc unary ({label})",
                        "request",
                        *measure(sut, tensors, a.queries, 5000),
                        1,
                    )
                )
            with make(streamed, stream) as sut:
                rows.append(
                    (
                        f"kserve-grpc stream ({label})",
                        "response",
                        *measure(sut, stream, n, 5000),
                        a.tokens,
                    )
                )
    print(
        f"{'client':30} {'queries':>8} {'wall s':>7} {'req/s':>8} {'CPU us/request':>15} {'CPU us/response':>16}"
    )
    for name, _, cpu, wall, done, per in rows:
        print(
            f"{name:30} {done:8d} {wall:7.2f} {done / wall:8.0f} {cpu / done * 1e6:15.1f} "
            f"{cpu / (done * per) * 1e6:16.1f}"
        )


if __name__ == "__main__":
    main()
