"""The two commands README.md shows for a served model run as written against llama.cpp's
server, with only the server's address and model name swapped in and the run shortened: the
probe finds the endpoint ready, the bench writes the four official logs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from loadgen.__main__ import main
from net_helpers import official_log_checks
from servers.fixtures import LlamaServer

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_endpoint_commands() -> list[list[str]]:
    """The argument lists of the `loadgen ...` lines of README's "A served model" block."""
    section = README.read_text().split("## A served model", 1)[1]
    block = re.search(r"```\n(.*?)```", section, re.S)
    assert block is not None, "README's served-model section has no command block"
    lines = block.group(1).replace("\\\n", " ").splitlines()
    return [shlex.split(line)[1:] for line in lines if line.startswith("loadgen ")]


def test_readme_shows_probe_then_bench() -> None:
    assert [argv[0] for argv in readme_endpoint_commands()] == ["probe", "bench"]


def test_the_readme_commands_run_against_llama_server(
    llama_server: LlamaServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    probe, bench = readme_endpoint_commands()
    url = probe[1]
    assert bench[1] == url

    def local(argv: list[str]) -> list[str]:
        swapped = [llama_server.url if a == url else a for a in argv]
        if "--model" in swapped:
            swapped[swapped.index("--model") + 1] = llama_server.model
        return swapped

    assert main(local(probe)) == 0
    assert capsys.readouterr().out.endswith("result: the endpoint is ready\n")

    argv = local(bench)
    argv[argv.index("--min-duration-ms") + 1] = "0"  # README's run lasts a minute
    argv[argv.index("--log-dir") + 1] = str(tmp_path)
    argv += ["--min-query-count", "8", "--no-report", "--no-progress"]
    rc = main(argv)
    assert rc in (0, 1)  # the verdict is early stopping's on a run this short
    checks = official_log_checks()
    detail = checks.parse_mlperf_log((tmp_path / "mlperf_log_detail.txt").read_text())
    assert detail["effective_scenario"][0]["value"] == "Server"
    assert detail["result_query_count"][0]["value"] >= 8
    assert checks._num_errors(detail) == 0
    for name in ("summary.txt", "detail.txt", "accuracy.json", "trace.json"):
        assert (tmp_path / f"mlperf_log_{name}").is_file()
