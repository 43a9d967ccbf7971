"""The report's figures, built as matplotlib ``Figure`` objects before anything is saved, so they
can be inspected or embedded elsewhere. matplotlib is an optional extra
(``pip install 'loadgen[report]'``), imported only here and only when a figure is built.

Every line a test or a reader may look for carries a ``gid``: ``samples``, ``queries``,
``percentiles`` (from the detail log when there is no trace), ``percentile`` (the logged p50,
p90, p99 marks), ``target`` and ``throughput``.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Callable, Iterable, Literal

from .analysis import RunLogs, query_latencies_ns
from .metrics_panels import goodput_figure, itl_distribution_figure, stages_figure
from .model import PERCENTILES, LatencyStats, ReportError

if TYPE_CHECKING:  # matplotlib (and its numpy) is an optional extra, imported for figures only
    import numpy as np
    import numpy.typing as npt
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    FloatArray = npt.NDArray[np.float64]

__all__ = [
    "FIGURES",
    "build_figures",
    "issue_lag_figure",
    "latency_cdf_figure",
    "latency_histogram_figure",
    "latency_over_time_figure",
    "throughput_over_time_figure",
    "token_latency_figure",
]

CDF_YLABEL = "fraction of samples at or below"
LegendCorner = Literal["upper right", "lower right"]


def require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError as e:
        raise ReportError(
            "figures need matplotlib, which is an optional extra: pip install 'loadgen[report]'"
        ) from e


def new_figure(title: str, ncols: int = 1) -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.0 if ncols == 1 else 11.0, 4.5), layout="constrained")
    fig.subplots(1, ncols)
    fig.suptitle(title)
    return fig


def finish_axes(
    ax: Axes,
    xlabel: str,
    ylabel: str,
    legend_loc: LegendCorner,
    ylim: tuple[float, float] | None = None,
) -> None:
    """The labels, grid and legend every panel has."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.grid(True, alpha=0.3)
    ax.legend(loc=legend_loc, fontsize="small")


