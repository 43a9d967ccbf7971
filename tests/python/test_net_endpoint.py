"""The native endpoint SUT (loadgen.net.EndpointSut) against the real llama.cpp server and, for
the error paths, our fault-injecting server: every scenario through loadgen.run and through the
drop-in mlperf_loadgen.StartTest, with the logs checked."""

from __future__ import annotations

import contextlib
import http.client
import http.server
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import loadgen
import mlperf_loadgen as lg
import pytest
from loadgen.net.datasets import Dataset, Sample
from loadgen.net.endpoint import Endpoint, EndpointSut, endpoint_qsl
from net_helpers import closing_suts
from servers.fault_server import FaultServer
from servers.fixtures import LlamaServer

MAX_TOKENS = 6  # the tiny model always streams exactly max_tokens tokens, one chunk each


def prompts(count: int, *, max_tokens: int = MAX_TOKENS, **extra: Any) -> Dataset:
    return Dataset(
        [
            Sample(
                prompt=f"sample {i}: tell me about the number {i}",
                max_tokens=max_tokens,
                extra_body=extra or None,
            )
            for i in range(count)
        ]
    )


def chats(count: int, *, max_tokens: int = MAX_TOKENS) -> Dataset:
    return Dataset(
        [
            Sample(
                messages=({"role": "user", "content": f"chat {i}: hello"},), max_tokens=max_tokens
            )
            for i in range(count)
        ]
    )


@pytest.fixture
def make_sut() -> Iterator[Any]:
    yield from closing_suts(EndpointSut)


def settings(scenario: loadgen.Scenario, **overrides: Any) -> loadgen.Settings:
    base: dict[str, Any] = dict(
        scenario=scenario, min_duration_ms=0, min_query_count=80, use_token_latencies=True
    )
    base.update(overrides)
    return loadgen.Settings(**base)


def check_records(sut: EndpointSut, count: int, *, streamed: bool = True) -> dict[str, list[Any]]:
    records = sut.records()
    assert len(records["sample_index"]) == count
    assert records["failure"] == [None] * count
    assert records["tokens"] == [MAX_TOKENS] * count
    assert set(records["token_source"]) == {"usage"}
    for issued, written, first_byte, first_token, done, chunks in zip(
        records["issued_ns"],
        records["written_ns"],
        records["first_byte_ns"],
        records["first_token_ns"],
        records["done_ns"],
        records["chunk_times_ns"],
    ):
        assert issued <= written <= first_byte <= done
        if streamed:
            assert len(chunks) == MAX_TOKENS
            assert first_token == chunks[0] and chunks == sorted(chunks) and chunks[-1] <= done
    return records


def summary_value(result: loadgen.RunResult, key: str) -> str:
    for line in result.summary.splitlines():
        if line.startswith(key):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{key!r} not in the summary")


# ----------------------------------------------------------------------------- loadgen.run


@pytest.mark.parametrize("api", ["openai", "openai-chat"])
def test_single_stream_streaming_is_valid_with_exact_token_counts(
    api: str, llama_server: LlamaServer, make_sut: Any, tmp_path: Path
) -> None:
    dataset = prompts(16) if api == "openai" else chats(16)
    sut = make_sut(Endpoint(llama_server.url, api=api, model=llama_server.model), dataset)
    result = loadgen.run(
        sut,
        endpoint_qsl(dataset),
        settings(loadgen.Scenario.SINGLE_STREAM, min_query_count=100),
        log_dir=tmp_path,
    )
    assert result.valid, result.summary
    assert result.errors == 0
    assert result.samples_completed == 100
    assert result.token_count == 100 * MAX_TOKENS
    assert result.first_token_latency is not None and result.first_token_latency.min_ns > 0
    assert "SUT name : EndpointSut(" in result.summary
    check_records(sut, 100)
    stats = sut.stats()
    assert stats["failed"] == 0 and stats["tokens_from_usage"] == 100


