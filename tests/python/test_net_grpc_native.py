"""The native gRPC client (cpp/src/net/grpc, ``loadgen._core.GrpcEndpointSut``) behind
``GrpcEndpointSut`` against the real tritonserver: that it is the path taken, exact counts and
order of what reaches the server, unary and streamed outputs in the accuracy log, and the start
and run failures (unreachable, model missing, a deadline, the server killed mid-run). Skipped in
a build without the native client (the grpcio fallback runs tests/python/test_net_grpc.py)."""

from __future__ import annotations

import json
import signal
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import loadgen
import numpy as np
import pytest
from loadgen.net.datasets import Dataset, Sample
from loadgen.net.grpc_endpoint import (
    GrpcEndpoint,
    GrpcEndpointSut,
    native_grpc_available,
)
from net_helpers import accuracy_entries, closing_suts, run_dataset
from servers.fixtures import TritonServer, start_tritonserver
from servers.process import ServerProcess, free_port

pytestmark = [
    pytest.mark.usefixtures("hang_watchdog"),
    pytest.mark.skipif(
        not native_grpc_available(), reason="built without the native gRPC client (LOADGEN_GRPC)"
    ),
]


@pytest.fixture
def make_sut() -> Iterator[Any]:
    yield from closing_suts(GrpcEndpointSut)


def successes(triton: TritonServer, model: str) -> int:
    """Triton's count of successful requests of the model (its statistics extension)."""
    with urllib.request.urlopen(f"{triton.url}/v2/models/{model}/stats", timeout=10) as r:
        stats = json.load(r)
    return int(stats["model_stats"][0]["inference_stats"]["success"]["count"])


def indexed(n: int) -> Dataset:
    """Sample i's tensor is [[i, i + 0.5]]: the identity model's answer names the sample."""
    return Dataset(
        [Sample(tensors={"INPUT0": np.array([[i, i + 0.5]], np.float32)}) for i in range(n)]
    )


def test_the_native_client_sends_the_requests(triton_server: TritonServer, make_sut: Any) -> None:
    sut = make_sut(GrpcEndpoint(triton_server.grpc, model="identity"), indexed(2))
    assert sut.native
    assert sut._native_sut_handle > 0  # loadgen.run drives it by handle: no Python per query


def test_every_sample_reaches_the_server_once_in_the_seeded_order(
    triton_server: TritonServer, make_sut: Any, tmp_path: Path
) -> None:
    n = 16
    dataset = indexed(n)
    orders = []
    for attempt in range(2):
        sut = make_sut(GrpcEndpoint(triton_server.grpc, model="identity"), dataset)
        before = successes(triton_server, "identity")
        result = run_dataset(
            sut,
            dataset,
            tmp_path / str(attempt),
            mode=loadgen.Mode.ACCURACY,
            qsl_rng_seed=1234,
            sample_index_rng_seed=5678,
        )
        assert result.errors == 0, result.summary
        assert successes(triton_server, "identity") - before == n  # exactly one request each
        # Each answer is the identity of the sample it was logged for: the server got that
        # sample's request.
        assert accuracy_entries(result) == {
            i: np.array([[i, i + 0.5]], np.float32).tobytes() for i in range(n)
        }
        # SingleStream sends one at a time: the records' order is the order the server got them.
        order = sut.records()["sample_index"]
        assert sorted(order) == list(range(n))
        orders.append(order)
    assert orders[0] == orders[1]  # the same seeds, the same order on the wire


def test_offline_sends_exactly_the_issued_count(
    triton_server: TritonServer, make_sut: Any, tmp_path: Path
) -> None:
    dataset = indexed(8)
    sut = make_sut(GrpcEndpoint(triton_server.grpc, model="identity", channels=2), dataset)
    before = successes(triton_server, "identity")
    result = run_dataset(
        sut,
        dataset,
        tmp_path,
        scenario=loadgen.Scenario.OFFLINE,
        min_query_count=200,
        offline_expected_qps=1000,
    )
    assert result.errors == 0 and result.valid, result.summary
    stats = sut.stats()
    assert stats["failed"] == 0, stats["last_failure"]
    assert stats["issued"] == stats["completed"] == result.samples_completed >= 200
    assert successes(triton_server, "identity") - before == stats["issued"]
    assert stats["endpoints"][0]["connections_opened"] == 2
    # Per-URL figures in the result, as for an HTTP endpoint.
    (endpoint,) = result.endpoints
    assert endpoint.url == triton_server.grpc
    assert endpoint.completed == stats["completed"] and endpoint.failed == 0
    assert endpoint.connections_opened == 2


