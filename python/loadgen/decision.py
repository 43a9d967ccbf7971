"""Deciding a running series early: the binomial evidence a live snapshot gives about a latency
bound, the test behind LoadGen's early stopping used in both directions, and the decision
policies ``loadgen.run(..., decide=...)`` runs (the capacity search's probes, and the plain
run's opt-in ``--stop-when-decided``). The live display's forecast reads the same bounds
(:func:`checked_bounds`).

Every latency objective "the p-th percentile of X is at most B" is a claim about a share:
the share of requests over B is at most 1 - p. Each sampled completion is one Bernoulli
trial (over B or not), so the evidence is a binomial count, and the test is the one behind
LoadGen's early stopping (official loadgen/early_stopping.cc: the probability of at most t
over-bound queries among n when each is over with probability 1 - p), used in both
directions and at a chosen error level. docs/search.md explains it in plain words.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Literal, Protocol

from . import _core

__all__ = [
    "BoundEvidence",
    "DecisionPolicy",
    "SequentialDecision",
    "StopWhenDecided",
    "binomial_cdf",
    "binomial_sf",
    "checked_bounds",
    "evidence_for_bound",
    "judge",
]

# One reading of the engine's live board (loadgen._core._live_snapshot()).
Snapshot = _core.LiveSnapshot


def _format_ns(ns: float) -> str:
    from .progress import format_ns  # progress imports this module: import at call time

    return format_ns(ns)


def checked_bounds(snap: Snapshot) -> list[tuple[str, int, int, int]]:
    """The latency bounds the official checks in this series: (name, value at the target
    percentile, bound, completions sampled). Server only: the other scenarios have no bound."""
    if snap.accuracy or snap.scenario != "Server":
        return []
    # With tokens the official checks TTFT and TPOT instead of the end-to-end latency.
    if snap.use_token_latencies:
        return [
            ("TTFT", snap.ttft_at_target_ns, snap.server_ttft_latency_ns, snap.tokens_seen),
            ("TPOT", snap.tpot_at_target_ns, snap.server_tpot_latency_ns, snap.tokens_seen),
        ]
    return [("latency", snap.latency_at_target_ns, snap.target_latency_ns, snap.latencies_seen)]


@dataclass(frozen=True)
class BoundEvidence:
    """What a snapshot says about one bound: ``trials`` sampled completions, ``over`` of them
    over the bound, ``unsure`` outstanding requests (in sample units) that may end either
    side, and ``late`` of those already older than the bound (over it whatever happens)."""

    name: str
    allowed_share: float  # 1 - percentile
    trials: int
    over: int
    unsure: int = 0
    late: int = 0
    #: Over a stricter bound (pass margin x the bound): a pass is judged on it, so only a load
    #: comfortably inside the bound passes early. None: the bound itself.
    over_margin: int | None = None


def _log_binom_pmf(k: int, n: int, q: float) -> float:
    return (
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + k * math.log(q)
        + (n - k) * math.log1p(-q)
    )


def _tail(first: int, n: int, q: float, step: int) -> float:
    """The sum of the binomial(n, q) probabilities from `first` away from the mode (`step`
    -1: down to 0, +1: up to n), where they only shrink: a few dozen terms reach the last
    significant digit."""
    term = math.exp(_log_binom_pmf(first, n, q))
    total = 0.0
    i = first
    ratio = q / (1.0 - q)
    while 0 <= i <= n and term > 0.0:
        total += term
        if term < total * 1e-17:
            break
        if step < 0:
            term *= i / (n - i + 1) / ratio
        else:
            term *= (n - i) / (i + 1) * ratio
        i += step
    return min(1.0, total)


def binomial_cdf(k: int, n: int, q: float) -> float:
    """P(X <= k) for X ~ Binomial(n, q)."""
    if k < 0:
        return 0.0
    if k >= n or q <= 0.0:
        return 1.0
    if q >= 1.0:
        return 0.0
    mode = math.floor((n + 1) * q)
    return _tail(k, n, q, -1) if k < mode else 1.0 - _tail(k + 1, n, q, +1)


def binomial_sf(k: int, n: int, q: float) -> float:
    """P(X >= k) for X ~ Binomial(n, q)."""
    if k <= 0:
        return 1.0
    if k > n or q <= 0.0:
        return 0.0
    if q >= 1.0:
        return 1.0
    mode = math.floor((n + 1) * q)
    return _tail(k, n, q, +1) if k > mode else 1.0 - _tail(k - 1, n, q, -1)


def judge(e: BoundEvidence, alpha: float) -> Literal["pass", "fail"] | None:
    """ "pass" if the evidence shows the over-bound share is below ``allowed_share`` with error
    at most ``alpha`` (outstanding requests counted as over: they might be), "fail" if it
    shows it is above (only late outstanding counted as over), None while undecided."""
    q = e.allowed_share
    n_pass = e.trials + e.unsure
    over = e.over if e.over_margin is None else max(e.over, e.over_margin)
    if n_pass > 0 and binomial_cdf(over + e.unsure, n_pass, q) < alpha:
        return "pass"
    n_fail = e.trials + e.late
    if n_fail > 0 and binomial_sf(e.over + e.late, n_fail, q) < alpha:
        return "fail"
    return None


def evidence_for_bound(
    snap: Snapshot,
    name: str,
    sample: list[int],
    bound_ns: int,
    percentile: float,
    pass_margin: float = 1.0,
) -> BoundEvidence:
    """The evidence of one sampled family (``snap.latency_sample_ns``, ``ttft_sample_ns``,
    ``tpot_sample_ns``) about ``bound_ns`` at ``percentile``. The sample is a uniform draw of
    the completions; the outstanding samples are scaled into its units. ``pass_margin`` < 1:
    also counts the sample over ``pass_margin * bound_ns``, for the pass test."""
    trials = len(sample)
    over = trials - _count_at_most(sample, bound_ns)
    over_margin = (
        trials - _count_at_most(sample, int(bound_ns * pass_margin)) if pass_margin < 1 else None
    )
    outstanding = max(0, snap.samples_issued - snap.samples_completed)
    scale = trials / snap.samples_completed if snap.samples_completed else 0.0
    elapsed_ns = snap.elapsed_s * 1e9
    if snap.scenario == "Offline":
        # Issued at once: every outstanding sample is as old as the series.
        late_raw = outstanding if elapsed_ns > bound_ns else 0
    else:
        # Outstanding requests are mostly the latest issued: those beyond what a bound's worth
        # of issuing holds are late. Arrivals come in bursts, so that count gets a generous
        # allowance (4 sd of a Poisson count): `late` must not overstate.
        rate = snap.samples_issued / elapsed_ns if elapsed_ns > 0 else 0.0
        recent = rate * bound_ns
        late_raw = max(0, int(outstanding - (recent + 4 * math.sqrt(recent) + 1)))
    return BoundEvidence(
        name=name,
        allowed_share=1.0 - percentile,
        trials=trials,
        over=over,
        unsure=math.ceil(outstanding * scale),
        late=int(late_raw * scale),
        over_margin=over_margin,
    )


def _count_at_most(sorted_values: list[int], bound: int) -> int:
    return bisect.bisect_right(sorted_values, bound)


class DecisionPolicy(Protocol):
    """Called by ``loadgen.run(..., decide=policy)`` with a snapshot of the performance series
    every ``interval_s`` seconds, off the issue and completion paths; returns a reason to end
    the series now, or None to let it go on."""

    interval_s: float

    def __call__(self, snap: Snapshot) -> str | None: ...


class SequentialDecision:
    """A decision policy that tests bounds as the evidence grows: it looks each time the
    sample has grown by ``look_growth`` (from ``min_trials``; at most ``max_looks`` looks while
    the sample grows to ``max_trials``) and ends the series once every bound is shown met, or
    one is shown missed. Each look tests at ``error / max_looks``, so the chance that any look
    decides wrongly is at most ``error`` (a union bound over the looks). A pass also needs
    ``settle_s`` of load (None: a fifth of the series' min duration; nothing at all is decided
    in its first half), the percentile shown under ``pass_margin`` x the bound (a load near
    capacity looks fine early and degrades as its queue grows: only a load comfortably inside
    the bound passes early), and no sign of a queue
    building up (:meth:`steady`); ``allow_pass=False``: only a failure ends the series early.
    Subclasses say which bounds (:meth:`evidence`)."""

    def __init__(
        self,
        *,
        error: float = 0.01,
        min_trials: int = 20,
        look_growth: float = 1.5,
        max_trials: int = 4096,
        settle_s: float | None = None,
        interval_s: float = 0.05,
        allow_pass: bool = True,
        pass_margin: float = 0.5,
    ) -> None:
        self.error = error
        self.allow_pass = allow_pass
        self.pass_margin = pass_margin
        self.min_trials = min_trials
        self.look_growth = look_growth
        self.settle_s = settle_s
        self.interval_s = interval_s
        self.max_looks = 1 + math.ceil(math.log(max_trials / min_trials) / math.log(look_growth))
        self.looks = 0
        self._next_look = min_trials
        self.verdict: Literal["pass", "fail"] | None = None
        self.reason = ""
        self._previous: dict[str, tuple[int, int]] = {}

    @property
    def alpha(self) -> float:
        """The error level of one look."""
        return self.error / self.max_looks

    def evidence(self, snap: Snapshot) -> list[tuple[str, BoundEvidence | None]]:
        """(name, evidence) of each bound; None: cannot be judged from this snapshot."""
        raise NotImplementedError

    def steady(self, name: str, e: BoundEvidence) -> bool:
        """Whether nothing says the load is building a queue: no outstanding request is older
        than the bound, and the completions since the previous look are over it no more often
        than allowed. A growing queue (load above capacity) starts with good latencies; the
        binomial test alone, which assumes a steady state, would pass it too soon."""
        previous = self._previous.get(name)
        self._previous[name] = (e.trials, e.over)
        if e.late > 0 or previous is None:  # late requests, or no trend yet
            return False
        new_trials, new_over = e.trials - previous[0], e.over - previous[1]
        return new_trials <= 0 or new_over <= e.allowed_share * new_trials

    def __call__(self, snap: Snapshot) -> str | None:
        if self.verdict is not None:
            return self.reason
        trials = len(snap.latency_sample_ns)
        settle = self.settle_s if self.settle_s is not None else snap.min_duration_s / 5
        # Nothing is decided in the first half of the settling time: a series' start (cold
        # caches, the first queue filling up) is its least typical part.
        if trials < self._next_look or self.looks >= self.max_looks or snap.elapsed_s < settle / 2:
            return None
        self.looks += 1
        self._next_look = max(trials + 1, math.ceil(trials * self.look_growth))
        passes = 0
        bounds = self.evidence(snap)
        for name, e in bounds:
            if e is None:
                continue
            verdict = judge(e, self.alpha)
            if verdict == "fail":
                self.verdict = "fail"
                self.reason = (
                    f"fails {name}: {e.over + e.late} of {e.trials + e.late} sampled over "
                    f"(look {self.looks}, error <= {self.error:g})"
                )
                return self.reason
            if self.steady(name, e) and verdict == "pass":
                passes += 1
        if self.allow_pass and bounds and passes == len(bounds) and snap.elapsed_s >= settle:
            self.verdict = "pass"
            self.reason = f"meets every bound (look {self.looks}, error <= {self.error:g})"
            return self.reason
        return None


class StopWhenDecided(SequentialDecision):
    """The plain run's opt-in early stop (``--stop-when-decided``): ends a Server series once
    the latency bounds the official checks (latency, or TTFT and TPOT) are each shown met, or
    one is shown missed. The run's official result is then INVALID (the minimum duration and
    query count are not reached): outside the submission rules."""

    def evidence(self, snap: Snapshot) -> list[tuple[str, BoundEvidence | None]]:
        samples = {
            "latency": snap.latency_sample_ns,
            "TTFT": snap.ttft_sample_ns,
            "TPOT": snap.tpot_sample_ns,
        }
        p = snap.target_latency_percentile
        return [
            (
                f"p{p * 100:g} {name} <= {_format_ns(bound)}",
                evidence_for_bound(snap, name, samples[name], bound, p, self.pass_margin),
            )
            for name, _value, bound, _seen in checked_bounds(snap)
        ]
