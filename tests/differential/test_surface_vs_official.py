"""The committed oracle record tests/data/official_surface.json is what the official wheel
produces today with tests/differential/record_surface.py (tests/python/test_compat_surface.py
compares our module with that record)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import tempfile
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).resolve().parent
RECORD = HERE.parents[0] / "data" / "official_surface.json"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_differential_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.oracle
def test_committed_surface_record_matches_the_official_wheel() -> None:
    oracle_python = _load("common").require_oracle_python()
    with tempfile.TemporaryDirectory() as cwd:  # keep the source tree off sys.path
        result = subprocess.run(
            [oracle_python, str(HERE / "record_surface.py")],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        )
    assert json.loads(result.stdout) == json.loads(RECORD.read_text()), (
        "regenerate with: <oracle python> tests/differential/record_surface.py "
        "> tests/data/official_surface.json"
    )
