"""``loadgen.search``: the highest load that meets latency objectives, found with few queries.

The search brackets the answer (grows the load geometrically from ``start`` until a probe
fails, or shrinks it until one passes), then narrows the bracket by bisection in log space.
Each probe is one run on the same warm SUT (:mod:`loadgen.probing`), and ends as soon as the
evidence decides it (the binomial test behind LoadGen's early stopping, at a chosen error,
:func:`loadgen.decision.judge`); a probe the evidence cannot decide runs to its planned length
and is judged by its point estimates. docs/search.md explains the algorithm, the stopping rule
and what is guaranteed.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal, Protocol, Sequence

from . import _core
from .decision import BoundEvidence, SequentialDecision, evidence_for_bound
from .load_models import Concurrency, ConstantRate, LoadModel
from .metrics import MetricOptions
from .probing import ProbeRun, ProbeRunner
from .progress import format_ns
from .results import LatencyStats, RunResult
from .runner import AnySut
from .search_goodput import GoodputObjective, parse_goodput_objective
from .settings import Mode, PathLike, Scenario, Settings
from .sut import QuerySampleLibrary

__all__ = [
    "GoodputObjective",
    "LatencyObjective",
    "LoadKind",
    "Objective",
    "ProbeDecision",
    "ProbeRecord",
    "SearchResult",
    "find_capacity",
    "parse_objective",
    "search",
]


class LoadKind(str, enum.Enum):
    """What the search varies."""

    SERVER_QPS = "server-qps"  # the Server scenario's Poisson rate
    CONSTANT_RATE = "constant-rate"  # evenly spaced arrivals (load model)
    CONCURRENCY = "concurrency"  # queries in flight (closed-loop load model)
    MULTISTREAM_SAMPLES = "multistream-samples"  # MultiStream samples per query
    OFFLINE_QPS = "offline-qps"  # Offline samples per second, all due within the bound

    @property
    def integer(self) -> bool:
        return self in (LoadKind.CONCURRENCY, LoadKind.MULTISTREAM_SAMPLES)

    @property
    def unit(self) -> str:
        return {
            LoadKind.SERVER_QPS: "queries/s",
            LoadKind.CONSTANT_RATE: "queries/s",
            LoadKind.CONCURRENCY: "in flight",
            LoadKind.MULTISTREAM_SAMPLES: "samples/query",
            LoadKind.OFFLINE_QPS: "samples/s",
        }[self]


Metric = Literal["latency", "ttft", "tpot"]


class Objective(Protocol):
    """One objective of the search. Every objective is a bound on the share of "bad" requests
    (over a latency bound, or missing an SLO), so the same binomial test decides all of them:
    a goodput objective (the share of requests meeting every SLO of a tier is at least g) is
    an Objective whose ``evidence`` counts the requests missing the tier."""

    @property
    def name(self) -> str: ...

    @property
    def bound_ns(self) -> int: ...

    def evidence(self, snap: _core.LiveSnapshot, pass_margin: float) -> BoundEvidence | None:
        """What a live snapshot says (with the count over ``pass_margin`` x the bound for the
        pass test, :func:`loadgen.decision.evidence_for_bound`); None if this objective cannot
        be judged live."""
        ...

    def holds(self, result: RunResult, final: _core.LiveSnapshot | None) -> bool:
        """The verdict of a probe that ran to its planned end (point estimate)."""
        ...


@dataclass(frozen=True)
class LatencyObjective:
    """The ``percentile`` of ``metric`` (end-to-end latency, TTFT or TPOT) is at most
    ``bound_s``. In MultiStream the latency is the query's (its last sample's)."""

    metric: Metric
    percentile: float
    bound_s: float

    def __post_init__(self) -> None:
        if self.metric not in ("latency", "ttft", "tpot"):
            raise ValueError(f"metric must be latency, ttft or tpot, got {self.metric!r}")
        if not 0.0 < self.percentile < 1.0:
            raise ValueError(f"percentile must be in (0, 1), got {self.percentile!r}")
        if not self.bound_s > 0:
            raise ValueError(f"bound_s must be positive, got {self.bound_s!r}")

    @property
    def name(self) -> str:
        return f"p{self.percentile * 100:g} {self.metric} <= {format_ns(self.bound_ns)}"

    @property
    def bound_ns(self) -> int:
        return round(self.bound_s * 1e9)

    def _sample(self, snap: _core.LiveSnapshot) -> list[int]:
        if self.metric == "ttft":
            return snap.ttft_sample_ns
        if self.metric == "tpot":
            return snap.tpot_sample_ns
        return snap.latency_sample_ns

    def evidence(self, snap: _core.LiveSnapshot, pass_margin: float = 1.0) -> BoundEvidence | None:
        e = evidence_for_bound(
            snap, self.name, self._sample(snap), self.bound_ns, self.percentile, pass_margin
        )
        if snap.scenario == "MultiStream":
            # The board samples sample latencies; a query is over the bound if any of its
            # samples is, so a sampled over-bound share proves failure but never success.
            return dataclasses.replace(e, unsure=e.trials)
        return e

    def holds(self, result: RunResult, final: _core.LiveSnapshot | None) -> bool:
        stats = {
            "latency": result.query_latency or result.latency,
            "ttft": result.first_token_latency,
            "tpot": result.time_per_output_token,
        }[self.metric]
        value = _value_at(stats, self.percentile)
        if value is None and final is not None:
            sample = self._sample(final)
            value = (
                sample[min(len(sample) - 1, int(self.percentile * len(sample)))] if sample else None
            )
        return value is not None and value <= self.bound_ns


def _value_at(stats: LatencyStats | None, percentile: float) -> int | None:
    if stats is None:
        return None
    for p, v in stats.percentiles_ns.items():
        if abs(p - percentile) < 1e-9:
            return v
    return None


_OBJECTIVE = re.compile(
    r"^\s*p(?P<pct>[0-9.]+)\s+(?P<metric>latency|ttft|tpot)\s*<=\s*(?P<num>[0-9.]+)\s*(?P<unit>ns|us|µs|ms|s)\s*$"
)
_UNIT_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0}


def parse_objective(text: str) -> LatencyObjective | GoodputObjective:
    """``"p99 latency <= 50ms"``, ``"p90 ttft <= 2s"``, ``"p99.9 tpot <= 80ms"``, or a goodput
    objective, ``"goodput >= 0.9 ttft<=200ms,tpot<=50ms"`` (:func:`parse_goodput_objective`)."""
    if text.strip().lower().startswith("goodput"):
        return parse_goodput_objective(text)
    m = _OBJECTIVE.match(text.lower())
    if m is None:
        raise ValueError(
            f"objective {text!r}: write it as 'pNN METRIC <= VALUE UNIT', METRIC one of "
            "latency, ttft, tpot, UNIT one of ns, us, ms, s (e.g. 'p99 latency <= 50ms')"
        )
    return LatencyObjective(
        metric=m["metric"],  # type: ignore[arg-type]  # the pattern allows these three only
        # Rounded so "p99.9" is 0.999 and "800us" 0.0008, not their float products.
        percentile=round(float(m["pct"]) / 100.0, 12),
        bound_s=round(float(m["num"]) * _UNIT_S[m["unit"]], 15),
    )


class ProbeDecision(SequentialDecision):
    """The decision policy of one probe: :class:`loadgen.decision.SequentialDecision` on the
    search's objectives."""

    def __init__(self, objectives: Sequence[Objective], **kwargs: Any) -> None:
        self.objectives = list(objectives)
        super().__init__(**kwargs)

    def evidence(self, snap: _core.LiveSnapshot) -> list[tuple[str, BoundEvidence | None]]:
        return [(o.name, o.evidence(snap, self.pass_margin)) for o in self.objectives]


