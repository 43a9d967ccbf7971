"""``loadgen report`` and ``loadgen compare``: read the log files of a run (written by loadgen or
by the official LoadGen) and turn them into an HTML report with figures, per-sample exports and
comparison tables.

What is read:

* ``*detail*.txt``: one ``:::MLLOG {json}`` line per entry. Official lines are not always strict
  JSON (unescaped strings, ``inf``/``nan``, an empty list written as ``]``), so a line that
  ``json`` rejects is taken apart with a pattern instead.
* ``*summary*.txt``: shown as written; its first result line is the headline metric.
* ``*trace*.json`` (optional): the per-sample ``Sample`` and ``Token`` async events give each
  sample's scheduled time, issue delay, latency and time to first token. The official file is
  not strict JSON (``"key":""name""``), so it is read line by line and repaired.
* ``*accuracy*.json`` (optional): the entry count and, for token runs, ``token_count`` per
  ``seq_id``, which gives per-sample time per output token.

The figures are built as matplotlib ``Figure`` objects (``build_figures``) before anything is
saved, so they can be inspected or embedded elsewhere. matplotlib is needed only for figures:
``pip install 'loadgen[report]'``.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, NamedTuple, Sequence

from .results import LatencyStats  # one class for run results and parsed logs

if TYPE_CHECKING:  # matplotlib (and its numpy) is an optional extra, imported for figures only
    import numpy as np
    import numpy.typing as npt
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    FloatArray = npt.NDArray[np.float64]

__all__ = [
    "PERCENTILES",
    "DetailEntry",
    "LatencyStats",
    "ReportError",
    "RunLogs",
    "Sample",
    "build_compare_figure",
    "build_figures",
    "compare_rows",
    "format_compare",
    "load_run",
    "render_html",
    "trace_events",
    "write_compare_html",
    "write_report",
    "write_samples_csv",
    "write_samples_json",
]

PERCENTILES = (0.5, 0.9, 0.95, 0.97, 0.99, 0.999)


class ReportError(Exception):
    """The logs cannot be read, or a needed package is missing; the message says what to do."""


class DetailEntry(NamedTuple):
    """One line of the detail log."""

    key: str
    value: Any
    time_ms: float
    is_error: bool
    is_warning: bool


class Sample(NamedTuple):
    """One completed sample of the measured series (times in ns unless named otherwise)."""

    sample_seq: int
    query_seq: int
    sample_idx: int
    scheduled_s: float  # scheduled time, seconds after the first scheduled sample of the series
    issue_delay_ns: int  # issued - scheduled (Server); 0 where scheduled means issued
    latency_ns: int  # completed - scheduled
    ttft_ns: int | None  # first token - scheduled (token runs with a trace)
    n_tokens: int | None  # from the accuracy log's token_count, where the sample was logged

    @property
    def completed_s(self) -> float:
        return self.scheduled_s + self.latency_ns / 1e9

    @property
    def tpot_ns(self) -> int | None:
        """Time per output token, as loadgen computes it: (latency - TTFT) // (n_tokens - 1)."""
        if self.ttft_ns is None or self.n_tokens is None or self.n_tokens < 2:
            return None
        return (self.latency_ns - self.ttft_ns) // (self.n_tokens - 1)


# name -> (min key, max key, mean key, percentile key pattern) in the results block.
_FAMILIES = {
    "latency": (
        "result_min_latency_ns",
        "result_max_latency_ns",
        "result_mean_latency_ns",
        "result_{}_percentile_latency_ns",
    ),
    "query_latency": (
        "result_min_query_latency_ns",
        "result_max_query_latency_ns",
        "result_mean_query_latency_ns",
        "result_{}_percentile_per_query_latency_ns",
    ),
    "ttft": (
        "result_first_token_min_latency_ns",
        "result_first_token_max_latency_ns",
        "result_first_token_mean_latency_ns",
        "result_first_token_{}_percentile_latency_ns",
    ),
    "tpot": (
        "result_time_to_output_token_min",
        "result_time_to_output_token_max",
        "result_time_to_output_token_mean",
        "result_time_per_output_token_{}_percentile_ns",
    ),
}

_FLAGS = (
    ("result_perf_constraints_met", "the latency constraint at the target percentile was not met"),
    ("result_min_duration_met", "the run was shorter than the minimum duration"),
    ("result_min_queries_met", "fewer queries than the minimum query count were issued"),
    ("early_stopping_met", "early stopping was not satisfied (too few queries for the percentile)"),
)


def _percentile_label(p: float) -> str:
    return f"{p * 100:.2f}"


