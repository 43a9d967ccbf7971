"""The hand-written stubs match the compiled module (mypy.stubtest), and the package type-checks
under mypy --strict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, cwd=ROOT, check=False
    )


def test_stubtest_core_and_compat_modules() -> None:
    result = run("mypy.stubtest", "loadgen._core", "mlperf_loadgen", "mlcommons_loadgen")
    assert result.returncode == 0, result.stdout + result.stderr


def test_package_is_mypy_strict_clean() -> None:
    # pyproject.toml's [tool.mypy] selects python/loadgen with strict = true.
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr
