"""Failed samples are failures of the run (issue 13): an endpoint's failed requests and a Python
SUT's loadgen.fail() are counted by reason in RunResult and the detail log, and make the run
INVALID; a stopped test (Ctrl-C, an abort) cancels the requests still in flight, through
loadgen.run and the drop-in StartTest; and the logs of an endpoint run pass the official
submission checks re-implemented in test_compliance.py (a VALID run passes them, an INVALID one
fails exactly on its validity)."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import loadgen
import mlperf_loadgen as lg
from loadgen.net.datasets import Dataset, Sample
from loadgen.net.endpoint import Endpoint, EndpointSut, endpoint_qsl
from servers.fault_server import FaultServer
from servers.fixtures import LlamaServer

HERE = Path(__file__).resolve().parent


def _load_compliance() -> Any:
    spec = importlib.util.spec_from_file_location(
        "_net_failures_compliance", HERE / "test_compliance.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


compliance = _load_compliance()


def detail_log(folder: Path) -> dict[str, Any]:
    """key -> value of the first entry of each key, read as the official log parser reads it."""
    parsed = compliance.parse_mlperf_log((folder / "mlperf_log_detail.txt").read_text())
    return {key: entries[0]["value"] for key, entries in parsed.items()}


def fault_dataset(*faults: str) -> Dataset:
    return Dataset([Sample(prompt="x", max_tokens=3, extra_body={"model": f}) for f in faults])


@pytest.fixture
def suts() -> Any:
    made: list[EndpointSut] = []
    yield made
    for sut in made:
        sut.close()


# ------------------------------------------------------------------------ failed requests


def test_failed_requests_make_the_run_invalid_with_their_reasons(
    fault_server: FaultServer, suts: list[EndpointSut], tmp_path: Path
) -> None:
    faults = ["ok", "status-404", "status-503", "reset", "malformed-sse", "stall"]
    dataset = fault_dataset(*faults)
    sut = EndpointSut(
        Endpoint(fault_server.url, api="openai", model="ok", total_timeout_s=1.0), dataset
    )
    suts.append(sut)
    settings = loadgen.Settings(
        scenario=loadgen.Scenario.OFFLINE,
        min_duration_ms=0,
        min_query_count=len(faults),
        use_token_latencies=True,
    )
    result = loadgen.run(sut, endpoint_qsl(dataset), settings, log_dir=tmp_path, progress=False)

    expected = {
        "http_4xx": 1,
        "http_5xx": 1,
        "connection_closed": 1,
        "malformed_response": 1,
        "timeout_total": 1,
    }
    assert not result.valid
    assert result.samples_completed == 6
    assert result.samples_failed == 5
    assert dict(result.failed_by_reason) == expected
    assert result.failed_constraints == ("failed_samples",)
    bullet = (
        "5 of 6 samples failed (http_4xx: 1, http_5xx: 1, connection_closed: 1, "
        "timeout_total: 1, malformed_response: 1): the SUT did not produce their responses. "
        "See the detailed log."
    )
    assert result.recommendations == (bullet,)
    # Before, each failed sample of a token run was also an "n_tokens" error; now the failures
    # are one error line, and nothing else.
    assert result.errors == 1

    log = detail_log(tmp_path)
    assert log["result_validity"] == "INVALID"
    assert log["loadgen_failed_samples"] == 5
    assert log["loadgen_failed_samples_by_reason"] == expected
    assert log["loadgen_series_failed_samples"] == {
        "mode": "PerformanceOnly",
        "count": 5,
        "by_reason": expected,
    }
    assert log["result_invalid_reason"] == bullet
    summary = result.summary
    assert "Result is : INVALID\n" in summary
    assert "Recommendations:\n * " + bullet + "\n" in summary
    assert "1 ERROR encountered. See detailed log." in summary


def test_a_clean_run_logs_no_failure_keys(
    fault_server: FaultServer, suts: list[EndpointSut], tmp_path: Path
) -> None:
    dataset = fault_dataset("ok", "ok")
    sut = EndpointSut(Endpoint(fault_server.url, api="openai", model="ok"), dataset)
    suts.append(sut)
    settings = loadgen.Settings(
        scenario=loadgen.Scenario.OFFLINE, min_duration_ms=0, min_query_count=4
    )
    result = loadgen.run(sut, endpoint_qsl(dataset), settings, log_dir=tmp_path, progress=False)
    assert result.samples_failed == 0 and dict(result.failed_by_reason) == {}
    assert "failed_samples" not in result.failed_constraints
    log = detail_log(tmp_path)
    assert not any(key.startswith("loadgen_") and "failed" in key for key in log)


# ----------------------------------------------------------------------- loadgen.fail()


class FailingSut:
    """Fails the samples of QSL index 1 with http_5xx and index 2 with 'error'."""

    def issue(self, batch: loadgen.SampleBatch) -> None:
        for sample_id, index in zip(batch.ids, batch.indices):
            if index == 1:
                loadgen.fail([sample_id], "http_5xx")
            elif index == 2:
                loadgen.fail([sample_id])
            else:
                loadgen.complete([sample_id])

    def flush(self) -> None:
        pass


def test_python_sut_reports_failures_with_loadgen_fail(tmp_path: Path) -> None:
    settings = loadgen.Settings(
        scenario=loadgen.Scenario.SINGLE_STREAM, min_duration_ms=0, min_query_count=30
    )
    result = loadgen.run(
        FailingSut(), loadgen.InMemoryQsl(3, 3), settings, log_dir=tmp_path, progress=False
    )
    assert not result.valid
    assert result.samples_completed == 30
    assert result.samples_failed == sum(result.failed_by_reason.values()) > 0
    assert set(result.failed_by_reason) == {"http_5xx", "error"}
    assert detail_log(tmp_path)["loadgen_failed_samples_by_reason"] == dict(result.failed_by_reason)


def test_loadgen_fail_rejects_unknown_reasons_and_repeated_ids(tmp_path: Path) -> None:
    errors: list[BaseException] = []

    class Sut:
        def issue(self, batch: loadgen.SampleBatch) -> None:
            ids = list(batch.ids)
            try:
                loadgen.fail(ids, "http_6xx")
            except ValueError as e:
                errors.append(e)
            loadgen.fail(ids, "cancelled")
            try:
                loadgen.fail(ids, "cancelled")
            except loadgen.ResponseIdError as e:
                errors.append(e)

        def flush(self) -> None:
            pass

    settings = loadgen.Settings(
        scenario=loadgen.Scenario.SINGLE_STREAM, min_duration_ms=0, min_query_count=2
    )
    result = loadgen.run(
        Sut(), loadgen.InMemoryQsl(2, 2), settings, log_dir=tmp_path, progress=False
    )
    assert dict(result.failed_by_reason) == {"cancelled": 2}
    assert [type(e) for e in errors] == [ValueError, loadgen.ResponseIdError] * 2
    assert "unknown failure reason 'http_6xx'; one of: error, http_4xx" in str(errors[0])
    assert (
        loadgen.SAMPLE_FAILURE_REASONS[0] == "error"
        and "cancelled" in loadgen.SAMPLE_FAILURE_REASONS
    )


# ------------------------------------------------------------------- cancelling on a stop

CTRL_C_CHILD = """
import json, sys, time, threading
import loadgen
from loadgen.net.datasets import Dataset, Sample
from loadgen.net.endpoint import Endpoint, EndpointSut, endpoint_qsl

