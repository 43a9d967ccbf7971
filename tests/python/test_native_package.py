"""The installed wheel carries the C++ package: a native harness finds it with
find_package(loadgen) through loadgen.get_cmake_dir(), builds against the official headers and
runs (tests/cmake_consumer; the install-tree and shared-library variants run under CTest)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import loadgen
import pytest

ROOT = Path(__file__).resolve().parents[2]
CONSUMER = ROOT / "tests" / "cmake_consumer"


def _find_cxx_compiler() -> str | None:
    candidates = [os.environ.get("CXX", ""), "c++", "g++", "clang++"]
    return next((found for c in candidates if c and (found := shutil.which(c))), None)


def test_cmake_dir_holds_the_package() -> None:
    cmake_dir = Path(loadgen.get_cmake_dir())
    package = Path(loadgen.__file__).resolve().parent
    assert cmake_dir == package / "share" / "cmake" / "loadgen"
    assert (cmake_dir / "loadgenConfig.cmake").is_file()
    assert (cmake_dir / "loadgenTargets.cmake").is_file()
    version_file = (cmake_dir / "loadgenConfigVersion.cmake").read_text()
    assert f'set(PACKAGE_VERSION "{loadgen.__version__}")' in version_file
    assert (package / "lib" / "libmlperf_loadgen.a").is_file()
    for header in ("loadgen.h", "test_settings.h", "bindings/c_api.h", "loadgen/session.h"):
        assert (package / "include" / "mlperf_loadgen" / header).is_file(), header


def test_cmakedir_command_prints_the_cmake_dir() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "loadgen", "--cmakedir"], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == loadgen.get_cmake_dir()


def test_cmake_root_entry_point_is_a_prefix_cmake_searches() -> None:
    # scikit-build-core adds the entry point's package folder to CMAKE_PREFIX_PATH; CMake's
    # find_package searches <prefix>/share/cmake/<name>/ there.
    (entry,) = [e for e in metadata.entry_points(group="cmake.root") if e.name == "loadgen"]
    assert entry.value == "loadgen"
    prefix = Path(entry.load().__file__).resolve().parent
    assert prefix / "share" / "cmake" / "loadgen" == Path(loadgen.get_cmake_dir())


@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake is not installed")
@pytest.mark.skipif(_find_cxx_compiler() is None, reason="no C++ compiler")
def test_native_harnesses_build_and_run_against_the_wheel(tmp_path: Path) -> None:
    # Builds examples/cpp (server harness, C API harness) and a FromConfig check against the
    # wheel, runs them, and checks that the rules (mlperf.conf) apply under a user.conf.
    generator = ["-DGENERATOR=Ninja"] if shutil.which("ninja") else []
    result = subprocess.run(
        [
            "cmake",
            f"-DPACKAGE_DIR={loadgen.get_cmake_dir()}",
            f"-DWORK_DIR={tmp_path / 'consumer'}",
            *generator,
            "-P",
            str(CONSUMER / "run_consumer.cmake"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
