"""loadgen: a fast, safe load generator for inference systems.

``import mlperf_loadgen`` gives the drop-in replacement of the official MLPerf LoadGen module.
"""

from __future__ import annotations

from pathlib import Path as _Path

try:
    from . import _core
except ImportError as _error:  # pragma: no cover - depends on how the package was installed
    raise ImportError(
        "loadgen's native extension (loadgen._core) could not be imported: "
        f"{_error}. Install the package with `pip install loadgen` (or `pip install .` from "
        "a source checkout); a bare source tree on PYTHONPATH has no compiled extension."
    ) from _error

_PACKAGE_DIR = _Path(__file__).resolve().parent

# The rules file FromConfig applies ships inside the package.
_core._set_mlperf_conf_path(str(_PACKAGE_DIR / "mlperf.conf"))

try:
    # Written into the wheel by scikit-build-core (pyproject.toml); reading package metadata
    # instead would cost ~100 ms of import time.
    from ._version import __version__
except ImportError:  # pragma: no cover - a source tree without a build
    __version__ = "0+unknown"


def get_cmake_dir() -> str:
    """The folder holding loadgenConfig.cmake, for ``-Dloadgen_DIR=...`` in native builds."""
    return str(_PACKAGE_DIR / "share" / "cmake" / "loadgen")


from .errors import ConfigError, ResponseIdError, SettingsError, SutCallbackError, TestAborted
from .results import LatencyStats, RunResult
from .progress import follow_tests_from_environment as _follow_tests_from_environment
from .runner import abort, complete, first_token, plan, run
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

# LOADGEN_PROGRESS=1: a live display for every test, mlperf_loadgen.StartTest included.
_follow_tests_from_environment()

__all__ = [
    "AsyncSystemUnderTest",
    "ConfigError",
    "InMemoryQsl",
    "LatencyStats",
    "LogOptions",
    "Mode",
    "QuerySampleLibrary",
    "ResponseIdError",
    "RunResult",
    "SampleBatch",
    "Scenario",
    "Settings",
    "SettingsError",
    "SutCallbackError",
    "SystemUnderTest",
    "TestAborted",
    "__version__",
    "abort",
    "complete",
    "first_token",
    "get_cmake_dir",
    "plan",
    "run",
]
