#!/usr/bin/env python3
"""The headline table of a compare_official.sh run: figure | official | ours | ratio | command.

    python3 bench/headline.py OUT_DIR            # reads OUT_DIR/official.jsonl and ours.jsonl

Each line of those files is one lgbench.py result with the field "suite" (added by
compare_official.sh) naming the suite in OUT_DIR/commands.tsv. Figures are medians over the
repetitions; ratio = ours / official, and each figure says whether higher or lower is better.
Standard library only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

Result = dict[str, Any]
# (figure, unit, higher_is_better, extract(result) -> value or None)
Figure = tuple[str, str, bool, Callable[[Result], Optional[float]]]


def median(value: Any) -> Optional[float]:
    if isinstance(value, dict):
        value = value.get("median")
    return float(value) if isinstance(value, (int, float)) else None


def row(result: Result, **keys: Any) -> Result:
    for r in result.get("results", []):
        if all(r.get(k) == v for k, v in keys.items()):
            return r
    return {}


def offline(sut: str, batch: int, field: str = "samples_per_s_wall") -> Callable[[Result], Any]:
    return lambda res: median(row(res, sut=sut, batch=batch).get(field))


def server_latency(target: float, pct: str) -> Callable[[Result], Any]:
    def get(res: Result) -> Optional[float]:
        r = row(res, target_qps=target)
        if not r.get("keeps_up"):
            return None  # a run that falls behind measures its backlog, not loadgen
        return median(r.get("null_sut_latency_ns", {}).get(pct))

    return get


def mt(threads: int, batch: int) -> Callable[[Result], Any]:
    return lambda res: median(row(res, threads=threads, batch=batch).get("samples_per_s_wall"))


def mt_gain(batch: int) -> Callable[[Result], Any]:
    def get(res: Result) -> Optional[float]:
        one, two = mt(1, batch)(res), mt(2, batch)(res)
        return two / one if one and two else None

    return get


def token_overhead(res: Result) -> Optional[float]:
    plain = median(row(res, tokens=False).get("samples_per_s_wall"))
    tokens = median(row(res, tokens=True).get("samples_per_s_wall"))
    return plain / tokens - 1 if plain and tokens else None


def memory(sut: str, n: int) -> Callable[[Result], Any]:
    return lambda res: median(row(res, sut=sut, n=n).get("peak_delta_bytes_per_sample"))


def log_bytes(variant: str, suffix: str) -> Callable[[Result], Any]:
    def get(res: Result) -> Optional[float]:
        for r in res.get("results", []):
            if r.get("variant") != variant:
                continue
            for name, sizes in r.get("log_bytes", {}).items():
                if name.endswith(suffix):
                    return float(sizes["bytes_per_sample"])
        return None

    return get


def marginal(res: Result) -> Optional[float]:
    return median(res.get("marginal", {}).get("ir_per_sample_total"))


FIGURES: dict[str, list[Figure]] = {
    "offline": [
        ("Offline, ConstructSUT, lists of 1024", "samples/s", True, offline("std", 1024)),
        ("Offline, ConstructSUT, lists of 64", "samples/s", True, offline("std", 64)),
        ("Offline, ConstructSUT, one response per call", "samples/s", True, offline("std", 1)),
        ("Offline, ConstructFastSUT, lists of 1024", "samples/s", True, offline("fast", 1024)),
        (
            "Offline, ConstructSUT, lists of 1024: CPU per sample",
            "µs",
            False,
            offline("std", 1024, "cpu_us_per_sample"),
        ),
        (
            "Offline, ConstructSUT, lists of 1024: StartTest to first IssueQuery",
            "s",
            False,
            offline("std", 1024, "pre_issue_s"),
        ),
    ],
    "instr_offline": [
        ("Offline, ConstructSUT, lists of 1024: instructions per sample", "instr", False, marginal)
    ],
    "instr_offline_fast": [
        (
            "Offline, ConstructFastSUT, lists of 1024: instructions per sample",
            "instr",
            False,
            marginal,
        )
    ],
    "instr_server": [("Server, inline SUT: instructions per query", "instr", False, marginal)],
    "instr_singlestream": [
        ("SingleStream, inline SUT: instructions per query", "instr", False, marginal)
    ],
    "fixed_cost": [
        ("Fixed cost: StartTest of 1 sample (wall)", "s", False, offline("std", 1, "wall_s"))
    ],
    "server": [
        (
            "Server, inline Python SUT: highest target QPS that keeps up",
            "QPS",
            True,
            lambda res: median(res.get("max_target_qps_keeping_up")),
        ),
        *[
            (
                f"Server null-SUT latency {pct} at {t // 1000}k QPS",
                "ns",
                False,
                server_latency(float(t), pct),
            )
            for t in (10000, 50000, 100000)
            for pct in ("p50", "p99")
        ],
    ],
    "singlestream": [
        (
            "SingleStream null-SUT latency p50",
            "ns",
            False,
            lambda res: median(row(res).get("latency_ns", {}).get("p50")),
        ),
        (
            "SingleStream null-SUT latency p99",
            "ns",
            False,
            lambda res: median(row(res).get("latency_ns", {}).get("p99")),
        ),
        (
            "SingleStream queries/s (LoadGen-reported, with overhead)",
            "QPS",
            True,
            lambda res: median(row(res).get("lg_qps_with_loadgen_overhead")),
        ),
    ],
    "tokens": [
        (
            "Offline with token latencies, lists of 1024",
            "samples/s",
            True,
            lambda res: median(row(res, tokens=True).get("samples_per_s_wall")),
        ),
        ("Token latencies: slowdown over the same run without", "fraction", False, token_overhead),
    ],
    "mt": [
        *[
            (
                f"Offline, lists of {b}, completed from {k} Python thread(s)",
                "samples/s",
                True,
                mt(k, b),
            )
            for b in (64, 1024)
            for k in (0, 1, 2)
        ],
        *[
            (f"Two completion threads over one, lists of {b}", "×", True, mt_gain(b))
            for b in (64, 1024)
        ],
    ],
    "memory_offline": [
        (
            "Peak memory, Offline 1M samples, ConstructSUT",
            "B/sample",
            False,
            memory("std", 1000000),
        ),
        (
            "Peak memory, Offline 1M samples, ConstructFastSUT",
            "B/sample",
            False,
            memory("fast", 1000000),
        ),
    ],
    "memory_server": [("Peak memory, Server 1M queries", "B/query", False, memory("std", 1000000))],
    "memory_singlestream": [
        ("Peak memory, SingleStream 1M queries", "B/query", False, memory("std", 1000000))
    ],
    "logs": [
        ("Detail log, performance run", "B/sample", False, log_bytes("perf", "log_detail.txt")),
        ("Trace log (enable_trace)", "B/sample", False, log_bytes("trace", "log_trace.json")),
        (
            "Accuracy log, AccuracyOnly",
            "B/sample",
            False,
            log_bytes("accuracy", "log_accuracy.json"),
        ),
    ],
}


def load(path: Path) -> dict[str, Result]:
    out: dict[str, Result] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                res = json.loads(line)
                out[res.get("suite", res.get("bench", "?"))] = res
    return out


def fmt(value: Optional[float], unit: str) -> str:
    if value is None:
        return "–"
    if unit == "s":
        return f"{value * 1e3:.3g} ms" if value < 1 else f"{value:.3g} s"
    if unit == "fraction":
        return f"{value * 100:+.0f} %"
    if unit == "×":
        return f"{value:.2f}×"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def lines(out_dir: Path) -> Iterator[str]:
    official = load(out_dir / "official.jsonl")
    ours = load(out_dir / "ours.jsonl")
    commands: dict[str, str] = {}
    commands_file = out_dir / "commands.tsv"
    if commands_file.exists():
        for entry in commands_file.read_text().splitlines():
            suite, _, command = entry.partition("\t")
            commands[suite] = command
    yield "| figure | official | ours | ratio (ours/official) | command |"
    yield "|---|---|---|---|---|"
    for suite, figures in FIGURES.items():
        if suite not in official and suite not in ours:
            continue
        for name, unit, higher_better, get in figures:
            a = get(official[suite]) if suite in official else None
            b = get(ours[suite]) if suite in ours else None
            ratio = "–"
            if a and b and unit != "fraction":
                better = b > a if higher_better else b < a
                ratio = f"{b / a:.3g}" + (" (better)" if better else " (worse)")
            label = f"{name} ({unit}, {'higher' if higher_better else 'lower'} is better)"
            yield (
                f"| {label} | {fmt(a, unit)} | {fmt(b, unit)} | {ratio} | "
                f"`{commands.get(suite, suite)}` |"
            )
    loads = [f"{k}: {v.get('loadavg_at_start')}" for k, v in ours.items()]
    if loads:
        yield ""
        yield "Load average at the start of our runs: " + "; ".join(loads)


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    for line in lines(Path(sys.argv[1])):
        print(line)


if __name__ == "__main__":
    main()
