"""Runs a sequence of probes against one warm SUT: each probe is one ``loadgen.run`` in the same
process (one test at a time, consecutive), with its logs in a folder of its own. Shared by the
capacity search (:mod:`loadgen.search`) and sweeps (:func:`loadgen.sweeps.run_probes`)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .decision import DecisionPolicy
from .load_models import LoadModel
from .metrics import MetricOptions
from .results import RunResult
from .runner import AnySut, run
from .settings import PathLike, Settings
from .sut import QuerySampleLibrary

__all__ = ["ProbeRun", "ProbeRunner", "ProbeSequence"]


@dataclass(frozen=True)
class ProbeRun:
    """One probe: its label, the run's result, its log folder and its wall time."""

    index: int
    label: str
    result: RunResult
    log_dir: Path
    wall_s: float


class ProbeSequence:
    """Probes run one after another, each in a folder of its own (by default
    ``log_root/probe-NN-<label>``), timed and kept in order in ``runs``."""

    def __init__(self, log_root: PathLike) -> None:
        self.log_root = Path(log_root)
        self.runs: list[ProbeRun] = []

    def folder(self, label: str) -> Path:
        """The default folder of the next probe."""
        return self.log_root / f"probe-{len(self.runs):02d}-{_safe(label)}"

    def record(
        self, label: str, log_dir: PathLike | None, run_one: Callable[[Path], RunResult]
    ) -> ProbeRun:
        """Runs the next probe, ``run_one(its folder)``, in ``log_dir`` (None: :meth:`folder`)."""
        folder = Path(log_dir) if log_dir is not None else self.folder(label)
        folder.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        result = run_one(folder)
        probe = ProbeRun(len(self.runs), label, result, folder, time.perf_counter() - start)
        self.runs.append(probe)
        return probe


class ProbeRunner(ProbeSequence):
    """Runs probes one after another on the same SUT and QSL (kept warm: nothing is rebuilt
    between probes), each in ``log_root/probe-NN-<label>`` unless given a folder."""

    def __init__(
        self,
        sut: AnySut,
        qsl: QuerySampleLibrary,
        log_root: PathLike,
        *,
        progress: bool | None = False,
        metrics: MetricOptions | None = None,
    ) -> None:
        super().__init__(log_root)
        self.sut = sut
        self.qsl = qsl
        self.progress = progress
        self.metrics = metrics  # the percentiles and SLO tiers each probe computes

    def run(
        self,
        label: str,
        settings: Settings,
        *,
        load: LoadModel | None = None,
        decide: DecisionPolicy | None = None,
        log_dir: PathLike | None = None,
    ) -> ProbeRun:
        sut: Any = self.sut  # any SUT kind run() accepts (its overloads tell the batch kinds)

        def run_one(folder: Path) -> RunResult:
            return run(
                sut,
                self.qsl,
                settings,
                log_dir=folder,
                progress=self.progress,
                load=load,
                decide=decide,
                metrics=self.metrics,
            )

        return self.record(label, log_dir, run_one)


def _safe(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in label)
