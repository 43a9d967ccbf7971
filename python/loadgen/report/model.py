"""The records a report is made of: detail-log entries, per-sample data from a trace, and the
latency statistics of a results block."""

from __future__ import annotations

from typing import Any, NamedTuple

from ..results import LatencyStats  # one class for run results and parsed logs

__all__ = ["PERCENTILES", "DetailEntry", "LatencyStats", "ReportError", "Sample"]

# The percentiles every results block lists (docs/official-behaviour.md#results-latencies).
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
