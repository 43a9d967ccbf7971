"""What the report shows from loadgen_results.json (docs/metrics.md), when the run wrote one:
the request metrics at the run's percentiles, goodput against each SLO tier, one panel per
stage of a load model, one row per endpoint URL, and figures of the inter-token latency
distribution, the stages and the goodput."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from .analysis import RunLogs

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "goodput_figure",
    "itl_distribution_figure",
    "metrics_sections",
    "stages_figure",
]

# (label, key in a metrics object, unit): the distributions a metrics table lists.
_DISTRIBUTIONS = (
    ("E2E latency (ms)", "e2e_ns", 1e-6),
    ("TTFT (ms)", "ttft_ns", 1e-6),
    ("TPOT (ms)", "tpot_ns", 1e-6),
    ("inter-token latency (ms)", "itl_ns", 1e-6),
    ("output tokens/s per user", "output_tokens_per_s_per_user", 1.0),
)


def _fmt(v: Any, scale: float = 1.0) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int) and scale == 1.0:
        return str(v)
    return f"{float(v) * scale:.3f}"


def _percentile_keys(results: Mapping[str, Any]) -> list[str]:
    return [f"{p:g}" for p in results["options"]["percentiles"]]


def distribution_rows(metrics: Mapping[str, Any], keys: Sequence[str]) -> list[list[str]]:
    """One row per available distribution: label, count, mean, each percentile, max."""
    rows = []
    for label, key, scale in _DISTRIBUTIONS:
        d = metrics[key]
        if not d["count"]:
            continue
        approx = " (histogram)" if d["approximate"] else ""
        rows.append(
            [label + approx, str(d["count"]), _fmt(d["mean"], scale)]
            + [_fmt(d["percentiles"].get(k), scale) for k in keys]
            + [_fmt(d["max"], scale)]
        )
    return rows


def _throughput_rows(m: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [
        ("requests (failed)", f"{m['requests']} ({m['failed']})"),
        ("duration (s)", _fmt(m["duration_s"])),
        ("request throughput (req/s)", _fmt(m["request_throughput"])),
        ("output token throughput (tokens/s)", _fmt(m["output_token_throughput"])),
        ("total token throughput (tokens/s)", _fmt(m["total_token_throughput"])),
    ]


def _metrics_block(m: Mapping[str, Any], keys: Sequence[str], table: Any) -> list[str]:
    header = ["figure", "count", "mean", *[f"p{k}" for k in keys], "max"]
    return [
        table(_throughput_rows(m), None),
        table(distribution_rows(m, keys), header),
    ]


def goodput_rows(results: Mapping[str, Any], m: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for name, g in m["goodput"].items():
        slo = results["options"]["slo_tiers"].get(name, {})
        limits = ", ".join(f"{k} <= {v:g}" for k, v in slo.items() if v is not None)
        rows.append(
            [
                name,
                limits or "(no limit)",
                f"{g['met']} / {m['requests']}",
                f"{(g['share'] or 0) * 100:.1f}%",
                _fmt(g["rate_per_s"]),
            ]
        )
    return rows


def metrics_sections(run: RunLogs, table: Any) -> list[str]:
    """The HTML sections from the run's results file (none without one). ``table`` renders
    rows (html.table)."""
    results = run.results
    if results is None:
        return []
    keys = _percentile_keys(results)
    body: list[str] = []
    m = results.get("metrics")
    if m is not None:
        body.append('<h2 id="request-metrics">Request metrics (loadgen_results.json)</h2>')
        body += _metrics_block(m, keys, table)
        if m["goodput"]:
            body.append('<h2 id="goodput">Goodput against the SLO tiers</h2>')
            body.append(
                table(goodput_rows(results, m), ("tier", "objectives", "met", "share", "req/s"))
            )
    for i, s in enumerate(results.get("stages", [])):
        title = f"Stage {i}: {s['name'] or s['kind']}" + (
            "" if s["measured"] else " (not measured)"
        )
        body.append(f'<h2 class="stage" id="stage-{i}">{html.escape(title)}</h2>')
        body.append(
            table(
                [
                    ("kind", s["kind"]),
                    ("queries issued / planned", f"{s['queries_issued']} / {s['planned_queries']}"),
                    ("issued per second", _fmt(s["issued_qps"])),
                    ("completed per second", _fmt(s["completed_qps"])),
                    (
                        "gated queries (max wait ms)",
                        f"{s['gated_queries']} ({_fmt(s['gate_wait_max_ns'], 1e-6)})",
                    ),
                ],
                None,
            )
        )
        if s["metrics"] is not None:
            body += _metrics_block(s["metrics"], keys, table)
            if s["metrics"]["goodput"]:
                body.append(
                    table(
                        goodput_rows(results, s["metrics"]),
                        ("tier", "objectives", "met", "share", "req/s"),
                    )
                )
    endpoints = results.get("endpoints", [])
    if endpoints:
        body.append('<h2 id="endpoints">Endpoints</h2>')
        header = ["URL", "completed", "failed", "connections", "retries", "req/s"]
        header += [f"E2E p{k} (ms)" for k in keys]
        rows = []
        for e in endpoints:
            em = e["metrics"]
            rows.append(
                [
                    e["url"],
                    str(e["completed"]),
                    str(e["failed"]),
                    str(e["connections_opened"]),
                    str(e["retries"]),
                    _fmt(em["request_throughput"]),
                ]
                + [_fmt(em["e2e_ns"]["percentiles"].get(k), 1e-6) for k in keys]
            )
        body.append(table(rows, header))
    return body


# --- figures ------------------------------------------------------------------------------------


def _percentile_points(d: Mapping[str, Any], scale: float) -> tuple[list[float], list[float]]:
    """(values, fractions) through min, the percentiles and max."""
    pts = sorted((float(k) / 100, v) for k, v in d["percentiles"].items() if v is not None)
    xs = [d["min"] * scale] + [v * scale for _, v in pts] + [d["max"] * scale]
    ys = [0.0] + [p for p, _ in pts] + [1.0]
    return xs, ys


def itl_distribution_figure(run: RunLogs) -> Figure | None:
    """The inter-token latency distribution (and TPOT beside it) through the results file's
    percentiles: an endpoint SUT's per-chunk gaps."""
    from .figures import finish_axes, new_figure

    m = (run.results or {}).get("metrics")
    if m is None or not m["itl_ns"]["count"]:
        return None
    fig = new_figure("Inter-token latency")
    ax = fig.axes[0]
    positive = True
    for label, key in (
        ("inter-token latency (per chunk)", "itl_ns"),
        ("TPOT (per request)", "tpot_ns"),
    ):
        if m[key]["count"]:
            xs, ys = _percentile_points(m[key], 1e-6)
            positive = positive and min(xs) > 0
            ax.step(xs, ys, where="post", marker="o", markersize=3, label=label)
    # Chunks read together share an arrival time: gaps of 0 have no place on a log axis.
    ax.set_xscale("log" if positive else "symlog", **({} if positive else {"linthresh": 0.01}))
    finish_axes(ax, "ms", "fraction at or below", "lower right", ylim=(0, 1.02))
    return fig


