"""``loadgen report SWEEP_DIR`` and ``loadgen compare SWEEP_A SWEEP_B``: a sweep's curves
(docs/sweeps.md) from its ``sweep.json``.

Figures (each line carries a ``gid`` for tests and readers): ``latency_throughput`` (latency
percentiles against achieved throughput, one line per parameter value, error bars = the
t-intervals over repeats), ``load`` (achieved throughput, and goodput when the runs have it,
against offered load) and, for token runs, ``pareto`` (output tokens/s per user against total
output tokens/s, the Pareto front drawn over the points).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ..sweeps import Interval, Sweep, SweepPoint, load_sweep
from .figures import new_figure, png_bytes, require_matplotlib
from .html import img, page, table
from .model import ReportError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "build_sweep_figures",
    "compare_sweep_rows",
    "latency_throughput_figure",
    "load_figure",
    "pareto_figure",
    "pareto_front",
    "read_sweep",
    "write_sweep_compare_html",
    "write_sweep_report",
]

_TABLE_FIGURES = (
    ("throughput_qps", "throughput (samples/s)"),
    ("goodput_qps", "goodput (samples/s)"),
    ("latency_p50_ms", "latency p50 (ms)"),
    ("latency_p99_ms", "latency p99 (ms)"),
    ("ttft_p99_ms", "TTFT p99 (ms)"),
    ("tpot_mean_ms", "TPOT mean (ms)"),
    ("tokens_per_s", "output tokens/s"),
    ("tokens_per_s_per_user", "tokens/s/user"),
    ("valid", "VALID share"),
    ("generator_limited", "generator-limited share"),
)


def read_sweep(location: str | Path) -> Sweep:
    try:
        return load_sweep(location)
    except ValueError as e:
        raise ReportError(str(e)) from e


def _series(sweep: Sweep) -> list[tuple[str, list[SweepPoint]]]:
    """The points per parameter value, in load order, with a legend label."""
    out = []
    for param in sweep.params:
        points = [p for p in sweep.points if p.param == param]
        points.sort(key=lambda p: p.load if p.load is not None else 0.0)
        out.append(("" if param is None else f"param {param}", points))
    return out


def _label(prefix: str, name: str) -> str:
    return f"{prefix}: {name}" if prefix else name


def _errorbar(
    ax: Axes,
    points: Sequence[SweepPoint],
    x_name: str,
    y_name: str,
    label: str,
    gid: str,
    marker: str,
) -> bool:
    xs: list[float] = []
    ys: list[float] = []
    xerr: list[list[float]] = [[], []]
    yerr: list[list[float]] = [[], []]
    for p in points:
        x, y = p.summary.get(x_name), p.summary.get(y_name)
        if x is None or y is None:
            continue
        xs.append(x.mean)
        ys.append(y.mean)
        for err, iv in ((xerr, x), (yerr, y)):
            err[0].append(iv.mean - iv.low)
            err[1].append(iv.high - iv.mean)
    if not xs:
        return False
    container = ax.errorbar(xs, ys, xerr=xerr, yerr=yerr, marker=marker, capsize=3, label=label)
    container.lines[0].set_gid(gid)
    return True


def _flag_points(ax: Axes, sweep: Sweep, x_name: str, y_name: str) -> None:
    """Red crosses on points the generator self-check flagged in any repeat."""
    xs, ys = [], []
    for p in sweep.points:
        flagged, x, y = p.summary.get("generator_limited"), p.value(x_name), p.value(y_name)
        if flagged is not None and flagged.mean > 0 and x is not None and y is not None:
            xs.append(x)
            ys.append(y)
    if xs:
        (line,) = ax.plot(
            xs, ys, "x", color="red", markersize=12, label="generator-limited", linestyle=""
        )
        line.set_gid("generator_limited")


def latency_throughput_figure(sweep: Sweep) -> Figure | None:
    """Latency p50 and p99 against achieved throughput."""
    require_matplotlib()
    fig = new_figure("Latency against throughput")
    ax = fig.axes[0]
    drawn = False
    for prefix, points in _series(sweep):
        drawn |= _errorbar(
            ax, points, "throughput_qps", "latency_p50_ms", _label(prefix, "p50"), "p50", "o"
        )
        drawn |= _errorbar(
            ax, points, "throughput_qps", "latency_p99_ms", _label(prefix, "p99"), "p99", "s"
        )
    if not drawn:
        return None
    _label_loads(ax, sweep, "throughput_qps", "latency_p99_ms")
    _flag_points(ax, sweep, "throughput_qps", "latency_p99_ms")
    _finish(ax, "achieved throughput (samples/s)", "latency (ms)")
    return fig


def _label_loads(ax: Axes, sweep: Sweep, x_name: str, y_name: str) -> None:
    """Each point's offered load beside it: a curve that folds back is then readable."""
    for p in sweep.points:
        x, y = p.value(x_name), p.value(y_name)
        if p.load is not None and x is not None and y is not None:
            ax.annotate(f"{p.load:g}", (x, y), textcoords="offset points", xytext=(4, 4))


