"""A long Server run with an inline Python null SUT: time to the first issue and peak memory.

The official LoadGen generates every query before issuing the first; loadgen streams long
Server plans. This runs one Server test through the drop-in module and prints one JSON line:
seconds from StartTest to the first IssueQuery, the peak RSS of the process, and the result.

    python bench/long_server_run.py --qps 100000 --duration-s 600      # the issue's case, 10 min
    python bench/long_server_run.py --qps 100000 --duration-s 600 --stop-after-s 5   # start-up only

`--stop-after-s` aborts the test (AbortTest) after that many seconds. The trace is off unless
`--trace` (at this rate it is ~265 B per sample: 16 GB for 600 s).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import threading
import time

import mlperf_loadgen as lg


def detail_values(path: str, keys: set[str]) -> dict[str, object]:
    values: dict[str, object] = {}
    with open(path) as detail:
        for line in detail:
            entry = json.loads(line.split(":::MLLOG ", 1)[1])
            if entry["key"] in keys:
                values[entry["key"]] = entry["value"]
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qps", type=float, default=100_000)
    parser.add_argument("--duration-s", type=float, default=600)
    parser.add_argument("--stop-after-s", type=float, default=0)
    parser.add_argument("--trace", action="store_true")
    args = parser.parse_args()

    first_issue: list[float] = []
    response = lg.QuerySampleResponse

    def issue(samples: list) -> None:  # type: ignore[type-arg]
        if not first_issue:
            first_issue.append(time.perf_counter())
        lg.QuerySamplesComplete([response(s.id, 0, 0) for s in samples])

    settings = lg.TestSettings()
    settings.scenario = lg.TestScenario.Server
    settings.mode = lg.TestMode.PerformanceOnly
    settings.server_target_qps = args.qps
    settings.min_duration_ms = int(args.duration_s * 1000)
    settings.min_query_count = 100
    sut = lg.ConstructSUT(issue, lambda: None)
    qsl = lg.ConstructQSL(1024, 1024, lambda indices: None, lambda indices: None)
    with tempfile.TemporaryDirectory() as log_dir:
        log_settings = lg.LogSettings()
        log_settings.log_output.outdir = log_dir
        log_settings.enable_trace = args.trace
        if args.stop_after_s > 0:
            import loadgen._core as core

            threading.Timer(args.stop_after_s, core.AbortTest).start()
        rss_before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        lg.StartTestWithLogSettings(sut, qsl, settings, log_settings)
        wall = time.perf_counter() - started
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        result = detail_values(
            os.path.join(log_dir, "mlperf_log_detail.txt"),
            {
                "generated_query_count",
                "result_validity",
                "result_completed_samples_per_sec",
                "result_99.00_percentile_latency_ns",
            },
        )
    queries = int(result.get("generated_query_count", 0) or 0)
    print(
        json.dumps(
            {
                "qps": args.qps,
                "duration_s": args.duration_s,
                "first_issue_after_s": round(first_issue[0] - started, 4) if first_issue else None,
                "start_test_wall_s": round(wall, 2),
                "peak_rss_mb": round(peak_kb / 1024),
                "peak_rss_delta_bytes_per_query": round(
                    (peak_kb - rss_before_kb) * 1024 / queries, 1
                )
                if queries
                else None,
                **result,
            }
        )
    )


if __name__ == "__main__":
    main()