@dataclass
class RunLogs:
    """The log files of one run, parsed. ``samples`` is None without a usable trace."""

    directory: Path
    detail_path: Path
    summary_path: Path | None
    trace_path: Path | None
    accuracy_path: Path | None
    entries: list[DetailEntry]
    summary_text: str
    samples: list[Sample] | None
    accuracy_entry_count: int | None
    _last: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._last = {e.key: e.value for e in self.entries}

    def value(self, key: str, default: Any = None) -> Any:
        """The last value logged for ``key``."""
        return self._last.get(key, default)

    def has(self, key: str) -> bool:
        return key in self._last

    @property
    def scenario(self) -> str:
        return str(self.value("effective_scenario", self.value("requested_scenario", "unknown")))

    @property
    def mode(self) -> str:
        return str(self.value("effective_test_mode", self.value("requested_test_mode", "unknown")))

    @property
    def sut_name(self) -> str:
        return str(self.value("sut_name", ""))

    @property
    def has_result(self) -> bool:
        """Whether the detail log has a results block (performance part of a finished run)."""
        return self.has("result_validity")

    @property
    def valid(self) -> bool | None:
        return self.value("result_validity") == "VALID" if self.has_result else None

    @property
    def use_tokens(self) -> bool:
        return bool(self.value("requested_use_token_latencies", False))

    @property
    def target_percentile(self) -> float | None:
        p = self.value("effective_target_latency_percentile")
        return float(p) if isinstance(p, (int, float)) else None

    @property
    def target_latency_ns(self) -> int | None:
        """The Server latency bound (the other scenarios have none)."""
        t = self.value("effective_target_latency_ns")
        return int(t) if self.scenario == "Server" and isinstance(t, (int, float)) and t > 0 else None

    def token_targets_ns(self) -> tuple[int | None, int | None]:
        """The Server TTFT and TPOT bounds of a token run (None elsewhere)."""
        if self.scenario != "Server" or not self.use_tokens:
            return None, None
        ttft, tpot = self.value("requested_server_ttft_latency"), self.value("requested_server_tpot_latency")
        return (int(ttft) if isinstance(ttft, int) else None, int(tpot) if isinstance(tpot, int) else None)

    def stats(self, family: str) -> LatencyStats | None:
        """``latency``, ``query_latency`` (MultiStream), ``ttft`` or ``tpot`` from the results block."""
        min_key, max_key, mean_key, pattern = _FAMILIES[family]
        values = [self.value(min_key), self.value(max_key), self.value(mean_key)]
        percentiles = {p: self.value(pattern.format(_percentile_label(p))) for p in PERCENTILES}
        if not all(isinstance(v, int) for v in [*values, *percentiles.values()]):
            return None
        return LatencyStats(values[0], values[1], values[2], percentiles)

    def results_block(self) -> list[tuple[str, Any]]:
        """The entries from ``result_validity`` to ``num_errors`` of the last results block."""
        starts = [i for i, e in enumerate(self.entries) if e.key == "result_validity"]
        if not starts:
            return []
        block = []
        for e in self.entries[starts[-1]:]:
            block.append((e.key, e.value))
            if e.key == "num_errors":
                break
        return block

    def errors(self) -> list[DetailEntry]:
        return [e for e in self.entries if e.is_error]

    def warnings(self) -> list[DetailEntry]:
        return [e for e in self.entries if e.is_warning]

    def headline(self) -> tuple[str, str] | None:
        """The scenario's result line of the summary, e.g. ("90.0th percentile latency (ns)", "1701311")."""
        lines = self.summary_text.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("Mode") and i + 1 < len(lines) and ":" in lines[i + 1]:
                label, _, value = lines[i + 1].partition(":")
                if label.strip() != "Result is":
                    return label.strip(), value.strip()
        return None

    def verdict(self) -> tuple[str, list[str]]:
        """("VALID" | "INVALID" | a no-result description, the reasons)."""
        reasons: list[str] = []
        if not self.has_result:
            if self.mode == "AccuracyOnly":
                count = self.accuracy_entry_count
                what = f"{count} accuracy log entries" if count is not None else "no readable accuracy log"
                reason = f"AccuracyOnly run: {what}; accuracy is scored by the benchmark's own script."
                return "NO PERFORMANCE RESULT", [reason]
            reason = "The detail log has no results block: the test stopped early (see the errors)."
            return "NO RESULT", [reason]
        for key, message in _FLAGS:
            if self.value(key) is False:
                reasons.append(message)
        invalid_reason = str(self.value("result_invalid_reason", "")).strip()
        if invalid_reason:
            reasons.append(invalid_reason)
        return str(self.value("result_validity")), reasons

    def early_stopping(self) -> list[tuple[str, list[str]]]:
        """(title, bullet lines) per early-stopping text in the detail log."""
        out = []
        for key, title in (
            ("early_stopping_result", "Early stopping"),
            ("early_stopping_ttft_result", "TTFT early stopping"),
            ("early_stopping_tpot_result", "TPOT early stopping"),
        ):
            if self.has(key):
                text = str(self.value(key))
                bullets = [b.strip() for b in re.split(r"(?:^|\s)\*\s", text) if b.strip()]
                out.append((title, bullets))
        return out

    def measured_seq_range(self) -> tuple[int, int | None]:
        """The sample_seq range of the series the results block describes: loadgen numbers every
        generated sample of a test in order, and the results are those of the last series."""
        if not self.has_result:
            return 0, None
        counts = [e.value for e in self.entries if e.key == "generated_query_count"]
        per_query = [e.value for e in self.entries if e.key == "generated_samples_per_query"]
        if not counts or len(counts) != len(per_query):
            return 0, None
        sizes = [int(q) * int(s) for q, s in zip(counts, per_query)]
        start = sum(sizes[:-1])
        return start, start + sizes[-1]


# ---------------------------------------------------------------------------------------------
# Reading the files

_MARKER = ":::MLLOG "
_DETAIL_PATTERN = re.compile(
    r'^\{"key": "(?P<key>[^"]*)", "value": (?P<value>.*), "time_ms": (?P<time>-?[0-9.]+), '
    r'.*"is_error": (?P<error>true|false), "is_warning": (?P<warning>true|false)'
)


