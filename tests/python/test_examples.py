"""examples/python: each harness runs as a script, and the figures it prints from its RunResult
are the ones of the detail log it wrote; README shows the minimal harness verbatim."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "python"


def run_example(name: str, log_dir: Path) -> dict[str, str]:
    """Runs examples/python/<name> and returns its printed lines as {label: value}."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    env["LOADGEN_PROGRESS"] = "0"
    child = subprocess.run(
        [sys.executable, str(EXAMPLES / name), str(log_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stdout + child.stderr
    lines: dict[str, str] = {}
    for line in child.stdout.splitlines():
        label, _, value = line.partition(": ")
        lines[label] = value
    return lines


def detail_entries(path: Path) -> dict[str, Any]:
    """key -> value of the detail log (the last entry of each key)."""
    entries: dict[str, Any] = {}
    for line in path.read_text().splitlines():
        record = json.loads(line.split(":::MLLOG", 1)[1])
        entries[record["key"]] = record["value"]
    return entries


def test_minimal_harness_prints_the_detail_log_figures(tmp_path: Path) -> None:
    out = run_example("minimal_harness.py", tmp_path)
    assert list(out) == ["early_stopping_latency_ss_ns", "result", "p90 latency", "logs"]
    assert Path(out["logs"]) == tmp_path
    detail = detail_entries(tmp_path / "mlperf_log_detail.txt")
    assert out["result"] == detail["result_validity"] == "VALID"
    assert float(out["early_stopping_latency_ss_ns"]) == detail["early_stopping_latency_ss"]
    p90 = int(out["p90 latency"].removesuffix(" ns"))
    assert p90 == detail["result_90.00_percentile_latency_ns"]
    assert 1_000_000 <= p90 < 1_000_000_000  # the SUT sleeps 1 ms per query
    assert "Result is : VALID" in (tmp_path / "mlperf_log_summary.txt").read_text()


def test_token_harness_prints_the_detail_log_figures(tmp_path: Path) -> None:
    out = run_example("token_harness.py", tmp_path)
    assert list(out) == ["early_stopping_latency_ss_ns", "result", "p90 TTFT", "tokens", "logs"]
    detail = detail_entries(tmp_path / "mlperf_log_detail.txt")
    assert out["result"] == detail["result_validity"] == "VALID"
    assert float(out["early_stopping_latency_ss_ns"]) == detail["early_stopping_latency_ss"]
    ttft_text, _, tpot_text = out["p90 TTFT"].partition(" ns, p90 TPOT: ")
    ttft, tpot = int(ttft_text), int(tpot_text.removesuffix(" ns"))
    assert ttft == detail["result_first_token_90.00_percentile_latency_ns"]
    assert tpot == detail["result_time_per_output_token_90.00_percentile_ns"]
    # 16 tokens after the first take the SUT's 2 ms sleep: TPOT >= 2 ms / 16.
    assert 125_000 <= tpot < 100_000_000 and 0 < ttft < tpot * 16
    assert int(out["tokens"]) == 17 * detail["result_query_count"]


def test_readme_shows_the_minimal_harness_verbatim() -> None:
    example = (EXAMPLES / "minimal_harness.py").read_text()
    assert len(example.splitlines()) < 30
    readme = (ROOT / "README.md").read_text()
    assert f"```python\n{example}```" in readme
