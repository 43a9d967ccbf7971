"""loadgen probe against the real llama.cpp server, the real Triton and the fault server."""

from __future__ import annotations

import pytest
from loadgen.__main__ import main
from loadgen.net.probe import EndpointError, ProbeReport, Status, preflight, probe
from servers.fault_server import FaultServer
from servers.fixtures import LlamaServer, TritonServer
from servers.process import free_port


def statuses(report: ProbeReport) -> dict[str, Status]:
    return {c.name: c.status for c in report.checks}


def detail(report: ProbeReport, name: str) -> str:
    return next(c.detail for c in report.checks if c.name == name)


ALL_OK = {n: Status.OK for n in ("reachable", "model", "request", "streaming", "token counting")}


@pytest.mark.parametrize("api", ["openai", "openai-chat"])
def test_probe_llama_server_finds_everything_working(llama_server: LlamaServer, api: str) -> None:
    report = probe(llama_server.url, api, llama_server.model, max_tokens=6)
    assert statuses(report) == ALL_OK, report.format()
    assert "usage in the stream: completion_tokens=6 (matches 6 content chunks)" in detail(
        report, "token counting"
    )
    assert "then [DONE]" in detail(report, "streaming")
    assert report.ok


def test_probe_picks_the_listed_model_when_none_is_given(llama_server: LlamaServer) -> None:
    report = probe(llama_server.url + "/v1", "openai")  # the OpenAI SDK's base_url form works too
    assert report.model == llama_server.model and report.ok, report.format()
    assert f"using {llama_server.model!r}" in detail(report, "model")


def test_probe_cli_prints_the_checks_and_exits_0(
    llama_server: LlamaServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["probe", llama_server.url, "--api", "openai-chat", "--model", llama_server.model])
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith(f"probe {llama_server.url} (api openai-chat, model {llama_server.model})")
    assert "ok    streaming" in out and out.endswith("result: the endpoint is ready\n")


def test_probe_triton_v2_and_generate_stream(triton_server: TritonServer) -> None:
    v2 = probe(triton_server.url, "kserve", "identity")
    assert statuses(v2) == {**ALL_OK, "streaming": Status.SKIP, "token counting": Status.SKIP}, (
        v2.format()
    )
    assert "OUTPUT0" in detail(v2, "request") and "INPUT0 FP32 [-1, -1]" in detail(v2, "model")
    text = probe(triton_server.url, "kserve", "echo_bytes")
    assert statuses(text)["request"] is Status.OK, text.format()
    stream = probe(triton_server.url, "triton-generate", "stream", max_tokens=5)
    assert statuses(stream) == {**ALL_OK, "request": Status.SKIP, "token counting": Status.WARN}, (
        stream.format()
    )
    assert detail(stream, "streaming").startswith("5 events with text_output")


def test_probe_triton_names_a_missing_model(triton_server: TritonServer) -> None:
    report = probe(triton_server.url, "kserve", "nope")
    assert statuses(report)["model"] is Status.FAIL and not report.ok
    assert "model 'nope' not found" in detail(report, "model")
    assert statuses(report)["request"] is Status.SKIP


def test_probe_grpc_port_is_checked_for_connections(triton_server: TritonServer) -> None:
    # Over gRPC itself now (test_net_grpc.py has the details): live/ready, metadata, a request.
    report = probe(triton_server.grpc, "kserve-grpc", "identity")
    assert statuses(report)["reachable"] is Status.OK and statuses(report)["model"] is Status.OK
    assert report.ok


def test_probe_unreachable_server_fails_clearly(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    report = probe(url, "openai", "m")
    assert statuses(report)["reachable"] is Status.FAIL
    assert "connection refused" in detail(report, "reachable")
    assert all(c.status is Status.SKIP for c in report.checks[1:])
    assert main(["probe", url]) == 1
    assert "FAILED (reachable)" in capsys.readouterr().out


def test_probe_model_missing_from_v1_models(fault_server: FaultServer) -> None:
    report = probe(fault_server.url, "openai", "llama-70b")
    assert statuses(report)["model"] is Status.FAIL
    assert detail(report, "model").startswith(
        "model 'llama-70b' is not listed by GET /v1/models (listed: ok, "
    )


def test_probe_reports_a_stream_without_usage(fault_server: FaultServer) -> None:
    report = probe(fault_server.url, "openai-chat", "no-usage", max_tokens=3)
    assert statuses(report) == {**ALL_OK, "token counting": Status.WARN}, report.format()
    assert "counted from content chunks (3 here)" in detail(report, "token counting")
    assert report.ok  # a caveat, not a failure


@pytest.mark.parametrize(
    ("model", "request_detail", "stream_detail"),
    [
        ("status-500", "HTTP 500 injected 500", "HTTP 500 injected 500"),
        ("status-429", "HTTP 429 injected 429", "HTTP 429 injected 429"),
        ("reset", "the answer broke off", "the stream broke off"),
        ("malformed-sse", "the answer is not JSON", "a stream event is not JSON"),
    ],
)
def test_probe_reports_faults_of_requests(
    fault_server: FaultServer, model: str, request_detail: str, stream_detail: str
) -> None:
    report = probe(fault_server.url, "openai", model, timeout_s=5)
    assert (
        statuses(report)["request"] is Status.FAIL and statuses(report)["streaming"] is Status.FAIL
    )
    assert request_detail in detail(report, "request")
    assert stream_detail in detail(report, "streaming")
    assert not report.ok


def test_probe_reports_a_stalled_stream(fault_server: FaultServer) -> None:
    report = probe(fault_server.url, "openai", "stall", timeout_s=0.3)
    assert "no answer within 0.3 s" in detail(report, "request")
    assert "the stream stalled for 0.3 s" in detail(report, "streaming")


def test_preflight_raises_before_any_load(fault_server: FaultServer) -> None:
    assert preflight(fault_server.url, "openai", "ok").model == "ok"
    assert preflight(fault_server.url, "openai").model == "ok"
    with pytest.raises(EndpointError, match="model 'absent' is not listed"):
        preflight(fault_server.url, "openai-chat", "absent")
    with pytest.raises(EndpointError, match="connection refused"):
        preflight(f"http://127.0.0.1:{free_port()}", "openai", "ok")
    with pytest.raises(EndpointError, match="unknown api"):
        preflight(fault_server.url, "grpc")
    with pytest.raises(EndpointError, match="bad endpoint URL"):
        preflight("ftp://x", "openai")


def test_preflight_v2_returns_the_metadata(triton_server: TritonServer) -> None:
    found = preflight(triton_server.url, "kserve", "identity")
    assert found.metadata is not None and found.metadata["inputs"][0]["name"] == "INPUT0"
    with pytest.raises(EndpointError, match="--model is required"):
        preflight(triton_server.url, "kserve")


def test_probe_cli_api_key_comes_from_the_environment_and_is_never_printed(
    fault_server: FaultServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["probe", fault_server.url, "--model", "ok", "--api-key-env", "LOADGEN_TEST_KEY"]) == 2
    )
    assert "LOADGEN_TEST_KEY: that environment variable is not set" in capsys.readouterr().err
    monkeypatch.setenv("LOADGEN_TEST_KEY", "sk-secret-123")
    assert (
        main(["probe", fault_server.url, "--model", "ok", "--api-key-env", "LOADGEN_TEST_KEY"]) == 0
    )
    out = capsys.readouterr()
    assert "sk-secret" not in out.out + out.err
    assert main(["probe", fault_server.url, "--header", "no-colon"]) == 2
