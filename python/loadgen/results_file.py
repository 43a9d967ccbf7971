"""loadgen_results.json: a run's results as versioned JSON beside the official logs
(docs/metrics.md). Its schema is results_schema.json in this package; a test checks that a
real run's file validates and that the schema and the file name the same fields.

The file is a set of named top-level sections, each built from the RunResult by one function
in ``SECTIONS``. Another part of the package adds one with :func:`add_section` (at import
time) and describes it under ``properties`` (and ``required``) in results_schema.json.
"""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from . import selfcheck

if TYPE_CHECKING:
    from .metrics import Distribution, Metrics
    from .results import LatencyStats, RunResult, StageResult

__all__ = ["FILE_NAME", "SCHEMA_VERSION", "SECTIONS", "add_section", "read", "schema", "write"]

FILE_NAME = "loadgen_results.json"
#: Raised when a field is removed or changes meaning; adding a section or field keeps it.
SCHEMA_VERSION = 1

Json = Any
SectionBuilder = Callable[["RunResult"], Json]


def _number(v: float) -> float | None:
    # JSON has no inf/nan (a run that completed nothing divides by zero).
    return v if math.isfinite(v) else None


def _percent_key(p: float) -> str:
    """50.0 -> "50", 99.9 -> "99.9"."""
    return f"{p:g}"


def _latency_stats(s: LatencyStats | None) -> Json:
    if s is None:
        return None
    return {
        "min_ns": s.min_ns,
        "max_ns": s.max_ns,
        "mean_ns": s.mean_ns,
        "percentiles_ns": {_percent_key(p * 100): v for p, v in s.percentiles_ns.items()},
        "at_target_ns": s.at_target_ns,
    }


def _distribution(d: Distribution) -> Json:
    return {
        "count": d.count,
        "min": _number(d.min),
        "max": _number(d.max),
        "mean": _number(d.mean),
        "percentiles": {_percent_key(p): _number(v) for p, v in d.percentiles.items()},
        "approximate": d.approximate,
    }


def _metrics(m: Metrics | None) -> Json:
    if m is None:
        return None
    return {
        "requests": m.requests,
        "failed": m.failed,
        "duration_s": _number(m.duration_s),
        "output_tokens": m.output_tokens,
        "input_tokens": m.input_tokens,
        "request_throughput": _number(m.request_throughput),
        "output_token_throughput": _number(m.output_token_throughput),
        "total_token_throughput": None
        if m.total_token_throughput is None
        else _number(m.total_token_throughput),
        "e2e_ns": _distribution(m.e2e_ns),
        "ttft_ns": _distribution(m.ttft_ns),
        "tpot_ns": _distribution(m.tpot_ns),
        "itl_ns": _distribution(m.itl_ns),
        "output_tokens_per_s_per_user": _distribution(m.output_tokens_per_s_per_user),
        "goodput": {
            name: {"met": g.met, "share": _number(g.share), "rate_per_s": _number(g.rate_per_s)}
            for name, g in m.goodput.items()
        },
    }


def _run(r: RunResult) -> Json:
    return {
        "scenario": r.scenario.name,
        "mode": r.mode.name,
        "valid": r.valid,
        "failed_constraints": list(r.failed_constraints),
        "metric_name": r.metric_name,
        "metric": _number(r.metric),
        "queries_issued": r.queries_issued,
        "samples_completed": r.samples_completed,
        "samples_failed": r.samples_failed,
        "failed_by_reason": dict(r.failed_by_reason),
        "token_count": r.token_count,
        "tokens_per_second": _number(r.tokens_per_second),
        "early_stopping_met": r.early_stopping_met,
        "errors": r.errors,
        "warnings": r.warnings,
        "interrupted": r.interrupted,
        "interrupt_reason": r.interrupt_reason,
        "summary_file": r.summary_path.name,
        "detail_file": r.detail_path.name,
    }


