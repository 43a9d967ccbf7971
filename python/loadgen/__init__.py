"""loadgen: a fast, safe load generator for inference systems.

``import mlperf_loadgen`` gives the drop-in replacement of the official MLPerf LoadGen module.
"""

from __future__ import annotations

import os as _os
from typing import TYPE_CHECKING, Any

try:
    from . import _core
except ImportError as _error:  # pragma: no cover - depends on how the package was installed
    raise ImportError(
        "loadgen's native extension (loadgen._core) could not be imported: "
        f"{_error}. Install the package with `pip install loadgen` (or `pip install .` from "
        "a source checkout); a bare source tree on PYTHONPATH has no compiled extension."
    ) from _error

_PACKAGE_DIR = _os.path.dirname(_os.path.abspath(__file__))

# The rules file FromConfig applies ships inside the package.
_core._set_mlperf_conf_path(_os.path.join(_PACKAGE_DIR, "mlperf.conf"))

try:
    # Written into the wheel by scikit-build-core (pyproject.toml); reading package metadata
    # instead would cost ~100 ms of import time.
    from ._version import __version__
except ImportError:  # pragma: no cover - a source tree without a build
    __version__ = "0+unknown"


def get_cmake_dir() -> str:
    """The folder holding loadgenConfig.cmake, for ``-Dloadgen_DIR=...`` in native builds."""
    return _os.path.join(_PACKAGE_DIR, "share", "cmake", "loadgen")


from .errors import (
    ConfigError,
    EndpointError,
    ResponseIdError,
    SettingsError,
    SutCallbackError,
    TestAborted,
    TestAlreadyRunningError,
)

# The typed API is imported on first use: `import mlperf_loadgen` (which imports this package)
# must cost what the official module's import costs, not asyncio's and dataclasses'.
_LAZY_NAMES = {
    "LatencyStats": "results",
    "RunResult": "results",
    "StageResult": "results",
    "Concurrency": "load_models",
    "ConstantRate": "load_models",
    "Cooldown": "load_models",
    "Gamma": "load_models",
    "LoadModel": "load_models",
    "Poisson": "load_models",
    "Ramp": "load_models",
    "Stage": "load_models",
    "Stages": "load_models",
    "Trace": "load_models",
    "TraceReplay": "load_models",
    "Warmup": "load_models",
    "load_trace": "load_models",
    "Conversations": "load_models",
    "abort": "runner",
    "complete": "runner",
    "fail": "runner",
    "SAMPLE_FAILURE_REASONS": "runner",
    "first_token": "runner",
    "plan": "runner",
    "PlannedSeries": "runner",
    "PlannedTest": "runner",
    "run": "runner",
    "LogOptions": "settings",
    "Mode": "settings",
    "Scenario": "settings",
    "Settings": "settings",
    "AsyncSystemUnderTest": "sut",
    "InMemoryQsl": "sut",
    "NumpyBatch": "sut",
    "NumpySystemUnderTest": "sut",
    "QuerySampleLibrary": "sut",
    "SampleBatch": "sut",
    "SystemUnderTest": "sut",
    "MetricOptions": "metrics",
    "Metrics": "metrics",
    "Slo": "metrics",
    "GeneratorCheck": "selfcheck",
    "sweep": "sweeps",
    "Sweep": "sweeps",
    "LatencyObjective": "search",
    "LoadKind": "search",
    "SearchResult": "search",
    "search": "search",
    "GoodputObjective": "search",
}

if TYPE_CHECKING:
    from .load_models import (
        Concurrency,
        ConstantRate,
        Conversations,
        Cooldown,
        Gamma,
        LoadModel,
        Poisson,
        Ramp,
        Stage,
        Stages,
        Trace,
        TraceReplay,
        Warmup,
        load_trace,
    )
    from .metrics import MetricOptions, Metrics, Slo
    from .results import LatencyStats, RunResult, StageResult
    from .runner import (
        SAMPLE_FAILURE_REASONS,
        PlannedSeries,
        PlannedTest,
        abort,
        complete,
        fail,
        first_token,
        plan,
        run,
    )
    from .search import GoodputObjective, LatencyObjective, LoadKind, SearchResult, search
    from .selfcheck import GeneratorCheck
    from .settings import LogOptions, Mode, Scenario, Settings
    from .sut import (
        AsyncSystemUnderTest,
        InMemoryQsl,
        NumpyBatch,
        NumpySystemUnderTest,
        QuerySampleLibrary,
        SampleBatch,
        SystemUnderTest,
    )
    from .sweeps import Sweep, sweep


def __getattr__(name: str) -> Any:
    module = _LAZY_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'loadgen' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_NAMES))


# LOADGEN_PROGRESS=1: a live display for every test, mlperf_loadgen.StartTest included.
if _os.environ.get("LOADGEN_PROGRESS") == "1":
    from .progress import follow_tests_from_environment as _follow_tests_from_environment

    _follow_tests_from_environment()

__all__ = [
    "AsyncSystemUnderTest",
    "Concurrency",
    "ConfigError",
    "ConstantRate",
    "Conversations",
    "Cooldown",
    "EndpointError",
    "Gamma",
    "InMemoryQsl",
    "LatencyStats",
    "LoadModel",
    "LogOptions",
    "Mode",
    "PlannedSeries",
    "PlannedTest",
    "Poisson",
    "QuerySampleLibrary",
    "Ramp",
    "ResponseIdError",
    "RunResult",
    "SAMPLE_FAILURE_REASONS",
    "SampleBatch",
    "Scenario",
    "Settings",
    "SettingsError",
    "Stage",
    "StageResult",
    "Stages",
    "SutCallbackError",
    "SystemUnderTest",
    "TestAborted",
    "TestAlreadyRunningError",
    "Trace",
    "TraceReplay",
    "Warmup",
    "__version__",
    "abort",
    "complete",
    "fail",
    "first_token",
    "get_cmake_dir",
    "load_trace",
    "plan",
    "run",
    "MetricOptions",
    "Metrics",
    "Slo",
    "GeneratorCheck",
    "Sweep",
    "sweep",
    "LatencyObjective",
    "LoadKind",
    "SearchResult",
    "search",
    "GoodputObjective",
]