def test_server_scenario_chat(llama_server: LlamaServer, make_sut: Any, tmp_path: Path) -> None:
    dataset = chats(20)
    sut = make_sut(Endpoint(llama_server.url, api="openai-chat", model=llama_server.model), dataset)
    result = loadgen.run(
        sut,
        endpoint_qsl(dataset),
        settings(
            loadgen.Scenario.SERVER,
            server_target_qps=40,
            min_query_count=60,
            server_ttft_latency_ns=2_000_000_000,
            server_tpot_latency_ns=2_000_000_000,
            server_target_latency_ns=4_000_000_000,
        ),
        log_dir=tmp_path,
    )
    assert result.errors == 0
    assert result.samples_completed >= 60
    assert result.token_count == result.samples_completed * MAX_TOKENS
    assert summary_value(result, "Completed samples per second") != ""
    records = check_records(sut, result.samples_completed)
    # Send lateness (IssueQuery -> request written) is recorded for every query.
    lateness = [w - i for i, w in zip(records["issued_ns"], records["written_ns"])]
    assert all(0 <= x < 1_000_000_000 for x in lateness)


def test_offline_streaming_completions_all_complete(
    llama_server: LlamaServer, make_sut: Any, tmp_path: Path
) -> None:
    dataset = prompts(50)
    sut = make_sut(
        Endpoint(llama_server.url, api="openai", model=llama_server.model, max_connections=8),
        dataset,
    )
    result = loadgen.run(
        sut,
        endpoint_qsl(dataset),
        settings(loadgen.Scenario.OFFLINE, min_query_count=120, offline_expected_qps=100),
        log_dir=tmp_path,
    )
    assert result.valid, result.summary
    assert result.samples_completed == 120
    assert result.token_count == 120 * MAX_TOKENS
    check_records(sut, 120)
    # At most max_connections at a time: the rest waited in the endpoint's queue.
    assert sut.stats()["endpoints"][0]["connections_opened"] >= 8


def test_multi_stream_streaming_chat(
    llama_server: LlamaServer, make_sut: Any, tmp_path: Path
) -> None:
    dataset = chats(16)
    sut = make_sut(Endpoint(llama_server.url, api="openai-chat", model=llama_server.model), dataset)
    result = loadgen.run(
        sut,
        endpoint_qsl(dataset),
        settings(
            loadgen.Scenario.MULTI_STREAM, min_query_count=30, multi_stream_samples_per_query=4
        ),
        log_dir=tmp_path,
    )
    assert result.errors == 0
    assert result.samples_completed == 30 * 4
    assert result.token_count == 120 * MAX_TOKENS
    check_records(sut, 120)


def direct_completion(server: LlamaServer, prompt: str) -> str:
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    body = {"model": server.model, "prompt": prompt, "max_tokens": MAX_TOKENS, "temperature": 0}
    conn.request("POST", "/v1/completions", json.dumps(body), {"Content-Type": "application/json"})
    text = json.loads(conn.getresponse().read())["choices"][0]["text"]
    conn.close()
    return str(text)


def test_accuracy_log_holds_the_streamed_text(
    llama_server: LlamaServer, make_sut: Any, tmp_path: Path
) -> None:
    dataset = prompts(5, temperature=0)  # greedy: the same text as a direct request
    sut = make_sut(Endpoint(llama_server.url, api="openai", model=llama_server.model), dataset)
    result = loadgen.run(
        sut,
        endpoint_qsl(dataset),
        settings(loadgen.Scenario.SINGLE_STREAM, mode=loadgen.Mode.ACCURACY),
        log_dir=tmp_path,
    )
    assert result.errors == 0
    entries = json.loads(result.accuracy_path.read_text())
    assert sorted(e["qsl_idx"] for e in entries) == list(range(5))
    for entry in entries:
        text = bytes.fromhex(entry["data"]).decode()
        assert text == direct_completion(llama_server, dataset[entry["qsl_idx"]].prompt or "")
        assert entry["token_count"] == MAX_TOKENS


# -------------------------------------------------------------------- mlperf_loadgen.StartTest


@pytest.mark.parametrize("scenario", [lg.TestScenario.SingleStream, lg.TestScenario.Offline])
def test_drop_in_start_test_takes_the_endpoint_sut(
    scenario: Any, llama_server: LlamaServer, make_sut: Any, tmp_path: Path
) -> None:
    dataset = chats(10)
    sut = make_sut(Endpoint(llama_server.url, api="openai-chat", model=llama_server.model), dataset)
    qsl = endpoint_qsl(dataset)
    test_settings = lg.TestSettings()
    test_settings.scenario = scenario
    test_settings.mode = lg.TestMode.PerformanceOnly
    test_settings.min_query_count = 70
    test_settings.min_duration_ms = 0
    test_settings.offline_expected_qps = 100
    test_settings.use_token_latencies = True
    log_settings = lg.LogSettings()
    log_settings.log_output.outdir = str(tmp_path)
    lg.StartTestWithLogSettings(sut, qsl, test_settings, log_settings)
    qsl.close()
    summary = (tmp_path / "mlperf_log_summary.txt").read_text()
    assert "Result is : VALID" in summary
    check_records(sut, 70)


