"""Every scenario against every HTTP protocol of the real servers (issue 13): llama.cpp's server
for /v1/completions and /v1/chat/completions (streamed; chat also whole), Triton for KServe v2
infer (JSON and binary tensors) and generate_stream. After each run the detail log is read with the official log
parser's rules and the summary as TEST04 reads it (net_helpers.check_official_logs), and the
accuracy log (every response logged: accuracy_log_probability 1) holds each sample's output.
The gRPC protocols run every scenario in test_net_grpc.py with the same checks. Then what the
logs carry: the streamed chat text in the accuracy log, and token counts without usage (counted
from the content chunks, flagged as such).

Each run is tiny (8 samples): SingleStream, MultiStream and Server are then INVALID for early
stopping alone (too few queries for its estimate), Offline is VALID; any other constraint or a
failed sample would be a bug."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import loadgen
import numpy as np
import pytest
from loadgen.net.datasets import Dataset, Sample
from loadgen.net.endpoint import Endpoint, EndpointSut, endpoint_qsl
from net_helpers import check_official_logs, closing_suts

pytestmark = pytest.mark.usefixtures("hang_watchdog")

SAMPLES = 8
TOKENS = 3  # the tiny GGUF and Triton's stream model emit exactly max_tokens tokens
ARRAYS = [np.arange(i, i + 4, dtype=np.float32).reshape(1, 4) for i in range(4)]


@dataclass(frozen=True)
class Target:
    server: str  # the session fixture that starts it
    endpoint: Callable[[Any], Endpoint]
    dataset: Dataset
    tokens: bool
    expected_output: Callable[[int], bytes | None]  # qsl index -> data (None: any text)


TARGETS = {
    "llama-completions": Target(
        "llama_server",
        lambda s: Endpoint(s.url, api="openai", model=s.model),
        Dataset([Sample(prompt=f"prompt {i}", max_tokens=TOKENS) for i in range(4)]),
        True,
        lambda i: None,
    ),
    "llama-chat": Target(
        "llama_server",
        lambda s: Endpoint(s.url, api="openai-chat", model=s.model),
        Dataset(
            [
                Sample(messages=({"role": "user", "content": f"hi {i}"},), max_tokens=TOKENS)
                for i in range(4)
            ]
        ),
        True,
        lambda i: None,
    ),
    "llama-chat-whole": Target(
        "llama_server",
        lambda s: Endpoint(s.url, api="openai-chat", model=s.model, stream=False),
        Dataset(
            [
                Sample(messages=({"role": "user", "content": f"hi {i}"},), max_tokens=TOKENS)
                for i in range(4)
            ]
        ),
        False,  # a whole answer has no first token to time
        lambda i: None,
    ),
    "triton-kserve-json": Target(
        "triton_server",
        lambda s: Endpoint(s.url, api="kserve", model="identity"),
        Dataset([Sample(tensors={"INPUT0": a}) for a in ARRAYS]),
        False,
        lambda i: ARRAYS[i].tobytes(),
    ),
    "triton-kserve-binary": Target(
        "triton_server",
        lambda s: Endpoint(s.url, api="kserve", model="identity", binary_tensors=True),
        Dataset([Sample(tensors={"INPUT0": a}) for a in ARRAYS]),
        False,
        lambda i: ARRAYS[i].tobytes(),
    ),
    "triton-generate-stream": Target(
        "triton_server",
        lambda s: Endpoint(s.url, api="triton-generate", model="stream"),
        Dataset([Sample(prompt=f"p{i}", max_tokens=TOKENS) for i in range(4)]),
        True,
        lambda i: b"tok0 tok1 tok2 ",
    ),
}

SETTINGS: dict[loadgen.Scenario, dict[str, Any]] = {
    loadgen.Scenario.SINGLE_STREAM: dict(min_query_count=SAMPLES),
    loadgen.Scenario.MULTI_STREAM: dict(
        min_query_count=SAMPLES // 2, multi_stream_samples_per_query=2
    ),
    loadgen.Scenario.SERVER: dict(
        min_query_count=SAMPLES,
        server_target_qps=100,
        # Bounds no tiny request misses, even on a busy machine: the verdict is early stopping's.
        server_target_latency_ns=5_000_000_000,
        server_ttft_latency_ns=5_000_000_000,
        server_tpot_latency_ns=5_000_000_000,
    ),
    loadgen.Scenario.OFFLINE: dict(min_query_count=SAMPLES, offline_expected_qps=SAMPLES),
}
QUERIES = {
    loadgen.Scenario.SINGLE_STREAM: SAMPLES,
    loadgen.Scenario.MULTI_STREAM: SAMPLES // 2,
    loadgen.Scenario.SERVER: SAMPLES,
    loadgen.Scenario.OFFLINE: 1,
}


@pytest.fixture
def make_sut() -> Iterator[Any]:
    yield from closing_suts(EndpointSut)


@pytest.mark.parametrize("scenario", list(loadgen.Scenario), ids=lambda s: s.value)
@pytest.mark.parametrize("target_name", list(TARGETS))
def test_every_scenario_writes_logs_the_official_parser_reads(
    target_name: str,
    scenario: loadgen.Scenario,
    request: pytest.FixtureRequest,
    make_sut: Any,
    tmp_path: Path,
) -> None:
    target = TARGETS[target_name]
    server = request.getfixturevalue(target.server)
    sut = make_sut(target.endpoint(server), target.dataset)
    settings = loadgen.Settings(
        scenario=scenario,
        min_duration_ms=0,
        use_token_latencies=target.tokens,
        accuracy_log_probability=1.0,
        **SETTINGS[scenario],
    )
    result = loadgen.run(
        sut, endpoint_qsl(target.dataset), settings, log_dir=tmp_path, progress=False
    )

    expected_failures = () if scenario is loadgen.Scenario.OFFLINE else ("early_stopping",)
    assert result.failed_constraints == expected_failures, result.summary
    check_official_logs(
        result,
        queries=QUERIES[scenario],
        samples=SAMPLES,
        tokens_per_sample=TOKENS if target.tokens else None,
    )
    stats = sut.stats()
    assert stats["failed"] == 0, stats["last_failure"]
    assert stats["issued"] == stats["completed"] == SAMPLES
    if target.tokens:
        source = "tokens_from_chunks" if target_name.startswith("triton") else "tokens_from_usage"
        assert stats[source] == SAMPLES  # generate_stream has no usage; llama-server sends it

    entries = json.loads(result.accuracy_path.read_text())
    assert len(entries) == SAMPLES
    assert sorted(e["seq_id"] for e in entries) == list(range(SAMPLES))
    for entry in entries:
        data = bytes.fromhex(entry["data"])
        expected = target.expected_output(entry["qsl_idx"])
        if expected is None:
            assert data.decode()  # the streamed text, non-empty
        else:
            assert data == expected
        if target.tokens:
            assert entry["token_count"] == TOKENS


# ------------------------------------------------------------------ what the logs carry


def direct_chat(server: Any, content: str) -> str:
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    body = {
        "model": server.model,
        "messages": [{"role": "user", "content": content}],
        "max_tokens": 6,
        "temperature": 0,
    }
    conn.request(
        "POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"}
    )
    text = json.loads(conn.getresponse().read())["choices"][0]["message"]["content"]
    conn.close()
    return str(text)


def test_chat_accuracy_log_holds_the_streamed_text(
    llama_server: Any, make_sut: Any, tmp_path: Path
) -> None:
    # Greedy: the text assembled from the streamed deltas is the non-streamed answer.
    contents = [f"hello {i}" for i in range(3)]
    dataset = Dataset(
        [
            Sample(
                messages=({"role": "user", "content": c},),
                max_tokens=6,
                extra_body={"temperature": 0},
            )
            for c in contents
        ]
    )
    sut = make_sut(Endpoint(llama_server.url, api="openai-chat", model=llama_server.model), dataset)
    settings = loadgen.Settings(
        scenario=loadgen.Scenario.SINGLE_STREAM, mode=loadgen.Mode.ACCURACY, min_duration_ms=0
    )
    result = loadgen.run(sut, endpoint_qsl(dataset), settings, log_dir=tmp_path, progress=False)
    entries = json.loads(result.accuracy_path.read_text())
    assert sorted(e["qsl_idx"] for e in entries) == [0, 1, 2]
    for entry in entries:
        text = bytes.fromhex(entry["data"]).decode()
        assert text == direct_chat(llama_server, contents[entry["qsl_idx"]])


@pytest.mark.parametrize("api", ["openai", "openai-chat"])
def test_tokens_without_usage_are_counted_from_chunks_and_flagged(
    api: str, fault_server: Any, make_sut: Any, tmp_path: Path
) -> None:
    # The fault server's "no-usage" model streams one chunk per token and no usage.
    dataset = Dataset([Sample(prompt="x", max_tokens=TOKENS)] * 2)
    sut = make_sut(Endpoint(fault_server.url, api=api, model="no-usage"), dataset)
    settings = loadgen.Settings(
        scenario=loadgen.Scenario.OFFLINE,
        min_duration_ms=0,
        min_query_count=SAMPLES,
        use_token_latencies=True,
    )
    result = loadgen.run(sut, endpoint_qsl(dataset), settings, log_dir=tmp_path, progress=False)
    assert result.valid and result.token_count == SAMPLES * TOKENS
    stats = sut.stats()
    assert (stats["tokens_from_chunks"], stats["tokens_from_usage"]) == (SAMPLES, 0)
    records = sut.records()
    assert records["token_source"] == ["chunks"] * SAMPLES
    assert records["tokens"] == [TOKENS] * SAMPLES
    assert all(len(c) == TOKENS for c in records["chunk_times_ns"])
