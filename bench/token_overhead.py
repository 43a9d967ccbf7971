"""Who pays for token latencies: loadgen or the harness?

lgbench's `token_latency` harness completes each chunk twice (FirstTokenComplete, then
QuerySamplesComplete with n_tokens), so it builds twice the QuerySampleResponse objects of the
plain run. This runs, interleaved, in one process of the module under test:

* plain: QuerySamplesComplete per chunk of 1024 (no tokens);
* tokens: FirstTokenComplete + QuerySamplesComplete(n_tokens), use_token_latencies on;
* harness_only: the token harness's Python work (both response lists) with the plain run's
  loadgen calls (the first list is built and dropped);

so tokens - harness_only is what recording first tokens costs loadgen, and harness_only - plain
is what the harness's second list costs. Prints one JSON line (ns per sample, medians).

    python bench/token_overhead.py [--samples 200000] [--reps 7]        # any module with the
    OFFICIAL_VENV/bin/python bench/token_overhead.py                     # official API
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

import mlperf_loadgen as lg

CHUNK = 1024
MODES = ("plain", "tokens", "harness_only")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200_000)
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    response = lg.QuerySampleResponse
    mode = MODES[0]

    def issue(samples: list) -> None:  # type: ignore[type-arg]
        for start in range(0, len(samples), CHUNK):
            chunk = samples[start : start + CHUNK]
            if mode == "plain":
                lg.QuerySamplesComplete([response(s.id, 0, 0) for s in chunk])
            elif mode == "tokens":
                lg.FirstTokenComplete([response(s.id, 0, 0) for s in chunk])
                lg.QuerySamplesComplete([response(s.id, 0, 0, 8) for s in chunk])
            else:
                [response(s.id, 0, 0) for s in chunk]  # noqa: B018 (the harness's work only)
                lg.QuerySamplesComplete([response(s.id, 0, 0, 8) for s in chunk])

    sut = lg.ConstructSUT(issue, lambda: None)
    qsl = lg.ConstructQSL(1024, 1024, lambda indices: None, lambda indices: None)
    times: dict[str, list[float]] = {m: [] for m in MODES}
    for _ in range(args.reps):
        for mode in MODES:
            settings = lg.TestSettings()
            settings.scenario = lg.TestScenario.Offline
            settings.mode = lg.TestMode.PerformanceOnly
            settings.min_duration_ms = 0
            settings.min_query_count = args.samples
            settings.use_token_latencies = mode == "tokens"
            log_settings = lg.LogSettings()
            with tempfile.TemporaryDirectory() as log_dir:
                log_settings.log_output.outdir = log_dir
                started = time.perf_counter()
                lg.StartTestWithLogSettings(sut, qsl, settings, log_settings)
                times[mode].append(time.perf_counter() - started)
    ns = {m: statistics.median(v) / args.samples * 1e9 for m, v in times.items()}
    print(
        json.dumps(
            {
                "module": lg.__file__,
                "load_average": os.getloadavg(),
                "ns_per_sample": {m: round(v) for m, v in ns.items()},
                "token_run_over_plain_pct": round(100 * (ns["tokens"] / ns["plain"] - 1), 1),
                "loadgen_share_of_token_cost_pct": round(
                    100 * (ns["tokens"] / ns["harness_only"] - 1), 1
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
