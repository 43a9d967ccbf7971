"""The report's generator self-check panel (docs/self-check.md): the verdict, the figures
behind it and the outstanding samples over the series, from the detail log's
``loadgen_generator_check`` entry. Logs without it (the official LoadGen's) get no panel."""

from __future__ import annotations

import html
import io
from typing import TYPE_CHECKING

from ..selfcheck import DETAIL_LOG_KEY, GeneratorCheck, describe
from .analysis import RunLogs
from .figures import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["generator_check", "generator_section", "outstanding_figure", "svg_markup"]


def generator_check(run: RunLogs) -> GeneratorCheck | None:
    value = run.value(DETAIL_LOG_KEY)
    return GeneratorCheck.from_mapping(value) if isinstance(value, dict) else None


def outstanding_figure(check: GeneratorCheck) -> Figure | None:
    """Samples outstanding (issued, not completed) over the series."""
    if len(check.outstanding) < 2:
        return None
    try:
        fig = new_figure("Outstanding samples")
    except ImportError:
        return None
    ax = fig.axes[0]
    (line,) = ax.plot(
        [t for t, _ in check.outstanding], [n for _, n in check.outstanding], label="outstanding"
    )
    line.set_gid("outstanding")
    ax.set_xlabel("time since the series start (s)")
    ax.set_ylabel("samples issued, not completed")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def generator_section(run: RunLogs, with_figure: bool = True) -> list[str]:
    """HTML pieces: a heading, the verdict and figures as a list, the outstanding figure."""
    check = generator_check(run)
    if check is None:
        return []
    lines = describe(check)
    css = "INVALID" if check.generator_limited else "VALID"
    body = [
        '<h2 id="generator">Generator self-check</h2>',
        f'<p class="verdict {css}">{html.escape(lines[0])}</p>',
        "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines[1:]) + "</ul>",
    ]
    if check.generator_limited:
        body.append(
            "<p>What to do: docs/self-check.md (raise the issue threads, move work out of "
            "<code>issue</code>, lower the rate, give the client more connections).</p>"
        )
    if with_figure:
        fig = outstanding_figure(check)
        if fig is not None:
            # Inline SVG: the page stays one file, and the report's figure set (its PNG files
            # and embedded PNGs) stays what the run's logs give.
            body.append(f'<div class="figure" id="outstanding-samples">{svg_markup(fig)}</div>')
    return body


def svg_markup(fig: Figure) -> str:
    """The figure as an <svg> element (without the XML prologue)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    text = buf.getvalue()
    return text[text.index("<svg") :]
