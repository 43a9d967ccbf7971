"""The test servers themselves: they start, answer like the real thing, and leave no process."""

from __future__ import annotations

import http.client
import json
import socket
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from servers.fault_server import LISTED, FaultServer
from servers.fixtures import HERE, LlamaServer, TritonServer
from servers.process import ServerProcess, free_port, group_alive


def request(
    url: str, method: str, path: str, body: Any = None, timeout: float = 10.0
) -> tuple[int, bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        data = None if body is None else json.dumps(body).encode()
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def sse_events(payload: bytes) -> list[str]:
    return [
        line[len(b"data:") :].strip().decode()
        for line in payload.split(b"\n")
        if line.startswith(b"data:")
    ]


# -------------------------------------------------------------------------------- llama.cpp


def test_llama_server_lists_the_model_and_streams_exactly_max_tokens(
    llama_server: LlamaServer,
) -> None:
    status, body = request(llama_server.url, "GET", "/v1/models")
    assert status == 200
    assert llama_server.model in [m["id"] for m in json.loads(body)["data"]]
    status, body = request(
        llama_server.url,
        "POST",
        "/v1/completions",
        {
            "model": llama_server.model,
            "prompt": "hello world",
            "max_tokens": 9,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    )
    assert status == 200
    events = sse_events(body)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    texts = [
        c["choices"][0]["text"] for c in chunks if c.get("choices") and c["choices"][0].get("text")
    ]
    assert len(texts) == 9  # one chunk per token: the model can emit no EOS
    assert any(c.get("usage", {}).get("completion_tokens") == 9 for c in chunks)


def test_llama_server_chat_and_token_id_prompts(llama_server: LlamaServer) -> None:
    status, body = request(
        llama_server.url,
        "POST",
        "/v1/chat/completions",
        {
            "model": llama_server.model,
            "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 5,
        },
    )
    assert status == 200
    answer = json.loads(body)
    assert answer["usage"]["completion_tokens"] == 5 and answer["choices"][0]["message"]["content"]
    prompt = list(range(llama_server.first_printable_id, llama_server.first_printable_id + 12))
    status, body = request(
        llama_server.url,
        "POST",
        "/v1/completions",
        {
            "model": llama_server.model,
            "prompt": prompt,
            "max_tokens": 3,
        },
    )
    assert status == 200
    assert json.loads(body)["usage"]["prompt_tokens"] in (12, 13)  # 13 with the BOS token


def test_llama_server_stops_with_its_process_group(tiny_gguf: Path, tmp_path: Path) -> None:
    port = free_port()
    server = ServerProcess(
        [
            sys.executable,
            str(HERE / "llama_server.py"),
            "--model",
            str(tiny_gguf),
            "--port",
            str(port),
        ],
        f"http://127.0.0.1:{port}/health",
        tmp_path / "server.log",
    )
    assert group_alive(server.pgid)
    server.stop()
    assert not group_alive(server.pgid)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_a_server_that_exits_at_start_is_reported_with_its_log(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="server exited with 3"):
        ServerProcess(
            [sys.executable, "-c", "print('bad flag'); raise SystemExit(3)"],
            f"http://127.0.0.1:{free_port()}/",
            tmp_path / "server.log",
        )
    assert "bad flag" in (tmp_path / "server.log").read_text()


# ----------------------------------------------------------------------------------- Triton


def test_triton_serves_v2_json_and_generate_stream(triton_server: TritonServer) -> None:
    status, body = request(triton_server.url, "GET", "/v2/models/identity")
    assert status == 200 and json.loads(body)["inputs"][0]["name"] == "INPUT0"
    status, body = request(
        triton_server.url,
        "POST",
        "/v2/models/identity/infer",
        {
            "inputs": [
                {"name": "INPUT0", "datatype": "FP32", "shape": [1, 3], "data": [1.5, 2.5, 3.5]}
            ],
        },
    )
    assert status == 200 and json.loads(body)["outputs"][0]["data"] == [1.5, 2.5, 3.5]
    status, body = request(
        triton_server.url,
        "POST",
        "/v2/models/stream/generate_stream",
        {"text_input": "x", "max_tokens": 4},
    )
    assert status == 200
    texts = [json.loads(e).get("text_output") for e in sse_events(body)]
    assert [t for t in texts if t] == ["tok0 ", "tok1 ", "tok2 ", "tok3 "]


def test_triton_backend_stubs_run_in_the_servers_process_group(triton_server: TritonServer) -> None:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[2]) == triton_server.pgid:
                members.append(stat.split("(", 1)[1].split(")", 1)[0])
    assert "tritonserver" in members
    # One python-backend stub per model instance (comm is cut to 15 characters): stop() must
    # signal the group, or these outlive the server.
    assert sum(name.startswith("triton_python") for name in members) == 3


# ----------------------------------------------------------------------------- fault server


def test_fault_server_answers_ok_and_injected_statuses(fault_server: FaultServer) -> None:
    status, body = request(fault_server.url, "GET", "/v1/models")
    assert status == 200 and [m["id"] for m in json.loads(body)["data"]] == list(LISTED)
    status, body = request(
        fault_server.url,
        "POST",
        "/v1/completions",
        {"model": "ok", "prompt": "x", "max_tokens": 3, "stream": True},
    )
    events = sse_events(body)
    assert status == 200 and events[-1] == "[DONE]"
    assert [json.loads(e)["choices"][0]["text"] for e in events[:3]] == ["t0 ", "t1 ", "t2 "]
    assert json.loads(events[3])["usage"]["completion_tokens"] == 3
    for code in (400, 429, 500, 502, 503):
        status, body = request(
            fault_server.url, "POST", "/v1/completions", {"model": f"status-{code}", "prompt": "x"}
        )
        assert status == code and json.loads(body)["error"]["code"] == code
    status, body = request(
        fault_server.url, "POST", "/v1/completions", {"model": "missing", "prompt": "x"}
    )
    assert status == 404 and "not found" in json.loads(body)["error"]["message"]


def test_fault_server_resets_stalls_and_sends_malformed_sse(fault_server: FaultServer) -> None:
    body = {"prompt": "x", "max_tokens": 3, "stream": True}
    with pytest.raises((ConnectionResetError, http.client.IncompleteRead)):
        request(fault_server.url, "POST", "/v1/completions", {**body, "model": "reset"})
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        request(
            fault_server.url, "POST", "/v1/completions", {**body, "model": "stall"}, timeout=0.3
        )
    assert time.monotonic() - start < 5
    status, payload = request(
        fault_server.url, "POST", "/v1/chat/completions", {**body, "model": "malformed-sse"}
    )
    assert status == 200
    first, done = sse_events(payload)
    assert done == "[DONE]"
    with pytest.raises(ValueError):
        json.loads(first)
