#!/usr/bin/env python3
"""Queries spent finding a Server capacity: loadgen.search vs FindPeakPerformance.

    python bench/search_vs_findpeak.py [--official-python /work/main/build/oracle-venv/bin/python]

The SUT has a known capacity: WORKERS servers of SERVICE_MS each (loadgen's native
ServiceTimeSut; for the official wheel, the same queue computed in Python, since the official
module cannot drive our native SUT). The objective is the Server one: the p90 latency at most
BOUND_MS. Each method probes Poisson loads of PROBE_S seconds:

- ``search``: loadgen.search (bracket by doubling, bisection in log space, each probe ends
  when the evidence decides it, the answer confirmed by a full-length probe);
- ``search, no early decision``: the same, every probe run to its end;
- ``FindPeak (ours)`` / ``FindPeak (official)``: TestMode.FindPeakPerformance from START (a
  load that passes), doubling then bisecting to whole queries per second.

Every method is given the same bracket width to reach: the search's RESOLUTION is chosen so its
bracket is as narrow as FindPeak's final one (1 query/s at the answer), unless --resolution
sets it (FindPeak cannot stop coarser than whole queries per second). Reported: the answer,
the total queries issued (summed over every probe's series, from the detail logs), and the
wall time. Prints a markdown table (and JSON with --json).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# The official wheel's side: a Python SUT with the same computed queue, FindPeak, and the
# totals read from its detail log. Runs under --official-python.
OFFICIAL_SCRIPT = r"""
import heapq, json, re, sys, threading, time
import mlperf_loadgen as lg
workers, service_s, bound_ns, pct, probe_s, start, log_dir = (
    int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]),
    float(sys.argv[5]), float(sys.argv[6]), sys.argv[7])
free = [0.0] * workers
due = []
cv = threading.Condition()
order = [0]
def issue(samples):
    now = time.monotonic()
    with cv:
        for s in samples:
            st = max(now, heapq.heappop(free)); heapq.heappush(free, st + service_s)
            heapq.heappush(due, (st + service_s, order[0], s.id)); order[0] += 1
        cv.notify()
def loop():
    while True:
        with cv:
            while not due:
                cv.wait()
            now = time.monotonic()
            if due[0][0] > now:
                cv.wait(due[0][0] - now); continue
            ids = []
            while due and due[0][0] <= now:
                ids.append(heapq.heappop(due)[2])
        lg.QuerySamplesComplete([lg.QuerySampleResponse(i, 0, 0) for i in ids])
