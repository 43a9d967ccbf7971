"""Shared helpers for the differential tests: log parsers and the rules for what must match.

Stdlib only (pytest is imported lazily), so record scripts running under the oracle's own
interpreter can import this module too.

Vocabulary used by the comparison rules:

* exact: the value is a pure function of the settings, the QSL/SUT shape and the seeds, so ours
  must print the same text as the official LoadGen (compared on the raw JSON text of the value,
  so `1e+06` vs `1000000` is a difference).
* timing: the value depends on wall-clock time (latencies, rates, dates, durations).
* version: build metadata that legitimately differs between the official wheel and ours.
* internal: logger implementation counters; the keys must be present, their values may differ.
"""

from __future__ import annotations

import collections
import json
import os
import re
from typing import Any, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

MLLOG_MARKER = ":::MLLOG "

# ---------------------------------------------------------------------------------------------
# Detail-log parsing


class LogEntry(NamedTuple):
    """One `:::MLLOG` line: `value` is parsed JSON, or the raw text when it is not valid JSON."""

    key: str
    value: Any
    is_error: bool
    is_warning: bool


_VALUE_START = '"value": '
_VALUE_END = ', "time_ms": '


def _split_line(line: str) -> Tuple[str, str, bool, bool]:
    """Returns (key, raw value text, is_error, is_warning) of one marker line.

    The value text is cut out of the line instead of taken from `json.loads`, because LoadGen
    writes strings unescaped and doubles as `inf`/`nan`, which are not JSON; the key and the
    metadata flags are always plain.
    """
    body = line[len(MLLOG_MARKER) :].rstrip("\n")
    key_match = re.match(r'\{"key": "([^"]*)", ', body)
    start = body.find(_VALUE_START)
    end = body.rfind(_VALUE_END)
    if key_match is None or start < 0 or end < start:
        raise ValueError(f"malformed detail-log line: {line!r}")
    raw_value = body[start + len(_VALUE_START) : end]
    is_error = '"is_error": true' in body[end:]
    is_warning = '"is_warning": true' in body[end:]
    return key_match.group(1), raw_value, is_error, is_warning


def parse_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _marker_lines(text: str) -> Iterable[str]:
    for line in text.splitlines():
        if line.startswith(MLLOG_MARKER):
            yield line


def parse_detail_log(text: str) -> List[LogEntry]:
    """`:::MLLOG` lines -> [(key, value, is_error, is_warning)], values parsed as JSON."""
    entries = []
    for line in _marker_lines(text):
        key, raw, is_error, is_warning = _split_line(line)
        entries.append(LogEntry(key, parse_value(raw), is_error, is_warning))
    return entries


def parse_detail_log_raw(text: str) -> List[LogEntry]:
    """Like `parse_detail_log`, but `value` is the exact text LoadGen printed (e.g. `1e+06`)."""
    return [LogEntry(*_split_line(line)) for line in _marker_lines(text)]


def read_detail_log(path: str) -> List[LogEntry]:
    with open(path, encoding="utf-8") as f:
        return parse_detail_log(f.read())


# ---------------------------------------------------------------------------------------------
# Accuracy log


class AccuracyEntry(NamedTuple):
    seq_id: int
    qsl_idx: int
    data: str
    token_data: Optional[str]  # None when the member is absent (non-token runs, Offline)
    token_count: Optional[int]


def parse_accuracy_log(text: str) -> List[AccuracyEntry]:
    """`mlperf_log_accuracy.json` text -> entries in file order."""
    return [
        AccuracyEntry(
            e["seq_id"], e["qsl_idx"], e["data"], e.get("token_data"), e.get("token_count")
        )
        for e in json.loads(text)
    ]


def load_accuracy_log(path: str) -> List[AccuracyEntry]:
    with open(path, encoding="utf-8") as f:
        return parse_accuracy_log(f.read())


def accuracy_multiset(entries: Iterable[AccuracyEntry]) -> "collections.Counter[AccuracyEntry]":
    """The accuracy log compared order-free: entries are written in completion order."""
    return collections.Counter(entries)


def accuracy_line_shapes(text: str) -> "collections.Counter[str]":
    """Each line of the accuracy JSON with its numbers and hex payloads replaced by placeholders.

    The byte layout is load-bearing (TEST01 `--unixmode` reads it line by line), so both files
    must be made of the same line shapes.
    """
    shapes: "collections.Counter[str]" = collections.Counter()
    for line in text.split("\n"):
        line = re.sub(r'"([0-9A-F]*)"', lambda m: '"<HEX>"' if m.group(1) else '""', line)
        shapes[re.sub(r"\b\d+\b", "<N>", line)] += 1
    return shapes


