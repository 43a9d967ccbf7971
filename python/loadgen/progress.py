"""Live progress on stderr while a test runs, drawn with rich from sampled engine snapshots.

The engine is never asked to do extra work per sample: a Python thread reads
``loadgen._core._live_snapshot()`` (atomic counters and a sample of completed latencies, and of
TTFT/TPOT in token runs, read from the recorder's own arrays) every ``interval_s``. Needs the ``progress`` extra
(``pip install 'loadgen[progress]'``); without rich there is no display.

``loadgen.run`` shows it when stderr is a terminal (or ``progress=True``); harnesses using the
drop-in ``mlperf_loadgen`` module get it with ``LOADGEN_PROGRESS=1`` in the environment.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import os
import sys
import threading
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ContextManager, Iterator, Literal, Protocol

from . import _core

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live

__all__ = [
    "BoundEvidence",
    "DecisionPolicy",
    "ProgressDisplay",
    "SequentialDecision",
    "StopWhenDecided",
    "display_for_run",
    "evidence_for_bound",
    "forecast",
    "format_ns",
    "judge",
    "rich_available",
]

# One reading of the engine's live board (loadgen._core._live_snapshot()).
Snapshot = _core.LiveSnapshot


def rich_available() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def format_ns(ns: float) -> str:
    """A latency in the unit that reads best: 850 µs, 1.23 ms, 2.50 s."""
    if ns >= 1e9:
        return f"{ns / 1e9:.2f} s"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.0f} µs"
    return f"{ns:.0f} ns"


def _checked_bounds(snap: Snapshot) -> list[tuple[str, int, int, int]]:
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


def forecast(snap: Snapshot) -> tuple[str, str]:
    """The validity forecast for a snapshot: (state, details), state being "on track",
    "pending" (a minimum is not reached yet), "at risk" (a constraint fails so far) or
    "accuracy" (an accuracy series has no performance constraints)."""
    if snap.accuracy:
        return "accuracy", "accuracy series: each sample is issued once, no performance targets"
    risks: list[str] = []
    pending: list[str] = []
    for name, value, bound, seen in _checked_bounds(snap):
        if seen > 0 and value > bound:
            risks.append(
                f"p{snap.target_latency_percentile * 100:g} {name} "
                f"{format_ns(value)} is over the {format_ns(bound)} target"
            )
    remaining_s = snap.min_duration_s - snap.elapsed_s
    if remaining_s >= 0.05:
        pending.append(f"min duration in {remaining_s:.1f} s")
    if snap.scenario != "Offline" and snap.queries_issued < snap.min_query_count:
        pending.append(
            f"{snap.min_query_count - snap.queries_issued:,} more queries for min_query_count"
        )
    needed = snap.early_stopping_queries
    if needed and snap.queries_completed < needed:
        pending.append(f"early stopping needs {needed:,} queries")
    if risks:
        return "at risk", "; ".join(risks + pending)
    if pending:
        return "pending", "; ".join(pending)
    return "on track", "every constraint is met so far"


# Deciding early --------------------------------------------------------------------------
#
# Every latency objective "the p-th percentile of X is at most B" is a claim about a share:
# the share of requests over B is at most 1 - p. Each sampled completion is one Bernoulli
# trial (over B or not), so the evidence is a binomial count, and the test is the one behind
# LoadGen's early stopping (official loadgen/early_stopping.cc: the probability of at most t
# over-bound queries among n when each is over with probability 1 - p), used in both
# directions and at a chosen error level. docs/search.md explains it in plain words.


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
    import bisect

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
                f"p{p * 100:g} {name} <= {format_ns(bound)}",
                evidence_for_bound(snap, name, samples[name], bound, p, self.pass_margin),
            )
            for name, _value, bound, _seen in _checked_bounds(snap)
        ]


_FORECAST_STYLE = {
    "on track": "green",
    "pending": "yellow",
    "at risk": "bold red",
    "accuracy": "cyan",
}


class ProgressDisplay:
    """A rich Live display fed by a snapshot thread. As a context manager it covers one run;
    with ``follow=True`` it runs until the process ends, showing each test while one runs
    (the ``mlperf_loadgen`` mode)."""

    def __init__(
        self, console: Console | None = None, *, interval_s: float = 0.5, follow: bool = False
    ) -> None:
        from rich.console import Console

        self.console = console or Console(stderr=True)
        self.interval_s = interval_s
        self._follow = follow
        self._live: Live | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._previous: Snapshot | None = None
        self._seen_before = 0
        self._lock = threading.Lock()

    # Lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        # Only series that start from now on are shown (not how an earlier test ended).
        first = _core._live_snapshot()
        self._seen_before = int(first.series) if first is not None else 0
        self._thread = threading.Thread(target=self._loop, name="loadgen-progress", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            self.update(_core._live_snapshot())  # the final counters
            self._close_live()

    def __enter__(self) -> ProgressDisplay:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            with self._lock:
                self.update(_core._live_snapshot())

    def _close_live(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    # Rendering -----------------------------------------------------------------------------

    def update(self, snap: Snapshot | None) -> None:
        """Shows one snapshot (None: no series has run yet)."""
        from rich.live import Live

        if snap is None or snap.series <= self._seen_before:
            return
        if self._follow:
            if _typed_display_active():
                return
            if not snap.running:
                # The test ended: show its final counters once, then give the terminal back.
                if self._live is not None:
                    self._live.update(self.render(snap, None), refresh=True)
                    self._close_live()
                self._seen_before = int(snap.series)
                self._previous = None
                return
        current = self._current_rate(snap) if snap.running else None
        renderable = self.render(snap, current)
        if self._live is None:
            self._live = Live(
                renderable,
                console=self.console,
                auto_refresh=False,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start()
        self._live.update(renderable, refresh=True)

    def _current_rate(self, snap: Snapshot) -> float | None:
        previous, self._previous = self._previous, snap
        if previous is None or previous.series != snap.series:
            return None
        dt = snap.elapsed_s - previous.elapsed_s
        if dt <= 0:
            return None
        return float(_done(snap) - _done(previous)) / float(dt)

    @staticmethod
    def render(snap: Snapshot, current_rate: float | None) -> RenderableType:
        """The display for one snapshot; ``current_rate``: completions per second since the
        previous snapshot (None if unknown)."""
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        def with_bar(total: float, done: float, text: str) -> Table:
            row = Table.grid(padding=(0, 1))
            row.add_row(
                ProgressBar(total=max(total, 1e-9), completed=min(done, total), width=30), text
            )
            return row

        offline = snap.scenario == "Offline"
        mode = "accuracy" if snap.accuracy else "performance"
        status = "" if snap.running else " · finished"
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        grid.title = f"loadgen · {snap.scenario} · {mode} · {snap.elapsed_s:.1f} s{status}"
        grid.title_justify = "left"
        elapsed, min_s = snap.elapsed_s, snap.min_duration_s
        if not snap.accuracy and min_s > 0:
            grid.add_row("duration", with_bar(min_s, elapsed, f"{elapsed:.1f} / {min_s:.1f} s min"))
        if offline or snap.accuracy:
            total = snap.samples_issued if offline else snap.generated_queries
            grid.add_row(
                "samples" if offline else "queries",
                with_bar(total, _done(snap), f"{_done(snap):,} / {total:,} completed"),
            )
        else:
            target = snap.min_query_count
            grid.add_row(
                "queries",
                with_bar(
                    target,
                    snap.queries_issued,
                    f"{snap.queries_issued:,} issued / {target:,} min · "
                    f"{snap.queries_completed:,} completed",
                ),
            )
        average = _done(snap) / elapsed if elapsed > 0 else 0.0
        rate = f"{current_rate:,.1f} now · " if current_rate is not None else ""
        target_qps = (
            f" · target {snap.target_qps:,.1f}"
            if not snap.accuracy and snap.scenario in ("Server", "Offline")
            else ""
        )
        grid.add_row("samples/s" if offline else "QPS", f"{rate}{average:,.1f} avg{target_qps}")
        server = snap.scenario == "Server" and not snap.accuracy
        tokens = snap.use_token_latencies

        def percentiles(p50: int, p99: int, seen: int, bound: int | None) -> str:
            pct = snap.target_latency_percentile * 100
            target = (
                f" · target p{pct:g} {format_ns(bound)}" if server and bound is not None else ""
            )
            return f"p50 {format_ns(p50)} · p99 {format_ns(p99)}{target} (approximate: {seen:,} sampled)"

        if snap.latencies_seen:
            # A token run's Server target is TTFT/TPOT; its target_latency is not checked.
            bound = None if tokens else snap.target_latency_ns
            grid.add_row(
                "latency",
                percentiles(snap.latency_p50_ns, snap.latency_p99_ns, snap.latencies_seen, bound),
            )
        if tokens and snap.tokens_seen:
            if not offline:  # Offline records no first-token time
                grid.add_row(
                    "TTFT",
                    percentiles(
                        snap.ttft_p50_ns,
                        snap.ttft_p99_ns,
                        snap.tokens_seen,
                        snap.server_ttft_latency_ns,
                    ),
                )
            grid.add_row(
                "TPOT",
                percentiles(
                    snap.tpot_p50_ns,
                    snap.tpot_p99_ns,
                    snap.tokens_seen,
                    snap.server_tpot_latency_ns,
                ),
            )
        state, details = forecast(snap)
        forecast_text = Text(state, style=_FORECAST_STYLE[state])
        forecast_text.append(f" · {details}", style="")
        grid.add_row("forecast", forecast_text)
        return grid


def _done(snap: Snapshot) -> int:
    return snap.samples_completed if snap.scenario == "Offline" else snap.queries_completed


_typed_displays = 0
_typed_lock = threading.Lock()


def _typed_display_active() -> bool:
    return _typed_displays > 0


@contextlib.contextmanager
def _typed_display(display: ProgressDisplay) -> Iterator[None]:
    global _typed_displays
    with _typed_lock:
        _typed_displays += 1
    try:
        with display:
            yield
    finally:
        with _typed_lock:
            _typed_displays -= 1


def display_for_run(progress: bool | None) -> ContextManager[Any]:
    """The display loadgen.run shows: on when asked, or by default when stderr is a terminal
    (and LOADGEN_PROGRESS is not 0); never without rich."""
    if progress is None:
        progress = sys.stderr.isatty() and os.environ.get("LOADGEN_PROGRESS", "") != "0"
        if progress and not rich_available():
            return contextlib.nullcontext()
    if not progress:
        return contextlib.nullcontext()
    if not rich_available():
        warnings.warn(
            "progress=True needs rich: pip install 'loadgen[progress]'; running without a display",
            RuntimeWarning,
            stacklevel=3,
        )
        return contextlib.nullcontext()
    return _typed_display(ProgressDisplay())


_follower: ProgressDisplay | None = None


def follow_tests_from_environment() -> None:
    """With LOADGEN_PROGRESS=1 (and rich installed), shows every test of the process, including
    those started through mlperf_loadgen.StartTest."""
    global _follower
    if _follower is not None or os.environ.get("LOADGEN_PROGRESS") != "1" or not rich_available():
        return
    _follower = ProgressDisplay(follow=True)
    _follower.start()
    atexit.register(_follower.stop)
