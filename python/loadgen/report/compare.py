"""``loadgen compare``: two runs side by side, as a text table, and as an HTML page with both
latency distributions on one figure."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from .analysis import RunLogs
from .figures import (
    CDF_YLABEL,
    draw_latency_cdf,
    finish_axes,
    new_figure,
    png_bytes,
    require_matplotlib,
)
from .html import format_value, img, page, table

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["build_compare_figure", "compare_rows", "format_compare", "write_compare_html"]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def compare_rows(a: RunLogs, b: RunLogs) -> list[tuple[str, str, str, str]]:
    """(metric, A, B, change) rows: run identity, the headline, then every results-block key
    either run has, in log order."""
    rows: list[tuple[str, str, str, str]] = []
    for label, va, vb in (
        ("scenario", a.scenario, b.scenario),
        ("mode", a.mode, b.mode),
        ("SUT", a.sut_name, b.sut_name),
        ("verdict", a.verdict()[0], b.verdict()[0]),
    ):
        rows.append((label, va, vb, ""))
    ha, hb = a.headline(), b.headline()
    if ha or hb:
        label = (ha or hb or ("", ""))[0]
        rows.append(
            (label, ha[1] if ha else "", hb[1] if hb else "", _change(_float(ha), _float(hb)))
        )
    if a.samples is not None or b.samples is not None:
        rows.append(
            (
                "samples in the trace",
                str(len(a.samples)) if a.samples is not None else "",
                str(len(b.samples)) if b.samples is not None else "",
                "",
            )
        )
    values_a, values_b = dict(a.results_block()), dict(b.results_block())
    keys = list(values_a) + [k for k in values_b if k not in values_a]
    for key in keys:
        value_a, value_b = values_a.get(key), values_b.get(key)
        rows.append(
            (
                key,
                "" if value_a is None else format_value(key, value_a),
                "" if value_b is None else format_value(key, value_b),
                _change(_number(value_a), _number(value_b)),
            )
        )
    return rows


def _float(headline: tuple[str, str] | None) -> float | None:
    try:
        return float(headline[1]) if headline else None
    except ValueError:
        return None


def _change(a: float | None, b: float | None) -> str:
    if a is None or b is None or a == b:
        return ""
    if a == 0:
        return "n/a"
    return f"{(b - a) / abs(a) * 100:+.1f}%"


def format_compare(
    rows: Sequence[tuple[str, str, str, str]], name_a: str, name_b: str, width: int = 32
) -> str:
    """A text table; values longer than ``width`` (early-stopping texts) follow it, one per line."""
    header = ("metric", name_a, name_b, f"{name_b} vs {name_a}")
    short = [r for r in rows if max(len(r[1]), len(r[2])) <= width]
    long = [r for r in rows if max(len(r[1]), len(r[2])) > width]
    widths = [max(len(r[i]) for r in [header, *short]) for i in range(4)]
    lines = []
    for i, row in enumerate([header, *short]):
        cells = [row[0].ljust(widths[0])] + [row[j].rjust(widths[j]) for j in (1, 2, 3)]
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    for key, value_a, value_b, _ in long:
        lines += ["", f"{key}:", f"  {name_a}: {value_a}", f"  {name_b}: {value_b}"]
    return "\n".join(lines) + "\n"


def build_compare_figure(a: RunLogs, b: RunLogs, name_a: str, name_b: str) -> Figure | None:
    """Both runs' latency CDFs on one axis (per sample with a trace, else from percentiles)."""
    require_matplotlib()
    fig = new_figure("Latency distributions")
    ax = fig.axes[0]
    drawn = [
        draw_latency_cdf(
            ax, run, (f"{name} ({{n}} samples)", name), (f"{name} (percentiles)", name)
        )
        for run, name in ((a, name_a), (b, name_b))
    ]
    if all(d is None for d in drawn):
        return None
    finish_axes(ax, "latency (ms)", CDF_YLABEL, "lower right", ylim=(0.0, 1.02))
    return fig


def write_compare_html(
    a: RunLogs, b: RunLogs, name_a: str, name_b: str, output: str | Path
) -> Path:
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    rows = compare_rows(a, b)
    body = [
        "<h1>loadgen compare</h1>",
        table([("A", str(a.directory)), ("B", str(b.directory))], None),
        "<h2>Metrics</h2>",
        table(rows, ("metric", name_a, name_b, f"{name_b} vs {name_a}")),
    ]
    fig = build_compare_figure(a, b, name_a, name_b)
    if fig is not None:
        body += ["<h2>Latency CDFs</h2>", img(png_bytes(fig), "latency CDFs")]
    output.write_text(page("loadgen compare", body), encoding="utf-8")
    return output