# ---------------------------------------------------------------------------------------------
# Key classification (detail log)

VERSION_KEYS = frozenset(
    {
        "loadgen_version",
        "loadgen_build_date_local",
        "loadgen_build_date_utc",
        "loadgen_git_commit_date",
        "loadgen_git_log_message",
        "loadgen_git_status_message",
        "loadgen_file_sha1",
    }
)

INTERNAL_KEYS = frozenset(
    {
        "logger_swap_request_slots_retry_count",
        "logger_swap_request_slots_retry_retry_count",
        "logger_swap_request_slots_retry_reencounter_count",
        "logger_start_reading_entries_retry_count",
        "logger_tls_total_log_cas_fail_count",
        "logger_tls_total_swap_buffers_slot_retry_count",
    }
)

_TIMING_KEYS = frozenset(
    {
        "test_datetime",
        "get_sut_name_duration_ns",
        "power_begin",
        "power_end",
        "early_stopping_latency_ss",
        "early_stopping_latency_ms",
        "result_qps_with_loadgen_overhead",
        "result_qps_without_loadgen_overhead",
        "result_scheduled_samples_per_sec",
        "result_completed_samples_per_sec",
        "result_samples_per_second",
        "result_tokens_per_second",
        "result_completed_tokens_per_second",
        "result_inferred_tokens_per_second",
        "result_inferred_completed_tokens_per_second",
        "result_token_throughput",
        "result_token_throughput_with_loadgen_overhead",
    }
)
# Latency statistics: min/max/mean and the percentile families, per sample, per query,
# first token and per output token.
_TIMING_KEY_RE = re.compile(
    r"^result_(?:first_token_)?(?:min|max|mean)_(?:query_)?latency_ns$"
    r"|^result_[0-9.]+_percentile_(?:per_query_)?latency_ns$"
    r"|^result_first_token_[0-9.]+_percentile_latency_ns$"
    r"|^result_time_per_output_token_[0-9.]+_percentile_ns$"
    r"|^result_time_to_output_token_(?:min|max|mean)$"
)

# Exact only in runs whose length is decided by counts, not by the clock (see `Policy`).
QUERY_COUNT_KEYS = frozenset({"result_query_count"})
OVERLATENCY_KEYS = frozenset({"result_overlatency_query_count"})
EARLY_STOPPING_TEXT_KEYS = frozenset(
    {"early_stopping_result", "early_stopping_ttft_result", "early_stopping_tpot_result"}
)

# Error/warning lines whose presence depends on timing alone (a ms boundary between two clock
# reads, or a logger buffer that filled between two IO polls). They are removed before any
# comparison and from the error/warning counts.
_IGNORABLE_MESSAGES = (
    "PerfClock and system_clock differ by more than",
    "Logging allocation detected",
)


def is_timing_key(key: str) -> bool:
    return key in _TIMING_KEYS or _TIMING_KEY_RE.match(key) is not None


# Keys only loadgen writes in every run (docs/log-format.md: the generator self-check). The
# official LoadGen has no counterpart, so the key-order comparison leaves them out.
LOADGEN_ONLY_KEYS = frozenset({"loadgen_generator_check"})


def is_ignorable(entry: LogEntry) -> bool:
    """Works on parsed and on raw (`parse_detail_log_raw`) entries."""
    return (entry.is_error or entry.is_warning) and any(
        m in str(entry.value) for m in _IGNORABLE_MESSAGES
    )


# Numbers inside error/warning texts that come from the clock or the OS.
_MESSAGE_MASKS = (
    (re.compile(r"duration_ns \d+"), "duration_ns <N>"),
    (re.compile(r"issued \d+ outstanding \d+"), "issued <N> outstanding <N>"),
    (re.compile(r"pc_sc_ratio: \S+"), "pc_sc_ratio: <R>"),
    (re.compile(r"tid: \d+"), "tid: <TID>"),
    (re.compile(r"max_entries: \d+"), "max_entries: <N>"),
    (re.compile(r"thread ID : \S+"), "thread ID : <TID>"),
)


def mask_message(text: str) -> str:
    for pattern, replacement in _MESSAGE_MASKS:
        text = pattern.sub(replacement, text)
    return text


# Early-stopping sentences: the estimates are latencies; with "verdict" also every count.
_ES_ESTIMATE_RE = re.compile(r"(percentile estimate: )\d+")
_NUMBER_RE = re.compile(r"\d+")


