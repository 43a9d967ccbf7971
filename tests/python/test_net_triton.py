"""The native endpoint SUT against the real tritonserver: KServe v2 infer (JSON and binary
tensors, FP32 and BYTES) and Triton's generate_stream, with the accuracy log checked."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any, Iterator

import loadgen
import mlperf_loadgen as lg
import numpy as np
import pytest
from loadgen.net.datasets import Dataset, Sample
from loadgen.net.endpoint import Endpoint, EndpointSut, endpoint_qsl
from net_helpers import accuracy_entries, closing_suts
from servers.fixtures import TritonServer


@pytest.fixture
def make_sut() -> Iterator[Any]:
    yield from closing_suts(EndpointSut)


def run(sut: EndpointSut, dataset: Dataset, tmp_path: Path, **overrides: Any) -> loadgen.RunResult:
    base: dict[str, Any] = dict(
        scenario=loadgen.Scenario.SINGLE_STREAM, min_duration_ms=0, min_query_count=len(dataset)
    )
    base.update(overrides)
    return loadgen.run(sut, endpoint_qsl(dataset), loadgen.Settings(**base), log_dir=tmp_path)


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary-tensors"])
def test_kserve_fp32_identity_outputs_reach_the_accuracy_log(
    binary: bool, triton_server: TritonServer, make_sut: Any, tmp_path: Path
) -> None:
    arrays = [np.arange(i, i + 5, dtype=np.float32).reshape(1, 5) * 0.5 for i in range(6)]
    dataset = Dataset([Sample(tensors={"INPUT0": a}) for a in arrays])
    sut = make_sut(
        Endpoint(
            triton_server.url, api="kserve", model="identity", binary_tensors=binary, stream=False
        ),
        dataset,
    )
    result = run(sut, dataset, tmp_path, mode=loadgen.Mode.ACCURACY)
    assert result.errors == 0
    assert sut.stats()["failed"] == 0, sut.stats()["last_failure"]
    assert accuracy_entries(result) == {i: a.tobytes() for i, a in enumerate(arrays)}


def test_kserve_bytes_outputs_in_the_binary_layout(
    triton_server: TritonServer, make_sut: Any, tmp_path: Path
) -> None:
    texts = [b"hello", b"", "caf\u00e9".encode()]
    dataset = Dataset([Sample(tensors={"TEXT_IN": np.array([[t]], dtype=object)}) for t in texts])
    sut = make_sut(Endpoint(triton_server.url, api="kserve", model="echo_bytes"), dataset)
    assert sut.name == f"EndpointSut(kserve, {triton_server.url})"  # KServe infer never streams
    result = run(sut, dataset, tmp_path, mode=loadgen.Mode.ACCURACY)
    assert sut.stats()["failed"] == 0, sut.stats()["last_failure"]
    assert accuracy_entries(result) == {
        i: struct.pack("<I", len(t)) + t for i, t in enumerate(texts)
    }


def test_kserve_performance_run_reuses_connections(
    triton_server: TritonServer, make_sut: Any, tmp_path: Path
) -> None:
    dataset = Dataset([Sample(tensors={"INPUT0": np.ones((1, 16), np.float32)})] * 4)
    sut = make_sut(
        Endpoint(
            triton_server.url, api="kserve", model="identity", stream=False, binary_tensors=True
        ),
        dataset,
    )
    result = run(
        sut,
        dataset,
        tmp_path,
        scenario=loadgen.Scenario.SERVER,
        server_target_qps=200,
        min_query_count=200,
    )
    assert result.errors == 0 and result.samples_completed >= 200
    stats = sut.stats()
    assert stats["failed"] == 0
    # Keep-alive connections: far fewer than one per request.
    assert stats["endpoints"][0]["connections_opened"] < 50


@pytest.mark.parametrize("scenario", [loadgen.Scenario.SINGLE_STREAM, loadgen.Scenario.SERVER])
def test_generate_stream_tokens_and_text(
    scenario: loadgen.Scenario, triton_server: TritonServer, make_sut: Any, tmp_path: Path
) -> None:
    dataset = Dataset([Sample(prompt=f"p{i}", max_tokens=4) for i in range(8)])
    sut = make_sut(Endpoint(triton_server.url, api="triton-generate", model="stream"), dataset)
    result = run(
        sut,
        dataset,
        tmp_path,
        scenario=scenario,
        min_query_count=64,
        use_token_latencies=True,
        server_target_qps=50,
        server_ttft_latency_ns=2_000_000_000,
        server_tpot_latency_ns=2_000_000_000,
        server_target_latency_ns=4_000_000_000,
    )
    assert result.errors == 0
    assert result.token_count == result.samples_completed * 4
    records = sut.records()
    assert set(records["token_source"]) == {"chunks"}  # generate_stream has no usage
    assert records["tokens"] == [4] * result.samples_completed
    assert all(
        len(c) == 4 and c[0] == f
        for c, f in zip(records["chunk_times_ns"], records["first_token_ns"])
    )


def test_generate_stream_text_in_the_accuracy_log_via_start_test(
    triton_server: TritonServer, make_sut: Any, tmp_path: Path
) -> None:
    dataset = Dataset([Sample(prompt="x", max_tokens=3)] * 3)
    sut = make_sut(Endpoint(triton_server.url, api="triton-generate", model="stream"), dataset)
    qsl = endpoint_qsl(dataset)
    settings = lg.TestSettings()
    settings.scenario = lg.TestScenario.Offline
    settings.mode = lg.TestMode.AccuracyOnly
    log_settings = lg.LogSettings()
    log_settings.log_output.outdir = str(tmp_path)
    lg.StartTestWithLogSettings(sut, qsl, settings, log_settings)
    qsl.close()
    entries = json.loads((tmp_path / "mlperf_log_accuracy.json").read_text())
    assert sorted(e["qsl_idx"] for e in entries) == [0, 1, 2]
    assert {bytes.fromhex(e["data"]) for e in entries} == {b"tok0 tok1 tok2 "}