# ---------------------------------------------------------------------- connections, balancing


def test_streamed_connections_closed_by_llama_server_cost_no_failure(
    llama_server: LlamaServer, make_sut: Any, tmp_path: Path
) -> None:
    dataset = prompts(8)
    sut = make_sut(Endpoint(llama_server.url, api="openai", model=llama_server.model), dataset)
    loadgen.run(
        sut,
        endpoint_qsl(dataset),
        settings(loadgen.Scenario.SINGLE_STREAM, min_query_count=40, use_token_latencies=False),
        log_dir=tmp_path,
    )
    stats = sut.stats()
    assert stats["failed"] == 0
    endpoint = stats["endpoints"][0]
    # llama-server closes after each stream while advertising keep-alive: learned, so each
    # request gets a fresh connection and none had to be resent more than once.
    assert endpoint["closes_after_stream"] is True
    assert 40 <= endpoint["connections_opened"] <= 41  # and one opened ahead for the next query
    assert endpoint["retries"] <= 1
    assert max(sut.records()["attempts"]) <= 2


def test_non_streamed_responses_reuse_one_connection(
    llama_server: LlamaServer, make_sut: Any, tmp_path: Path
) -> None:
    dataset = prompts(8)
    sut = make_sut(
        Endpoint(llama_server.url, api="openai", model=llama_server.model, stream=False), dataset
    )
    result = loadgen.run(
        sut,
        endpoint_qsl(dataset),
        settings(loadgen.Scenario.SINGLE_STREAM, min_query_count=40, use_token_latencies=False),
        log_dir=tmp_path,
    )
    assert result.errors == 0
    stats = sut.stats()
    assert stats["failed"] == 0
    assert stats["endpoints"][0]["connections_opened"] == 1
    assert stats["endpoints"][0]["closes_after_stream"] is False
    check_records(sut, 40, streamed=False)


@pytest.mark.parametrize("balance", ["round-robin", "least-outstanding"])
def test_balancing_over_two_urls(
    balance: str, llama_server: LlamaServer, make_sut: Any, tmp_path: Path
) -> None:
    port = llama_server.url.rsplit(":", 1)[1]
    urls = [llama_server.url, f"http://localhost:{port}"]  # two names for one server
    dataset = prompts(8)
    sut = make_sut(Endpoint(urls, api="openai", model=llama_server.model, balance=balance), dataset)  # type: ignore[arg-type]
    loadgen.run(
        sut,
        endpoint_qsl(dataset),
        settings(loadgen.Scenario.SINGLE_STREAM, min_query_count=40, use_token_latencies=False),
        log_dir=tmp_path,
    )
    endpoints = sut.stats()["endpoints"]
    # One query at a time: both policies alternate.
    assert [e["completed"] for e in endpoints] == [20, 20]
    assert [e["failed"] for e in endpoints] == [0, 0]
    assert sorted(set(sut.records()["endpoint"])) == [0, 1]


# ------------------------------------------------------------------------------------- faults


def test_faults_complete_the_sample_and_are_counted_by_reason(
    fault_server: FaultServer, make_sut: Any, tmp_path: Path
) -> None:
    faults = ["ok", "status-404", "status-503", "reset", "malformed-sse", "stall"]
    dataset = Dataset([Sample(prompt="x", max_tokens=3, extra_body={"model": f}) for f in faults])
    sut = make_sut(
        Endpoint(fault_server.url, api="openai", model="ok", total_timeout_s=1.0), dataset
    )
    result = loadgen.run(
        sut,
        endpoint_qsl(dataset),
        settings(loadgen.Scenario.OFFLINE, min_query_count=len(faults), use_token_latencies=False),
        log_dir=tmp_path,
    )
    assert result.samples_completed == len(faults)
    stats = sut.stats()
    assert stats["completed"] == len(faults)
    assert stats["failed"] == len(faults) - 1
    reasons = {k: v for k, v in stats["failures_by_reason"].items() if v}
    assert reasons == {
        "http_4xx": 1,
        "http_5xx": 1,
        "connection_closed": 1,
        "malformed_response": 1,
        "timeout_total": 1,
    }
    records = sut.records()
    by_sample = dict(zip(records["sample_index"], records["failure"]))
    assert by_sample == {
        0: None,
        1: "http_4xx",
        2: "http_5xx",
        3: "connection_closed",
        4: "malformed_response",
        5: "timeout_total",
    }
    statuses = dict(zip(records["sample_index"], records["http_status"]))
    assert statuses[1] == 404 and statuses[2] == 503