def test_streamed_text_reaches_the_accuracy_log(
    triton_server: TritonServer, make_sut: Any, tmp_path: Path
) -> None:
    dataset = Dataset(
        [
            Sample(
                tensors={
                    "text_input": np.array([b"x"], dtype=object),
                    "max_tokens": np.array([k], dtype=np.int32),
                    "delay_ms": np.array([0.0], dtype=np.float32),
                }
            )
            for k in (2, 3, 5)
        ]
    )
    sut = make_sut(GrpcEndpoint(triton_server.grpc, model="stream", stream=True), dataset)
    result = run_dataset(
        sut, dataset, tmp_path, mode=loadgen.Mode.ACCURACY, use_token_latencies=True
    )
    assert result.errors == 0, result.summary
    assert accuracy_entries(result) == {
        i: b"".join(b"tok%d " % t for t in range(k)) for i, k in enumerate((2, 3, 5))
    }
    records = sut.records()
    assert sorted(zip(records["sample_index"], records["tokens"])) == [(0, 2), (1, 3), (2, 5)]
    assert set(records["token_source"]) == {"chunks"}


def test_unreachable_server_is_an_endpoint_error_before_any_load() -> None:
    target = f"127.0.0.1:{free_port()}"
    dataset = indexed(1)
    with pytest.raises(
        loadgen.EndpointError, match=f"cannot connect to the gRPC endpoint {target}"
    ):
        GrpcEndpointSut(GrpcEndpoint(target, model="identity", connect_timeout_s=0.3), dataset)


def test_a_missing_model_is_an_endpoint_error_when_checked(triton_server: TritonServer) -> None:
    before = successes(triton_server, "identity")
    with pytest.raises(loadgen.EndpointError, match="model 'nope' not found or not ready"):
        GrpcEndpointSut(GrpcEndpoint(triton_server.grpc, model="nope"), indexed(1), check=True)
    checked = GrpcEndpointSut(
        GrpcEndpoint(triton_server.grpc, model="identity"), indexed(1), check=True
    )
    checked.close()
    assert successes(triton_server, "identity") == before  # the check sends no inference


def test_a_deadline_exceeded_is_a_timeout_and_the_run_is_invalid(
    triton_server: TritonServer, make_sut: Any, tmp_path: Path
) -> None:
    slow = Sample(
        tensors={
            "text_input": np.array([b"x"], dtype=object),
            "max_tokens": np.array([2], dtype=np.int32),
            "delay_ms": np.array([500.0], dtype=np.float32),
        }
    )
    dataset = Dataset([slow])
    sut = make_sut(
        GrpcEndpoint(triton_server.grpc, model="stream", stream=True, total_timeout_s=0.1),
        dataset,
    )
    result = run_dataset(sut, dataset, tmp_path, min_query_count=2)
    assert not result.valid
    assert "failed_samples" in result.failed_constraints
    assert result.samples_failed == 2
    assert dict(result.failed_by_reason) == {"timeout_total": 2}
    assert set(sut.records()["failure"]) == {"timeout_total"}
    assert set(sut.records()["grpc_status"]) == {"DEADLINE_EXCEEDED"}


@pytest.fixture
def own_triton(tmp_path: Path) -> Iterator[tuple[ServerProcess, str]]:
    """A tritonserver of this test's own, to kill."""
    server, triton = start_tritonserver(tmp_path / "triton")
    yield server, triton.grpc
    server.stop()


def test_triton_killed_mid_run_fails_the_samples_in_flight_and_nothing_hangs(
    own_triton: tuple[ServerProcess, str], make_sut: Any, tmp_path: Path
) -> None:
    server, target = own_triton
    slow = Sample(
        tensors={
            "text_input": np.array([b"x"], dtype=object),
            "max_tokens": np.array([20], dtype=np.int32),
            "delay_ms": np.array([200.0], dtype=np.float32),
        }
    )
    dataset = Dataset([slow] * 4)
    sut = make_sut(GrpcEndpoint(target, model="stream", stream=True), dataset)

    def kill_when_in_flight() -> None:
        deadline = time.monotonic() + 30
        while sut.outstanding < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)  # first tokens arriving, the requests far from done
        server.process.send_signal(signal.SIGKILL)

    killer = threading.Thread(target=kill_when_in_flight)
    killer.start()
    result = run_dataset(
        sut,
        dataset,
        tmp_path / "logs",
        scenario=loadgen.Scenario.OFFLINE,
        min_query_count=4,
        offline_expected_qps=10,
    )
    killer.join()
    stats = sut.stats()
    assert sut.outstanding == 0
    assert stats["failed"] == stats["issued"] == result.samples_completed == 4, stats
    assert stats["failures_by_reason"]["connection_closed"] == 4
    assert not result.valid and dict(result.failed_by_reason) == {"connection_closed": 4}
    assert set(sut.records()["grpc_status"]) <= {"UNAVAILABLE", "CANCELLED"}