def load_figure(sweep: Sweep) -> Figure | None:
    """Achieved throughput (and goodput, when the runs report it) against offered load."""
    if sweep.axis == "none":
        return None
    require_matplotlib()
    unit = "QPS" if sweep.axis == "rate" else "queries in flight"
    fig = new_figure("Throughput against offered load")
    ax = fig.axes[0]
    drawn = False
    for prefix, points in _series(sweep):
        drawn |= _errorbar(
            ax, points, "offered_load", "throughput_qps", _label(prefix, "throughput"),
            "throughput", "o",
        )  # fmt: skip
        _errorbar(
            ax, points, "offered_load", "goodput_qps", _label(prefix, "goodput"), "goodput", "^"
        )
    if not drawn:
        return None
    if sweep.axis == "rate":
        top = max(p.load or 0.0 for p in sweep.points)
        (ideal,) = ax.plot([0, top], [0, top], ":", color="grey", label="throughput = offered")
        ideal.set_gid("ideal")
    _flag_points(ax, sweep, "offered_load", "throughput_qps")
    _finish(ax, f"offered load ({unit})", "samples/s")
    return fig


def pareto_front(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points no other point beats on both coordinates (both maximised), by x."""
    front: list[tuple[float, float]] = []
    for x, y in sorted(points, key=lambda p: (-p[0], -p[1])):
        if not front or y > front[-1][1]:
            front.append((x, y))
    return sorted(front)


def pareto_figure(sweep: Sweep) -> Figure | None:
    """Token runs: output tokens/s per user against total output tokens/s."""
    require_matplotlib()
    fig = new_figure("Per-user against total token throughput")
    ax = fig.axes[0]
    everything: list[tuple[float, float]] = []
    for prefix, points in _series(sweep):
        pairs = [
            (p.value("tokens_per_s"), p.value("tokens_per_s_per_user"), p.load) for p in points
        ]
        shown = [(x, y, load) for x, y, load in pairs if x is not None and y is not None]
        if not shown:
            continue
        (line,) = ax.plot(
            [x for x, _, _ in shown], [y for _, y, _ in shown], "o", label=_label(prefix, "runs")
        )
        line.set_gid("points")
        for x, y, load in shown:
            if load is not None:
                ax.annotate(f"{load:g}", (x, y), textcoords="offset points", xytext=(4, 4))
            everything.append((x, y))
    if not everything:
        return None
    front = pareto_front(everything)
    (line,) = ax.plot(
        [x for x, _ in front], [y for _, y in front], "-", color="black", label="Pareto front"
    )
    line.set_gid("pareto")
    _finish(ax, "total output tokens/s", "output tokens/s per user (1 / TPOT)")
    return fig


def _finish(ax: Axes, xlabel: str, ylabel: str) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")


def build_sweep_figures(sweep: Sweep) -> dict[str, Figure]:
    figures: dict[str, Figure] = {}
    for name, build in (
        ("latency_throughput", latency_throughput_figure),
        ("load", load_figure),
        ("pareto", pareto_figure),
    ):
        if name == "pareto" and not sweep.token_run:
            continue
        fig = build(sweep)
        if fig is not None:
            figures[name] = fig
    return figures


def _cell(interval: Interval | None) -> str:
    if interval is None:
        return ""
    if interval.n > 1 and interval.high != interval.low:
        return f"{interval.mean:.4g} [{interval.low:.4g}, {interval.high:.4g}]"
    return f"{interval.mean:.4g}"


def _point_rows(sweep: Sweep) -> tuple[list[str], list[list[str]]]:
    shown = [(k, t) for k, t in _TABLE_FIGURES if any(k in p.summary for p in sweep.points)]
    header = ["point", sweep.axis, "param", "runs"] + [t for _, t in shown]
    rows = []
    for p in sweep.points:
        folder = p.runs[0].get("log_dir", "") if p.runs else ""
        rows.append(
            [
                str(folder).split("/")[0],
                "" if p.load is None else f"{p.load:g}",
                "" if p.param is None else str(p.param),
                str(len(p.runs)),
            ]
            + [_cell(p.summary.get(k)) for k, _ in shown]
        )
    return header, rows


def write_sweep_report(sweep: Sweep, output: str | Path) -> list[Path]:
    """The sweep's HTML page and one PNG per figure beside it (``<stem>-<figure>.png``)."""
    figures = build_sweep_figures(sweep)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    body = [
        f"<h1>loadgen sweep: {html.escape(sweep.scenario)}, over {html.escape(sweep.axis)}</h1>",
        table(
            [
                ("folder", str(sweep.log_dir)),
                ("points", str(len(sweep.points))),
                ("repeats per point", str(sweep.repeats)),
                ("intervals", f"{sweep.confidence:.0%} t-intervals over the repeats"),
            ],
            None,
        ),
    ]
    flagged = [p for p in sweep.points if (p.value("generator_limited") or 0) > 0]
    if flagged:
        loads = ", ".join("" if p.load is None else f"{p.load:g}" for p in flagged)
        body.append(
            f'<p class="verdict INVALID">generator-limited at {html.escape(sweep.axis)} '
            f"{html.escape(loads)}: those points measure loadgen, not the SUT "
            "(docs/self-check.md)</p>"
        )
    if figures:
        body.append("<h2>Figures</h2>")
    for name, fig in figures.items():
        png = png_bytes(fig)
        path = output.with_name(f"{output.stem}-{name}.png")
        path.write_bytes(png)
        written.append(path)
        body.append(img(png, name.replace("_", " ")))
    header, rows = _point_rows(sweep)
    body += ["<h2>Points</h2>", table(rows, header)]
    output.write_text(page(f"loadgen sweep: {sweep.log_dir}", body), encoding="utf-8")
    return [output, *written]


# --- comparing two sweeps --------------------------------------------------------------------

_COMPARED = ("throughput_qps", "latency_p50_ms", "latency_p99_ms", "tokens_per_s", "goodput_qps")


def compare_sweep_rows(a: Sweep, b: Sweep) -> list[tuple[str, str, str, str]]:
    """(metric @ point, A, B, change) rows for the points both sweeps have (same parameter
    and load), figure by figure."""
    rows: list[tuple[str, str, str, str]] = [
        ("axis", a.axis, b.axis, ""),
        ("points", str(len(a.points)), str(len(b.points)), ""),
    ]
    index_b = {(repr(p.param), p.load): p for p in b.points}
    for pa in a.points:
        pb = index_b.get((repr(pa.param), pa.load))
        if pb is None:
            continue
        where = f"{a.axis} {pa.load:g}" if pa.load is not None else "run"
        if pa.param is not None:
            where += f", param {pa.param}"
        for name in _COMPARED:
            va, vb = pa.summary.get(name), pb.summary.get(name)
            if va is None and vb is None:
                continue
            rows.append((f"{name} @ {where}", _cell(va), _cell(vb), _change(va, vb)))
    return rows


def _change(a: Interval | None, b: Interval | None) -> str:
    if a is None or b is None or a.mean == b.mean:
        return ""
    if a.mean == 0:
        return "n/a"
    text = f"{(b.mean - a.mean) / abs(a.mean) * 100:+.1f}%"
    # With repeats on both sides: do the intervals overlap? Not overlapping: a real change.
    if a.n > 1 and b.n > 1 and (b.low > a.high or b.high < a.low):
        text += " *"
    return text


def build_sweep_compare_figure(a: Sweep, b: Sweep, name_a: str, name_b: str) -> Figure | None:
    require_matplotlib()
    fig = new_figure("Latency p99 against throughput")
    ax = fig.axes[0]
    drawn = False
    for sweep, name, marker in ((a, name_a, "o"), (b, name_b, "s")):
        for prefix, points in _series(sweep):
            label = f"{name} {prefix}".strip()
            drawn |= _errorbar(ax, points, "throughput_qps", "latency_p99_ms", label, name, marker)
    if not drawn:
        return None
    _finish(ax, "achieved throughput (samples/s)", "latency p99 (ms)")
    return fig


def write_sweep_compare_html(
    a: Sweep, b: Sweep, name_a: str, name_b: str, output: str | Path
) -> Path:
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    body = [
        "<h1>loadgen compare: two sweeps</h1>",
        table([("A", str(a.log_dir)), ("B", str(b.log_dir))], None),
        "<h2>Points</h2>",
        table(compare_sweep_rows(a, b), ("metric", name_a, name_b, f"{name_b} vs {name_a}")),
        "<p>* the two intervals do not overlap.</p>",
    ]
    fig = build_sweep_compare_figure(a, b, name_a, name_b)
    if fig is not None:
        body += ["<h2>Curves</h2>", img(png_bytes(fig), "latency against throughput")]
    output.write_text(page("loadgen compare: sweeps", body), encoding="utf-8")
    return output


def describe_point(p: SweepPoint, axis: str) -> str:
    """One line for the CLI as a point finishes or in listings."""
    parts: list[Any] = []
    if p.load is not None:
        parts.append(f"{axis} {p.load:g}")
    if p.param is not None:
        parts.append(f"param {p.param}")
    for name, title in _TABLE_FIGURES[:4]:
        if name in p.summary:
            parts.append(f"{title} {_cell(p.summary[name])}")
    return ", ".join(str(x) for x in parts)