def mask_early_stopping(text: str, policy: str) -> str:
    if policy == "exact":
        return text
    text = _ES_ESTIMATE_RE.sub(r"\1<LAT>", text)
    if policy == "masked":
        return text
    if policy == "verdict":
        # Keep the sentence skeleton (which branch was taken), drop every number. The
        # "NN.Nth percentile" labels are settings, so they survive.
        return re.sub(r"(?<![0-9.])\d+(?![0-9.]*th)", "<N>", text)
    raise ValueError(f"unknown early-stopping policy {policy!r}")


# ---------------------------------------------------------------------------------------------
# Summary file

# Summary labels whose values are timings; compared as `label: <T>`.
_SUMMARY_TIMING_LABEL_RE = re.compile(
    r"(?<!_)latency \(ns\)|QPS w|TPS w|samples per second|tokens per second|Samples per second"
    r"|Tokens per second|Time per Output Token|time to output token"
)


def summary_line_shapes(text: str, es_policy: str = "masked") -> List[str]:
    """Summary lines with timing values masked; labels (text before ': ') kept verbatim.

    Indented sentences without a ' : ' label (early-stopping results, recommendations) go
    through `mask_early_stopping`; the warning/error trailer lines become placeholders (compare
    the counts with `summary_counts`).
    """
    shapes = []
    for line in text.split("\n"):
        trailer = _TRAILER_RE.match(line)
        if trailer:
            shapes.append(f"<{trailer.group(1).upper()} TRAILER>")
            continue
        if line.startswith(" ") and " : " not in line:
            shapes.append(mask_early_stopping(line, es_policy))
            continue
        label, sep, _ = line.partition(": ")
        if sep and _SUMMARY_TIMING_LABEL_RE.search(label):
            shapes.append(f"{label}{sep}<T>")
        else:
            shapes.append(line)
    return shapes


_TRAILER_RE = re.compile(r"^(?:No|\d+) (warning|error)s? encountered", re.IGNORECASE)


def summary_counts(text: str) -> Tuple[int, int]:
    """(warnings, errors) from the summary trailer; (-1, -1) when the trailer is missing."""
    warnings = errors = -1
    for line in text.split("\n"):
        m = re.match(r"^(No|\d+) (?:warning|warnings) encountered", line)
        if m:
            warnings = 0 if m.group(1) == "No" else int(m.group(1))
        m = re.match(r"^(No|\d+) (?:ERROR|ERRORS|errors) encountered", line)
        if m:
            errors = 0 if m.group(1) == "No" else int(m.group(1))
    return warnings, errors


def summary_value(text: str, label: str) -> Optional[str]:
    """The value after the first ': ' of the first line whose label is `label`."""
    for line in text.split("\n"):
        head, sep, value = line.partition(": ")
        if sep and head.strip() == label:
            return value
    return None


# ---------------------------------------------------------------------------------------------
# Which interpreters to run


def _pytest() -> Any:
    import pytest  # lazily: record scripts import this module under the oracle interpreter

    return pytest


def require_oracle_python() -> str:
    """Path of the official wheel's interpreter, from LOADGEN_ORACLE_PYTHON.

    Unset: the calling test is skipped, unless LOADGEN_REQUIRE_ORACLE=1 (tests/run_all.sh sets
    it), in which case it fails, so a broken oracle setup cannot pass as skipped tests.
    """
    path = os.environ.get("LOADGEN_ORACLE_PYTHON", "")
    required = os.environ.get("LOADGEN_REQUIRE_ORACLE") == "1"
    pytest = _pytest()
    if not path:
        message = (
            "LOADGEN_ORACLE_PYTHON is not set: point it at a python that has the official "
            "mlcommons-loadgen==6.0.17 wheel (tests/run_all.sh creates build/oracle-venv)"
        )
        if required:
            pytest.fail(message + " [LOADGEN_REQUIRE_ORACLE=1]", pytrace=False)
        pytest.skip(message)
    if not os.access(path, os.X_OK):
        pytest.fail(f"LOADGEN_ORACLE_PYTHON={path} is not an executable interpreter", pytrace=False)
    return path


def json_dump(obj: Any, path: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")


def key_sequence(entries: Sequence[LogEntry]) -> List[str]:
    return [e.key for e in entries]


def counter_diff(
    a: "collections.Counter[Any]", b: "collections.Counter[Any]", limit: int = 8
) -> Dict[str, List[Any]]:
    """What is only in `a` and only in `b` (first `limit` items each), for failure messages."""
    only_a = list((a - b).elements())[:limit]
    only_b = list((b - a).elements())[:limit]
    return {"only_official": only_a, "only_ours": only_b}
