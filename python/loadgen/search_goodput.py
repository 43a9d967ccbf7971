"""The search's goodput objective: at least a share ``g`` of requests meet every limit of an SLO
tier (``Slo(ttft_ms=..., tpot_ms=..., e2e_ms=...)``, docs/metrics.md). Like every objective it
bounds the share of bad requests (those missing a limit, or failed) by 1 - g, so the search's
binomial test decides it (docs/search.md, "Goodput objectives").

At a probe's end the verdict is the run's own goodput (``RunResult.metrics.goodput``). Early,
the live board's sample is read: it samples latency, TTFT and TPOT of the same completions, but
sorts each figure on its own, so which request missed which limit is lost. With one limit the
sample is exactly the evidence; with several, a request missing the tier misses at least one
limit and at most all of them, so the largest count over one limit is a floor on the bad
requests (enough to show a failure) and the sum of the counts a ceiling (enough to show a pass).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from . import _core
from .decision import BoundEvidence, evidence_for_bound
from .metrics import Slo
from .results import RunResult

__all__ = ["GoodputObjective", "parse_goodput_objective"]

# The Slo field of each limit, and the live sample family it is read from.
_FIELDS = {"ttft": "ttft_ms", "tpot": "tpot_ms", "e2e": "e2e_ms"}


@dataclass(frozen=True)
class GoodputObjective:
    """At least ``share`` of the requests meet every limit of ``slo`` (failed requests never
    do). ``tier`` names the tier in the probes' metrics (``RunResult.metrics.goodput``)."""

    slo: Slo
    share: float
    tier: str = "search"

    def __post_init__(self) -> None:
        if not 0.0 < self.share < 1.0:
            raise ValueError(f"a goodput share must be in (0, 1), got {self.share!r}")
        if not self._limits_ns():
            raise ValueError("a goodput objective needs at least one limit (ttft, tpot or e2e)")

    @property
    def name(self) -> str:
        limits = ",".join(
            f"{k}<={getattr(self.slo, f):g}ms"
            for k, f in _FIELDS.items()
            if getattr(self.slo, f) is not None
        )
        return f"goodput {self.tier} >= {self.share:g} ({limits})"

    @property
    def bound_ns(self) -> int:
        """The widest limit (the objective has several; this one is for display)."""
        return max(self._limits_ns().values())

    @property
    def needs_tokens(self) -> bool:
        """Whether a limit is on TTFT or TPOT (the run must record token latencies)."""
        return self.slo.ttft_ms is not None or self.slo.tpot_ms is not None

    def _limits_ns(self) -> dict[str, int]:
        return {
            k: round(getattr(self.slo, f) * 1e6)
            for k, f in _FIELDS.items()
            if getattr(self.slo, f) is not None
        }

    def evidence(self, snap: _core.LiveSnapshot, pass_margin: float = 1.0) -> BoundEvidence | None:
        samples = {
            "e2e": snap.latency_sample_ns,
            "ttft": snap.ttft_sample_ns,
            "tpot": snap.tpot_sample_ns,
        }
        limits = self._limits_ns()
        trials = len(snap.latency_sample_ns)
        # Token figures sampled from other completions than the latencies (or not at all, as
        # TTFT in Offline) cannot be counted together with them: decided at the end only.
        if snap.scenario == "MultiStream" or any(len(samples[k]) != trials for k in limits):
            return None
        per_limit = [
            evidence_for_bound(snap, k, samples[k], bound, self.share, pass_margin)
            for k, bound in limits.items()
        ]
        # A request with no first token has a negative TTFT/TPOT: it misses that limit.
        missing = [_count_negative(samples[k]) for k in limits]
        over = [e.over + m for e, m in zip(per_limit, missing)]
        over_margin = [
            (e.over_margin if e.over_margin is not None else e.over) + m
            for e, m in zip(per_limit, missing)
        ]
        return BoundEvidence(
            name=self.name,
            allowed_share=1.0 - self.share,
            trials=trials,
            over=max(over),  # a floor on the requests missing the tier
            unsure=per_limit[0].unsure,
            # Only an outstanding request older than the e2e limit has surely missed it.
            late=next((e.late for k, e in zip(limits, per_limit) if k == "e2e"), 0),
            over_margin=min(trials, sum(over_margin)),  # a ceiling, for the pass test
        )

    def holds(self, result: RunResult, final: _core.LiveSnapshot | None) -> bool:
        goodput = result.metrics.goodput.get(self.tier) if result.metrics is not None else None
        return goodput is not None and goodput.share >= self.share


def _count_negative(sorted_values: list[int]) -> int:
    return bisect.bisect_left(sorted_values, 0)


_GOODPUT = re.compile(
    r"^\s*goodput(?:\s+(?P<tier>[a-z_][a-z0-9_.-]*))?\s*>=\s*(?P<share>[0-9.]+)\s*(?P<pct>%)?"
    r"\s+(?P<limits>.+?)\s*$"
)
_LIMIT = re.compile(
    r"^\s*(?P<metric>ttft|tpot|e2e|latency)\s*<=\s*(?P<num>[0-9.]+)\s*(?P<unit>ns|us|µs|ms|s)\s*$"
)
_UNIT_MS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1e3}


def parse_goodput_objective(text: str) -> GoodputObjective:
    """``"goodput >= 0.9 ttft<=200ms,tpot<=50ms"``, ``"goodput interactive >= 95% e2e<=2s"``:
    the share (a fraction, or a percentage with %) of requests meeting every limit; limits on
    ttft, tpot and e2e (or latency), separated by commas."""
    usage = (
        f"objective {text!r}: write a goodput objective as 'goodput [TIER] >= SHARE "
        "LIMIT[,LIMIT...]', SHARE a fraction or a percentage (0.9, 90%), LIMIT one of "
        "ttft<=V, tpot<=V, e2e<=V with a unit ns, us, ms or s (e.g. 'goodput >= 0.9 "
        "ttft<=200ms,tpot<=50ms')"
    )
    m = _GOODPUT.match(text.lower())
    if m is None:
        raise ValueError(usage)
    limits: dict[str, float] = {}
    for item in m["limits"].split(","):
        lm = _LIMIT.match(item)
        if lm is None:
            raise ValueError(usage)
        field = _FIELDS["e2e" if lm["metric"] == "latency" else lm["metric"]]
        if field in limits:
            raise ValueError(f"objective {text!r}: {lm['metric']} given twice")
        limits[field] = round(float(lm["num"]) * _UNIT_MS[lm["unit"]], 12)
    share = float(m["share"]) / (100.0 if m["pct"] else 1.0)
    return GoodputObjective(Slo(**limits), round(share, 12), m["tier"] or "search")