@dataclass(frozen=True)
class ProbeRecord:
    """One probe of a search."""

    load: float
    passed: bool
    #: The reason the evidence ended the probe early; empty if it ran to its planned end (then
    #: ``passed`` is the point estimates' verdict, without a statistical guarantee).
    decided_early: str
    #: The bound on the chance the verdict is wrong (the probe's error), None when undecided.
    error: float | None
    queries: int
    samples: int
    #: The probe's wall time (the run, its plan and its logs).
    wall_s: float
    log_dir: Path
    #: A full-length probe of the answer found (``search(confirm=True)``).
    confirming: bool
    result: RunResult


@dataclass(frozen=True)
class SearchResult:
    """The answer and how it was found."""

    load_kind: LoadKind
    objectives: tuple[Objective, ...]
    #: The highest load that passed (None: none did, down to ``min_load``).
    answer: float | None
    #: The lowest load that failed above it (None: none did, up to ``max_load``).
    lowest_failing: float | None
    probes: tuple[ProbeRecord, ...]
    #: At most this chance that any probe verdict is wrong (sum of the decided probes' errors);
    #: probes that ran to their end add no guarantee and are counted in ``undecided_probes``.
    error_bound: float
    undecided_probes: int

    @property
    def bracket(self) -> tuple[float | None, float | None]:
        """[highest passing, lowest failing]: the capacity lies in between."""
        return (self.answer, self.lowest_failing)

    @property
    def total_queries(self) -> int:
        return sum(p.queries for p in self.probes)

    @property
    def total_samples(self) -> int:
        return sum(p.samples for p in self.probes)

    @property
    def verdict(self) -> str:
        unit = self.load_kind.unit
        objectives = "; ".join(o.name for o in self.objectives)
        if self.answer is None:
            return f"no load passed ({objectives})"
        hi = f"{self.lowest_failing:g}" if self.lowest_failing is not None else "not reached"
        decided = len(self.probes) - self.undecided_probes
        return (
            f"capacity {self.answer:g} {unit} (bracket [{self.answer:g}, {hi}]) for {objectives}; "
            f"{decided} of {len(self.probes)} probes decided early, each wrong with chance "
            f"<= their error, together <= {self.error_bound:.3g}"
        )

    def table(self) -> str:
        """The probes as a text table."""
        rows = [("#", "load", "verdict", "queries", "samples", "wall s", "decided early", "logs")]
        for i, p in enumerate(self.probes):
            rows.append(
                (
                    str(i),
                    f"{p.load:g}",
                    ("pass" if p.passed else "fail") + (" (confirm)" if p.confirming else ""),
                    str(p.queries),
                    str(p.samples),
                    f"{p.wall_s:.2f}",
                    p.decided_early or "no (ran to its end)",
                    str(p.log_dir),
                )
            )
        widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
        return "\n".join(lines)


