"""Load models (issue 14) against llama.cpp's server through the endpoint SUT: what the client
recorded of each request (issue and completion moments, sample index) shows the closed loop
holding its concurrency, the open-loop stages issuing the plan's samples in the plan's order with
per-stage results, warm-up and cool-down left out of the metrics, and a trace replayed in its
arrival order; a stopped load-model run cancels its requests. Exact counts and orders, no timing
bounds (test_load_models.py has the statistics against an in-process SUT)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Iterator

import loadgen
import pytest
from loadgen.net.datasets import Dataset, Sample
from loadgen.net.endpoint import Endpoint, EndpointSut, endpoint_qsl
from net_helpers import closing_suts, official_log_checks
from servers.fault_server import FaultServer
from servers.fixtures import LlamaServer

pytestmark = pytest.mark.usefixtures("hang_watchdog")

TOKENS = 4
SAMPLES = 8
SERVER = loadgen.Settings(
    scenario=loadgen.Scenario.SERVER,
    schedule_rng_seed=7,
    sample_index_rng_seed=11,
    use_token_latencies=True,
)
DATASET = Dataset([Sample(prompt=f"prompt {i}", max_tokens=TOKENS) for i in range(SAMPLES)])


@pytest.fixture
def llama_sut(llama_server: LlamaServer) -> Iterator[EndpointSut]:
    for make in closing_suts(EndpointSut):
        yield make(Endpoint(llama_server.url, api="openai-chat", model=llama_server.model), DATASET)


def run(sut: EndpointSut, load: loadgen.LoadModel, log_dir: Path) -> loadgen.RunResult:
    return loadgen.run(
        sut, endpoint_qsl(DATASET), SERVER, log_dir=log_dir, load=load, progress=False
    )


def issue_order(sut: EndpointSut) -> list[int]:
    """The sample index of each request in the order the client was handed them."""
    records = sut.records()
    return [i for _, i in sorted(zip(records["issued_ns"], records["sample_index"]))]


def max_in_flight(sut: EndpointSut) -> int:
    """The most requests the client had outstanding at once (a completion before an issue at
    the same nanosecond)."""
    records = sut.records()
    events = [(t, 1) for t in records["issued_ns"]] + [(t, -1) for t in records["done_ns"]]
    level = peak = 0
    for _, step in sorted(events):
        level += step
        peak = max(peak, level)
    return peak


def test_concurrency_holds_its_requests_in_flight(llama_sut: EndpointSut, tmp_path: Path) -> None:
    result = run(llama_sut, loadgen.Concurrency(4, queries=24), tmp_path)
    # The server has 4 slots: 4 requests are outstanding at once, never a fifth (each new one is
    # issued when one completes), and every one completes with its tokens.
    assert max_in_flight(llama_sut) == 4
    records = llama_sut.records()
    issued, done = sorted(records["issued_ns"]), sorted(records["done_ns"])
    for k, t in enumerate(issued[4:], start=4):
        assert sum(d <= t for d in done) >= k - 3, f"query {k} issued before a slot was free"
    assert records["failure"] == [None] * 24 and records["tokens"] == [TOKENS] * 24
    (stage,) = result.stages
    assert (stage.kind, stage.concurrency, stage.queries_issued, stage.samples_completed) == (
        "concurrency",
        4,
        24,
        24,
    )
    assert result.samples_failed == 0 and result.errors == 0
    assert result.token_count == 24 * TOKENS
    assert result.first_token_latency is not None and result.first_token_latency.min_ns > 0


def test_open_loop_stages_issue_the_plans_samples_with_per_stage_results(
    llama_sut: EndpointSut, tmp_path: Path
) -> None:
    load = loadgen.Stages(
        [
            loadgen.Warmup(loadgen.ConstantRate(100, queries=5)),
            loadgen.Stage(loadgen.ConstantRate(50, queries=10), "steady"),
            loadgen.Stage(loadgen.Gamma(80, burstiness=4.0, queries=8), "bursts"),
            loadgen.Cooldown(loadgen.Concurrency(2, queries=3)),
        ]
    )
    plan = loadgen.plan(SERVER, SAMPLES, SAMPLES, load=load)
    result = run(llama_sut, load, tmp_path)

    # The client received exactly the plan's samples in the plan's order (the seeds decide both).
    assert issue_order(llama_sut) == [int(i) for i in plan["sample_index"]]
    assert llama_sut.stats()["failed"] == 0 and llama_sut.stats()["completed"] == 26
    assert [
        (s.name, s.kind, s.measured, s.planned_queries, s.queries_issued, s.samples_completed)
        for s in result.stages
    ] == [
        ("warm-up", "constant_rate", False, 5, 5, 5),
        ("steady", "constant_rate", True, 10, 10, 10),
        ("bursts", "gamma", True, 8, 8, 8),
        ("cool-down", "concurrency", False, 3, 3, 3),
    ]
    assert not any(s.ran_out for s in result.stages)
    # Warm-up and cool-down are issued but not measured: the metrics count the 18 measured.
    assert result.queries_issued == result.samples_completed == 18
    assert result.token_count == 18 * TOKENS
    # The detail log marks each stage and stays readable by the official parser.
    parsed = official_log_checks().parse_mlperf_log(result.detail_path.read_text())
    stages = [e["value"] for e in parsed["loadgen_load_stage"]]
    assert [(s["name"], s["measured"], s["sample_count"]) for s in stages] == [
        ("warm-up", False, 5),
        ("steady", True, 10),
        ("bursts", True, 8),
        ("cool-down", False, 3),
    ]
    assert parsed["result_query_count"][0]["value"] == 18


def test_trace_replay_replays_the_arrival_order(llama_sut: EndpointSut, tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    # Out of order in the file: sorted, the arrivals issue samples 6, 1, 7, 0, 3, 1.
    rows = [(0.000, 6), (0.030, 0), (0.010, 1), (0.020, 7), (0.040, 3), (0.050, 1)]
    trace.write_text("".join(f'{{"timestamp": {t}, "sample_id": {i}}}\n' for t, i in rows))
    with pytest.raises(loadgen.SettingsError, match=r"trace.jsonl:3: the timestamp goes backwards"):
        loadgen.TraceReplay(trace, timestamp_unit="s")
    load = loadgen.TraceReplay(trace, on_backwards="sort", timestamp_unit="s")
    result = run(llama_sut, load, tmp_path / "logs")
    assert issue_order(llama_sut) == [6, 1, 7, 0, 3, 1]
    (stage,) = result.stages
    assert (stage.kind, stage.queries_issued, stage.samples_completed) == ("trace", 6, 6)
    assert llama_sut.stats()["failed"] == 0
    assert llama_sut.records()["tokens"] == [TOKENS] * 6


def test_stopping_a_load_model_run_cancels_its_requests_and_writes_the_logs(
    fault_server: FaultServer, tmp_path: Path
) -> None:
    # Ctrl-C, loadgen.abort, the watchdog: the same stop. The fault server never answers "stall".
    dataset = Dataset([Sample(prompt="x", max_tokens=2, extra_body={"model": "stall"})])
    with EndpointSut(Endpoint(fault_server.url, api="openai", model="stall"), dataset) as sut:

        def stop_when_both_are_in_flight() -> None:
            deadline = time.monotonic() + 10
            while sut.stats()["issued"] < 2 and time.monotonic() < deadline:
                time.sleep(0.005)
            assert loadgen.abort()

        stopper = threading.Thread(target=stop_when_both_are_in_flight)
        stopper.start()
        result = loadgen.run(
            sut,
            endpoint_qsl(dataset),
            SERVER,
            log_dir=tmp_path,
            load=loadgen.Concurrency(2, queries=10),
            progress=False,
        )
        stopper.join()
        assert sut.outstanding == 0
        assert sut.stats()["failures_by_reason"]["cancelled"] == 2
    assert result.interrupted and not result.valid
    assert dict(result.failed_by_reason) == {"cancelled": 2}
    (stage,) = result.stages
    assert (stage.queries_issued, stage.samples_completed) == (2, 2)  # the loop stopped issuing
    log = official_log_checks().parse_mlperf_log(result.detail_path.read_text())
    assert log["result_validity"][0]["value"] == "INVALID"
    assert log["loadgen_failed_samples_by_reason"][0]["value"] == {"cancelled": 2}
    assert "Result is : INVALID" in result.summary
