"""The outcome of a run, as frozen dataclasses."""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from . import _core
from .metrics import EndpointMetrics, EndpointRun, MetricOptions, Metrics, outcome_metrics
from .selfcheck import GeneratorCheck
from .settings import Mode, Scenario

__all__ = ["LatencyStats", "RunResult", "StageResult"]


@dataclass(frozen=True)
class LatencyStats:
    """Latency figures of one latency family in nanoseconds, with the official percentile rule
    (no interpolation). ``percentiles_ns`` maps the reported percentiles (0.5, 0.9, 0.95, 0.97,
    0.99, 0.999) to their values. ``at_target_ns`` is the value at the scenario's target
    percentile: always set in a :class:`RunResult`, None in statistics read back from a detail
    log (:mod:`loadgen.report`) whose target percentile is not one of the reported ones."""

    min_ns: int
    max_ns: int
    mean_ns: int
    percentiles_ns: Mapping[float, int]
    at_target_ns: int | None = None

    @classmethod
    def _from_core(cls, stats: _core.LatencyStats) -> LatencyStats:
        return cls(
            min_ns=stats.min,
            max_ns=stats.max,
            mean_ns=stats.mean,
            percentiles_ns=dict(stats.percentiles),
            at_target_ns=stats.at_target,
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
    #: docs/metrics.md's metrics over this stage's requests (warm-up and cool-down included:
    #: a stage is what it is); None when the test had no performance series.
    metrics: Metrics | None = None
    #: A :class:`~loadgen.Conversations` stage (its queries are the turns, ``concurrency`` its
    #: users): conversations planned, started (first turn issued) and completed (every turn
    #: answered, failed answers included). 0 for other stages.
    conversations_planned: int = 0
    conversations_started: int = 0
    conversations_completed: int = 0

    @classmethod
    def _from_core(cls, s: _core.StageResult, metrics: Metrics | None = None) -> StageResult:
        # Every field but `metrics` (computed in Python) has the bound StageResult's name.
        values = {
            f.name: getattr(s, f.name) for f in dataclasses.fields(cls) if f.name != "metrics"
        }
        values["latency_percentiles_ns"] = {
            float(k): int(v) for k, v in s.latency_percentiles_ns.items()
        }
        return cls(**values, metrics=metrics)


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
    #: Samples the SUT completed as failed (:func:`loadgen.fail`, an endpoint's failed
    #: requests), over every series of the test; any makes the run not valid.
    samples_failed: int
    #: ``samples_failed`` by reason ("http_5xx", "cancelled", ...), reasons with a count only.
    failed_by_reason: Mapping[str, int]
    early_stopping_met: bool
    early_stopping_text: str
    early_stopping_latency_ss_ns: int
    early_stopping_latency_multi_stream_ns: int
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
    #: docs/metrics.md's request metrics (TTFT, TPOT, ITL, E2E, throughputs, goodput per SLO
    #: tier) over the measured requests of the performance series; None without one.
    metrics: Metrics | None = None
    #: What ``metrics`` was computed with (percentiles, SLO tiers).
    metric_options: MetricOptions = dataclasses.field(default_factory=MetricOptions)
    #: An endpoint SUT with several base URLs: one breakdown per URL (one entry for one URL).
    endpoints: tuple[EndpointMetrics, ...] = ()
    #: loadgen_results.json beside the official logs (docs/metrics.md), when written.
    results_path: Path | None = None
    #: The generator self-check of the performance series (docs/self-check.md); None without
    #: one (AccuracyOnly).
    generator: GeneratorCheck | None = None
    #: Why a decision policy (``run(..., decide=...)``) ended the performance series early;
    #: empty if it ran to its planned end. Also in the detail log (loadgen_series_decided).
    decided_early: str = ""

    @property
    def summary(self) -> str:
        """The text of mlperf_log_summary.txt."""
        return self.summary_path.read_text()

    @property
    def early_stopping_latency_ms_ns(self) -> int:
        """Deprecated alias of :attr:`early_stopping_latency_multi_stream_ns` ("ms" meant
        MultiStream, not milliseconds)."""
        warnings.warn(
            "RunResult.early_stopping_latency_ms_ns is deprecated; use "
            "early_stopping_latency_multi_stream_ns",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.early_stopping_latency_multi_stream_ns


def _metric(scenario: Scenario, perf: _core.PerformanceSummary, tokens: bool) -> tuple[str, float]:
    if scenario is Scenario.OFFLINE:
        if tokens:
            return "tokens_per_second", perf.tokens_per_second
        return "samples_per_second", perf.samples_per_second
    if scenario is Scenario.SERVER:
        if tokens:
            return "completed_tokens_per_second", perf.completed_tokens_per_second
        return "completed_samples_per_second", perf.completed_samples_per_sec
    if scenario is Scenario.MULTI_STREAM:
        return "early_stopping_latency_multi_stream_ns", float(perf.early_stopping_latency_ms)
    return "early_stopping_latency_ss_ns", float(perf.early_stopping_latency_ss)


def _failed_constraints(perf: _core.PerformanceSummary) -> tuple[str, ...]:
    checks = (
        ("min_duration", perf.min_duration_met),
        ("min_queries", perf.min_queries_met),
        ("latency_constraint", perf.perf_constraints_met),
        ("early_stopping", perf.early_stopping_met),
        ("failed_samples", perf.failed_samples == 0),
    )
    return tuple(name for name, met in checks if not met)


def build_result(
    scenario: Scenario,
    mode: Mode,
    outcome: _core.TestOutcome,
    use_tokens: bool,
    metric_options: MetricOptions | None = None,
    endpoint: EndpointRun | None = None,
) -> RunResult:
    """Builds the RunResult from the engine's outcome (loadgen._core._run_test); ``endpoint``:
    what an endpoint SUT's records add (loadgen.metrics.endpoint_run)."""
    options = metric_options or MetricOptions()
    inputs: Sequence[int] = endpoint.input_tokens if endpoint else ()

    def stage_itl(i: int) -> Sequence[int]:
        return endpoint.stage_itl_ns[i] if endpoint and i < len(endpoint.stage_itl_ns) else ()

    perf = outcome.performance
    summary_path = Path(outcome.summary_path)
    interrupted = outcome.aborted
    # What a test without a performance series (AccuracyOnly) reports.
    without_performance = RunResult(
        scenario=scenario,
        mode=mode,
        valid=not interrupted and outcome.errors == 0 and outcome.failed_samples == 0,
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
        samples_failed=outcome.failed_samples,
        failed_by_reason=outcome.failed_by_reason,
        early_stopping_met=True,
        early_stopping_text="",
        early_stopping_latency_ss_ns=0,
        early_stopping_latency_multi_stream_ns=0,
        token_count=0,
        tokens_per_second=0.0,
        errors=outcome.errors,
        warnings=outcome.warnings,
        interrupted=interrupted,
        interrupt_reason=outcome.abort_reason,
        log_dir=summary_path.parent,
        summary_path=summary_path,
        detail_path=Path(outcome.detail_path),
        accuracy_path=Path(outcome.accuracy_path),
        trace_path=Path(outcome.trace_path),
        stages=tuple(
            StageResult._from_core(s, outcome_metrics(outcome, options, i, stage_itl(i), inputs))
            for i, s in enumerate(outcome.stages)
        ),
        metrics=outcome_metrics(
            outcome, options, itl_ns=endpoint.itl_ns if endpoint else (), input_tokens=inputs
        ),
        metric_options=options,
        endpoints=endpoint.endpoints if endpoint else (),
        generator=GeneratorCheck.from_json(outcome.generator_check_json)
        if outcome.generator_check_json is not None
        else None,
        decided_early=outcome.decided_reason,
    )
    if perf is None:
        return without_performance
    recommendations = tuple(
        r
        for r in (
            perf.perf_constraints_recommendation,
            perf.min_duration_recommendation,
            perf.min_queries_recommendation,
            perf.failed_samples_recommendation,
        )
        if r
    )
    name, value = _metric(scenario, perf, use_tokens)
    token_run = use_tokens and scenario is not Scenario.OFFLINE
    es_text = perf.early_stopping_text
    if use_tokens:
        es_text = "\n".join(
            t for t in (perf.early_stopping_ttft_text, perf.early_stopping_tpot_text) if t
        )
    return dataclasses.replace(
        without_performance,
        valid=perf.valid and not interrupted,
        failed_constraints=_failed_constraints(perf),
        recommendations=recommendations,
        metric_name=name,
        metric=value,
        latency=LatencyStats._from_core(perf.sample_latency),
        query_latency=LatencyStats._from_core(perf.query_latency)
        if scenario is Scenario.MULTI_STREAM
        else None,
        first_token_latency=LatencyStats._from_core(perf.first_token_latency)
        if token_run
        else None,
        time_per_output_token=LatencyStats._from_core(perf.time_per_output_token)
        if token_run
        else None,
        queries_issued=perf.queries_issued,
        samples_completed=perf.sample_count,
        early_stopping_met=perf.early_stopping_met,
        early_stopping_text=es_text,
        early_stopping_latency_ss_ns=perf.early_stopping_latency_ss,
        early_stopping_latency_multi_stream_ns=perf.early_stopping_latency_ms,
        token_count=perf.token_count,
        tokens_per_second=perf.tokens_per_second or perf.completed_tokens_per_second,
    )
