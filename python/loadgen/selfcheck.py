"""The generator self-check of a run (docs/self-check.md): did loadgen, not the SUT, limit the
result? The engine measures and decides (``cpp/src/selfcheck/``); this module reads its verdict
from a :class:`~loadgen.RunResult` or a detail log, formats it, and maps it to an exit status."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from .results import RunResult

__all__ = [
    "DETAIL_LOG_KEY",
    "EXIT_GENERATOR_LIMITED",
    "GeneratorCheck",
    "describe",
    "exit_status",
    "results_section",
]

#: The detail log's key for the self-check (one JSON object per performance series).
DETAIL_LOG_KEY = "loadgen_generator_check"
#: The CLI's exit status for a run the self-check flagged (takes precedence over 0 and 1).
EXIT_GENERATOR_LIMITED = 3


@dataclass(frozen=True)
class GeneratorCheck:
    """What the generator measured about itself during the performance series.

    ``generator_limited`` is the verdict; ``reasons`` names the rules that fired ("lateness",
    "client_io_cpu"); ``notes`` what deserves a look without deciding the verdict
    ("client_connections": queries queued for a free connection for more than a tenth of the
    mean latency); ``cause`` attributes late issuing
    ("sut_issue_callback": the SUT's ``issue`` held the issuing thread, e.g. a Python callback
    holding the GIL; "issue_thread_cpu": loadgen's issuing thread was busy; "scheduling": the
    thread was not scheduled in time). Lateness counts queries with a scheduled moment (Server,
    open-loop load stages) in nanoseconds after that moment; closed loops have ``reissue_*``
    instead (previous query done to next issued). CPU shares are CPU time over wall time.
    ``outstanding`` is ``(seconds since the series start, samples outstanding)`` pairs."""

    generator_limited: bool
    reasons: tuple[str, ...]
    notes: tuple[str, ...]
    cause: str
    timed_queries: int
    lateness_mean_ns: int
    lateness_p50_ns: int
    lateness_p90_ns: int
    lateness_p99_ns: int
    lateness_max_ns: int
    mean_interarrival_ns: int
    lateness_bound_ns: int
    reissue_count: int
    reissue_mean_ns: int
    reissue_max_ns: int
    series_duration_s: float
    issue_threads: int
    issue_cpu_share: float
    issue_callback_share: float
    log_thread_cpu_share: float
    has_client: bool
    client_io_cpu_share: float
    client_queries: int
    connection_waits: int
    connection_wait_mean_ns: int
    connection_wait_max_ns: int
    max_outstanding: int
    outstanding: tuple[tuple[float, int], ...]

    @classmethod
    def from_mapping(cls, d: Mapping[str, Any]) -> GeneratorCheck:
        """From the engine's JSON object (the detail log value); unknown keys are ignored so
        a newer engine's log still reads."""
        names = cls.__dataclass_fields__
        values = {k: v for k, v in d.items() if k in names}
        values["reasons"] = tuple(d.get("reasons", ()))
        values["notes"] = tuple(d.get("notes", ()))
        values["outstanding"] = tuple((float(t), int(n)) for t, n in d.get("outstanding", ()))
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> GeneratorCheck:
        return cls.from_mapping(json.loads(text))

    @classmethod
    def from_detail_log(cls, path: str | Path) -> GeneratorCheck | None:
        """The last performance series' check in a detail log; None if it has none (the
        official LoadGen's logs, an accuracy-only run)."""
        found: GeneratorCheck | None = None
        marker = f'"key": "{DETAIL_LOG_KEY}"'
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if marker not in line:
                    continue
                entry = json.loads(line.split(":::MLLOG", 1)[-1])
                found = cls.from_mapping(entry["value"])
        return found

    @property
    def issue_rate_qps(self) -> float:
        """The scheduled arrival rate of the timed queries (0 without them)."""
        return 1e9 / self.mean_interarrival_ns if self.mean_interarrival_ns > 0 else 0.0


