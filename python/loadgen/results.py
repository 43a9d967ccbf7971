"""The outcome of a run, as frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from .settings import Mode, Scenario

__all__ = ["LatencyStats", "RunResult", "StageResult"]


@dataclass(frozen=True)
class LatencyStats:
    """Latency figures in nanoseconds, with the official percentile rule (no interpolation)."""

    min_ns: int
    max_ns: int
    mean_ns: int
    at_target_ns: int
    percentiles_ns: Mapping[float, int]

    @classmethod
    def _from_core(cls, d: Mapping[str, Any]) -> LatencyStats:
        return cls(
            min_ns=int(d["min"]),
            max_ns=int(d["max"]),
            mean_ns=int(d["mean"]),
            at_target_ns=int(d["at_target"]),
            percentiles_ns={float(k): int(v) for k, v in d["percentiles"].items()},
        )


@dataclass(frozen=True)
class StageResult:
    """One stage of a load model's run (``RunResult.stages``). Latencies count from each
    query's scheduled moment (open loop) or its issue (closed loop); percentiles use the
    official rule (no interpolation). ``gated_queries``: open-loop queries that found the
    ``max_concurrency`` cap reached; ``gate_wait_*``: how long after their scheduled moment
    they were issued."""

    name: str
    kind: str
    measured: bool
    concurrency: int
    planned_queries: int
    queries_issued: int
    samples_completed: int
    start_s: float
    duration_s: float
    issued_qps: float
    completed_qps: float
    latency_min_ns: int
    latency_mean_ns: int
    latency_max_ns: int
    latency_percentiles_ns: Mapping[float, int]
    gated_queries: int
    gate_wait_mean_ns: int
    gate_wait_max_ns: int
    ran_out: bool

    @classmethod
    def _from_core(cls, d: Mapping[str, Any]) -> StageResult:
        values = dict(d)
        values["latency_percentiles_ns"] = {float(k): int(v) for k, v in d["latency_percentiles_ns"].items()}
        return cls(**values)


@dataclass(frozen=True)
class RunResult:
    """What a test measured and decided. ``metric`` is the scenario's headline figure."""

    scenario: Scenario
    mode: Mode
    valid: bool
    failed_constraints: tuple[str, ...]
    recommendations: tuple[str, ...]
    metric_name: str
    metric: float
    latency: LatencyStats | None
    query_latency: LatencyStats | None
    first_token_latency: LatencyStats | None
    time_per_output_token: LatencyStats | None
    queries_issued: int
    samples_completed: int
    early_stopping_met: bool
    early_stopping_text: str
    early_stopping_latency_ss_ns: int
    early_stopping_latency_ms_ns: int
    token_count: int
    tokens_per_second: float
    errors: int
    warnings: int
    interrupted: bool
    interrupt_reason: str
    log_dir: Path
    summary_path: Path
    detail_path: Path
    accuracy_path: Path
    trace_path: Path
    #: A load model's run (``run(..., load=...)``): one result per stage; empty otherwise.
    stages: tuple[StageResult, ...] = ()

    @property
    def summary(self) -> str:
        """The text of mlperf_log_summary.txt."""
        return self.summary_path.read_text()


def _metric(scenario: Scenario, perf: Mapping[str, Any], tokens: bool) -> tuple[str, float]:
    if scenario is Scenario.OFFLINE:
        if tokens:
            return "tokens_per_second", float(perf["tokens_per_second"])
        return "samples_per_second", float(perf["samples_per_second"])
    if scenario is Scenario.SERVER:
        if tokens:
            return "completed_tokens_per_second", float(perf["completed_tokens_per_second"])
        return "completed_samples_per_second", float(perf["completed_samples_per_sec"])
    if scenario is Scenario.MULTI_STREAM:
        return "early_stopping_latency_ms_ns", float(perf["early_stopping_latency_ms"])
    return "early_stopping_latency_ss_ns", float(perf["early_stopping_latency_ss"])


def build_result(
    scenario: Scenario, mode: Mode, outcome: Mapping[str, Any], use_tokens: bool
) -> RunResult:
    """Builds the RunResult from the engine's outcome dict (loadgen._core._run_test)."""
    perf = outcome.get("performance")
    summary_path = Path(outcome["summary_path"])
    common: dict[str, Any] = dict(
        scenario=scenario,
        mode=mode,
        errors=int(outcome["errors"]),
        warnings=int(outcome["warnings"]),
        interrupted=bool(outcome["aborted"]),
        interrupt_reason=str(outcome["abort_reason"]),
        log_dir=summary_path.parent,
        summary_path=summary_path,
        detail_path=Path(outcome["detail_path"]),
        accuracy_path=Path(outcome["accuracy_path"]),
        trace_path=Path(outcome["trace_path"]),
        stages=tuple(StageResult._from_core(s) for s in outcome.get("stages", ())),
    )
    if perf is None:
        return RunResult(
            valid=not common["interrupted"] and common["errors"] == 0,
            failed_constraints=(),
            recommendations=(),
            metric_name="",
            metric=0.0,
            latency=None,
            query_latency=None,
            first_token_latency=None,
            time_per_output_token=None,
            queries_issued=0,
            samples_completed=0,
            early_stopping_met=True,
            early_stopping_text="",
            early_stopping_latency_ss_ns=0,
            early_stopping_latency_ms_ns=0,
            token_count=0,
            tokens_per_second=0.0,
            **common,
        )
    failed = []
    if not perf["min_duration_met"]:
        failed.append("min_duration")
    if not perf["min_queries_met"]:
        failed.append("min_queries")
    if not perf["perf_constraints_met"]:
        failed.append("latency_constraint")
    if not perf["early_stopping_met"]:
        failed.append("early_stopping")
    recommendations = [
        r for r in (perf["perf_constraints_recommendation"], perf["min_duration_recommendation"]) if r
    ]
    if not perf["min_queries_met"]:
        recommendations.append("The test exited early, before enough queries were issued.")
    name, value = _metric(scenario, perf, use_tokens)
    token_run = use_tokens and scenario is not Scenario.OFFLINE
    es_text = perf["early_stopping_text"]
    if use_tokens:
        es_text = "\n".join(t for t in (perf["early_stopping_ttft_text"], perf["early_stopping_tpot_text"]) if t)
    return RunResult(
        valid=bool(perf["valid"]) and not common["interrupted"],
        failed_constraints=tuple(failed),
        recommendations=tuple(recommendations),
        metric_name=name,
        metric=value,
        latency=LatencyStats._from_core(perf["sample_latency"]),
        query_latency=LatencyStats._from_core(perf["query_latency"])
        if scenario is Scenario.MULTI_STREAM
        else None,
        first_token_latency=LatencyStats._from_core(perf["first_token_latency"]) if token_run else None,
        time_per_output_token=LatencyStats._from_core(perf["time_per_output_token"]) if token_run else None,
        queries_issued=int(perf["queries_issued"]),
        samples_completed=int(perf["sample_count"]),
        early_stopping_met=bool(perf["early_stopping_met"]),
        early_stopping_text=es_text,
        early_stopping_latency_ss_ns=int(perf["early_stopping_latency_ss"]),
        early_stopping_latency_ms_ns=int(perf["early_stopping_latency_ms"]),
        token_count=int(perf["token_count"]),
        tokens_per_second=float(perf["tokens_per_second"] or perf["completed_tokens_per_second"]),
        **common,
    )
