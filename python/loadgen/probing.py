"""Runs a sequence of probes against one warm SUT: each probe is one ``loadgen.run`` in the same
process (one test at a time, consecutive), with its logs in a folder of its own. Shared by the
capacity search (:mod:`loadgen.search`) and sweeps."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .decision import DecisionPolicy
from .load_models import LoadModel
from .results import RunResult
from .runner import AnySut, run
from .settings import PathLike, Settings
from .sut import QuerySampleLibrary

__all__ = ["ProbeRun", "ProbeRunner"]


@dataclass(frozen=True)
class ProbeRun:
    """One probe: its label, the run's result, its log folder and its wall time."""

    index: int
    label: str
    result: RunResult
    log_dir: Path
    wall_s: float


class ProbeRunner:
    """Runs probes one after another on the same SUT and QSL (kept warm: nothing is rebuilt
    between probes), each in ``log_root/probe-NN-<label>``."""

    def __init__(
        self,
        sut: AnySut,
        qsl: QuerySampleLibrary,
        log_root: PathLike,
        *,
        progress: bool | None = False,
    ) -> None:
        self.sut = sut
        self.qsl = qsl
        self.log_root = Path(log_root)
        self.progress = progress
        self.runs: list[ProbeRun] = []

    def run(
        self,
        label: str,
        settings: Settings,
        *,
        load: LoadModel | None = None,
        decide: DecisionPolicy | None = None,
    ) -> ProbeRun:
        index = len(self.runs)
        log_dir = self.log_root / f"probe-{index:02d}-{_safe(label)}"
        start = time.perf_counter()
        sut: Any = self.sut  # any SUT kind run() accepts (its overloads tell the batch kinds)
        result = run(
            sut,
            self.qsl,
            settings,
            log_dir=log_dir,
            progress=self.progress,
            load=load,
            decide=decide,
        )
        probe = ProbeRun(index, label, result, log_dir, time.perf_counter() - start)
        self.runs.append(probe)
        return probe


def _safe(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in label)
