"""The KServe v2 gRPC endpoint SUT (--api kserve-grpc) against the real tritonserver: unary
ModelInfer (FP32 identity, BYTES echo), ModelStreamInfer on the decoupled ``stream`` model with
known token timings, every scenario, the drop-in StartTest, probe and bench, and the failures
(server down at start, unknown model, a deadline)."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any, Iterator

import loadgen
import mlperf_loadgen as lg
import numpy as np
import pytest
from loadgen.__main__ import main
from loadgen.net.datasets import Dataset, Sample
from loadgen.net.endpoint import endpoint_qsl
from loadgen.net.grpc_endpoint import GrpcEndpoint, GrpcEndpointSut
from loadgen.net.probe import EndpointError, Status, preflight, probe
from net_helpers import accuracy_entries, check_official_logs, closing_suts, run_dataset
from servers.fixtures import TritonServer
from servers.process import free_port

pytestmark = pytest.mark.usefixtures("hang_watchdog")


@pytest.fixture
def make_sut() -> Iterator[Any]:
    yield from closing_suts(GrpcEndpointSut)


def stream_sample(max_tokens: int, delay_ms: float = 0.0, text: bytes = b"hi") -> Sample:
    return Sample(
        tensors={
            "text_input": np.array([text], dtype=object),
            "max_tokens": np.array([max_tokens], dtype=np.int32),
            "delay_ms": np.array([delay_ms], dtype=np.float32),
        }
    )


# (queries, samples) of a count-bound run of min_query_count n, two samples per MultiStream query.
EVERY_SCENARIO_COUNTS = {
    loadgen.Scenario.SINGLE_STREAM: lambda n: (n, n),
    loadgen.Scenario.MULTI_STREAM: lambda n: (n, 2 * n),
    loadgen.Scenario.SERVER: lambda n: (n, n),
    loadgen.Scenario.OFFLINE: lambda n: (1, n),
}


# ------------------------------------------------------------------------------ unary


def test_unary_fp32_identity_outputs_reach_the_accuracy_log(
    triton_server: TritonServer, make_sut: Any, tmp_path: Path
) -> None:
    arrays = [np.arange(i, i + 5, dtype=np.float32).reshape(1, 5) * 0.5 for i in range(6)]
    dataset = Dataset([Sample(tensors={"INPUT0": a}) for a in arrays])
    sut = make_sut(GrpcEndpoint(triton_server.grpc, model="identity"), dataset)
    result = run_dataset(sut, dataset, tmp_path, mode=loadgen.Mode.ACCURACY)
    assert result.errors == 0
    stats = sut.stats()
    assert stats["failed"] == 0, stats["last_failure"]
    assert stats["issued"] == stats["completed"] == 6
    assert accuracy_entries(result) == {i: a.tobytes() for i, a in enumerate(arrays)}
    records = sut.records()
    assert records["grpc_status"] == ["OK"] * 6
    assert all(
        i <= w <= d
        for i, w, d in zip(records["issued_ns"], records["written_ns"], records["done_ns"])
    )


def test_token_latencies_of_unary_answers_are_refused_before_any_load(
    triton_server: TritonServer, make_sut: Any, tmp_path: Path
) -> None:
    dataset = Dataset([Sample(tensors={"INPUT0": np.zeros((1, 5), dtype=np.float32)})])
    sut = make_sut(GrpcEndpoint(triton_server.grpc, model="identity"), dataset)
    with pytest.raises(loadgen.SettingsError, match="token latencies need streamed answers"):
        run_dataset(sut, dataset, tmp_path, use_token_latencies=True)
    assert sut.stats()["issued"] == 0  # nothing was sent


def test_unary_bytes_outputs_in_the_binary_layout(
    triton_server: TritonServer, make_sut: Any, tmp_path: Path
) -> None:
    texts = [b"hello", b"", "caf\u00e9".encode()]
    dataset = Dataset([Sample(tensors={"TEXT_IN": np.array([[t]], dtype=object)}) for t in texts])
    sut = make_sut(GrpcEndpoint(triton_server.grpc, model="echo_bytes"), dataset)
    result = run_dataset(sut, dataset, tmp_path, mode=loadgen.Mode.ACCURACY)
    assert sut.stats()["failed"] == 0, sut.stats()["last_failure"]
    assert accuracy_entries(result) == {
        i: struct.pack("<I", len(t)) + t for i, t in enumerate(texts)
    }


@pytest.mark.parametrize("scenario", list(loadgen.Scenario), ids=lambda s: s.value)
def test_unary_runs_every_scenario(
    scenario: loadgen.Scenario, triton_server: TritonServer, make_sut: Any, tmp_path: Path
) -> None:
    dataset = Dataset(
        [Sample(tensors={"INPUT0": np.full((1, 8), i, np.float32)}) for i in range(8)]
    )
    sut = make_sut(GrpcEndpoint(triton_server.grpc, model="identity"), dataset)
    result = run_dataset(
        sut,
        dataset,
        tmp_path,
        scenario=scenario,
        min_query_count=16,
        server_target_qps=200,
        offline_expected_qps=200,
        multi_stream_samples_per_query=2,
    )
    assert result.errors == 0, result.summary
    stats = sut.stats()
    assert stats["failed"] == 0, stats["last_failure"]
    assert stats["completed"] == stats["issued"] == result.samples_completed >= 16
    queries, samples = EVERY_SCENARIO_COUNTS[scenario](16)
    check_official_logs(result, queries=queries, samples=samples, tokens_per_sample=None)


def test_drop_in_start_test_accepts_the_grpc_sut(
    triton_server: TritonServer, make_sut: Any, tmp_path: Path
) -> None:
    dataset = Dataset([Sample(tensors={"INPUT0": np.ones((1, 4), np.float32)})] * 4)
    sut = make_sut(GrpcEndpoint(triton_server.grpc, model="identity"), dataset)
    settings = lg.TestSettings()
    settings.scenario = lg.TestScenario.SingleStream
    settings.mode = lg.TestMode.PerformanceOnly
    settings.min_duration_ms = 0
    settings.min_query_count = 10
    log = lg.LogSettings()
    log.log_output.outdir = str(tmp_path)
    qsl = endpoint_qsl(dataset)
    lg.StartTestWithLogSettings(sut, qsl, settings, log)
    qsl.close()
    assert sut.stats()["completed"] >= 10 and sut.stats()["failed"] == 0
    assert "No errors encountered during test." in (tmp_path / "mlperf_log_summary.txt").read_text()


def test_round_robin_splits_requests_over_replicas(
    triton_server: TritonServer, make_sut: Any, tmp_path: Path
) -> None:
    dataset = Dataset([Sample(tensors={"INPUT0": np.ones((1, 4), np.float32)})] * 4)
    # The same server twice: two replicas as far as the client can tell (a channel each).
    sut = make_sut(
        GrpcEndpoint([triton_server.grpc, f"grpc://{triton_server.grpc}"], model="identity"),
        dataset,
    )
    run_dataset(sut, dataset, tmp_path, min_query_count=10)
    endpoints = sut.stats()["endpoints"]
    assert [e["issued"] for e in endpoints] == [5, 5]
    assert sorted(set(sut.records()["endpoint"])) == [0, 1]


# ---------------------------------------------------------------------------- streaming


def test_streaming_each_response_is_a_token_with_its_arrival_time(
    triton_server: TritonServer, make_sut: Any, tmp_path: Path
) -> None:
    delay_ms = 30.0
    dataset = Dataset([stream_sample(4, delay_ms), stream_sample(2, delay_ms)])
    sut = make_sut(GrpcEndpoint(triton_server.grpc, model="stream", stream=True), dataset)
    result = run_dataset(
        sut, dataset, tmp_path, mode=loadgen.Mode.ACCURACY, use_token_latencies=True
    )
    assert result.errors == 0, result.summary
    stats = sut.stats()
    assert stats["failed"] == 0, stats["last_failure"]
    assert stats["tokens_from_chunks"] == stats["completed"] == 2
    assert accuracy_entries(result) == {0: b"tok0 tok1 tok2 tok3 ", 1: b"tok0 tok1 "}
    records = sut.records()
    for index, tokens, issued, first, done, chunks in zip(
        records["sample_index"],
        records["tokens"],
        records["issued_ns"],
        records["first_token_ns"],
        records["done_ns"],
        records["chunk_times_ns"],
    ):
        assert tokens == len(chunks) == (4 if index == 0 else 2)
        assert chunks[0] == first and issued < first <= chunks[-1] <= done
        # The server sleeps delay_ms before each token, so token k cannot arrive before
        # (k + 1) * delay_ms; the final empty response is not a token.
        assert (np.diff(chunks) >= 0).all()  # two responses read together share a moment
        assert all(c - issued >= 0.9 * (k + 1) * delay_ms * 1e6 for k, c in enumerate(chunks)), (
            chunks
        )
        # Stamped when each response arrived, not when the stream ended: the last token is
        # delay_ms after the first at the server; a late wake-up of the client's loop on a busy
        # machine may stamp the first a little late, so half of it must remain.
        assert first < done - 0.5 * delay_ms * 1e6


def test_streaming_zero_tokens_completes_with_no_output(
    triton_server: TritonServer, make_sut: Any, tmp_path: Path
) -> None:
    dataset = Dataset([stream_sample(0)])
    sut = make_sut(GrpcEndpoint(triton_server.grpc, model="stream", stream=True), dataset)
    result = run_dataset(sut, dataset, tmp_path, mode=loadgen.Mode.ACCURACY)
    assert sut.stats()["failed"] == 0 and sut.records()["tokens"] == [0]
    assert accuracy_entries(result) == {0: b""}


@pytest.mark.parametrize("scenario", list(loadgen.Scenario), ids=lambda s: s.value)
def test_streaming_runs_every_scenario(
    scenario: loadgen.Scenario, triton_server: TritonServer, make_sut: Any, tmp_path: Path
) -> None:
    dataset = Dataset([stream_sample(3, text=b"s%d" % i) for i in range(6)])
    sut = make_sut(GrpcEndpoint(triton_server.grpc, model="stream", stream=True), dataset)
    result = run_dataset(
        sut,
        dataset,
        tmp_path,
        scenario=scenario,
        min_query_count=12,
        server_target_qps=100,
        offline_expected_qps=100,
        multi_stream_samples_per_query=2,
        use_token_latencies=True,
    )
    assert result.errors == 0, result.summary
    stats = sut.stats()
    assert stats["failed"] == 0, stats["last_failure"]
    assert set(sut.records()["tokens"]) == {3}
    queries, samples = EVERY_SCENARIO_COUNTS[scenario](12)
    check_official_logs(result, queries=queries, samples=samples, tokens_per_sample=3)


# ----------------------------------------------------------------------------- failures


def test_server_down_at_start_is_a_clear_error_before_any_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = f"127.0.0.1:{free_port()}"
    dataset = Dataset([Sample(tensors={"INPUT0": np.ones((1, 4), np.float32)})])
    with pytest.raises(ConnectionError, match=f"cannot connect to the gRPC endpoint {target}"):
        GrpcEndpointSut(GrpcEndpoint(target, model="identity", connect_timeout_s=0.5), dataset)
    with pytest.raises(EndpointError, match="cannot connect"):
        preflight(target, "kserve-grpc", "identity", timeout_s=0.5)
    rc = main(
        [
            "bench",
            target,
            "--api",
            "kserve-grpc",
            "--model",
            "identity",
            "--timeout-s",
            "0.5",
            "--log-dir",
            str(tmp_path),
            "--no-report",
        ]
    )
    assert rc == 2
    assert "nothing was sent" in capsys.readouterr().err
    assert not (tmp_path / "mlperf_log_detail.txt").exists()


def test_unknown_model_is_an_error_before_load_and_a_failed_sample_during_it(
    triton_server: TritonServer, make_sut: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(
        [
            "bench",
            triton_server.grpc,
            "--api",
            "kserve-grpc",
            "--model",
            "nope",
            "--log-dir",
            str(tmp_path / "bench"),
            "--no-report",
        ]
    )
    assert rc == 2
    assert "model 'nope' not found" in capsys.readouterr().err
    # A model that disappears after the check: each sample fails with the server's status.
    dataset = Dataset([Sample(tensors={"INPUT0": np.ones((1, 4), np.float32)})] * 3)
    sut = make_sut(GrpcEndpoint(triton_server.grpc, model="nope"), dataset)
    result = run_dataset(sut, dataset, tmp_path / "run", min_query_count=5)
    stats = sut.stats()
    assert stats["failed"] == stats["issued"] == result.samples_completed >= 5
    assert stats["failures_by_reason"]["grpc_error"] == stats["failed"]
    assert stats["endpoints"][0]["failed"] == stats["failed"]
    assert stats["last_failure"].startswith("grpc_error: NOT_FOUND")
    assert set(sut.records()["grpc_status"]) == {"NOT_FOUND"}
    assert set(sut.records()["failure"]) == {"grpc_error"}


def test_a_request_past_its_deadline_fails_as_a_timeout(
    triton_server: TritonServer, make_sut: Any, tmp_path: Path
) -> None:
    dataset = Dataset([stream_sample(3, delay_ms=400.0)])
    sut = make_sut(
        GrpcEndpoint(triton_server.grpc, model="stream", stream=True, total_timeout_s=0.15), dataset
    )
    result = run_dataset(sut, dataset, tmp_path, min_query_count=2)
    stats = sut.stats()
    assert stats["failed"] == stats["issued"] == result.samples_completed == 2
    assert stats["failures_by_reason"]["timeout_total"] == 2
    records = sut.records()
    assert set(records["grpc_status"]) == {"DEADLINE_EXCEEDED"}
    assert all(0.1e9 < d - i < 0.39e9 for i, d in zip(records["issued_ns"], records["done_ns"]))


def test_bench_counts_grpc_failures_like_the_http_client(
    triton_server: TritonServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "slow.npz"
    np.savez(
        data,
        text_input=np.array([[b"x"]] * 2, dtype="S1"),
        max_tokens=np.array([[2]] * 2, np.int32),
        delay_ms=np.array([[400.0]] * 2, np.float32),
    )
    main(
        [
            "bench",
            triton_server.grpc,
            "--api",
            "kserve-grpc",
            "--model",
            "stream",
            "--scenario",
            "SingleStream",
            "--dataset",
            str(data),
            "--no-batch-dim",
            "--request-timeout-s",
            "0.1",
            "--min-duration-ms",
            "0",
            "--min-query-count",
            "3",
            "--log-dir",
            str(tmp_path / "logs"),
            "--no-report",
        ]
    )
    stats = json.loads((tmp_path / "logs" / "endpoint.json").read_text())
    assert stats["failed"] == stats["issued"] >= 3
    assert stats["failures_by_reason"]["timeout_total"] == stats["failed"]
    out = capsys.readouterr().out
    assert f"failures: timeout_total {stats['failed']}" in out


# ------------------------------------------------------------------------------- probe


def test_probe_grpc_checks_the_server_the_model_and_one_request(
    triton_server: TritonServer,
) -> None:
    report = probe(triton_server.grpc, "kserve-grpc", "identity")
    statuses = {c.name: c.status for c in report.checks}
    assert statuses == {
        "reachable": Status.OK,
        "model": Status.OK,
        "request": Status.OK,
        "streaming": Status.SKIP,
        "token counting": Status.SKIP,
    }, report.format()
    details = {c.name: c.detail for c in report.checks}
    assert "live and ready" in details["reachable"]
    assert "INPUT0 FP32 [-1, -1]" in details["model"]
    assert "OUTPUT0 FP32" in details["request"]


def test_probe_grpc_streams_a_decoupled_model(
    triton_server: TritonServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "probe",
                triton_server.grpc,
                "--api",
                "kserve-grpc",
                "--model",
                "stream",
                "--max-tokens",
                "5",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "decoupled" in out
    assert "ModelStreamInfer: 5 responses with outputs" in out
    assert "tokens are counted responses (5 here)" in out


def test_probe_grpc_names_a_missing_model_and_an_unreachable_server(
    triton_server: TritonServer,
) -> None:
    report = probe(triton_server.grpc, "kserve-grpc", "nope")
    checks = {c.name: c for c in report.checks}
    assert (
        checks["model"].status is Status.FAIL and "model 'nope' not found" in checks["model"].detail
    )
    assert checks["request"].status is Status.SKIP and not report.ok
    down = probe(f"127.0.0.1:{free_port()}", "kserve-grpc", "identity", timeout_s=0.5)
    assert down.checks[0].status is Status.FAIL and "cannot connect" in down.checks[0].detail
    assert all(c.status is Status.SKIP for c in down.checks[1:])


# ------------------------------------------------------------------------------- bench


def test_bench_grpc_random_tensors_from_the_grpc_metadata(
    triton_server: TritonServer, tmp_path: Path
) -> None:
    rc = main(
        [
            "bench",
            triton_server.grpc,
            "--api",
            "kserve-grpc",
            "--model",
            "identity",
            "--scenario",
            "Server",
            "--target-qps",
            "100",
            "--sample-count",
            "8",
            "--min-duration-ms",
            "300",
            "--min-query-count",
            "16",
            "--log-dir",
            str(tmp_path),
            "--no-report",
        ]
    )
    assert rc in (0, 1)  # 1: INVALID for too few queries, not for a failure (checked below)
    stats = json.loads((tmp_path / "endpoint.json").read_text())
    assert stats["failed"] == 0 and stats["completed"] >= 16
    assert "No errors encountered during test." in (tmp_path / "mlperf_log_summary.txt").read_text()


def test_bench_grpc_streams_a_decoupled_model(triton_server: TritonServer, tmp_path: Path) -> None:
    data = tmp_path / "prompts.npz"
    np.savez(
        data,
        text_input=np.array([[b"a"], [b"b"], [b"c"]], dtype="S1"),
        max_tokens=np.array([[3], [4], [5]], np.int32),
        delay_ms=np.zeros((3, 1), np.float32),
    )
    rc = main(
        [
            "bench",
            triton_server.grpc,
            "--api",
            "kserve-grpc",
            "--model",
            "stream",
            "--scenario",
            "Offline",
            "--dataset",
            str(data),
            "--no-batch-dim",
            "--min-duration-ms",
            "0",
            "--min-query-count",
            "12",
            "--log-dir",
            str(tmp_path / "logs"),
            "--no-report",
        ]
    )
    assert rc == 0
    stats = json.loads((tmp_path / "logs" / "endpoint.json").read_text())
    assert stats["failed"] == 0 and stats["tokens_from_chunks"] == stats["completed"] >= 12


# ------------------------------------------------------------- a server that goes away


class StallingGrpcServer:
    """A gRPC server of our own whose ModelInfer never answers: stopping it mid-run is a server
    that goes away under in-flight requests."""

    def __init__(self) -> None:
        import concurrent.futures
        import threading

        import grpc

        self.release = threading.Event()

        def infer(request: bytes, context: Any) -> bytes:
            self.release.wait(30)
            return b""

        handler = grpc.method_handlers_generic_handler(
            "inference.GRPCInferenceService",
            {
                "ModelInfer": grpc.unary_unary_rpc_method_handler(infer),
            },
        )
        self.server = grpc.server(concurrent.futures.ThreadPoolExecutor(8))
        self.server.add_generic_rpc_handlers((handler,))
        self.target = f"127.0.0.1:{self.server.add_insecure_port('127.0.0.1:0')}"
        self.server.start()

    def stop(self) -> None:
        self.release.set()
        self.server.stop(0)


def test_a_server_gone_mid_run_fails_the_in_flight_samples(make_sut: Any, tmp_path: Path) -> None:
    import threading

    server = StallingGrpcServer()
    try:
        dataset = Dataset([Sample(tensors={"INPUT0": np.ones((1, 4), np.float32)})] * 4)
        sut = make_sut(GrpcEndpoint(server.target, model="identity"), dataset)
        threading.Timer(
            0.3, server.server.stop, args=(0,)
        ).start()  # requests in flight, unanswered
        result = run_dataset(
            sut,
            dataset,
            tmp_path,
            scenario=loadgen.Scenario.OFFLINE,
            min_query_count=4,
            offline_expected_qps=100,
        )
    finally:
        server.stop()
    stats = sut.stats()
    assert stats["failed"] == stats["issued"] == result.samples_completed >= 4
    assert stats["failures_by_reason"]["connection_closed"] == stats["failed"], stats
    assert set(sut.records()["grpc_status"]) <= {"UNAVAILABLE", "CANCELLED"}


def test_cancel_all_fails_what_is_in_flight(make_sut: Any) -> None:
    import time

    server = StallingGrpcServer()
    try:
        dataset = Dataset([Sample(tensors={"INPUT0": np.ones((1, 4), np.float32)})] * 3)
        sut = make_sut(GrpcEndpoint(server.target, model="identity"), dataset)

        class Batch:
            ids = [1, 2, 3]
            indices = [0, 1, 2]

        sut.issue(Batch())  # outside a test: the completions are refused by the engine, harmlessly
        deadline = time.monotonic() + 5
        while sut.outstanding < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sut.outstanding == 3
        sut.cancel_all()
        assert sut.outstanding == 0
        stats = sut.stats()
        assert stats["failed"] == 3 and stats["failures_by_reason"]["connection_closed"] == 3
    finally:
        server.stop()


def test_ctrl_c_stops_a_grpc_run_on_stalled_requests_and_writes_the_logs(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    server = StallingGrpcServer()
    # The stalling server has no metadata service for bench's check: the run is driven directly.
    try:
        command = [
            sys.executable,
            "-c",
            (
                "import sys, numpy as np, loadgen\n"
                "from loadgen.net.datasets import Dataset, Sample\n"
                "from loadgen.net.endpoint import endpoint_qsl\n"
                "from loadgen.net.grpc_endpoint import GrpcEndpoint, GrpcEndpointSut\n"
                "ds = Dataset([Sample(tensors={'INPUT0': np.ones((1, 4), np.float32)})] * 4)\n"
                f"sut = GrpcEndpointSut(GrpcEndpoint({server.target!r}, model='identity'), ds)\n"
                "s = loadgen.Settings(scenario=loadgen.Scenario.SERVER, server_target_qps=20, min_duration_ms=60000)\n"
                f"r = loadgen.run(sut, endpoint_qsl(ds), s, log_dir={str(tmp_path)!r})\n"
                "sut.close()\n"
                "print('failed', sut.stats()['failed'], 'interrupted', r.valid)\n"
            ),
        ]
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        try:
            deadline = time.monotonic() + 30
            while not (tmp_path / "mlperf_log_detail.txt").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)  # requests in flight, every one stalled
            process.send_signal(signal.SIGINT)
            out, _ = process.communicate(timeout=30)  # nothing hangs
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    finally:
        server.stop()
    assert "Traceback" not in out, out
    assert "interrupted False" in out, out
    failed = int(out.split("failed ")[1].split()[0])
    assert failed >= 1  # the stalled requests were cancelled and counted, not left hanging
    assert (tmp_path / "mlperf_log_summary.txt").is_file()


def test_a_build_without_the_native_client_falls_back_to_grpcio_and_says_so(
    triton_server: TritonServer,
    make_sut: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import loadgen.net.grpc_endpoint as grpc_endpoint

    monkeypatch.delattr(loadgen._core, "GrpcEndpointSut", raising=False)
    monkeypatch.setattr(grpc_endpoint, "_fallback_logged", False)
    dataset = Dataset([Sample(tensors={"INPUT0": np.ones((1, 4), np.float32)})] * 2)
    with caplog.at_level("WARNING", logger="loadgen.net"):
        sut = make_sut(GrpcEndpoint(triton_server.grpc, model="identity"), dataset)
        make_sut(GrpcEndpoint(triton_server.grpc, model="identity"), dataset)
    assert not sut.native
    fallback_lines = [r for r in caplog.records if "using grpcio" in r.getMessage()]
    assert len(fallback_lines) == 1  # one line per process, not per SUT
    result = run_dataset(sut, dataset, tmp_path, min_query_count=4)
    assert result.errors == 0 and sut.stats()["completed"] >= 4