threading.Thread(target=loop, daemon=True).start()
sut = lg.ConstructSUT(issue, lambda: None)
qsl = lg.ConstructQSL(64, 64, lambda s: None, lambda s: None)
ts = lg.TestSettings()
ts.scenario = lg.TestScenario.Server
ts.mode = lg.TestMode.FindPeakPerformance
ts.server_target_qps = start
ts.server_target_latency_ns = bound_ns
ts.server_target_latency_percentile = pct
ts.min_duration_ms = int(probe_s * 1000)
ts.min_query_count = 1
ts.server_find_peak_qps_decimals_of_precision = 0
ls = lg.LogSettings(); ls.log_output.outdir = log_dir
t = time.perf_counter()
lg.StartTestWithLogSettings(sut, qsl, ts, ls)
print(json.dumps({"wall_s": time.perf_counter() - t}))
"""


def findpeak_totals(detail: Path) -> tuple[float | None, int, int]:
    """(the peak found, total generated queries, series) from a FindPeak detail log."""
    text = detail.read_text()
    queries = [int(m) for m in re.findall(r'"key": "generated_query_count", "value": (\d+)', text)]
    found = re.findall(r"Found peak performance field: ([0-9.]+)", text)
    return (float(found[-1]) if found else None, sum(queries), len(queries))


def run_ours(args: argparse.Namespace, out: Path) -> list[dict[str, Any]]:
    import loadgen
    from loadgen.search import LatencyObjective, search
    from loadgen.search_sut import ServiceTimeSut

    objective = LatencyObjective("latency", args.percentile, args.bound_ms / 1e3)
    qsl = loadgen.InMemoryQsl(total_sample_count=64, performance_sample_count=64)
    rows: list[dict[str, Any]] = []
    with ServiceTimeSut(args.workers, args.service_ms / 1e3) as sut:
        # FindPeak first: its answer sets the bracket width the search must reach.
        settings = loadgen.Settings(
            scenario=loadgen.Scenario.SERVER,
            mode=loadgen.Mode.FIND_PEAK,
            server_target_qps=args.start,
            server_target_latency_ns=objective.bound_ns,
            server_target_latency_percentile=args.percentile,
            min_duration_ms=int(args.probe_s * 1000),
            min_query_count=1,
            server_find_peak_qps_decimals_of_precision=0,
        )
        t = time.perf_counter()
        result = loadgen.run(sut, qsl, settings, log_dir=out / "findpeak-ours")
        wall = time.perf_counter() - t
        peak, total, series = findpeak_totals(result.detail_path)
        rows.append(
            dict(method="FindPeak (ours)", answer=peak, queries=total, probes=series, wall_s=wall)
        )
        resolution = args.resolution or 1.0 / (peak or 100.0)
        for early in (True, False):
            t = time.perf_counter()
            found = search(
                sut,
                qsl,
                [objective],
                start=args.start,
                probe_duration_s=args.probe_s,
                resolution=resolution,
                decide_early=early,
                log_dir=out / ("search" if early else "search-full"),
            )
            rows.append(
                dict(
                    method="search" if early else "search, no early decision",
                    answer=found.answer,
                    bracket=list(found.bracket),
                    queries=found.total_queries,
                    probes=len(found.probes),
                    decided_early=len(found.probes) - found.undecided_probes,
                    wall_s=time.perf_counter() - t,
                )
            )
    return rows


def run_official(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    log_dir = out / "findpeak-official"
    log_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [
            args.official_python,
            "-c",
            OFFICIAL_SCRIPT,
            str(args.workers),
            str(args.service_ms / 1e3),
            str(int(args.bound_ms * 1e6)),
            str(args.percentile),
            str(args.probe_s),
            str(args.start),
            str(log_dir),
        ],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if proc.returncode != 0:
        raise SystemExit(f"the official run failed:\n{proc.stderr[-2000:]}")
    wall = json.loads(proc.stdout.strip().splitlines()[-1])["wall_s"]
    peak, total, series = findpeak_totals(log_dir / "mlperf_log_detail.txt")
    return dict(
        method="FindPeak (official)", answer=peak, queries=total, probes=series, wall_s=wall
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--service-ms", type=float, default=10.0)
    p.add_argument("--bound-ms", type=float, default=30.0)
    p.add_argument("--percentile", type=float, default=0.9)
    p.add_argument("--probe-s", type=float, default=2.0)
    p.add_argument("--start", type=float, default=50.0, help="a load that passes")
    p.add_argument(
        "--resolution",
        type=float,
        help="the search's resolution (default: FindPeak's final bracket, 1 query/s)",
    )
    p.add_argument("--official-python", help="the official wheel's python (optional)")
    p.add_argument("--out", help="where the logs go (default: a temporary folder)")
    p.add_argument("--json", action="store_true", help="print the rows as JSON too")
    args = p.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="search-vs-findpeak-"))
    rows = run_ours(args, out)
    if args.official_python:
        rows.append(run_official(args, out))
    capacity = args.workers / (args.service_ms / 1e3)
    print(
        f"SUT: {args.workers} servers x {args.service_ms:g} ms (N/S = {capacity:g}/s); "
        f"objective p{args.percentile * 100:g} latency <= {args.bound_ms:g} ms; "
        f"probes of {args.probe_s:g} s; logs in {out}\n"
    )
    print("| method | answer (queries/s) | probes | total queries | wall s |")
    print("|---|---|---|---|---|")
    for r in rows:
        answer = f"{r['answer']:.1f}" if r["answer"] is not None else "none"
        if "bracket" in r:
            lo, hi = r["bracket"]
            answer += f" (bracket [{lo:.1f}, {hi:.1f}])" if lo and hi else ""
        probes = str(r["probes"])
        if "decided_early" in r:
            probes += f" ({r['decided_early']} decided early)"
        print(f"| {r['method']} | {answer} | {probes} | {r['queries']:,} | {r['wall_s']:.1f} |")
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
