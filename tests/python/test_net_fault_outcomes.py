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
  error before any request, and no log is written;
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
from net_helpers import closing_suts, official_log_checks
from servers.fault_server import FaultServer
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
    sut = make_sut(Endpoint(triton_server.url, api="triton-generate", model="gone"), dataset)
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