def _probe_setup(
    base: Settings,
    kind: LoadKind,
    load: float,
    duration_s: float,
    all_objectives: Sequence[Objective],
) -> tuple[Settings, LoadModel | None]:
    """The settings (and load model) of one probe at `load`. The latency objectives set the
    official bounds; goodput objectives are read from the run's metrics."""
    objectives = [o for o in all_objectives if isinstance(o, LatencyObjective)]
    latency = next((o for o in objectives if o.metric == "latency"), None)
    ttft = next((o for o in objectives if o.metric == "ttft"), None)
    tpot = next((o for o in objectives if o.metric == "tpot"), None)
    duration_ms = max(1, round(duration_s * 1000))
    common = dict(mode=Mode.PERFORMANCE, min_duration_ms=duration_ms, min_query_count=1)
    if kind is LoadKind.MULTISTREAM_SAMPLES:
        s = dataclasses.replace(
            base,
            scenario=Scenario.MULTI_STREAM,
            multi_stream_samples_per_query=int(load),
            **common,  # type: ignore[arg-type]
        )
        if latency is not None:
            s = dataclasses.replace(s, multi_stream_target_latency_percentile=latency.percentile)
        # The closed loop ends at the min duration; a low expected latency only makes sure the
        # plan has enough queries for it (it is generated for duration / expected latency).
        return dataclasses.replace(s, multi_stream_expected_latency_ns=1_000_000), None
    if kind is LoadKind.OFFLINE_QPS:
        bound_s = latency.bound_s if latency is not None else duration_s
        # Every sample is issued at once and is due within the bound: load x bound samples.
        samples = max(1, math.ceil(load * bound_s))
        s = dataclasses.replace(
            base,
            scenario=Scenario.OFFLINE,
            mode=Mode.PERFORMANCE,
            offline_expected_qps=load,
            min_duration_ms=1,
            min_query_count=samples,
            max_query_count=0,
        )
        return s, None
    s = dataclasses.replace(base, scenario=Scenario.SERVER, **common)  # type: ignore[arg-type]
    percentile = next((o.percentile for o in objectives), s.server_target_latency_percentile)
    s = dataclasses.replace(s, server_target_latency_percentile=percentile)
    if latency is not None:
        s = dataclasses.replace(s, server_target_latency_ns=latency.bound_ns)
    if ttft is not None:
        s = dataclasses.replace(s, server_ttft_latency_ns=ttft.bound_ns)
    if tpot is not None:
        s = dataclasses.replace(s, server_tpot_latency_ns=tpot.bound_ns)
    if kind is LoadKind.SERVER_QPS:
        return dataclasses.replace(s, server_target_qps=load), None
    if kind is LoadKind.CONSTANT_RATE:
        return s, ConstantRate(qps=load, duration_s=duration_s)
    return s, Concurrency(n=int(load), duration_s=duration_s)


