"""A harness written for mlperf_loadgen runs against a served model by swapping its SUT (issue 13):
examples/python/mlperf_harness_endpoint.py (ConstructQSL, TestSettings, StartTestWithLogSettings,
DestroySUT/DestroyQSL) runs its in-process SUT, then the same code with an EndpointSut for
llama.cpp's server and for Triton's generate_stream. The swap changes neither the schedule (the
same seeds issue the same samples in the same order) nor the logs' form: the official log parser
reads them, VALID, with TTFT and TPOT. Ctrl-C in such a harness cancels the requests in flight
and writes the logs before StartTest hands the interrupt back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import mlperf_loadgen as lg
import numpy as np
import pytest
from loadgen.net.datasets import Dataset, Sample
from loadgen.net.endpoint import Endpoint, EndpointSut, endpoint_qsl
from loadgen.net.grpc_endpoint import GrpcEndpoint, GrpcEndpointSut
from net_helpers import official_log_checks
from servers.fault_server import FaultServer
from servers.fixtures import LlamaServer, TritonServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "python" / "mlperf_harness_endpoint.py"
QUERIES = 64  # the example's min_query_count
MAX_TOKENS = 8  # the example's max_tokens


def run_harness(log_dir: Path, *endpoint: str) -> dict[str, str]:
    """Runs the example; returns its printed summary lines as {label: value}."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    child = subprocess.run(
        [sys.executable, str(EXAMPLE), str(log_dir), *endpoint],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stdout + child.stderr
    assert child.stderr == "", child.stderr  # nothing failed when the harness destroyed its SUT
    lines = {}
    for line in child.stdout.splitlines():
        label, _, value = line.partition(":")
        lines[label.strip()] = value.strip()
    return lines


def accuracy_log(log_dir: Path) -> list[dict[str, Any]]:
    """The accuracy log's entries in issue order (every answer is logged: probability 1)."""
    entries: list[dict[str, Any]] = json.loads((log_dir / "mlperf_log_accuracy.json").read_text())
    return sorted(entries, key=lambda e: e["seq_id"])


def check_logs(log_dir: Path) -> None:
    """The detail log and the summary as the official tools read them: VALID, 64 queries, no
    error, the SingleStream metric, TTFT and TPOT."""
    checks = official_log_checks()
    detail_text = (log_dir / "mlperf_log_detail.txt").read_text()
    summary_text = (log_dir / "mlperf_log_summary.txt").read_text()
    assert checks.verify_test01_performance(detail_text, detail_text) == []
    assert checks.verify_test04(summary_text, summary_text) == []
    parsed = checks.parse_mlperf_log(detail_text)
    detail = {key: entries[0]["value"] for key, entries in parsed.items()}
    assert detail["effective_scenario"] == "SingleStream"
    assert detail["result_query_count"] == QUERIES
    assert detail["result_first_token_mean_latency_ns"] > 0
    assert detail["result_time_per_output_token_50.00_percentile_ns"] > 0


@pytest.fixture(scope="module")
def in_process_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    log_dir = tmp_path_factory.mktemp("in-process")
    out = run_harness(log_dir)
    assert out["SUT name"] == "PySUT" and out["Result is"] == "VALID"
    check_logs(log_dir)
    assert {e["token_count"] for e in accuracy_log(log_dir)} == {MAX_TOKENS}
    return log_dir


ENDPOINTS = {
    "llama.cpp-chat": ("llama_server", "openai-chat"),
    "triton-generate-stream": ("triton_server", "triton-generate"),
}


@pytest.mark.parametrize("target", list(ENDPOINTS))
def test_the_mlperf_loadgen_harness_runs_against_an_endpoint_by_swapping_its_sut(
    target: str, request: pytest.FixtureRequest, in_process_run: Path, tmp_path: Path
) -> None:
    fixture, api = ENDPOINTS[target]
    server = request.getfixturevalue(fixture)
    model = server.model if isinstance(server, LlamaServer) else "stream"
    out = run_harness(tmp_path, server.url, api, model)
    assert out["SUT name"] == f"EndpointSut({api}, stream, {server.url})"
    assert out["Result is"] == "VALID"
    assert int(out["Mean First Token latency (ns)"]) > 0
    check_logs(tmp_path)
    entries = accuracy_log(tmp_path)
    # The same seeds: the same samples in the same order as with the harness's own SUT.
    assert [e["qsl_idx"] for e in entries] == [e["qsl_idx"] for e in accuracy_log(in_process_run)]
    assert len(entries) == QUERIES
    assert {e["token_count"] for e in entries} == {MAX_TOKENS}
    for entry in entries:
        text = bytes.fromhex(entry["data"])
        if api == "triton-generate":
            assert text == b"".join(b"tok%d " % k for k in range(MAX_TOKENS))
        else:
            assert text.decode()  # the model's streamed answer