def test_unreachable_endpoint_fails_each_sample_with_connect_failed(
    make_sut: Any, tmp_path: Path
) -> None:
    dataset = prompts(1)
    sut = make_sut(  # check=False: the server is down during the run, not at the start check
        Endpoint("http://127.0.0.1:9", api="openai", model="ok", connect_timeout_s=1.0),
        dataset,
        check=False,
    )
    result = loadgen.run(
        sut,
        endpoint_qsl(dataset),
        settings(loadgen.Scenario.SINGLE_STREAM, min_query_count=3, use_token_latencies=False),
        log_dir=tmp_path,
    )
    assert result.samples_completed == 3
    stats = sut.stats()
    assert stats["failures_by_reason"]["connect_failed"] == 3
    assert stats["last_failure"].startswith("connect_failed: ")


def test_first_byte_timeout_when_the_server_never_answers(make_sut: Any, tmp_path: Path) -> None:
    # A listening socket nobody accepts from: the kernel completes the connection, no byte comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        dataset = prompts(1)
        sut = make_sut(  # check=False: the silent server would fail the start check
            Endpoint(url, api="openai", model="ok", first_byte_timeout_s=0.2, total_timeout_s=5.0),
            dataset,
            check=False,
        )
        result = loadgen.run(
            sut,
            endpoint_qsl(dataset),
            settings(loadgen.Scenario.SINGLE_STREAM, min_query_count=2, use_token_latencies=False),
            log_dir=tmp_path,
        )
    assert result.samples_completed == 2
    assert sut.stats()["failures_by_reason"]["timeout_first_byte"] == 2
    records = sut.records()
    for issued, done in zip(records["issued_ns"], records["done_ns"]):
        assert 0.2e9 <= done - issued < 2e9


def test_bad_urls_are_rejected_before_any_load() -> None:
    dataset = prompts(1)
    with pytest.raises(ValueError, match="https is not supported"):
        EndpointSut(Endpoint("https://127.0.0.1:1", api="openai"), dataset)
    with pytest.raises(ValueError, match="expected http://host:port"):
        EndpointSut(Endpoint("http://127.0.0.1:notaport", api="openai"), dataset)
    with pytest.raises(ValueError, match="needs a model name"):
        EndpointSut(Endpoint("http://127.0.0.1:1", api="kserve"), dataset)