def _parse_raw_value(raw: str) -> Any:
    """A value that is not strict JSON: an unescaped string, inf/nan, or a quirky list."""
    raw = raw.strip()
    if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
        return raw[1:-1]
    if raw in ("inf", "-inf", "nan", "-nan"):
        return float(raw.replace("-nan", "nan"))
    return raw


def read_detail(path: Path) -> list[DetailEntry]:
    entries = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.startswith(_MARKER):
                continue
            text = line[len(_MARKER):].rstrip("\n")
            try:
                obj = json.loads(text)
                meta = obj.get("metadata", {})
                entries.append(
                    DetailEntry(
                        str(obj["key"]),
                        obj.get("value"),
                        float(obj.get("time_ms", 0.0)),
                        bool(meta.get("is_error", False)),
                        bool(meta.get("is_warning", False)),
                    )
                )
                continue
            except (ValueError, KeyError, AttributeError, TypeError):
                pass
            m = _DETAIL_PATTERN.match(text)
            if m:  # lines that match neither way (a truncated last line) are skipped
                entries.append(
                    DetailEntry(
                        m["key"],
                        _parse_raw_value(m["value"]),
                        float(m["time"]),
                        m["error"] == "true",
                        m["warning"] == "true",
                    )
                )
    return entries


# The official trace double-quotes string arguments: "key":""loadgen_version"".
_DOUBLE_QUOTED = re.compile(r':""(.*?)""(?=[,}])')


