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
from typing import TYPE_CHECKING, Any, ContextManager, Iterator

from . import _core
from .decision import checked_bounds

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live

__all__ = ["ProgressDisplay", "display_for_run", "forecast", "format_ns", "rich_available"]

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


def forecast(snap: Snapshot) -> tuple[str, str]:
    """The validity forecast for a snapshot: (state, details), state being "on track",
    "pending" (a minimum is not reached yet), "at risk" (a constraint fails so far) or
    "accuracy" (an accuracy series has no performance constraints)."""
    if snap.accuracy:
        return "accuracy", "accuracy series: each sample is issued once, no performance targets"
    risks: list[str] = []
    pending: list[str] = []
    for name, value, bound, seen in checked_bounds(snap):
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
        generator = generator_status(snap)
        if generator is not None:
            grid.add_row("loadgen", Text(generator[0], style=generator[1]))
        state, details = forecast(snap)
        forecast_text = Text(state, style=_FORECAST_STYLE[state])
        forecast_text.append(f" · {details}", style="")
        grid.add_row("forecast", forecast_text)
        return grid


def generator_status(snap: Snapshot) -> tuple[str, str] | None:
    """The live self-check (docs/self-check.md): outstanding samples and, for a Server
    series, how far issuing is behind the schedule. The schedule's n-th arrival is due at
    n / target_qps give or take sqrt(n) / target_qps (Poisson), so issuing is called behind
    only past three of those and past 0.1 s. Returns (text, rich style); None for accuracy
    series. The verdict itself comes with the result (RunResult.generator)."""
    if snap.accuracy:
        return None
    outstanding = snap.samples_issued - snap.samples_completed
    text = f"{outstanding:,} samples outstanding"
    load_model = getattr(snap, "load_model", False)  # absent from older snapshots
    if snap.scenario != "Server" or load_model or snap.target_qps <= 0 or not snap.running:
        return text, ""
    issued = snap.queries_issued
    lag_s = snap.elapsed_s - issued / snap.target_qps
    noise_s = 3.0 * math.sqrt(max(issued, 1)) / snap.target_qps
    if lag_s > max(noise_s, 0.1):
        return f"behind schedule by {lag_s:.2f} s · {text}", "bold red"
    return f"on schedule · {text}", ""


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