def stages_figure(run: RunLogs) -> Figure | None:
    """Per stage: completed per second and E2E latency percentiles."""
    from .figures import finish_axes, new_figure

    stages = (run.results or {}).get("stages", [])
    if not stages:
        return None
    keys = _percentile_keys(run.results or {})
    fig = new_figure("Stages", ncols=2)
    names = [s["name"] or f"{i}: {s['kind']}" for i, s in enumerate(stages)]
    xs = list(range(len(stages)))
    ax = fig.axes[0]
    ax.bar(xs, [s["completed_qps"] or 0 for s in stages], label="completed/s")
    ax.set_xticks(xs, names, rotation=20)
    finish_axes(ax, "stage", "per second", "upper right")
    ax = fig.axes[1]
    for k in keys:
        ys = [
            ((s["metrics"] or {}).get("e2e_ns", {}).get("percentiles", {}).get(k) or 0) / 1e6
            for s in stages
        ]
        ax.plot(xs, ys, marker="o", label=f"p{k}")
    ax.set_xticks(xs, names, rotation=20)
    finish_axes(ax, "stage", "E2E latency (ms)", "upper right")
    return fig


def goodput_figure(run: RunLogs) -> Figure | None:
    """The share of requests meeting each SLO tier."""
    from .figures import finish_axes, new_figure

    m = (run.results or {}).get("metrics")
    if m is None or not m["goodput"]:
        return None
    fig = new_figure("Goodput against the SLO tiers")
    ax = fig.axes[0]
    names = list(m["goodput"])
    ax.bar(
        names, [(g["share"] or 0) * 100 for g in m["goodput"].values()], label="met every objective"
    )
    finish_axes(ax, "tier", "% of requests", "upper right", ylim=(0, 105))
    return fig