def trace_events(path: str | Path, names: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
    """The events of a trace log (ours or the official one, whose string arguments are
    double-quoted twice), optionally only those named in ``names``. Reads line by line, so a
    trace cut short by a crash still gives its events; lines that cannot be parsed are skipped."""
    prefixes = tuple('{"name":"%s"' % n for n in names) if names is not None else ("{",)
    with open(path, encoding="utf-8", errors="replace") as f:
        yield from _events_in_lines(line for line in f if line.startswith(prefixes))


def _events_in_lines(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The events of trace lines (one event per line, as both LoadGens write them)."""
    for line in lines:
        if line.startswith('{"traceEvents"'):
            continue
        text = line.rstrip().rstrip(",")
        try:
            event = json.loads(text)
        except ValueError:
            try:
                event = json.loads(_DOUBLE_QUOTED.sub(r':"\1"', text))
            except ValueError:
                continue
        if isinstance(event, dict):
            yield event


# The begin event of a sample or first token, as both LoadGens write it (one per line).
_SPAN_BEGIN = re.compile(
    r'^\{"name":"(?P<name>Sample|Token)","cat":"default","ph":"b","pid":-?\d+,"id":\d+,'
    r'"ts":(?P<ts>-?[0-9.]+),"args":\{"sample_seq":(?P<seq>\d+),"query_seq":(?P<query>\d+),'
    r'"sample_idx":(?P<idx>\d+),"issue_start_ns":(?P<delay>-?\d+),"complete_ns":(?P<done>-?\d+)\}\}'
)


def _span_begins(path: Path) -> Iterator[tuple[str, float, int, int, int, int, int]]:
    """(name, ts µs, sample_seq, query_seq, sample_idx, issue_start_ns, complete_ns) of every
    Sample/Token begin event: a pattern for the usual layout, json for anything else."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.startswith(('{"name":"Sample"', '{"name":"Token"')):
                continue
            m = _SPAN_BEGIN.match(line)
            if m:
                yield (m["name"], float(m["ts"]), int(m["seq"]), int(m["query"]), int(m["idx"]),
                       int(m["delay"]), int(m["done"]))
                continue
            if '"ph":"b"' not in line:  # end events carry no arguments
                continue
            for event in _events_in_lines([line]):
                args = event.get("args", {})
                try:
                    yield (str(event["name"]), float(event["ts"]), int(args["sample_seq"]),
                           int(args["query_seq"]), int(args["sample_idx"]),
                           int(args["issue_start_ns"]), int(args["complete_ns"]))
                except (KeyError, TypeError, ValueError):
                    continue


def read_trace_samples(path: Path) -> list[dict[str, Any]]:
    """Per sample_seq: scheduled ts (µs), issue delay, latency and, for token runs, the TTFT."""
    by_seq: dict[int, dict[str, Any]] = {}
    for name, ts, seq, query, idx, delay, done in _span_begins(path):
        record = by_seq.setdefault(seq, {"sample_seq": seq})
        if name == "Token":
            record.setdefault("ttft_ns", done)
        elif "latency_ns" not in record:  # a repeated completion keeps the first
            record.update(
                query_seq=query, sample_idx=idx, scheduled_us=ts, issue_delay_ns=delay, latency_ns=done
            )
    return [r for r in by_seq.values() if "latency_ns" in r]


_ACCURACY_PATTERN = re.compile(
    r'^\{ "seq_id" : (?P<seq>\d+), "qsl_idx" : \d+, "data" : "[0-9A-Fa-f]*"'
    r'(?:, "token_data" : "[0-9A-Fa-f]*")?(?:, "token_count" : (?P<tokens>-?\d+))?'
)


def read_accuracy_tokens(path: Path) -> tuple[int, dict[int, int]]:
    """The number of entries and token_count per seq_id (token runs) of an accuracy log."""
    count = 0
    tokens: dict[int, int] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = _ACCURACY_PATTERN.match(line)
            if not m:
                continue
            count += 1
            if m["tokens"] is not None:
                tokens[int(m["seq"])] = int(m["tokens"])
    return count, tokens


def _find_logs(location: Path) -> dict[str, Path | None]:
    """The four files of one run: ``location`` is a log folder or its detail file. Names may carry
    a prefix, a date and a suffix (``pre_2026-01-01T00:00:00Z_detail_suf.txt``)."""
    if location.is_file():
        detail = location
    elif location.is_dir():
        candidates = sorted(
            p for p in location.iterdir() if p.is_file() and re.search(r"detail.*\.txt$", p.name)
        )
        if len(candidates) > 1:
            # A copy of the lines (e.g. captured stdout) has no summary log named like it.
            paired = [p for p in candidates if _sibling(p, "summary", ".txt").is_file()]
            candidates = paired if paired else candidates
        if not candidates:
            below = sorted(p.parent.name for p in location.glob("*/*detail*.txt"))
            hint = f"; its subfolders {', '.join(below)} have one" if below else ""
            raise ReportError(f"{location}: no detail log (*detail*.txt) in this folder{hint}")
        if len(candidates) > 1:
            names = ", ".join(p.name for p in candidates)
            raise ReportError(f"{location}: several detail logs ({names}); pass the one to read")
        detail = candidates[0]
    else:
        raise ReportError(f"{location}: no such file or folder")
    if "detail" not in detail.name:
        raise ReportError(f"{detail}: not a detail log name (expected ...detail...txt)")
    found: dict[str, Path | None] = {"detail": detail}
    for kind, ext in (("summary", ".txt"), ("trace", ".json"), ("accuracy", ".json")):
        path = _sibling(detail, kind, ext)
        # A run without enable_trace leaves an empty trace file.
        found[kind] = path if path.is_file() and path.stat().st_size > 0 else None
    return found


def _sibling(detail: Path, kind: str, ext: str) -> Path:
    """The file of another kind from the same run: prefix + kind + suffix + ext."""
    head, _, tail = detail.name.rpartition("detail")
    suffix = tail[: -len(".txt")] if tail.endswith(".txt") else tail
    return detail.with_name(f"{head}{kind}{suffix}{ext}")


def load_run(location: str | Path) -> RunLogs:
    """Reads one run's logs (a folder, or the path of its detail log)."""
    files = _find_logs(Path(location))
    detail_path = files["detail"]
    assert detail_path is not None
    entries = read_detail(detail_path)
    if not entries:
        raise ReportError(f"{detail_path}: no :::MLLOG entries; is this a LoadGen detail log?")
    summary_path = files["summary"]
    summary_text = summary_path.read_text(encoding="utf-8", errors="replace") if summary_path else ""
    accuracy_count: int | None = None
    tokens: dict[int, int] = {}
    if files["accuracy"] is not None:
        accuracy_count, tokens = read_accuracy_tokens(files["accuracy"])
    run = RunLogs(
        directory=detail_path.parent,
        detail_path=detail_path,
        summary_path=summary_path,
        trace_path=files["trace"],
        accuracy_path=files["accuracy"],
        entries=entries,
        summary_text=summary_text,
        samples=None,
        accuracy_entry_count=accuracy_count,
    )
    if files["trace"] is not None:
        run.samples = _measured_samples(run, read_trace_samples(files["trace"]), tokens)
    return run


def _measured_samples(
    run: RunLogs, records: list[dict[str, Any]], tokens: dict[int, int]
) -> list[Sample] | None:
    first, end = run.measured_seq_range()
    chosen = [r for r in records if r["sample_seq"] >= first and (end is None or r["sample_seq"] < end)]
    if not chosen:
        return None
    chosen.sort(key=lambda r: r["sample_seq"])
    origin_us = min(r["scheduled_us"] for r in chosen)
    return [
        Sample(
            sample_seq=r["sample_seq"],
            query_seq=r["query_seq"],
            sample_idx=r["sample_idx"],
            scheduled_s=(r["scheduled_us"] - origin_us) / 1e6,
            issue_delay_ns=r["issue_delay_ns"],
            latency_ns=r["latency_ns"],
            ttft_ns=r.get("ttft_ns"),
            n_tokens=tokens.get(r["sample_seq"]),
        )
        for r in chosen
    ]


def query_latencies_ns(samples: Sequence[Sample]) -> list[int]:
    """Per query: the latency of its last sample (MultiStream's measured quantity)."""
    latest: dict[int, int] = {}
    for s in samples:
        latest[s.query_seq] = max(latest.get(s.query_seq, s.latency_ns), s.latency_ns)
    return list(latest.values())


# ---------------------------------------------------------------------------------------------
# Figures


def _matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError as e:
        raise ReportError(
            "figures need matplotlib, which is an optional extra: pip install 'loadgen[report]'"
        ) from e


def _new_figure(title: str, ncols: int = 1) -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.0 if ncols == 1 else 11.0, 4.5), layout="constrained")
    fig.subplots(1, ncols)
    fig.suptitle(title)
    return fig


def _ms(ns: float) -> float:
    return ns / 1e6