def test_closing_an_endpoint_sut_the_harness_already_destroyed_is_quiet(
    llama_server: LlamaServer, triton_server: TritonServer
) -> None:
    # Every mlperf_loadgen harness ends with DestroySUT / DestroyQSL; the objects are closed
    # again afterwards (a with block, close(), garbage collection) and must not raise.
    dataset = Dataset([Sample(prompt="x", max_tokens=2)])
    tensors = Dataset([Sample(tensors={"INPUT0": np.ones((1, 4), np.float32)})])
    sut = EndpointSut(Endpoint(llama_server.url, api="openai", model=llama_server.model), dataset)
    grpc = GrpcEndpointSut(GrpcEndpoint(triton_server.grpc, model="identity"), tensors)
    qsl = endpoint_qsl(dataset)
    with sut, grpc:
        lg.DestroySUT(sut)
        lg.DestroySUT(grpc)
        lg.DestroyQSL(qsl)
        qsl.close()
        # A destroyed SUT is refused clearly, not run.
        with pytest.raises(ValueError, match="already destroyed"):
            lg.DestroySUT(sut)
    sut.close()
    grpc.close()


CTRL_C_HARNESS = """
import json, sys, threading, time
import mlperf_loadgen as lg
from loadgen.net.datasets import Sample
from loadgen.net.endpoint import Endpoint, EndpointSut

url, log_dir = sys.argv[1], sys.argv[2]
sut = EndpointSut(Endpoint(url, api="openai", model="stall"), [Sample(prompt="x", max_tokens=3)] * 4)
qsl = lg.ConstructQSL(4, 4, lambda indices: None, lambda indices: None)
settings = lg.TestSettings()
settings.scenario = lg.TestScenario.Offline
settings.mode = lg.TestMode.PerformanceOnly
settings.min_query_count = 4
settings.min_duration_ms = 0
log_settings = lg.LogSettings()
log_settings.log_output.outdir = log_dir

def say_running():
    while sut.stats()["issued"] < 4:
        time.sleep(0.005)
    print("running", flush=True)

threading.Thread(target=say_running, daemon=True).start()
try:
    lg.StartTestWithLogSettings(sut, qsl, settings, log_settings)
    print("returned", flush=True)
except KeyboardInterrupt:
    print("KeyboardInterrupt", flush=True)
stats = sut.stats()
print(json.dumps(dict(outstanding=sut.outstanding,
                      by_reason={k: v for k, v in stats["failures_by_reason"].items() if v})))
lg.DestroyQSL(qsl)
lg.DestroySUT(sut)
"""


def test_ctrl_c_in_an_mlperf_loadgen_harness_cancels_the_requests_and_writes_the_logs(
    fault_server: FaultServer, tmp_path: Path
) -> None:
    script = tmp_path / "harness.py"
    script.write_text(CTRL_C_HARNESS)
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    child = subprocess.Popen(
        [sys.executable, str(script), fault_server.url, str(log_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "running"  # 4 requests stalled at the server
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err
    # StartTest returns the Ctrl-C to the harness once the logs are written, as KeyboardInterrupt.
    interrupted, report = out.strip().splitlines()
    assert interrupted == "KeyboardInterrupt"
    assert json.loads(report) == {"outstanding": 0, "by_reason": {"cancelled": 4}}
    parsed = official_log_checks().parse_mlperf_log((log_dir / "mlperf_log_detail.txt").read_text())
    assert parsed["result_validity"][0]["value"] == "INVALID"
    assert parsed["loadgen_failed_samples_by_reason"][0]["value"] == {"cancelled": 4}
    assert "Result is : INVALID" in (log_dir / "mlperf_log_summary.txt").read_text()