url, log_dir = sys.argv[1], sys.argv[2]
dataset = Dataset([Sample(prompt="x", max_tokens=3, extra_body={"model": "stall"})] * 4)
sut = EndpointSut(Endpoint(url, api="openai", model="stall"), dataset)

def say_running():
    while sut.stats()["issued"] < 4:
        time.sleep(0.005)
    print("running", flush=True)

threading.Thread(target=say_running, daemon=True).start()
settings = loadgen.Settings(scenario=loadgen.Scenario.OFFLINE, min_duration_ms=0, min_query_count=4,
                            use_token_latencies=True)
result = loadgen.run(sut, endpoint_qsl(dataset), settings, log_dir=log_dir, progress=False)
print(json.dumps(dict(interrupted=result.interrupted, valid=result.valid, failed=result.samples_failed,
                      by_reason=dict(result.failed_by_reason), outstanding=sut.outstanding,
                      cancelled=sut.stats()["failures_by_reason"]["cancelled"])), flush=True)
sut.close()
"""


def test_first_ctrl_c_cancels_the_requests_in_flight_and_writes_the_logs(
    fault_server: FaultServer, tmp_path: Path
) -> None:
    script = tmp_path / "child.py"
    script.write_text(CTRL_C_CHILD)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    child = subprocess.Popen(
        [sys.executable, str(script), fault_server.url, str(tmp_path / "logs")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "running"
        deadline = time.monotonic() + 10
        while sum(1 for r in fault_server.requests if r.get("model") == "stall") < 4:
            assert time.monotonic() < deadline, "the stalled requests never reached the server"
            time.sleep(0.01)
        started = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
    elapsed = time.monotonic() - started
    assert child.returncode == 0, err
    # Without the cancel the first press waits the 10 s drain (the server stalls for 30 s).
    assert elapsed < 5, elapsed
    report = json.loads(out.strip().splitlines()[-1])
    assert report == dict(
        interrupted=True,
        valid=False,
        failed=4,
        by_reason={"cancelled": 4},
        outstanding=0,
        cancelled=4,
    )
    logs = tmp_path / "logs"
    log = detail_log(logs)
    assert log["result_validity"] == "INVALID"
    assert log["loadgen_failed_samples_by_reason"] == {"cancelled": 4}
    assert "Result is : INVALID" in (logs / "mlperf_log_summary.txt").read_text()


def test_drop_in_start_test_cancels_the_requests_in_flight_when_stopped(
    fault_server: FaultServer, suts: list[EndpointSut], tmp_path: Path
) -> None:
    dataset = fault_dataset(*["stall"] * 3)
    sut = EndpointSut(Endpoint(fault_server.url, api="openai", model="stall"), dataset)
    suts.append(sut)
    qsl = endpoint_qsl(dataset)
    test_settings = lg.TestSettings()
    test_settings.scenario = lg.TestScenario.Offline
    test_settings.mode = lg.TestMode.PerformanceOnly
    test_settings.min_query_count = 3
    test_settings.min_duration_ms = 0
    log_settings = lg.LogSettings()
    log_settings.log_output.outdir = str(tmp_path)

    def abort_when_in_flight() -> None:
        deadline = time.monotonic() + 10
        while sut.stats()["issued"] < 3 and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.1)
        assert loadgen.abort()  # the drop-in module has no AbortTest; this stops any test

    aborter = threading.Thread(target=abort_when_in_flight)
    aborter.start()
    started = time.monotonic()
    lg.StartTestWithLogSettings(sut, qsl, test_settings, log_settings)
    elapsed = time.monotonic() - started
    aborter.join()
    qsl.close()
    assert elapsed < 5, elapsed
    assert sut.outstanding == 0
    assert sut.stats()["failures_by_reason"]["cancelled"] == 3
    assert detail_log(tmp_path)["loadgen_series_failed_samples"]["by_reason"] == {"cancelled": 3}


# --------------------------------------------------------- the official submission checks


def _llama_run(
    llama_server: LlamaServer, dataset: Dataset, log_dir: Path, suts: list[EndpointSut]
) -> tuple[loadgen.RunResult, EndpointSut]:
    sut = EndpointSut(Endpoint(llama_server.url, api="openai", model=llama_server.model), dataset)
    suts.append(sut)
    settings = loadgen.Settings(
        scenario=loadgen.Scenario.OFFLINE,
        min_duration_ms=0,
        min_query_count=24,
        use_token_latencies=True,
    )
    return loadgen.run(sut, endpoint_qsl(dataset), settings, log_dir=log_dir, progress=False), sut


def test_llama_server_logs_pass_the_submission_checks(
    llama_server: LlamaServer, suts: list[EndpointSut], tmp_path: Path
) -> None:
    dataset = Dataset([Sample(prompt=f"sample {i}", max_tokens=4) for i in range(8)])
    result, _ = _llama_run(llama_server, dataset, tmp_path, suts)
    assert result.valid, result.summary
    detail = (tmp_path / "mlperf_log_detail.txt").read_text()
    summary = (tmp_path / "mlperf_log_summary.txt").read_text()
    assert compliance.verify_test01_performance(detail, detail) == []
    assert compliance.verify_test04(summary, summary) == []
    assert compliance.parse_test04_summary(summary)[0] == "Offline"


def test_llama_server_run_with_failures_fails_the_checks_on_validity_only(
    llama_server: LlamaServer, suts: list[EndpointSut], tmp_path: Path
) -> None:
    # llama.cpp's server answers a prompt that is not text or tokens with an error status.
    samples = [Sample(prompt=f"sample {i}", max_tokens=4) for i in range(8)]
    samples[3] = Sample(prompt="x", max_tokens=4, extra_body={"prompt": {"not": "a prompt"}})
    result, sut = _llama_run(llama_server, Dataset(samples), tmp_path, suts)
    records = sut.records()
    bad = records["sample_index"].count(3)
    assert bad > 0
    assert not result.valid
    assert result.samples_failed == bad
    assert [f is not None for f in records["failure"]] == [i == 3 for i in records["sample_index"]]
    (reason,) = result.failed_by_reason
    assert reason in ("http_4xx", "http_5xx")
    detail = (tmp_path / "mlperf_log_detail.txt").read_text()
    summary = (tmp_path / "mlperf_log_summary.txt").read_text()
    # The official parser reads both files; the checks fail on the verdict and the error line.
    assert compliance.verify_test01_performance(detail, detail) == [
        "reference: result_validity 'INVALID'",
        "reference: 1 errors",
        "test: result_validity 'INVALID'",
        "test: 1 errors",
    ]
    assert compliance.verify_test04(summary, summary) == [
        "reference: Result is 'INVALID'",
        "test: Result is 'INVALID'",
    ]
    scenario, metric, verdict = compliance.parse_test04_summary(summary)
    assert (scenario, verdict) == ("Offline", "INVALID") and metric is not None and metric > 0