def _percentile_marks(ax: Axes, stats: LatencyStats | None, cdf: bool) -> None:
    """The detail log's percentiles: points on a CDF, dotted lines on a histogram."""
    if stats is None:
        return
    for p in (0.5, 0.9, 0.99):
        x = _ms(stats.percentiles_ns[p])
        label = f"p{p * 100:g} = {x:.3g} ms"
        if cdf:
            ax.plot([x], [p], "o", color="black", markersize=4, label=label, gid="percentile")
        else:
            ax.axvline(x, color="black", linestyle=":", linewidth=1, label=label, gid="percentile")


def _target_line(ax: Axes, target_ms: float, data_max_ms: float, label: str, vertical: bool) -> None:
    """A dashed red line at the target. A target far beyond the data stays off the axis (the
    legend says so) instead of squeezing the data into a corner."""
    off_scale = target_ms > 3 * data_max_ms > 0
    if off_scale:
        label += " (beyond the axis)"
    if vertical:
        ax.axvline(target_ms, color="tab:red", linestyle="--", label=label, gid="target")
        if off_scale:
            ax.set_xlim(right=data_max_ms * 1.1)
    else:
        ax.axhline(target_ms, color="tab:red", linestyle="--", label=label, gid="target")
        if off_scale:
            ax.set_ylim(top=data_max_ms * 1.1)


def _target_marks(ax: Axes, run: RunLogs, data_max_ms: float, cdf: bool) -> None:
    target = run.target_latency_ns
    if target is not None:
        _target_line(ax, _ms(target), data_max_ms, f"target latency {_ms(target):g} ms", vertical=True)
    percentile = run.target_percentile
    if cdf and percentile is not None:
        label = f"target percentile {percentile * 100:g}%"
        ax.axhline(percentile, color="tab:red", linestyle=":", label=label, gid="target")


def _ms_array(values_ns: Iterable[float]) -> FloatArray:
    import numpy as np

    return np.fromiter(values_ns, dtype=np.float64) / 1e6


def _sorted_cdf(values_ns: Iterable[int]) -> tuple[FloatArray, FloatArray]:
    import numpy as np

    xs = np.sort(_ms_array(values_ns))
    return xs, np.arange(1, len(xs) + 1) / len(xs)


def _histogram(ax: Axes, values_ms: FloatArray) -> None:
    """One filled step patch (fast for any number of samples), gid "samples"."""
    import numpy as np

    counts, edges = np.histogram(values_ms, bins=max(10, min(100, int(math.sqrt(len(values_ms))))))
    ax.stairs(counts, edges, fill=True, alpha=0.8, label=f"samples ({len(values_ms)})", gid="samples")


def _stats_cdf(stats: LatencyStats) -> tuple[list[float], list[float]]:
    """A coarse CDF through min, the logged percentiles and max (when there is no trace)."""
    xs = [_ms(stats.min_ns)] + [_ms(stats.percentiles_ns[p]) for p in PERCENTILES] + [_ms(stats.max_ns)]
    return xs, [0.0, *PERCENTILES, 1.0]


def _data_max(values: FloatArray | list[float]) -> float:
    return float(max(values))


def latency_cdf_figure(run: RunLogs) -> Figure | None:
    stats = run.stats("latency")
    if run.samples is None and stats is None:
        return None
    fig = _new_figure(f"Latency distribution ({run.scenario})")
    ax = fig.axes[0]
    if run.samples is not None:
        xs, ys = _sorted_cdf(s.latency_ns for s in run.samples)
        ax.step(xs, ys, where="post", label=f"samples ({len(xs)})", gid="samples")
        data_max = _data_max(xs)
        if run.scenario == "MultiStream":
            qx, qy = _sorted_cdf(query_latencies_ns(run.samples))
            ax.step(qx, qy, where="post", label=f"queries ({len(qx)})", gid="queries")
    else:
        assert stats is not None
        coarse_x, coarse_y = _stats_cdf(stats)
        label = "from the detail log's percentiles (no trace)"
        ax.plot(coarse_x, coarse_y, "-o", markersize=3, label=label, gid="percentiles")
        data_max = _data_max(coarse_x)
    _percentile_marks(ax, stats, cdf=True)
    _target_marks(ax, run, data_max, cdf=True)
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("fraction of samples at or below")
    ax.set_ylim(0.0, 1.02)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    return fig


def latency_histogram_figure(run: RunLogs) -> Figure | None:
    if run.samples is None:
        return None
    fig = _new_figure(f"Latency histogram ({run.scenario})")
    ax = fig.axes[0]
    values = _ms_array(s.latency_ns for s in run.samples)
    _histogram(ax, values)
    _percentile_marks(ax, run.stats("latency"), cdf=False)
    _target_marks(ax, run, _data_max(values), cdf=False)
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("samples")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize="small")
    return fig


def _seconds(values: Iterable[float]) -> FloatArray:
    import numpy as np

    return np.fromiter(values, dtype=np.float64)


def _time_axis(run: RunLogs) -> tuple[FloatArray, str]:
    """Offline schedules every sample at the start, so its samples are placed at completion."""
    assert run.samples is not None
    if run.scenario == "Offline":
        return _seconds(s.completed_s for s in run.samples), "completion time (s since the test started)"
    return _seconds(s.scheduled_s for s in run.samples), "scheduled time (s since the first query)"