class OneAnswerPerConnection:
    """Answers the first request on each connection (keep-alive advertised), then closes the
    connection as soon as a second request arrives, without a byte of answer, like a server that
    closed an idle keep-alive connection just as the client reused it."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    @staticmethod
    def _read_request(conn: socket.socket) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return False
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(
            next(
                line.split(b":")[1]
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
        )
        while len(body) < length:
            body += conn.recv(65536)
        return True

    def _one(self, conn: socket.socket) -> None:
        with conn:
            if not self._read_request(conn):
                return
            payload = json.dumps(
                {"choices": [{"text": "ok"}], "usage": {"completion_tokens": 1}}
            ).encode()
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                % (len(payload), payload)
            )
            self._read_request(conn)  # the reused connection's request: closed unanswered

    def close(self) -> None:
        self.listener.close()


def test_a_request_unanswered_on_a_reused_connection_is_resent_once(
    make_sut: Any, tmp_path: Path
) -> None:
    server = OneAnswerPerConnection()
    try:
        dataset = prompts(1)
        sut = make_sut(  # check=False: the scripted server answers completions only
            Endpoint(server.url, api="openai", model="m", stream=False), dataset, check=False
        )
        result = loadgen.run(
            sut,
            endpoint_qsl(dataset),
            settings(loadgen.Scenario.SINGLE_STREAM, min_query_count=6, use_token_latencies=False),
            log_dir=tmp_path,
        )
    finally:
        server.close()
    assert result.samples_completed == 6
    stats = sut.stats()
    assert stats["failed"] == 0, stats["last_failure"]
    records = sut.records()
    assert records["tokens"] == [1] * 6
    # The first query used the connection opened ahead; every later one found its reused
    # connection closed unanswered and was resent once on a fresh one.
    assert records["attempts"] == [1, 2, 2, 2, 2, 2]
    assert stats["endpoints"][0]["retries"] == 5


def test_api_key_is_sent_but_never_logged(
    fault_server: FaultServer, make_sut: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-test-0123456789abcdef"
    monkeypatch.setenv("LOADGEN_TEST_API_KEY", secret)
    dataset = prompts(2)
    endpoint = Endpoint(
        fault_server.url, api="openai", model="ok", api_key_env="LOADGEN_TEST_API_KEY"
    )
    sut = make_sut(endpoint, dataset)
    result = loadgen.run(
        sut,
        endpoint_qsl(dataset),
        settings(loadgen.Scenario.SINGLE_STREAM, min_query_count=4),
        log_dir=tmp_path,
    )
    assert result.samples_completed == 4
    stats = sut.stats()
    assert stats["failed"] == 0 and stats["issued"] == stats["completed"] == 4
    assert ("Authorization", "Bearer " + secret) in endpoint.request_headers()
    assert secret not in repr(endpoint) + repr(sut) + sut.name
    for log in tmp_path.iterdir():
        assert secret not in log.read_text(errors="replace"), log.name
    with pytest.raises(ValueError, match="LOADGEN_TEST_UNSET_KEY is not set"):
        Endpoint(fault_server.url, api="openai", api_key_env="LOADGEN_TEST_UNSET_KEY")


class _JsonHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    delay_s = 0.0

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(self.delay_s)
        payload = json.dumps(
            {"choices": [{"text": "ok"}], "usage": {"completion_tokens": 1}}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def json_server(delay_s: float) -> Iterator[str]:
    handler = type("Handler", (_JsonHandler,), {"delay_s": delay_s})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("balance", ["round-robin", "least-outstanding"])
def test_least_outstanding_avoids_a_slow_replica(
    balance: str, make_sut: Any, tmp_path: Path
) -> None:
    with json_server(0.0) as fast, json_server(0.3) as slow:
        dataset = prompts(4)
        sut = make_sut(
            Endpoint([fast, slow], api="openai", model="m", stream=False, balance=balance),  # type: ignore[arg-type]
            dataset,
            check=False,  # the replicas answer completions only, no GET /v1/models
        )
        loadgen.run(
            sut,
            endpoint_qsl(dataset),
            settings(
                loadgen.Scenario.SERVER,
                server_target_qps=40,
                min_query_count=40,
                use_token_latencies=False,
            ),
            log_dir=tmp_path,
        )
    fast_count, slow_count = (e["completed"] for e in sut.stats()["endpoints"])
    assert fast_count + slow_count == 40 and sut.stats()["failed"] == 0
    if balance == "round-robin":
        assert (fast_count, slow_count) == (20, 20)
    else:
        # The slow replica has a request outstanding for 0.3 s (~12 arrivals): it gets few.
        assert slow_count <= 10, (fast_count, slow_count)


def test_an_aborted_run_leaves_no_request_in_flight(make_sut: Any, tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections (the kernel's backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        dataset = prompts(1)
        sut = make_sut(
            Endpoint(f"http://127.0.0.1:{silent.getsockname()[1]}", api="openai", model="ok"),
            dataset,
            check=False,  # the silent server would fail the start check
        )
        with pytest.raises(loadgen.TestAborted):
            loadgen.run(
                sut,
                endpoint_qsl(dataset),
                settings(loadgen.Scenario.OFFLINE, min_query_count=3, use_token_latencies=False),
                log_dir=tmp_path,
                no_progress_timeout_s=0.5,
            )
        assert sut.outstanding == 0
    stats = sut.stats()
    assert stats["failures_by_reason"]["cancelled"] == 3
    assert (tmp_path / "mlperf_log_summary.txt").exists()
