"""A trace's token lengths reach the requests: ``trace_llm`` makes one sample per entry with
that entry's input length (the prompt) and output length (``max_tokens``),
``TraceReplay(sample_per_entry=True)`` issues sample i for entry i (also when the trace is
sorted), and ``loadgen bench --trace`` sends them to the endpoint (captured by the fault
server)."""

from __future__ import annotations

from pathlib import Path

import loadgen
import pytest
from loadgen.__main__ import main as cli_main
from loadgen.net.datasets import DatasetError, trace_llm
from servers.fault_server import FaultServer

pytestmark = pytest.mark.usefixtures("hang_watchdog")

SERVER = loadgen.Settings(scenario=loadgen.Scenario.SERVER)

# Entry 2 arrives before entry 1: with sorting, the issue order is entries 0, 2, 1, 3.
TRACE = "timestamp,input_length,output_length\n0.0,5,3\n0.03,2,0\n0.02,7,1\n0.04,0,6\n"


def test_one_sample_per_entry_with_its_lengths(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(TRACE)
    load = loadgen.TraceReplay(path, on_backwards="sort", sample_per_entry=True)
    data = trace_llm(load.trace.input_lengths, load.trace.output_lengths, form="prompt")
    assert [s.max_tokens for s in data] == [3, 1, 1, 6]  # 0 becomes 1
    assert [len(s.prompt.split()) for s in data if s.prompt] == [5, 2, 7, 1]  # a word a token
    plan = loadgen.plan(SERVER, len(data), len(data), load=load)
    assert [int(i) for i in plan["sample_index"]] == [0, 2, 1, 3]  # entry i -> sample i
    ids = trace_llm(None, load.trace.output_lengths, input_len=4, form="token_ids")
    assert [len(s.token_ids or ()) for s in ids] == [4, 4, 4, 4]  # drawn when absent
    with pytest.raises(DatasetError, match="neither input nor output lengths"):
        trace_llm(None, None)


def test_bench_sends_each_arrival_with_its_lengths(
    fault_server: FaultServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.csv"
    path.write_text(TRACE)
    before = len(fault_server.requests)
    rc = cli_main(
        [
            "bench",
            fault_server.url,
            "--api",
            "openai-chat",
            "--model",
            "ok",
            "--no-report",
            "--trace",
            str(path),
            "--sort-trace",
            "--log-dir",
            str(tmp_path / "run"),
        ]
    )
    assert rc in (0, 1), capsys.readouterr().err  # Server's verdict on 4 queries
    sent = fault_server.requests[before:]
    got = sorted((len(r["messages"][-1]["content"].split()), r["max_tokens"]) for r in sent)
    assert got == sorted([(5, 3), (2, 1), (7, 1), (1, 6)])
    # A malformed line: its number, and nothing sent.
    path.write_text("timestamp,input_length\n0.0,5\nsoon,3\n")
    rc = cli_main(
        [
            "bench",
            fault_server.url,
            "--api",
            "openai-chat",
            "--model",
            "ok",
            "--trace",
            str(path),
            "--log-dir",
            str(tmp_path / "r2"),
        ]
    )
    assert rc == 2 and "t.csv:3" in capsys.readouterr().err
    assert len(fault_server.requests) == before + 4