def search(
    sut: AnySut,
    qsl: QuerySampleLibrary,
    objectives: Sequence[LatencyObjective | GoodputObjective | str],
    *,
    load: LoadKind | str = LoadKind.SERVER_QPS,
    start: float,
    settings: Settings | None = None,
    min_load: float | None = None,
    max_load: float | None = None,
    growth: float = 2.0,
    resolution: float = 0.05,
    probe_duration_s: float = 10.0,
    error: float = 0.01,
    decide_early: bool = True,
    confirm: bool = True,
    settle_s: float | None = None,
    pass_margin: float = 0.5,
    max_probes: int = 30,
    log_dir: PathLike = "search-logs",
    progress: bool | None = False,
) -> SearchResult:
    """Finds the highest ``load`` at which every objective holds.

    ``objectives``: :class:`LatencyObjective`, :class:`GoodputObjective` or text such as
    ``"p99 latency <= 50ms"`` or ``"goodput >= 0.9 ttft<=200ms,tpot<=50ms"``.
    ``load``: what varies (:class:`LoadKind`); ``start`` its first value. The bracket grows by
    ``growth`` per probe (shrinks by it while the start fails), then bisection in log space
    narrows it until ``lowest_failing / answer <= 1 + resolution`` (integer loads: until they
    are adjacent). ``probe_duration_s``: a probe's planned length (its min duration); a probe
    the evidence decides ends sooner. ``error``: each decided probe is wrong with chance at most
    this. ``confirm``: the answer, if it passed early, is probed again for its full length (a
    failure moves the search below it), and the lowest failing load, if it failed early, once
    (a pass moves the search above it). ``settle_s``: the least load time before a probe may pass early (default: a fifth of
    the probe's length; a pass also needs the evidence to show no queue building up).
    ``pass_margin``: a probe passes early only if its percentiles are shown under this
    fraction of the bounds (near capacity a queue builds up slowly, so a load that looks fine
    early may still fail; such probes run to their end). The SUT and QSL stay warm across probes; each probe's logs go to
    ``log_dir/probe-NN-<load>``.
    """
    kind = LoadKind(load)
    parsed = tuple(parse_objective(o) if isinstance(o, str) else o for o in objectives)
    if not parsed:
        raise ValueError("search needs at least one objective")
    if start <= 0 or growth <= 1.0 or resolution <= 0:
        raise ValueError("search needs start > 0, growth > 1 and resolution > 0")
    base = settings or Settings()
    goodput = [o for o in parsed if isinstance(o, GoodputObjective)]
    tiers = {o.tier: o.slo for o in goodput}
    if len(tiers) < len(goodput):
        raise ValueError("give each goodput objective a tier name of its own")
    if any(o.needs_tokens for o in goodput) and not base.use_token_latencies:
        raise ValueError(
            "a goodput limit on ttft or tpot needs token latencies: set use_token_latencies "
            "in the settings (--use-token-latencies true)"
        )
    metrics = MetricOptions(tiers=tiers) if tiers else None
    runner = ProbeRunner(sut, qsl, log_dir, progress=progress, metrics=metrics)
    settle = probe_duration_s / 5 if settle_s is None else settle_s
    records: list[ProbeRecord] = []

    def probe(value: float, *, confirming: bool = False) -> ProbeRecord:
        s, model = _probe_setup(base, kind, value, probe_duration_s, parsed)
        policy = (
            ProbeDecision(
                parsed,
                error=error,
                settle_s=settle,
                allow_pass=not confirming,
                pass_margin=pass_margin,
            )
            if decide_early and kind is not LoadKind.OFFLINE_QPS
            else None
        )
        label = f"{value:g}-confirm" if confirming else f"{value:g}"
        run = runner.run(label, s, load=model, decide=policy)
        records.append(_record(value, run, policy, parsed, confirming))
        return records[-1]

    def verdict(value: float, confirming: bool) -> tuple[bool, bool]:
        record = probe(value, confirming=confirming)
        return record.passed, record.error is not None

    lo, hi = find_capacity(
        verdict,
        start=start,
        integer=kind.integer,
        growth=growth,
        resolution=resolution,
        min_load=min_load,
        max_load=max_load,
        max_probes=max_probes,
        confirm=confirm,
    )
    decided = [r for r in records if r.error is not None]
    return SearchResult(
        load_kind=kind,
        objectives=parsed,
        answer=lo,
        lowest_failing=hi,
        probes=tuple(records),
        error_bound=min(1.0, sum(r.error or 0.0 for r in decided)),
        undecided_probes=len(records) - len(decided),
    )