def latency_over_time_figure(run: RunLogs) -> Figure | None:
    if run.samples is None:
        return None
    fig = _new_figure(f"Latency over time ({run.scenario})")
    ax = fig.axes[0]
    xs, xlabel = _time_axis(run)
    ys = _ms_array(s.latency_ns for s in run.samples)
    ax.plot(xs, ys, ".", markersize=2, label="samples", gid="samples")
    target = run.target_latency_ns
    if target is not None:
        _target_line(ax, _ms(target), _data_max(ys), f"target latency {_ms(target):g} ms", vertical=False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("latency (ms)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize="small")
    return fig


def throughput_over_time_figure(run: RunLogs) -> Figure | None:
    if run.samples is None:
        return None
    import numpy as np

    completions = _seconds(s.completed_s for s in run.samples)
    end = float(completions.max())
    if end <= 0:
        return None
    bins = max(5, min(60, len(completions) // 10))
    counts, edges = np.histogram(completions, bins=bins, range=(0.0, end))
    width = edges[1] - edges[0]
    fig = _new_figure(f"Throughput over time ({run.scenario})")
    ax = fig.axes[0]
    label = f"completed samples/s ({width * 1e3:.3g} ms bins)"
    ax.stairs(counts / width, edges, label=label, gid="throughput")
    target_qps = run.value("effective_target_qps")
    if run.scenario == "Server" and isinstance(target_qps, (int, float)):
        label = f"target {target_qps:g} samples/s"
        ax.axhline(float(target_qps), color="tab:red", linestyle="--", label=label, gid="target")
    ax.set_xlabel("completion time (s since the first query)")
    ax.set_ylabel("samples per second")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    return fig


def issue_lag_figure(run: RunLogs) -> Figure | None:
    """Server only: how late each query was issued relative to its Poisson-scheduled time."""
    if run.samples is None or run.scenario != "Server":
        return None
    fig = _new_figure("Issue lag over time (Server)")
    ax = fig.axes[0]
    ax.plot(
        _seconds(s.scheduled_s for s in run.samples),
        _seconds(s.issue_delay_ns / 1e3 for s in run.samples),
        ".",
        markersize=2,
        label="issue lag per sample",
        gid="samples",
    )
    ax.set_xlabel("scheduled time (s since the first query)")
    ax.set_ylabel("issue lag (µs, issued - scheduled)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize="small")
    return fig


def _token_panel(
    ax: Axes, name: str, values_ns: list[int], stats: LatencyStats | None, target_ns: int | None
) -> None:
    if values_ns:
        values = _ms_array(values_ns)
        _histogram(ax, values)
        ax.set_ylabel("samples")
        _percentile_marks(ax, stats, cdf=False)
        if target_ns is not None:
            label = f"target {_ms(target_ns):g} ms"
            _target_line(ax, _ms(target_ns), _data_max(values), label, vertical=True)
        ax.set_xlabel(f"{name} (ms)")
    elif stats is not None:
        labels = ["min", *(f"p{p * 100:g}" for p in PERCENTILES), "max"]
        heights = [_ms(stats.min_ns), *(_ms(stats.percentiles_ns[p]) for p in PERCENTILES), _ms(stats.max_ns)]
        bars = ax.bar(labels, heights, alpha=0.8, label="from the detail log", gid="percentiles")
        ax.bar_label(bars, fmt="%.3g", fontsize="x-small")
        if target_ns is not None:
            _target_line(ax, _ms(target_ns), max(heights), f"target {_ms(target_ns):g} ms", vertical=False)
        ax.set_xlabel("statistic")
        ax.set_ylabel(f"{name} (ms)")
    ax.set_title(name)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize="small")


def token_latency_figure(run: RunLogs) -> Figure | None:
    """TTFT and TPOT: per-sample histograms with a trace (TPOT needs token counts from the
    accuracy log), otherwise the detail log's percentiles."""
    ttft_stats, tpot_stats = run.stats("ttft"), run.stats("tpot")
    samples = run.samples or []
    ttft = [s.ttft_ns for s in samples if s.ttft_ns is not None]
    tpot = [t for t in (s.tpot_ns for s in samples) if t is not None]
    if not (run.use_tokens and (ttft or ttft_stats)):
        return None
    fig = _new_figure(f"Token latencies ({run.scenario})", ncols=2)
    ttft_target, tpot_target = run.token_targets_ns()
    _token_panel(fig.axes[0], "time to first token", ttft, ttft_stats, ttft_target)
    _token_panel(fig.axes[1], "time per output token", tpot, tpot_stats, tpot_target)
    return fig


FIGURES = (
    ("latency_cdf", latency_cdf_figure),
    ("latency_histogram", latency_histogram_figure),
    ("latency_over_time", latency_over_time_figure),
    ("throughput_over_time", throughput_over_time_figure),
    ("issue_lag", issue_lag_figure),
    ("token_latencies", token_latency_figure),
)


def build_figures(run: RunLogs) -> dict[str, Figure]:
    """The report's figures, by name, for what the logs contain (nothing is saved)."""
    _matplotlib()
    figures = {}
    for name, make in FIGURES:
        fig = make(run)
        if fig is not None:
            figures[name] = fig
    return figures


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# Exports and HTML

SAMPLE_FIELDS = (
    "sample_seq",
    "query_seq",
    "sample_idx",
    "scheduled_s",
    "issue_delay_ns",
    "latency_ns",
    "completed_s",
    "ttft_ns",
    "n_tokens",
    "tpot_ns",
)


def sample_records(samples: Iterable[Sample]) -> list[dict[str, Any]]:
    return [{name: getattr(s, name) for name in SAMPLE_FIELDS} for s in samples]


def write_samples_csv(samples: Iterable[Sample], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=SAMPLE_FIELDS)
        writer.writeheader()
        for record in sample_records(samples):
            writer.writerow({k: "" if v is None else v for k, v in record.items()})


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def write_samples_json(run: RunLogs, path: Path) -> None:
    data = {
        "source": str(run.detail_path),
        "scenario": run.scenario,
        "mode": run.mode,
        "results": {k: _json_safe(v) for k, v in run.results_block()},
        "samples": sample_records(run.samples or []),
    }
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


# Keys whose integer value is nanoseconds without saying so in the name.
_NS_KEYS = {
    "early_stopping_latency_ss",
    "early_stopping_latency_ms",
    "result_time_to_output_token_min",
    "result_time_to_output_token_max",
    "result_time_to_output_token_mean",
    "requested_server_ttft_latency",
    "requested_server_tpot_latency",
}


def _format_value(key: str, value: Any) -> str:
    """Values as the log has them; nanoseconds also in milliseconds."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and (key.endswith("_ns") or key in _NS_KEYS):
        return f"{value} ({value / 1e6:.3f} ms)"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.9em; }
td, th { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.verdict { padding: 0.6em 1em; border-radius: 4px; font-weight: bold; display: inline-block; }
.VALID { background: #d9f2d9; } .INVALID { background: #f8d7d7; } .other { background: #eee; }
img { max-width: 100%; border: 1px solid #ddd; margin: 0.5em 0; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
"""


_NUMBER = re.compile(r"^[-+]?[0-9.]+(e[-+]?[0-9]+)?%?( \([0-9.]+ ms\))?$")


def _table(rows: Iterable[Sequence[Any]], header: Sequence[str] | None) -> str:
    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>")
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            css = ' class="num"' if i > 0 and _NUMBER.match(str(cell)) else ""
            cells.append(f"<td{css}>{html.escape(str(cell))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _bullets(items: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(item)}</li>" for item in items) + "</ul>"


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _page(title: str, body: list[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


_SETTINGS_SHOWN = (
    "effective_samples_per_query",
    "effective_target_qps",
    "effective_target_latency_ns",
    "effective_target_latency_percentile",
    "effective_max_async_queries",
    "effective_min_duration_ms",
    "effective_max_duration_ms",
    "effective_min_query_count",
    "effective_max_query_count",
    "effective_performance_sample_count",
    "requested_server_ttft_latency",
    "requested_server_tpot_latency",
)


def render_html(run: RunLogs, figures: dict[str, bytes], exports: Sequence[str]) -> str:
    """The report page; ``figures`` are PNG bytes by figure name, ``exports`` file names to link."""
    verdict, reasons = run.verdict()
    css = verdict if verdict in ("VALID", "INVALID") else "other"
    body = [
        f"<h1>loadgen report: {html.escape(run.scenario)}, {html.escape(run.mode)}</h1>",
        _table(
            [
                ("logs", str(run.directory)),
                ("SUT", run.sut_name),
                ("test date", str(run.value("test_datetime", ""))),
                ("LoadGen version", str(run.value("loadgen_version", ""))),
                ("samples in the trace", "no trace" if run.samples is None else str(len(run.samples))),
            ],
            None,
        ),
        "<h2>Verdict</h2>",
        f'<p class="verdict {css}" id="verdict">{html.escape(verdict)}</p>',
    ]
    headline = run.headline()
    if headline:
        body.append(f"<p>{html.escape(headline[0])}: <b>{html.escape(headline[1])}</b></p>")
    if reasons:
        body.append(_bullets(reasons))
    for title, bullets in run.early_stopping():
        body.append(f"<p>{html.escape(title)}:</p>")
        body.append(_bullets(bullets) if bullets else "<p>(no text)</p>")
    problems = run.errors() + run.warnings()
    if problems:
        body.append("<h2>Errors and warnings in the detail log</h2>")
        body.append(
            _table(
                [("error" if e.is_error else "warning", e.key, str(e.value)) for e in problems],
                ("kind", "key", "message"),
            )
        )
    if figures:
        body.append("<h2>Figures</h2>")
        for name, png in figures.items():
            body.append(_img(png, name.replace("_", " ")))
    if run.samples is None:
        body.append(
            "<p>No trace with per-sample events (run with <code>enable_trace</code>): the figures "
            "use the percentiles of the detail log only.</p>"
        )
    block = run.results_block()
    if block:
        body.append("<h2>Metrics</h2>")
        body.append(_table([(k, _format_value(k, v)) for k, v in block], ("key", "value")))
    settings = [(k, _format_value(k, run.value(k))) for k in _SETTINGS_SHOWN if run.has(k)]
    if settings:
        body.append("<h2>Effective settings</h2>")
        body.append(_table(settings, ("key", "value")))
    if exports:
        body.append("<h2>Files</h2>")
        links = [f'<a href="{html.escape(n)}">{html.escape(n)}</a>' for n in exports]
        body.append("<ul>" + "".join(f"<li>{link}</li>" for link in links) + "</ul>")
    if run.summary_text:
        body.append("<h2>Summary log</h2>")
        body.append(f"<pre>{html.escape(run.summary_text)}</pre>")
    return _page(f"loadgen report: {run.directory}", body)


def write_report(run: RunLogs, output: str | Path) -> list[Path]:
    """Writes the HTML report and, next to it, one PNG per figure and the per-sample CSV and JSON
    (``<stem>-<figure>.png``, ``<stem>-samples.csv``, ``<stem>-samples.json``). Returns the paths."""
    figures = build_figures(run)  # first: a missing matplotlib leaves no files behind
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    pngs = {}
    for name, fig in figures.items():
        png = _png(fig)
        pngs[name] = png
        path = output.with_name(f"{output.stem}-{name}.png")
        path.write_bytes(png)
        written.append(path)
    csv_path = output.with_name(f"{output.stem}-samples.csv")
    json_path = output.with_name(f"{output.stem}-samples.json")
    write_samples_csv(run.samples or [], csv_path)
    write_samples_json(run, json_path)
    written += [csv_path, json_path]
    output.write_text(render_html(run, pngs, [p.name for p in written]), encoding="utf-8")
    return [output, *written]


# ---------------------------------------------------------------------------------------------
# Comparing two runs


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def compare_rows(a: RunLogs, b: RunLogs) -> list[tuple[str, str, str, str]]:
    """(metric, A, B, change) rows: run identity, the headline, then every results-block key
    either run has, in log order."""
    rows: list[tuple[str, str, str, str]] = []
    for label, va, vb in (
        ("scenario", a.scenario, b.scenario),
        ("mode", a.mode, b.mode),
        ("SUT", a.sut_name, b.sut_name),
        ("verdict", a.verdict()[0], b.verdict()[0]),
    ):
        rows.append((label, va, vb, ""))
    ha, hb = a.headline(), b.headline()
    if ha or hb:
        label = (ha or hb or ("", ""))[0]
        rows.append((label, ha[1] if ha else "", hb[1] if hb else "", _change(_float(ha), _float(hb))))
    if a.samples is not None or b.samples is not None:
        rows.append((
            "samples in the trace",
            str(len(a.samples)) if a.samples is not None else "",
            str(len(b.samples)) if b.samples is not None else "",
            "",
        ))
    values_a, values_b = dict(a.results_block()), dict(b.results_block())
    keys = list(values_a) + [k for k in values_b if k not in values_a]
    for key in keys:
        value_a, value_b = values_a.get(key), values_b.get(key)
        rows.append((
            key,
            "" if value_a is None else _format_value(key, value_a),
            "" if value_b is None else _format_value(key, value_b),
            _change(_number(value_a), _number(value_b)),
        ))
    return rows


def _float(headline: tuple[str, str] | None) -> float | None:
    try:
        return float(headline[1]) if headline else None
    except ValueError:
        return None


def _change(a: float | None, b: float | None) -> str:
    if a is None or b is None or a == b:
        return ""
    if a == 0:
        return "n/a"
    return f"{(b - a) / abs(a) * 100:+.1f}%"


def format_compare(
    rows: Sequence[tuple[str, str, str, str]], name_a: str, name_b: str, width: int = 32
) -> str:
    """A text table; values longer than ``width`` (early-stopping texts) follow it, one per line."""
    header = ("metric", name_a, name_b, f"{name_b} vs {name_a}")
    short = [r for r in rows if max(len(r[1]), len(r[2])) <= width]
    long = [r for r in rows if max(len(r[1]), len(r[2])) > width]
    widths = [max(len(r[i]) for r in [header, *short]) for i in range(4)]
    lines = []
    for i, row in enumerate([header, *short]):
        cells = [row[0].ljust(widths[0])] + [row[j].rjust(widths[j]) for j in (1, 2, 3)]
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    for key, value_a, value_b, _ in long:
        lines += ["", f"{key}:", f"  {name_a}: {value_a}", f"  {name_b}: {value_b}"]
    return "\n".join(lines) + "\n"


def build_compare_figure(a: RunLogs, b: RunLogs, name_a: str, name_b: str) -> Figure | None:
    """Both runs' latency CDFs on one axis (per sample with a trace, else from percentiles)."""
    _matplotlib()
    fig = _new_figure("Latency distributions")
    ax = fig.axes[0]
    plotted = 0
    for run, name in ((a, name_a), (b, name_b)):
        stats = run.stats("latency")
        if run.samples is not None:
            xs, ys = _sorted_cdf(s.latency_ns for s in run.samples)
            ax.step(xs, ys, where="post", label=f"{name} ({len(xs)} samples)", gid=name)
        elif stats is not None:
            coarse_x, coarse_y = _stats_cdf(stats)
            ax.plot(coarse_x, coarse_y, "-o", markersize=3, label=f"{name} (percentiles)", gid=name)
        else:
            continue
        plotted += 1
    if plotted == 0:
        return None
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("fraction of samples at or below")
    ax.set_ylim(0.0, 1.02)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    return fig


def write_compare_html(a: RunLogs, b: RunLogs, name_a: str, name_b: str, output: str | Path) -> Path:
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    rows = compare_rows(a, b)
    body = [
        "<h1>loadgen compare</h1>",
        _table([("A", str(a.directory)), ("B", str(b.directory))], None),
        "<h2>Metrics</h2>",
        _table(rows, ("metric", name_a, name_b, f"{name_b} vs {name_a}")),
    ]
    fig = build_compare_figure(a, b, name_a, name_b)
    if fig is not None:
        body += ["<h2>Latency CDFs</h2>", _img(_png(fig), "latency CDFs")]
    output.write_text(_page("loadgen compare", body), encoding="utf-8")
    return output
