"""The native truth server (bench/net/truth_server.cc), the instrument of bench/net: its arrival
stamps come from the kernel (CLOCK_REALTIME) converted to CLOCK_MONOTONIC, so each must lie
between the test's own monotonic readings before the request and after its answer; its chunk
stamps (the kernel's TX stamps) follow the absolute schedule; its log is the one compare_clients.py reads; and, where
truth_server.py can run (it needs httptools), both answer the same bytes and log the same records.

The binary comes from the C++ test build (tests/run_all.sh configures build/cpp-tests, which has
the target whenever the network client is built), rebuilt there if stale; without that build
the test compiles the one source file itself."""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from servers.process import free_port

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "bench" / "net" / "truth_server.cc"
CPP_TESTS_BUILD = ROOT / "build" / "cpp-tests"
TTFT_MS, ITL_MS = 20.0, 5.0


def _compile_directly(out: Path) -> Path:
    cxx = next(
        (c for c in (os.environ.get("CXX"), "c++", "g++", "clang++") if c and shutil.which(c)), None
    )
    boost = [
        d for d in ("/usr/include", "/usr/local/include") if Path(d, "boost/beast.hpp").exists()
    ]
    if cxx is None or not boost:
        message = "no C++ compiler or no Boost (Beast) headers to build the native truth server"
        if os.environ.get("LOADGEN_REQUIRE_SERVERS") == "1":
            pytest.fail(message + " [LOADGEN_REQUIRE_SERVERS=1]", pytrace=False)
        pytest.skip(message)
    binary = out / "truth_server"
    cmd = [cxx, "-std=c++17", "-O2", "-DBOOST_JSON_NO_LIB", "-DBOOST_CONTAINER_NO_LIB"]
    result = subprocess.run(
        [*cmd, str(SOURCE), "-o", str(binary)], capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr
    return binary


@pytest.fixture(scope="module")
def binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("LOADGEN_TRUTH_SERVER"):
        return Path(os.environ["LOADGEN_TRUTH_SERVER"])
    if (CPP_TESTS_BUILD / "CMakeCache.txt").exists() and shutil.which("cmake"):
        result = subprocess.run(
            ["cmake", "--build", str(CPP_TESTS_BUILD), "--target", "truth_server"],
            capture_output=True,
            text=True,
            timeout=900,
        )
        if result.returncode == 0:  # else configured without the target (no Boost, older tree)
            return CPP_TESTS_BUILD / "bench" / "net" / "truth_server"
    return _compile_directly(tmp_path_factory.mktemp("truth-server"))


class NativeServer:
    def __init__(self, binary: Path, tmp_path: Path, *flags: str) -> None:
        self.port = free_port()
        self.log = tmp_path / "truth.jsonl"
        ready, self.stderr = tmp_path / "ready", tmp_path / "stderr"
        with open(self.stderr, "wb") as stderr:
            self.process = subprocess.Popen(
                [str(binary), "--port", str(self.port), "--log", str(self.log)]
                + ["--ready-file", str(ready), *flags],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert self.process.poll() is None, self.stderr.read_text()
            assert time.monotonic() < deadline, "the native truth server did not start"
            time.sleep(0.02)

    def terminate(self) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
        """SIGTERM, then (header, records, trailer) of the log."""
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=30) == 0
        lines = [json.loads(line) for line in self.log.read_text().splitlines()]
        return lines[0]["hdr"], lines[1:-1], lines[-1]["trl"]

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def server(binary: Path, tmp_path: Path) -> Iterator[NativeServer]:
    s = NativeServer(
        binary, tmp_path, "--ttft-ms", str(TTFT_MS), "--itl-ms", str(ITL_MS), "--output-tokens", "3"
    )
    yield s
    s.kill()


def _post(conn: http.client.HTTPConnection, path: str, body: dict[str, Any]) -> bytes:
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 200
    return response.read()


def test_arrival_is_the_kernels_stamp_on_the_monotonic_clock(server: NativeServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    before_stream = time.monotonic_ns()
    streamed = _post(
        conn,
        "/v1/completions",
        {
            "model": "truth-model",
            "prompt": "one two three",
            "max_tokens": 7,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    )
    after_stream = time.monotonic_ns()
    before_plain = time.monotonic_ns()
    plain = json.loads(
        _post(
            conn,
            "/v1/chat/completions",
            {"model": "m", "messages": [{"role": "user", "content": "a b"}], "max_tokens": 4},
        )
    )
    after_plain = time.monotonic_ns()
    conn.close()
    hdr, records, trl = server.terminate()

    events = [line[6:] for line in streamed.decode().split("\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert [c["choices"][0]["text"] for c in chunks[:-1]] == [
        " the",
        " of",
        " and",
        " to",
        " in",
        " is",
        " it",
    ]
    assert chunks[-1]["usage"] == {"prompt_tokens": 3, "completion_tokens": 7, "total_tokens": 10}
    assert plain["choices"][0]["message"]["content"] == " the of and to"
    assert plain["usage"]["completion_tokens"] == 4

    assert hdr["server"] == "native"
    stream_rec, plain_rec = records
    assert stream_rec["c"] == plain_rec["c"]  # one kept-alive connection
    for rec, before, after in (
        (stream_rec, before_stream, after_stream),
        (plain_rec, before_plain, after_plain),
    ):
        # Kernel stamp (CLOCK_REALTIME) minus the measured offset: on the test's monotonic clock.
        assert before <= rec["am"] <= after
        assert rec["aw"] - rec["am"] == pytest.approx(hdr["realtime_minus_monotonic_ns"], abs=1e6)
        assert 0 <= rec["f"] <= rec["e"] and rec["am"] + rec["e"] <= after
        assert rec["ua"] > -50_000  # user space read the bytes after the kernel received them
    assert stream_rec["n"] == len(stream_rec["ch"]) == 7
    assert stream_rec["f"] == stream_rec["ch"][0]
    for k, sent in enumerate(stream_rec["ch"]):  # never before parsed + ttft + k * itl
        assert sent >= stream_rec["b"] + (TTFT_MS + k * ITL_MS) * 1e6
    assert plain_rec["n"] == 4 and len(plain_rec["ch"]) == 1 and plain_rec["f"] == plain_rec["e"]
    assert plain_rec["e"] >= plain_rec["b"] + (TTFT_MS + 3 * ITL_MS) * 1e6
    # The trailer, written on SIGTERM: every arrival stamped by the kernel, none by user space,
    # and so every send logged (7 chunks and the end of the stream, the non-streamed answer).
    assert trl["requests"] == 2 and trl["rx_kernel_stamps"] == 2 and trl["rx_user_stamps"] == 0
    assert trl["tx_kernel_stamps"] == 9 and trl["tx_user_stamps"] == 0
    assert trl["cpu_user_s"] + trl["cpu_sys_s"] > 0


def test_a_burst_that_tcp_sends_late_keeps_kernel_stamps_in_order(
    binary: Path, tmp_path: Path
) -> None:
    # 500 chunks back to back: TCP holds many beyond its congestion window and sends them
    # after send() returned, so their stamps come later, from the error queue.
    burst = NativeServer(binary, tmp_path)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", burst.port, timeout=30)
        for _ in range(3):
            body = _post(
                conn, "/v1/completions", {"prompt": "a", "max_tokens": 500, "stream": True}
            )
            assert body.count(b"data: ") == 501
        conn.close()
        _, records, trl = burst.terminate()
    finally:
        burst.kill()
    for rec in records:
        assert len(rec["ch"]) == 500
        assert rec["ch"] == sorted(rec["ch"]) and rec["ch"][-1] <= rec["e"]
    assert trl["tx_kernel_stamps"] == 3 * 501 and trl["tx_user_stamps"] == 0


def test_models_and_a_client_that_leaves_mid_stream(server: NativeServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("GET", "/v1/models")
    models = json.loads(conn.getresponse().read())
    assert models["data"][0]["id"] == "truth-model"
    conn.close()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        body = json.dumps({"prompt": "x", "max_tokens": 1000, "stream": True}).encode()
        s.sendall(
            b"POST /v1/completions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            + b"Content-Length: %d\r\n\r\n" % len(body)
            + body
        )
        received = b""
        while b"data: " not in received:  # the first token, then leave
            received += s.recv(65536)
    _, records, _ = server.terminate()
    models_rec, left = records
    assert models_rec["p"] == "/v1/models" and models_rec["s"] == 200
    assert left["ab"] is True and 1 <= len(left["ch"]) < left["n"] == 1000


def _compare_clients() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "compare_clients", ROOT / "bench/net/compare_clients.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_compare_clients_reads_the_native_log(binary: Path, tmp_path: Path) -> None:
    cc = _compare_clients()
    exp = cc.Experiment("native", output_tokens=2)
    cpu = min(os.sched_getaffinity(0))  # taskset needs a core this process may use
    servers = cc.TruthServers([str(binary)], [cpu], exp, tmp_path, free_port(), [])
    try:
        conn = http.client.HTTPConnection("127.0.0.1", int(servers.urls[0].rsplit(":", 1)[1]))
        for _ in range(3):
            _post(conn, cc.COMPLETIONS, {"prompt": "a", "max_tokens": 2})
        conn.close()
    finally:
        servers.stop()
    records, trailers = servers.records()
    assert [r["n"] for r in records] == [2, 2, 2]
    assert [r["am"] for r in records] == sorted(r["am"] for r in records)
    assert len(trailers) == 1 and trailers[0]["requests"] == 3


PARITY_REQUESTS: list[tuple[str, str, dict[str, Any] | None]] = [
    (
        "POST",
        "/v1/completions",
        {
            "prompt": "a b  c",
            "max_tokens": 3,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    ),
    (
        "POST",
        "/v1/chat/completions",
        {
            "messages": [{"role": "user", "content": "héllo w"}, {"content": [{"text": "x y"}]}],
            "max_tokens": 2,
            "model": "m",
        },
    ),
    (
        "POST",
        "/v1/chat/completions",
        {"messages": [{"content": "hi"}], "max_completion_tokens": 2, "stream": True},
    ),
    ("POST", "/v1/completions", {"prompt": ["a b", [1, 2]], "ignore_eos": True, "min_tokens": 1}),
    ("GET", "/v1/models", None),
    ("GET", "/health", None),
    ("GET", "/x?y", None),
    ("PUT", "/v1/completions", None),
]
TIMING_KEYS = {"aw", "am", "b", "ch", "f", "e", "r", "ua"}


def _answers_and_log(command: list[str], tmp_path: Path) -> tuple[list[Any], list[dict[str, Any]]]:
    tmp_path.mkdir()
    port, log, ready = free_port(), tmp_path / "truth.jsonl", tmp_path / "ready"
    flags = ["--port", str(port), "--log", str(log), "--ready-file", str(ready), "--itl-ms", "1"]
    process = subprocess.Popen([*command, *flags], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        answers = []
        for method, path, body in PARITY_REQUESTS:
            conn.request(method, path, body=json.dumps(body) if body else None)
            r = conn.getresponse()
            content = re.sub(rb'"created":\d+', b"", r.read())
            answers.append(
                (r.status, r.getheader("content-type"), r.getheader("transfer-encoding"), content)
            )
        conn.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    records = [json.loads(line) for line in log.read_text().splitlines()[1:-1]]
    return answers, records


def test_answers_and_log_records_match_the_python_truth_server(
    binary: Path, tmp_path: Path
) -> None:
    python_answers, python_log = _answers_and_log(
        [sys.executable, str(ROOT / "bench/net/truth_server.py")], tmp_path / "py"
    )
    native_answers, native_log = _answers_and_log([str(binary)], tmp_path / "native")
    assert native_answers == python_answers  # the same bytes, apart from "created"
    assert len(native_log) == len(python_log) == len(PARITY_REQUESTS)
    for ours, theirs in zip(native_log, python_log):
        assert [k for k in ours if k != "ua"] == list(theirs)  # same keys, same order
        assert {k: v for k, v in ours.items() if k not in TIMING_KEYS} == {
            k: v for k, v in theirs.items() if k not in TIMING_KEYS
        }
        assert len(ours.get("ch", [])) == len(theirs.get("ch", []))
