"""Helpers shared by the test_typed_api_*.py modules: a QSL, quick settings per scenario, the
detail log as a dict and a SUT that records the issue order."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import loadgen

ROOT = Path(__file__).resolve().parents[2]
MLPERF_CONF = Path(loadgen.__file__).resolve().parent / "mlperf.conf"


QSL = loadgen.InMemoryQsl(1024, 256)


def quick(scenario: loadgen.Scenario, **changes: Any) -> loadgen.Settings:
    """Short runs, valid with a SUT that answers within a few ms (no minimum duration: the
    query counts are the smallest early stopping accepts)."""
    s = loadgen.Settings(scenario=scenario, min_duration_ms=0)
    base: dict[str, Any] = {
        loadgen.Scenario.SINGLE_STREAM: dict(min_query_count=64),
        loadgen.Scenario.MULTI_STREAM: dict(min_query_count=662),
        loadgen.Scenario.SERVER: dict(
            server_target_qps=3000, server_target_latency_ns=50_000_000, min_query_count=500
        ),
        loadgen.Scenario.OFFLINE: dict(offline_expected_qps=1000, min_query_count=500),
    }[scenario]
    return s.replace(**{**base, **changes})


def detail_entries(path: Path) -> dict[str, Any]:
    """key -> value of the detail log (the last entry of each key)."""
    entries: dict[str, Any] = {}
    for line in path.read_text().splitlines():
        # Rates of an interrupted run can be printed as C's inf, as the official logger does.
        text = re.sub(r'"value": (-?)inf,', r'"value": \1Infinity,', line.split(":::MLLOG", 1)[1])
        record = json.loads(text)
        entries[record["key"]] = record["value"]
    return entries


class RecordingSut:
    """Completes inline and remembers the QSL indices in issue order."""

    def __init__(self) -> None:
        self.indices: list[int] = []

    def issue(self, batch: loadgen.SampleBatch) -> None:
        self.indices.extend(batch.indices)
        loadgen.complete(batch.ids)

    def flush(self) -> None:
        pass


class Boom(Exception):
    """The exception the tests raise in SUT and QSL callbacks."""