def _official_latency(r: RunResult) -> Json:
    return {
        "sample": _latency_stats(r.latency),
        "query": _latency_stats(r.query_latency),
        "first_token": _latency_stats(r.first_token_latency),
        "time_per_output_token": _latency_stats(r.time_per_output_token),
    }


def _options(r: RunResult) -> Json:
    o = r.metric_options
    return {
        "percentiles": list(o.percentiles),
        "slo_tiers": {name: slo.to_json() for name, slo in o.tiers.items()},
        "exact_limit": o.exact_limit,
    }


def _stage(s: StageResult) -> Json:
    return {
        "name": s.name,
        "kind": s.kind,
        "measured": s.measured,
        "concurrency": s.concurrency,
        "planned_queries": s.planned_queries,
        "queries_issued": s.queries_issued,
        "samples_completed": s.samples_completed,
        "start_s": _number(s.start_s),
        "duration_s": _number(s.duration_s),
        "issued_qps": _number(s.issued_qps),
        "completed_qps": _number(s.completed_qps),
        "gated_queries": s.gated_queries,
        "gate_wait_mean_ns": s.gate_wait_mean_ns,
        "gate_wait_max_ns": s.gate_wait_max_ns,
        "ran_out": s.ran_out,
        "conversations_planned": s.conversations_planned,
        "conversations_started": s.conversations_started,
        "conversations_completed": s.conversations_completed,
        "metrics": _metrics(s.metrics),
    }


def _endpoints(r: RunResult) -> Json:
    return [
        {
            "index": e.index,
            "url": e.url,
            "completed": e.completed,
            "failed": e.failed,
            "connections_opened": e.connections_opened,
            "retries": e.retries,
            "metrics": _metrics(e.metrics),
        }
        for e in r.endpoints
    ]


#: The file's sections after "schema_version" and "loadgen_version", in order.
SECTIONS: dict[str, SectionBuilder] = {
    "run": _run,
    "official_latency": _official_latency,
    "options": _options,
    "metrics": lambda r: _metrics(r.metrics),
    "stages": lambda r: [_stage(s) for s in r.stages],
    "endpoints": _endpoints,
    "generator": lambda r: selfcheck.results_section(r.generator),
}


def add_section(name: str, build: SectionBuilder) -> None:
    """Adds a top-level section built from each RunResult (describe it in
    results_schema.json too: the schema test fails until it is)."""
    if name in SECTIONS or name in ("schema_version", "loadgen_version"):
        raise ValueError(f"results file section {name!r} exists already")
    SECTIONS[name] = build


def document(result: RunResult) -> dict[str, Json]:
    """The file's content for `result`."""
    from . import __version__

    doc: dict[str, Json] = {"schema_version": SCHEMA_VERSION, "loadgen_version": __version__}
    for name, build in SECTIONS.items():
        doc[name] = build(result)
    return doc


def write(result: RunResult, directory: Path | None = None) -> Path:
    """Writes loadgen_results.json into `directory` (the result's log folder by default)."""
    path = Path(directory if directory is not None else result.log_dir) / FILE_NAME
    path.write_text(json.dumps(document(result), indent=1, allow_nan=False) + "\n")
    return path


def read(path: Path | str) -> Mapping[str, Json]:
    """A results file (a folder: its loadgen_results.json). Raises ValueError for a file of a
    newer schema version than this package reads."""
    p = Path(path)
    if p.is_dir():
        p = p / FILE_NAME
    doc: Json = json.loads(p.read_text())
    version = doc.get("schema_version") if isinstance(doc, dict) else None
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise ValueError(f"{p}: schema_version {version!r} is not one this loadgen reads")
    return dict(doc)


def schema() -> Mapping[str, Json]:
    """The JSON Schema of the file (results_schema.json)."""
    text = resources.files("loadgen").joinpath("results_schema.json").read_text()
    return dict(json.loads(text))
