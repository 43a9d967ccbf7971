"""The exact outcome of every fault issue 13 lists, one fault per run (test_net_failures.py has
them all in one Offline run):

- during the run (HTTP 4xx/5xx, a reset or cleanly closed connection, a timeout before the first
  byte or in the middle of a stream, a malformed SSE stream or body, an error event mid-stream),
  streamed and not: each sample of the faulty prompt fails with its reason and message, the
  run continues (SingleStream: the next query is issued after the failed one, and the good
  prompt's samples still complete with their tokens), the failures are counted in RunResult, in
  the detail log (read with the official parser's rules) and in the summary, and the run is
  INVALID; in MultiStream, Server and Offline too, failed and answered samples side by side;
- at start, against Triton (KServe v2 infer and generate_stream; the OpenAI apis and gRPC are in
  test_net_bench.py and test_net_grpc.py): an unreachable server or a missing model is a clear
  error before any request, and no log is written; the same for the typed API, where
  ``EndpointSut`` checks at construction (``check=False`` skips it);
- settings that cannot work (token latencies of answers that arrive whole): an error before any
  load, from the CLI and from ``loadgen.run``;
- Triton itself refusing a request (a wrong input name, an unknown model) during the run.

Ctrl-C and aborts (cancelled, logs written) are in test_net_failures.py, test_net_bench.py and
test_net_grpc.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import loadgen
import numpy as np
import pytest
from loadgen.__main__ import main
from loadgen.net.datasets import Dataset, Sample
from loadgen.net.endpoint import Endpoint, EndpointSut, endpoint_qsl
from loadgen.net.grpc_endpoint import GrpcEndpoint, GrpcEndpointSut
from loadgen.net.probe import EndpointError as probe_endpoint_error
from net_helpers import closing_suts, official_log_checks
from servers.fault_server import LISTED, FaultServer
from servers.fixtures import TritonServer
from servers.process import free_port

pytestmark = pytest.mark.usefixtures("hang_watchdog")

QUERIES = 12
TOKENS = 3
GOOD, FAULTY = 0, 1  # the dataset's two prompts


@pytest.fixture
def make_sut() -> Iterator[Any]:
    yield from closing_suts(EndpointSut)


def detail_log(log_dir: Path) -> dict[str, Any]:
    parsed = official_log_checks().parse_mlperf_log((log_dir / "mlperf_log_detail.txt").read_text())
    return {key: entries[0]["value"] for key, entries in parsed.items()}


def run_single_stream(
    sut: EndpointSut, dataset: Dataset, log_dir: Path, *, tokens: bool
) -> loadgen.RunResult:
    """`tokens`: token latencies, for streamed answers (a whole answer has no first token)."""
    settings = loadgen.Settings(
        scenario=loadgen.Scenario.SINGLE_STREAM,
        min_duration_ms=0,
        min_query_count=QUERIES,
        use_token_latencies=tokens,
    )
    return loadgen.run(sut, endpoint_qsl(dataset), settings, log_dir=log_dir, progress=False)


def check_failed_run(
    result: loadgen.RunResult, sut: EndpointSut, reason: str, *, good_tokens: int | None
) -> int:
    """The exact outcome of a run whose FAULTY samples all failed with `reason`: returns how
    many failed."""
    records = sut.records()
    failed = records["sample_index"].count(FAULTY)
    assert 0 < failed < QUERIES  # the seeds draw both prompts
    # The run continued: every query was issued and completed, failed or not.
    assert result.samples_completed == result.queries_issued == QUERIES
    assert records["failure"] == [
        reason if index == FAULTY else None for index in records["sample_index"]
    ]
    if good_tokens is not None:
        assert [t for t, i in zip(records["tokens"], records["sample_index"]) if i == GOOD] == [
            good_tokens
        ] * (QUERIES - failed)
    stats = sut.stats()
    assert stats["failed"] == failed and stats["completed"] == QUERIES
    assert {k: v for k, v in stats["failures_by_reason"].items() if v} == {reason: failed}
    assert stats["endpoints"][0]["failed"] == failed

    assert not result.valid
    assert result.samples_failed == failed
    assert dict(result.failed_by_reason) == {reason: failed}
    assert "failed_samples" in result.failed_constraints
    assert result.errors == 1  # the failures are one error entry of the series
    bullet = (
        f"{failed} of {QUERIES} samples failed ({reason}: {failed}): the SUT did not produce "
        "their responses. See the detailed log."
    )
    assert bullet in result.recommendations

    log = detail_log(result.log_dir)
    assert log["result_validity"] == "INVALID"
    assert log["loadgen_failed_samples"] == failed
    assert log["loadgen_failed_samples_by_reason"] == {reason: failed}
    assert log["loadgen_series_failed_samples"] == {
        "mode": "PerformanceOnly",
        "count": failed,
        "by_reason": {reason: failed},
    }
    summary = result.summary
    assert "Result is : INVALID\n" in summary and " * " + bullet + "\n" in summary
    return failed


# (fault server model, streamed, Endpoint timeouts, reason, start of stats()["last_failure"])
FAULTS = [
    (
        "status-400",
        True,
        {},
        "http_4xx",
        'http_4xx: HTTP 400: {"error": {"message": "injected 400"',
    ),
    (
        "status-500",
        True,
        {},
        "http_5xx",
        'http_5xx: HTTP 500: {"error": {"message": "injected 500"',
    ),
    (
        "status-503",
        False,
        {},
        "http_5xx",
        'http_5xx: HTTP 503: {"error": {"message": "injected 503"',
    ),
    # A redirect (not followed) is neither the client's error nor the server's.
    (
        "status-302",
        True,
        {},
        "http_status",
        'http_status: HTTP 302: {"error": {"message": "injected 302"',
    ),
    (
        "status-302",
        False,
        {},
        "http_status",
        'http_status: HTTP 302: {"error": {"message": "injected 302"',
    ),
    ("reset", True, {}, "connection_closed", "connection_closed: "),
    ("reset", False, {}, "connection_closed", "connection_closed: "),
    ("close", True, {}, "connection_closed", "connection_closed: "),
    ("close", False, {}, "connection_closed", "connection_closed: "),
    ("malformed-sse", True, {}, "malformed_response", "malformed_response: "),
    ("malformed-sse", False, {}, "malformed_response", "malformed_response: "),
    (
        "sse-error",
        True,
        {},
        "malformed_response",
        "malformed_response: server error: injected mid-stream error",
    ),
    (
        "sse-error",
        False,
        {},
        "malformed_response",
        "malformed_response: server error: injected error",
    ),
    (
        "stall",
        True,
        {"total_timeout_s": 0.3},
        "timeout_total",
        "timeout_total: total timeout",
    ),
    (
        "silent",
        False,
        {"first_byte_timeout_s": 0.3, "total_timeout_s": 10.0},
        "timeout_first_byte",
        "timeout_first_byte: no response byte within the first-byte timeout",
    ),
]


@pytest.mark.parametrize(
    ("fault", "stream", "timeouts", "reason", "message"),
    FAULTS,
    ids=[f"{f[0]}-{'stream' if f[1] else 'body'}" for f in FAULTS],
)
def test_a_fault_during_the_run_fails_its_samples_and_the_run_goes_on(
    fault: str,
    stream: bool,
    timeouts: dict[str, float],
    reason: str,
    message: str,
    fault_server: FaultServer,
    make_sut: Any,
    tmp_path: Path,
) -> None:
    dataset = Dataset(
        [
            Sample(prompt="good", max_tokens=TOKENS, extra_body={"model": "ok"}),
            Sample(prompt="bad", max_tokens=TOKENS, extra_body={"model": fault}),
        ]
    )
    sut = make_sut(
        Endpoint(fault_server.url, api="openai-chat", model="ok", stream=stream, **timeouts),
        dataset,
    )
    result = run_single_stream(sut, dataset, tmp_path, tokens=stream)
    check_failed_run(result, sut, reason, good_tokens=TOKENS)
    assert sut.stats()["last_failure"].startswith(message), sut.stats()["last_failure"]
    assert sut.outstanding == 0
    if timeouts:  # the timed-out requests ended at their timeout, not at the server's 30 s stall
        records = sut.records()
        waits = [
            d - i
            for d, i, index in zip(
                records["done_ns"], records["issued_ns"], records["sample_index"]
            )
            if index == FAULTY
        ]
        assert all(0.3e9 <= w < 5e9 for w in waits), waits


@pytest.mark.parametrize(
    "scenario",
    [loadgen.Scenario.MULTI_STREAM, loadgen.Scenario.SERVER, loadgen.Scenario.OFFLINE],
    ids=lambda s: s.value,
)
def test_failures_in_the_other_scenarios_are_counted_per_sample(
    scenario: loadgen.Scenario, fault_server: FaultServer, make_sut: Any, tmp_path: Path
) -> None:
    # Two good prompts and two faults: a MultiStream query mixes failed and answered samples.
    models = ["ok", "status-500", "ok", "reset"]
    dataset = Dataset(
        [Sample(prompt="x", max_tokens=TOKENS, extra_body={"model": m}) for m in models]
    )
    sut = make_sut(Endpoint(fault_server.url, api="openai", model="ok"), dataset)
    settings = loadgen.Settings(
        scenario=scenario,
        min_duration_ms=0,
        min_query_count=8,
        multi_stream_samples_per_query=4,
        server_target_qps=100,
        use_token_latencies=True,
    )
    result = loadgen.run(sut, endpoint_qsl(dataset), settings, log_dir=tmp_path, progress=False)
    records = sut.records()
    expected = {"ok": None, "status-500": "http_5xx", "reset": "connection_closed"}
    assert records["failure"] == [expected[models[i]] for i in records["sample_index"]]
    by_reason = {
        reason: records["failure"].count(reason) for reason in ("http_5xx", "connection_closed")
    }
    assert all(by_reason.values())  # the seeds draw both faults
    samples = 32 if scenario is loadgen.Scenario.MULTI_STREAM else 8
    assert result.samples_completed == len(records["failure"]) == samples
    assert result.samples_failed == sum(by_reason.values())
    assert dict(result.failed_by_reason) == by_reason
    assert not result.valid and "failed_samples" in result.failed_constraints
    assert result.errors == 1
    good = [t for t, f in zip(records["tokens"], records["failure"]) if f is None]
    assert good == [TOKENS] * (samples - result.samples_failed)
    assert result.token_count == TOKENS * len(good)
    log = detail_log(tmp_path)
    assert log["result_validity"] == "INVALID"
    assert log["loadgen_failed_samples"] == result.samples_failed
    assert log["loadgen_failed_samples_by_reason"] == by_reason


# ------------------------------------------------------------------------------ Triton


@pytest.mark.parametrize("api", ["kserve", "triton-generate"])
def test_triton_missing_model_is_an_error_before_any_load(
    api: str, triton_server: TritonServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log_dir = tmp_path / "logs"
    rc = main(
        ["bench", triton_server.url, "--api", api, "--model", "nope", "--log-dir", str(log_dir)]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert (
        "model 'nope' not found: GET /v2/models/nope: HTTP 404 Request for unknown model: 'nope' "
        "is not found (nothing was sent: the test did not start)"
    ) in err, err
    assert not log_dir.exists()


@pytest.mark.parametrize("api", ["kserve", "triton-generate"])
def test_unreachable_v2_server_is_an_error_before_any_load(
    api: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    log_dir = tmp_path / "logs"
    assert main(["bench", url, "--api", api, "--model", "m", "--log-dir", str(log_dir)]) == 2
    err = capsys.readouterr().err
    assert "connection refused" in err and "the test did not start" in err
    assert not log_dir.exists()


def test_triton_refusing_a_request_fails_that_sample(
    triton_server: TritonServer, make_sut: Any, tmp_path: Path
) -> None:
    good = np.ones((1, 4), np.float32)
    dataset = Dataset([Sample(tensors={"INPUT0": good}), Sample(tensors={"WRONG": good})])
    sut = make_sut(Endpoint(triton_server.url, api="kserve", model="identity"), dataset)
    result = run_single_stream(sut, dataset, tmp_path, tokens=False)
    check_failed_run(result, sut, "http_4xx", good_tokens=None)
    assert sut.stats()["last_failure"].startswith("http_4xx: HTTP 400: "), sut.stats()
    assert set(sut.records()["http_status"]) == {200, 400}


def test_generate_stream_of_an_unknown_model_fails_each_sample(
    triton_server: TritonServer, make_sut: Any, tmp_path: Path
) -> None:
    # A model unloaded after the start-up check: every request is refused, the run ends INVALID.
    dataset = Dataset([Sample(prompt="x", max_tokens=2)] * 2)
    sut = make_sut(
        Endpoint(triton_server.url, api="triton-generate", model="gone"), dataset, check=False
    )
    result = run_single_stream(sut, dataset, tmp_path, tokens=True)
    assert result.samples_completed == result.samples_failed == QUERIES
    assert dict(result.failed_by_reason) == {"http_4xx": QUERIES}
    assert detail_log(tmp_path)["loadgen_failed_samples_by_reason"] == {"http_4xx": QUERIES}
    assert sut.stats()["last_failure"] == (
        'http_4xx: HTTP 404: {"error":"Request for unknown model: \'gone\' is not found"}'
    )


# ----------------------------------------------------------------- settings that cannot work


@pytest.mark.parametrize(
    ("argv", "what"),
    [
        (
            ["--api", "openai-chat", "--model", "ok", "--no-stream"],
            "an answer asked with --no-stream",
        ),
        (["--api", "kserve", "--model", "identity"], "a KServe v2 infer answer (--api kserve)"),
    ],
    ids=["openai-no-stream", "kserve"],
)
def test_token_latencies_of_whole_answers_are_an_error_before_any_load(
    argv: list[str],
    what: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Each sample would log an error (a latency recorded before its first token) and TTFT be 0.
    server = request.getfixturevalue("triton_server" if "kserve" in argv else "fault_server")
    before = len(getattr(server, "requests", []))
    log_dir = tmp_path / "logs"
    rc = main(
        ["bench", server.url, *argv, "--use-token-latencies", "true", "--log-dir", str(log_dir)]
    )
    assert rc == 2
    assert capsys.readouterr().err == (
        f"loadgen bench: token latencies need streamed answers, and {what} arrives whole: "
        "drop use_token_latencies (nothing was sent: the test did not start)\n"
    )
    assert len(getattr(server, "requests", [])) == before
    assert not log_dir.exists()


def test_a_redirect_is_recorded_with_its_status(
    fault_server: FaultServer, make_sut: Any, tmp_path: Path
) -> None:
    dataset = Dataset(
        [
            Sample(prompt="good", max_tokens=TOKENS, extra_body={"model": "ok"}),
            Sample(prompt="moved", max_tokens=TOKENS, extra_body={"model": "status-302"}),
        ]
    )
    sut = make_sut(Endpoint(fault_server.url, api="openai", model="ok"), dataset)
    result = run_single_stream(sut, dataset, tmp_path, tokens=True)
    failed = check_failed_run(result, sut, "http_status", good_tokens=TOKENS)
    records = sut.records()
    assert sorted(records["http_status"]) == [200] * (QUERIES - failed) + [302] * failed
    assert "http_status" in loadgen.SAMPLE_FAILURE_REASONS


# --------------------------------------------------- the typed API's start check (EndpointSut)

SKIP_HINT = "(nothing was sent; check=False skips this check, for a server that starts later)"


def test_endpoint_sut_refuses_an_unreachable_server_at_construction(make_sut: Any) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(loadgen.EndpointError) as raised:
        make_sut(Endpoint(url, api="openai-chat", model="m"), [Sample(prompt="x")])
    assert str(raised.value) == (
        f"EndpointSut: {url} cannot serve the test: cannot connect to 127.0.0.1:{port}: "
        f"connection refused {SKIP_HINT}"
    )
    # The same class as the CLI's and preflight's, and a RuntimeError as it always was.
    assert loadgen.EndpointError is probe_endpoint_error
    assert isinstance(raised.value, RuntimeError)


def test_endpoint_sut_refuses_a_model_the_server_does_not_list(
    fault_server: FaultServer, make_sut: Any
) -> None:
    before = len(fault_server.requests)
    with pytest.raises(loadgen.EndpointError) as raised:
        make_sut(Endpoint(fault_server.url, api="openai", model="absent"), [Sample(prompt="x")])
    assert str(raised.value) == (
        f"EndpointSut: {fault_server.url} cannot serve the test: model 'absent' is not listed by "
        f"GET /v1/models (listed: {', '.join(LISTED)}) {SKIP_HINT}"
    )
    assert len(fault_server.requests) == before  # no inference request


def test_endpoint_sut_checks_every_replica(fault_server: FaultServer, make_sut: Any) -> None:
    port = free_port()
    down = f"http://127.0.0.1:{port}"
    with pytest.raises(loadgen.EndpointError) as raised:
        make_sut(Endpoint([fault_server.url, down], api="openai", model="ok"), [Sample(prompt="x")])
    assert str(raised.value).startswith(f"EndpointSut: {down} cannot serve the test: ")


@pytest.mark.parametrize("api", ["kserve", "triton-generate"])
def test_endpoint_sut_refuses_a_missing_triton_model_at_construction(
    api: str, triton_server: TritonServer, make_sut: Any
) -> None:
    dataset = Dataset([Sample(prompt="x", tensors={"INPUT0": np.ones((1, 4), np.float32)})])
    with pytest.raises(loadgen.EndpointError) as raised:
        make_sut(Endpoint(triton_server.url, api=api, model="nope"), dataset)  # type: ignore[arg-type]
    assert str(raised.value) == (
        f"EndpointSut: {triton_server.url} cannot serve the test: model 'nope' not found: "
        "GET /v2/models/nope: HTTP 404 Request for unknown model: 'nope' is not found " + SKIP_HINT
    )


def test_endpoint_sut_without_the_check_fails_each_sample_instead(
    fault_server: FaultServer, make_sut: Any, tmp_path: Path
) -> None:
    # check=False: a missing model is found by the run, one failed sample per query.
    dataset = Dataset([Sample(prompt="x", max_tokens=TOKENS)])
    sut = make_sut(Endpoint(fault_server.url, api="openai", model="absent"), dataset, check=False)
    result = run_single_stream(sut, dataset, tmp_path, tokens=True)
    assert result.samples_failed == result.samples_completed == QUERIES
    assert dict(result.failed_by_reason) == {"http_4xx": QUERIES}
    assert not result.valid


@pytest.mark.parametrize(
    ("api", "stream", "message"),
    [
        (
            "openai-chat",
            False,
            "token latencies need streamed answers, and this EndpointSut's answers asked with "
            "stream=False arrive whole: set stream=True or use_token_latencies=False (nothing "
            "was sent: the test did not start)",
        ),
        (
            "kserve",
            True,  # KServe v2 infer never streams, whatever the Endpoint asks
            "token latencies need streamed answers, and this EndpointSut's KServe v2 infer "
            "answers (api='kserve') arrive whole: set use_token_latencies=False (nothing was "
            "sent: the test did not start)",
        ),
    ],
    ids=["openai-no-stream", "kserve"],
)
def test_run_refuses_token_latencies_of_whole_answers_before_any_load(
    api: str,
    stream: bool,
    message: str,
    request: pytest.FixtureRequest,
    make_sut: Any,
    tmp_path: Path,
) -> None:
    server = request.getfixturevalue("triton_server" if api == "kserve" else "fault_server")
    model = "identity" if api == "kserve" else "ok"
    dataset = Dataset(
        [Sample(prompt="x", max_tokens=TOKENS, tensors={"INPUT0": np.ones((1, 4), np.float32)})]
    )
    sut = make_sut(Endpoint(server.url, api=api, model=model, stream=stream), dataset)  # type: ignore[arg-type]
    before = len(getattr(server, "requests", []))
    log_dir = tmp_path / "logs"
    with pytest.raises(loadgen.SettingsError) as raised:
        run_single_stream(sut, dataset, log_dir, tokens=True)
    assert str(raised.value) == message
    assert sut.stats()["issued"] == 0 and len(getattr(server, "requests", [])) == before
    assert not log_dir.exists()
    # The same SUT runs once the settings ask for no token latencies.
    result = run_single_stream(sut, dataset, tmp_path, tokens=False)
    assert result.samples_completed == QUERIES and result.samples_failed == 0


GRPC_UNARY_TOKENS = (
    "token latencies need streamed answers, and this GrpcEndpointSut's unary ModelInfer answers "
    "arrive whole: set use_token_latencies=False, or stream=True for a decoupled model (nothing "
    "was sent: the test did not start)"
)


def test_run_refuses_token_latencies_of_unary_grpc_answers_before_any_load(
    triton_server: TritonServer, tmp_path: Path
) -> None:
    dataset = Dataset([Sample(tensors={"INPUT0": np.ones((1, 4), np.float32)})])
    with GrpcEndpointSut(GrpcEndpoint(triton_server.grpc, model="identity"), dataset) as sut:
        log_dir = tmp_path / "logs"
        with pytest.raises(loadgen.SettingsError) as raised:
            loadgen.run(
                sut,
                endpoint_qsl(dataset),
                loadgen.Settings(min_duration_ms=0, min_query_count=2, use_token_latencies=True),
                log_dir=log_dir,
                progress=False,
            )
        assert str(raised.value) == GRPC_UNARY_TOKENS
        assert sut.stats()["issued"] == 0
        assert not log_dir.exists()


def test_bench_refuses_token_latencies_of_a_grpc_model_that_is_not_decoupled(
    triton_server: TritonServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log_dir = tmp_path / "logs"
    argv = ["bench", triton_server.grpc, "--api", "kserve-grpc", "--model", "identity"]
    rc = main([*argv, "--use-token-latencies", "true", "--log-dir", str(log_dir), "--no-report"])
    assert rc == 2
    assert capsys.readouterr().err.endswith(f"loadgen bench: {GRPC_UNARY_TOKENS}\n")
    assert not log_dir.exists()