def describe(check: GeneratorCheck) -> list[str]:
    """Human-readable lines: the verdict first, then the figures behind it."""
    lines = []
    if check.generator_limited:
        what = ", ".join(check.reasons)
        cause = f" (cause: {check.cause})" if check.cause else ""
        lines.append(f"GENERATOR LIMITED: {what}{cause}; the result measures loadgen, not the SUT")
    else:
        lines.append("generator kept up: not limited by loadgen")
    if check.timed_queries:
        lines.append(
            f"issue lateness: p50 {_ms(check.lateness_p50_ns)}, p99 {_ms(check.lateness_p99_ns)}"
            f" (bound {_ms(check.lateness_bound_ns)}), max {_ms(check.lateness_max_ns)} over "
            f"{check.timed_queries} scheduled queries, mean gap {_ms(check.mean_interarrival_ns)}"
        )
    if check.reissue_count:
        lines.append(
            f"closed loop: next query issued {_ms(check.reissue_mean_ns)} (max "
            f"{_ms(check.reissue_max_ns)}) after the previous one completed"
        )
    lines.append(
        f"threads: issue x{check.issue_threads} {check.issue_cpu_share:.0%} CPU, "
        f"{check.issue_callback_share:.0%} of its time inside the SUT's issue; "
        f"log thread {check.log_thread_cpu_share:.0%} CPU"
        + (f"; client I/O thread {check.client_io_cpu_share:.0%} CPU" if check.has_client else "")
    )
    if check.has_client:
        lines.append(
            f"connections: {check.connection_waits} of {check.client_queries} queries waited "
            f"for one, mean {_ms(check.connection_wait_mean_ns)} per query, max "
            f"{_ms(check.connection_wait_max_ns)}"
        )
    if "client_connections" in check.notes:
        lines.append(
            "note: queries waited for a free connection for over a tenth of the mean latency; "
            "the server saw fewer requests at once than were outstanding (raise --max-connections)"
        )
    lines.append(f"outstanding samples: max {check.max_outstanding}")
    return lines


def results_section(check: GeneratorCheck | None) -> dict[str, Any] | None:
    """The "generator" section of the versioned JSON results file: plain JSON types, the
    verdict first. None when the run has no check (no performance series)."""
    if check is None:
        return None
    return {
        "generator_limited": check.generator_limited,
        "reasons": list(check.reasons),
        "notes": list(check.notes),
        "cause": check.cause,
        "rule": {
            "lateness_p99_bound_ns": check.lateness_bound_ns,
            "mean_interarrival_ns": check.mean_interarrival_ns,
        },
        "lateness_ns": {
            "count": check.timed_queries,
            "mean": check.lateness_mean_ns,
            "p50": check.lateness_p50_ns,
            "p90": check.lateness_p90_ns,
            "p99": check.lateness_p99_ns,
            "max": check.lateness_max_ns,
        },
        "reissue_gap_ns": {
            "count": check.reissue_count,
            "mean": check.reissue_mean_ns,
            "max": check.reissue_max_ns,
        },
        "cpu_share": {
            "issue_threads": check.issue_cpu_share,
            "issue_in_sut_callback": check.issue_callback_share,
            "log_thread": check.log_thread_cpu_share,
            "client_io_thread": check.client_io_cpu_share if check.has_client else None,
        },
        "issue_threads": check.issue_threads,
        "client": {
            "queries": check.client_queries,
            "connection_waits": check.connection_waits,
            "connection_wait_mean_ns": check.connection_wait_mean_ns,
            "connection_wait_max_ns": check.connection_wait_max_ns,
        }
        if check.has_client
        else None,
        "outstanding": {
            "max": check.max_outstanding,
            "series": [[t, n] for t, n in check.outstanding],
        },
        "series_duration_s": check.series_duration_s,
    }


def exit_status(result: RunResult) -> int:
    """The CLI's exit status for one run: 3 if the self-check flagged it, else 0 if VALID,
    else 1."""
    if result.generator is not None and result.generator.generator_limited:
        return EXIT_GENERATOR_LIMITED
    return 0 if result.valid else 1


def _ms(ns: int) -> str:
    if ns < 1_000_000:
        return f"{ns / 1e3:.0f} us"
    return f"{ns / 1e6:.2f} ms"
