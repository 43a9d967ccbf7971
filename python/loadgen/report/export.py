"""Per-sample exports: the measured series as CSV, and as JSON together with the results block."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any, Iterable

from .analysis import RunLogs
from .model import Sample

__all__ = ["SAMPLE_FIELDS", "sample_records", "write_samples_csv", "write_samples_json"]

SAMPLE_FIELDS = (
    "sample_seq",
    "query_seq",
    "sample_idx",
    "scheduled_s",
    "issue_delay_ns",
    "latency_ns",
    "completed_s",
    "ttft_ns",
    "n_tokens",
    "tpot_ns",
)


def sample_records(samples: Iterable[Sample]) -> list[dict[str, Any]]:
    return [{name: getattr(s, name) for name in SAMPLE_FIELDS} for s in samples]


def write_samples_csv(samples: Iterable[Sample], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=SAMPLE_FIELDS)
        writer.writeheader()
        for record in sample_records(samples):
            writer.writerow({k: "" if v is None else v for k, v in record.items()})


def _json_safe(value: Any) -> Any:
    """inf and nan (which official logs can hold) as strings: JSON has no such numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def write_samples_json(run: RunLogs, path: Path) -> None:
    data = {
        "source": str(run.detail_path),
        "scenario": run.scenario,
        "mode": run.mode,
        "results": {k: _json_safe(v) for k, v in run.results_block()},
        "samples": sample_records(run.samples or []),
    }
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