def png_bytes(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def _ms(ns: float) -> float:
    return ns / 1e6


def _array(values: Iterable[float]) -> FloatArray:
    import numpy as np

    return np.fromiter(values, dtype=np.float64)


def _ms_array(values_ns: Iterable[float]) -> FloatArray:
    return _array(values_ns) / 1e6


def _data_max(values: FloatArray | list[float]) -> float:
    return float(max(values))


def _sorted_cdf(values_ns: Iterable[int]) -> tuple[FloatArray, FloatArray]:
    import numpy as np

    xs = np.sort(_ms_array(values_ns))
    return xs, np.arange(1, len(xs) + 1) / len(xs)


def _stats_cdf(stats: LatencyStats) -> tuple[list[float], list[float]]:
    """A coarse CDF through min, the logged percentiles and max (when there is no trace)."""
    xs = (
        [_ms(stats.min_ns)]
        + [_ms(stats.percentiles_ns[p]) for p in PERCENTILES]
        + [_ms(stats.max_ns)]
    )
    return xs, [0.0, *PERCENTILES, 1.0]


def draw_latency_cdf(
    ax: Axes, run: RunLogs, per_sample: tuple[str, str], from_percentiles: tuple[str, str]
) -> float | None:
    """The run's sample-latency CDF: per sample from the trace, else through the detail log's
    percentiles. The two (label, gid) pairs name the line in each case; ``{n}`` in the
    per-sample label is replaced by the sample count. Returns the largest latency drawn (ms), or None
    when the run has neither."""
    if run.samples is not None:
        xs, ys = _sorted_cdf(s.latency_ns for s in run.samples)
        label, gid = per_sample
        ax.step(xs, ys, where="post", label=label.replace("{n}", str(len(xs))), gid=gid)
        return _data_max(xs)
    stats = run.stats("latency")
    if stats is None:
        return None
    coarse_x, coarse_y = _stats_cdf(stats)
    label, gid = from_percentiles
    ax.plot(coarse_x, coarse_y, "-o", markersize=3, label=label, gid=gid)
    return _data_max(coarse_x)


def _histogram(ax: Axes, values_ms: FloatArray) -> None:
    """One filled step patch (fast for any number of samples), gid "samples"."""
    import numpy as np

    counts, edges = np.histogram(values_ms, bins=max(10, min(100, int(math.sqrt(len(values_ms))))))
    ax.stairs(
        counts, edges, fill=True, alpha=0.8, label=f"samples ({len(values_ms)})", gid="samples"
    )


def _percentile_marks(ax: Axes, stats: LatencyStats | None, cdf: bool) -> None:
    """The detail log's percentiles: points on a CDF, dotted lines on a histogram."""
    if stats is None:
        return
    for p in (0.5, 0.9, 0.99):
        x = _ms(stats.percentiles_ns[p])
        label = f"p{p * 100:g} = {x:.3g} ms"
        if cdf:
            ax.plot([x], [p], "o", color="black", markersize=4, label=label, gid="percentile")
        else:
            ax.axvline(x, color="black", linestyle=":", linewidth=1, label=label, gid="percentile")


def _target_line(
    ax: Axes, target_ms: float, data_max_ms: float, label: str, vertical: bool
) -> None:
    """A dashed red line at the target. A target far beyond the data stays off the axis (the
    legend says so) instead of squeezing the data into a corner."""
    off_scale = target_ms > 3 * data_max_ms > 0
    if off_scale:
        label += " (beyond the axis)"
    if vertical:
        ax.axvline(target_ms, color="tab:red", linestyle="--", label=label, gid="target")
        if off_scale:
            ax.set_xlim(right=data_max_ms * 1.1)
    else:
        ax.axhline(target_ms, color="tab:red", linestyle="--", label=label, gid="target")
        if off_scale:
            ax.set_ylim(top=data_max_ms * 1.1)


def _target_marks(ax: Axes, run: RunLogs, data_max_ms: float, cdf: bool) -> None:
    target = run.target_latency_ns
    if target is not None:
        _target_line(
            ax, _ms(target), data_max_ms, f"target latency {_ms(target):g} ms", vertical=True
        )
    percentile = run.target_percentile
    if cdf and percentile is not None:
        label = f"target percentile {percentile * 100:g}%"
        ax.axhline(percentile, color="tab:red", linestyle=":", label=label, gid="target")


def latency_cdf_figure(run: RunLogs) -> Figure | None:
    if run.samples is None and run.stats("latency") is None:
        return None
    fig = new_figure(f"Latency distribution ({run.scenario})")
    ax = fig.axes[0]
    data_max = draw_latency_cdf(
        ax,
        run,
        ("samples ({n})", "samples"),
        ("from the detail log's percentiles (no trace)", "percentiles"),
    )
    assert data_max is not None
    if run.samples is not None and run.scenario == "MultiStream":
        qx, qy = _sorted_cdf(query_latencies_ns(run.samples))
        ax.step(qx, qy, where="post", label=f"queries ({len(qx)})", gid="queries")
    _percentile_marks(ax, run.stats("latency"), cdf=True)
    _target_marks(ax, run, data_max, cdf=True)
    finish_axes(ax, "latency (ms)", CDF_YLABEL, "lower right", ylim=(0.0, 1.02))
    return fig


def latency_histogram_figure(run: RunLogs) -> Figure | None:
    if run.samples is None:
        return None
    fig = new_figure(f"Latency histogram ({run.scenario})")
    ax = fig.axes[0]
    values = _ms_array(s.latency_ns for s in run.samples)
    _histogram(ax, values)
    _percentile_marks(ax, run.stats("latency"), cdf=False)
    _target_marks(ax, run, _data_max(values), cdf=False)
    finish_axes(ax, "latency (ms)", "samples", "upper right")
    return fig


def _time_axis(run: RunLogs) -> tuple[FloatArray, str]:
    """Offline schedules every sample at the start, so its samples are placed at completion."""
    assert run.samples is not None
    if run.scenario == "Offline":
        return _array(
            s.completed_s for s in run.samples
        ), "completion time (s since the test started)"
    return _array(s.scheduled_s for s in run.samples), "scheduled time (s since the first query)"


def latency_over_time_figure(run: RunLogs) -> Figure | None:
    if run.samples is None:
        return None
    fig = new_figure(f"Latency over time ({run.scenario})")
    ax = fig.axes[0]
    xs, xlabel = _time_axis(run)
    ys = _ms_array(s.latency_ns for s in run.samples)
    ax.plot(xs, ys, ".", markersize=2, label="samples", gid="samples")
    target = run.target_latency_ns
    if target is not None:
        _target_line(
            ax, _ms(target), _data_max(ys), f"target latency {_ms(target):g} ms", vertical=False
        )
    finish_axes(ax, xlabel, "latency (ms)", "upper right")
    return fig


def throughput_over_time_figure(run: RunLogs) -> Figure | None:
    if run.samples is None:
        return None
    import numpy as np

    completions = _array(s.completed_s for s in run.samples)
    end = float(completions.max())
    if end <= 0:
        return None
    bins = max(5, min(60, len(completions) // 10))
    counts, edges = np.histogram(completions, bins=bins, range=(0.0, end))
    width = edges[1] - edges[0]
    fig = new_figure(f"Throughput over time ({run.scenario})")
    ax = fig.axes[0]
    label = f"completed samples/s ({width * 1e3:.3g} ms bins)"
    ax.stairs(counts / width, edges, label=label, gid="throughput")
    target_qps = run.value("effective_target_qps")
    if run.scenario == "Server" and isinstance(target_qps, (int, float)):
        label = f"target {target_qps:g} samples/s"
        ax.axhline(float(target_qps), color="tab:red", linestyle="--", label=label, gid="target")
    finish_axes(
        ax, "completion time (s since the first query)", "samples per second", "lower right"
    )
    return fig


def issue_lag_figure(run: RunLogs) -> Figure | None:
    """Server only: how late each query was issued relative to its Poisson-scheduled time."""
    if run.samples is None or run.scenario != "Server":
        return None
    fig = new_figure("Issue lag over time (Server)")
    ax = fig.axes[0]
    ax.plot(
        _array(s.scheduled_s for s in run.samples),
        _array(s.issue_delay_ns / 1e3 for s in run.samples),
        ".",
        markersize=2,
        label="issue lag per sample",
        gid="samples",
    )
    finish_axes(
        ax,
        "scheduled time (s since the first query)",
        "issue lag (µs, issued - scheduled)",
        "upper right",
    )
    return fig


def _token_panel(
    ax: Axes, name: str, values_ns: list[int], stats: LatencyStats | None, target_ns: int | None
) -> None:
    """A histogram of per-sample values, or bars of the detail log's statistics without them."""
    if values_ns:
        values = _ms_array(values_ns)
        _histogram(ax, values)
        _percentile_marks(ax, stats, cdf=False)
        if target_ns is not None:
            label = f"target {_ms(target_ns):g} ms"
            _target_line(ax, _ms(target_ns), _data_max(values), label, vertical=True)
        xlabel, ylabel = f"{name} (ms)", "samples"
    elif stats is not None:
        labels = ["min", *(f"p{p * 100:g}" for p in PERCENTILES), "max"]
        heights = [
            _ms(stats.min_ns),
            *(_ms(stats.percentiles_ns[p]) for p in PERCENTILES),
            _ms(stats.max_ns),
        ]
        bars = ax.bar(labels, heights, alpha=0.8, label="from the detail log", gid="percentiles")
        ax.bar_label(bars, fmt="%.3g", fontsize="x-small")
        if target_ns is not None:
            _target_line(
                ax, _ms(target_ns), max(heights), f"target {_ms(target_ns):g} ms", vertical=False
            )
        xlabel, ylabel = "statistic", f"{name} (ms)"
    else:
        xlabel, ylabel = "", ""
    ax.set_title(name)
    finish_axes(ax, xlabel, ylabel, "upper right")


def token_latency_figure(run: RunLogs) -> Figure | None:
    """TTFT and TPOT: per-sample histograms with a trace (TPOT needs token counts from the
    accuracy log), otherwise the detail log's percentiles."""
    ttft_stats, tpot_stats = run.stats("ttft"), run.stats("tpot")
    samples = run.samples or []
    ttft = [s.ttft_ns for s in samples if s.ttft_ns is not None]
    tpot = [t for t in (s.tpot_ns for s in samples) if t is not None]
    if not (run.use_tokens and (ttft or ttft_stats)):
        return None
    fig = new_figure(f"Token latencies ({run.scenario})", ncols=2)
    ttft_target, tpot_target = run.token_targets_ns()
    _token_panel(fig.axes[0], "time to first token", ttft, ttft_stats, ttft_target)
    _token_panel(fig.axes[1], "time per output token", tpot, tpot_stats, tpot_target)
    return fig


FIGURES: tuple[tuple[str, Callable[[RunLogs], "Figure | None"]], ...] = (
    ("latency_cdf", latency_cdf_figure),
    ("latency_histogram", latency_histogram_figure),
    ("latency_over_time", latency_over_time_figure),
    ("throughput_over_time", throughput_over_time_figure),
    ("issue_lag", issue_lag_figure),
    ("token_latencies", token_latency_figure),
    # From loadgen_results.json (report/metrics_panels.py).
    ("itl_distribution", itl_distribution_figure),
    ("stages", stages_figure),
    ("goodput", goodput_figure),
)


def build_figures(run: RunLogs) -> dict[str, Figure]:
    """The report's figures, by name, for what the logs contain (nothing is saved)."""
    require_matplotlib()
    figures = {}
    for name, make in FIGURES:
        fig = make(run)
        if fig is not None:
            figures[name] = fig
    return figures