@dataclass(frozen=True)
class _Step:
    load: float
    passed: bool
    early: bool  # decided early (a statistical verdict), not at the probe's full length


def find_capacity(
    probe: Callable[[float, bool], tuple[bool, bool]],
    *,
    start: float,
    integer: bool = False,
    growth: float = 2.0,
    resolution: float = 0.05,
    min_load: float | None = None,
    max_load: float | None = None,
    max_probes: int = 30,
    confirm: bool = True,
) -> tuple[float | None, float | None]:
    """The search's algorithm (docs/search.md), apart from running probes: ``probe(load,
    confirming)`` returns (passed, decided early); ``confirming``: a full-length check, which
    may fail early but passes only at its end. Returns [highest passing, lowest failing]."""
    steps: list[_Step] = []

    def run(value: float, confirming: bool = False) -> bool:
        passed, early = probe(value, confirming)
        steps.append(_Step(value, passed, early))
        return passed

    def normalize(value: float) -> float:
        if integer:
            value = float(max(1, round(value)))
        if max_load is not None:
            value = min(value, max_load)
        return value

    lo: float | None = None
    hi: float | None = None
    value = normalize(start)
    # Bracket.
    while len(steps) < max_probes:
        if run(value):
            lo = value
            if hi is not None or (max_load is not None and value >= max_load):
                break
            nxt = normalize(value * growth)
            if nxt <= value:
                break
        else:
            hi = value
            if lo is not None:
                break
            nxt = value / growth
            if integer:
                nxt = float(math.floor(nxt))
                if nxt < 1 or nxt >= value:
                    break
            if min_load is not None and nxt < min_load:
                break
        value = nxt
    rechecked = False
    while lo is not None and len(steps) < max_probes:
        # Narrow.
        while hi is not None and len(steps) < max_probes:
            if integer:
                if hi - lo <= 1:
                    break
                mid = float(round(math.sqrt(lo * hi)))
                mid = min(max(mid, lo + 1), hi - 1)
            else:
                if hi / lo <= 1 + resolution:
                    break
                mid = math.sqrt(lo * hi)
            if run(mid):
                lo = mid
            else:
                hi = mid
        if not confirm or len(steps) >= max_probes:
            break
        # Confirm the answer: it passed early on a trend that a queue building up slowly could
        # still break, so it runs its full length (it may still fail early). If it fails, the
        # search goes on below it.
        if any(r.load == lo and r.passed and r.early for r in steps):
            if not run(lo, True):
                hi = lo
                below = [r.load for r in steps if r.passed and r.load < hi]
                lo = max(below) if below else None
                continue
        # Check the lowest failure once: a probe that failed early may have met a stall of the
        # machine rather than the load's own latency. If it passes its full length, the search
        # goes on above it.
        if (
            not rechecked
            and hi is not None
            and len(steps) < max_probes
            and any(r.load == hi and r.early for r in steps)
        ):
            rechecked = True
            if run(hi, True):
                lo = hi
                above = [r.load for r in steps if not r.passed and r.load > lo]
                hi = min(above) if above else None
                while hi is None and len(steps) < max_probes:  # bracket again, upward
                    nxt = normalize(lo * growth)
                    if nxt <= lo:
                        break
                    if run(nxt):
                        lo = nxt
                    else:
                        hi = nxt
                continue
        break
    return lo, hi


def _record(
    value: float,
    run: ProbeRun,
    policy: ProbeDecision | None,
    objectives: Sequence[Objective],
    confirming: bool,
) -> ProbeRecord:
    result = run.result
    early = result.decided_early
    if early and policy is not None and policy.verdict is not None:
        # The live sample times a failed request like any other: a failure vetoes a pass.
        passed = policy.verdict == "pass" and result.samples_failed == 0
        error: float | None = policy.error
    else:
        final = _core._live_snapshot()
        passed = (
            result.samples_failed == 0
            and not result.interrupted
            and all(o.holds(result, final) for o in objectives)
        )
        error = None
        early = ""
    return ProbeRecord(
        load=value,
        passed=passed,
        decided_early=early,
        error=error,
        queries=result.queries_issued,
        samples=result.samples_completed,
        wall_s=run.wall_s,
        log_dir=run.log_dir,
        confirming=confirming,
        result=result,
    )
