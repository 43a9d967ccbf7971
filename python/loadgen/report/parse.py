"""Reading the log files of a run, ours or the official LoadGen's.

Official lines are not always strict JSON (unescaped strings, ``inf``/``nan``, an empty list
written as ``]`` in the detail log; ``"key":""name""`` in the trace), so whatever ``json``
rejects is taken apart with a pattern instead (docs/official-behaviour.md#logging-detail-log,
#logging-trace).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from .analysis import RunLogs
from .model import DetailEntry, ReportError, Sample

__all__ = [
    "load_run",
    "read_accuracy_tokens",
    "read_detail",
    "read_trace_samples",
    "trace_events",
]

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
            text = line[len(_MARKER) :].rstrip("\n")
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
                yield (
                    m["name"],
                    float(m["ts"]),
                    int(m["seq"]),
                    int(m["query"]),
                    int(m["idx"]),
                    int(m["delay"]),
                    int(m["done"]),
                )
                continue
            if '"ph":"b"' not in line:  # end events carry no arguments
                continue
            for event in _events_in_lines([line]):
                args = event.get("args", {})
                try:
                    yield (
                        str(event["name"]),
                        float(event["ts"]),
                        int(args["sample_seq"]),
                        int(args["query_seq"]),
                        int(args["sample_idx"]),
                        int(args["issue_start_ns"]),
                        int(args["complete_ns"]),
                    )
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
                query_seq=query,
                sample_idx=idx,
                scheduled_us=ts,
                issue_delay_ns=delay,
                latency_ns=done,
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
    summary_text = (
        summary_path.read_text(encoding="utf-8", errors="replace") if summary_path else ""
    )
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
    run.results = read_results_file(detail_path.parent)
    return run


def read_results_file(directory: Path) -> dict[str, Any] | None:
    """The folder's loadgen_results.json (docs/metrics.md), or None if it has none; a file
    this version cannot read raises ReportError."""
    from .. import results_file

    path = directory / results_file.FILE_NAME
    if not path.is_file():
        return None
    try:
        return dict(results_file.read(path))
    except (ValueError, OSError) as e:
        raise ReportError(f"{path}: {e}") from e


def _measured_samples(
    run: RunLogs, records: list[dict[str, Any]], tokens: dict[int, int]
) -> list[Sample] | None:
    first, end = run.measured_seq_range()
    chosen = [
        r for r in records if r["sample_seq"] >= first and (end is None or r["sample_seq"] < end)
    ]
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
