"""What the logs of one run say: the values of the detail log, the latency statistics of its
results block, the verdict and its reasons, the headline metric of the summary."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from .model import PERCENTILES, DetailEntry, LatencyStats, Sample

__all__ = ["RunLogs", "query_latencies_ns"]

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
    #: loadgen_results.json beside the logs (loadgen.results_file), when the run wrote one.
    results: dict[str, Any] | None = None

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
        return (
            int(t) if self.scenario == "Server" and isinstance(t, (int, float)) and t > 0 else None
        )

    def token_targets_ns(self) -> tuple[int | None, int | None]:
        """The Server TTFT and TPOT bounds of a token run (None elsewhere)."""
        if self.scenario != "Server" or not self.use_tokens:
            return None, None
        ttft, tpot = (
            self.value("requested_server_ttft_latency"),
            self.value("requested_server_tpot_latency"),
        )
        return (
            int(ttft) if isinstance(ttft, int) else None,
            int(tpot) if isinstance(tpot, int) else None,
        )

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
        for e in self.entries[starts[-1] :]:
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
                what = (
                    f"{count} accuracy log entries"
                    if count is not None
                    else "no readable accuracy log"
                )
                reason = (
                    f"AccuracyOnly run: {what}; accuracy is scored by the benchmark's own script."
                )
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


def query_latencies_ns(samples: Sequence[Sample]) -> list[int]:
    """Per query: the latency of its last sample (MultiStream's measured quantity)."""
    latest: dict[int, int] = {}
    for s in samples:
        latest[s.query_seq] = max(latest.get(s.query_seq, s.latency_ns), s.latency_ns)
    return list(latest.values())
