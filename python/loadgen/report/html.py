"""The report page: one self-contained HTML file (figures embedded as PNG), and ``write_report``,
which writes it with its figure files and per-sample exports beside it."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path
from typing import Any, Iterable, Sequence

from .analysis import RunLogs
from .export import write_samples_csv, write_samples_json
from .figures import build_figures, png_bytes
from .generator_panel import generator_section
from .metrics_panels import metrics_sections

__all__ = ["render_html", "write_report"]

# Keys whose integer value is nanoseconds without saying so in the name.
_NS_KEYS = {
    "early_stopping_latency_ss",
    "early_stopping_latency_ms",
    "result_time_to_output_token_min",
    "result_time_to_output_token_max",
    "result_time_to_output_token_mean",
    "requested_server_ttft_latency",
    "requested_server_tpot_latency",
}


def format_value(key: str, value: Any) -> str:
    """Values as the log has them; nanoseconds also in milliseconds."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and (key.endswith("_ns") or key in _NS_KEYS):
        return f"{value} ({value / 1e6:.3f} ms)"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.9em; }
td, th { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.verdict { padding: 0.6em 1em; border-radius: 4px; font-weight: bold; display: inline-block; }
.VALID { background: #d9f2d9; } .INVALID { background: #f8d7d7; } .other { background: #eee; }
img { max-width: 100%; border: 1px solid #ddd; margin: 0.5em 0; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
"""


_NUMBER = re.compile(r"^[-+]?[0-9.]+(e[-+]?[0-9]+)?%?( \([0-9.]+ ms\))?$")


def table(rows: Iterable[Sequence[Any]], header: Sequence[str] | None) -> str:
    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>")
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            css = ' class="num"' if i > 0 and _NUMBER.match(str(cell)) else ""
            cells.append(f"<td{css}>{html.escape(str(cell))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _bullets(items: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(item)}</li>" for item in items) + "</ul>"


def img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def page(title: str, body: list[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


_SETTINGS_SHOWN = (
    "effective_samples_per_query",
    "effective_target_qps",
    "effective_target_latency_ns",
    "effective_target_latency_percentile",
    "effective_max_async_queries",
    "effective_min_duration_ms",
    "effective_max_duration_ms",
    "effective_min_query_count",
    "effective_max_query_count",
    "effective_performance_sample_count",
    "requested_server_ttft_latency",
    "requested_server_tpot_latency",
)


def render_html(run: RunLogs, figures: dict[str, bytes], exports: Sequence[str]) -> str:
    """The report page; ``figures`` are PNG bytes by figure name, ``exports`` file names to link."""
    verdict, reasons = run.verdict()
    css = verdict if verdict in ("VALID", "INVALID") else "other"
    body = [
        f"<h1>loadgen report: {html.escape(run.scenario)}, {html.escape(run.mode)}</h1>",
        table(
            [
                ("logs", str(run.directory)),
                ("SUT", run.sut_name),
                ("test date", str(run.value("test_datetime", ""))),
                ("LoadGen version", str(run.value("loadgen_version", ""))),
                (
                    "samples in the trace",
                    "no trace" if run.samples is None else str(len(run.samples)),
                ),
            ],
            None,
        ),
        "<h2>Verdict</h2>",
        f'<p class="verdict {css}" id="verdict">{html.escape(verdict)}</p>',
    ]
    headline = run.headline()
    if headline:
        body.append(f"<p>{html.escape(headline[0])}: <b>{html.escape(headline[1])}</b></p>")
    if reasons:
        body.append(_bullets(reasons))
    body += generator_section(run)
    for title, bullets in run.early_stopping():
        body.append(f"<p>{html.escape(title)}:</p>")
        body.append(_bullets(bullets) if bullets else "<p>(no text)</p>")
    problems = run.errors() + run.warnings()
    if problems:
        body.append("<h2>Errors and warnings in the detail log</h2>")
        body.append(
            table(
                [("error" if e.is_error else "warning", e.key, str(e.value)) for e in problems],
                ("kind", "key", "message"),
            )
        )
    if figures:
        body.append("<h2>Figures</h2>")
        for name, png in figures.items():
            body.append(img(png, name.replace("_", " ")))
    if run.samples is None:
        body.append(
            "<p>No trace with per-sample events (run with <code>enable_trace</code>): the figures "
            "use the percentiles of the detail log only.</p>"
        )
    body += metrics_sections(run, table)
    block = run.results_block()
    if block:
        body.append("<h2>Metrics</h2>")
        body.append(table([(k, format_value(k, v)) for k, v in block], ("key", "value")))
    settings = [(k, format_value(k, run.value(k))) for k in _SETTINGS_SHOWN if run.has(k)]
    if settings:
        body.append("<h2>Effective settings</h2>")
        body.append(table(settings, ("key", "value")))
    if exports:
        body.append("<h2>Files</h2>")
        links = [f'<a href="{html.escape(n)}">{html.escape(n)}</a>' for n in exports]
        body.append("<ul>" + "".join(f"<li>{link}</li>" for link in links) + "</ul>")
    if run.summary_text:
        body.append("<h2>Summary log</h2>")
        body.append(f"<pre>{html.escape(run.summary_text)}</pre>")
    return page(f"loadgen report: {run.directory}", body)


def write_report(run: RunLogs, output: str | Path) -> list[Path]:
    """Writes the HTML report and, next to it, one PNG per figure and the per-sample CSV and JSON
    (``<stem>-<figure>.png``, ``<stem>-samples.csv``, ``<stem>-samples.json``). Returns the paths."""
    figures = build_figures(run)  # first: a missing matplotlib leaves no files behind
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    pngs = {}
    for name, fig in figures.items():
        png = png_bytes(fig)
        pngs[name] = png
        path = output.with_name(f"{output.stem}-{name}.png")
        path.write_bytes(png)
        written.append(path)
    csv_path = output.with_name(f"{output.stem}-samples.csv")
    json_path = output.with_name(f"{output.stem}-samples.json")
    write_samples_csv(run.samples or [], csv_path)
    write_samples_json(run, json_path)
    written += [csv_path, json_path]
    output.write_text(render_html(run, pngs, [p.name for p in written]), encoding="utf-8")
    return [output, *written]
