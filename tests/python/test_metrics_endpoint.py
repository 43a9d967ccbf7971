"""Request metrics of an endpoint SUT against the real llama.cpp server (docs/metrics.md): the
inter-token latencies are the gaps between the client's chunk arrival times, each base URL
gets its own breakdown whose counts add up, input lengths of token-id prompts give the
total-token throughput, and the results file of such a run matches its schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import jsonschema
import loadgen
import pytest
from loadgen import results_file
from loadgen.metrics import MetricOptions, Slo
from loadgen.net.datasets import Dataset, Sample
from loadgen.net.endpoint import Endpoint, EndpointSut, endpoint_qsl
from net_helpers import closing_suts
from servers.fixtures import LlamaServer
from test_metrics import all_property_names, at, file_keys, schema_mismatches

pytestmark = pytest.mark.usefixtures("hang_watchdog")

MAX_TOKENS = 6  # the tiny model streams exactly max_tokens tokens, one chunk each
INPUT_LEN = 8


@pytest.fixture
def make_sut() -> Iterator[Any]:
    yield from closing_suts(EndpointSut)


def test_itl_per_endpoint_and_input_tokens_against_llama_server(
    llama_server: LlamaServer, make_sut: Any, tmp_path: Path
) -> None:
    first = llama_server.first_printable_id
    dataset = Dataset(
        [
            Sample(token_ids=tuple(range(first + i, first + i + INPUT_LEN)), max_tokens=MAX_TOKENS)
            for i in range(16)
        ]
    )
    port = llama_server.url.rsplit(":", 1)[1]
    urls = [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]  # two replicas, one server
    sut = make_sut(Endpoint(urls, api="openai", model=llama_server.model), dataset)
    options = MetricOptions(
        percentiles=(50, 90, 99),
        tiers={"loose": Slo(ttft_ms=60_000, tpot_ms=60_000), "impossible": Slo(e2e_ms=1e-6)},
    )
    result = loadgen.run(
        sut,
        endpoint_qsl(dataset),
        loadgen.Settings(
            scenario=loadgen.Scenario.SINGLE_STREAM,
            min_duration_ms=0,
            min_query_count=24,
            use_token_latencies=True,
        ),
        log_dir=tmp_path,
        metrics=options,
        progress=False,
    )
    m = result.metrics
    assert m is not None and result.errors == 0 and m.failed == 0
    n = result.samples_completed
    assert m.requests == n >= 24
    # Five gaps between six chunks per request, exactly the client's recorded gaps.
    records = sut.records()
    gaps = [b - a for times in records["chunk_times_ns"] for a, b in zip(times, times[1:])]
    assert m.itl_ns.count == len(gaps) == n * (MAX_TOKENS - 1)
    assert m.itl_ns.percentiles == {p: at(gaps, p) for p in (50, 90, 99)}
    # Chunks that arrive in one read share its stamp (a gap of 0: the server's tokens came
    # together); most gaps are real. (A client that stamped every chunk at the end of the
    # response, as Beast's eager read once made ours, would give nothing but zeros.)
    assert m.itl_ns.min == min(gaps) >= 0
    assert sum(g > 0 for g in gaps) > len(gaps) / 2, sorted(gaps)[: len(gaps) // 2 + 1]
    assert m.output_tokens == n * MAX_TOKENS
    assert m.input_tokens == n * INPUT_LEN
    assert m.total_token_throughput == pytest.approx(n * (INPUT_LEN + MAX_TOKENS) / m.duration_s)
    assert m.goodput["loose"].met == n and m.goodput["impossible"].met == 0
    # One breakdown per URL, round robin: the counts add up to the run's.
    assert [e.url for e in result.endpoints] == urls
    counts = [e.completed for e in result.endpoints]
    assert sum(counts) == n and min(counts) >= n // 2 - 1
    for e in result.endpoints:
        assert e.failed == 0 and e.metrics.requests == e.completed
        assert e.metrics.itl_ns.count == e.completed * (MAX_TOKENS - 1)
        assert e.metrics.input_tokens == e.completed * INPUT_LEN
        # The engine's rows of its samples: never longer than the run's largest E2E.
        assert e.metrics.e2e_ns.max <= m.e2e_ns.max
    assert sum(e.metrics.itl_ns.count for e in result.endpoints) == m.itl_ns.count

    # The file of an endpoint run: valid, and the schema names exactly its fields.
    assert result.results_path is not None
    doc = json.loads(result.results_path.read_text())
    schema = results_file.schema()
    jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)
    assert schema_mismatches(doc, schema, schema, "$") == []
    stage_fields = set(schema["$defs"]["stage"]["properties"]) - {"metrics"}
    assert all_property_names(schema) - file_keys(doc) == stage_fields - file_keys(doc)
    assert [e["completed"] for e in doc["endpoints"]] == counts
    assert doc["metrics"]["itl_ns"]["count"] == m.itl_ns.count


def test_bench_prints_goodput_per_tier_and_writes_the_endpoints(
    llama_server: LlamaServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from loadgen.__main__ import main

    rc = main(
        [
            "bench",
            llama_server.url,
            "--api",
            "openai",
            "--model",
            llama_server.model,
            "--scenario",
            "SingleStream",
            "--sample-count",
            "16",
            "--input-len",
            "4",
            "--output-len",
            str(MAX_TOKENS),
            "--min-duration-ms",
            "0",
            "--min-query-count",
            "12",
            "--no-report",
            "--percentiles",
            "50,99.9",
            "--slo",
            "loose:e2e_ms=60000",
            "--slo",
            "impossible:e2e_ms=0.000001",
            "--log-dir",
            str(tmp_path),
        ]
    )
    assert rc in (0, 1)  # the verdict depends on this machine's load
    out = capsys.readouterr().out
    goodput = [line for line in out.splitlines() if line.startswith("goodput ")]
    assert [line.split(":")[0] for line in goodput] == ["goodput loose", "goodput impossible"]
    assert "(100.0 %)" in goodput[0] and "(0.0 %)" in goodput[1]
    assert any(line.startswith("itl ") for line in out.splitlines())  # streamed: ITL printed
    doc = results_file.read(tmp_path)
    assert doc["options"]["percentiles"] == [50, 99.9]
    (endpoint,) = doc["endpoints"]
    assert endpoint["completed"] == doc["metrics"]["requests"] >= 12
    assert doc["metrics"]["itl_ns"]["count"] == doc["metrics"]["requests"] * (MAX_TOKENS - 1)


def test_a_load_models_warm_up_is_left_out_of_the_itl_and_the_urls(
    llama_server: LlamaServer, make_sut: Any, tmp_path: Path
) -> None:
    dataset = Dataset([Sample(prompt=f"say {i}", max_tokens=MAX_TOKENS) for i in range(16)])
    sut = make_sut(Endpoint(llama_server.url, api="openai", model=llama_server.model), dataset)
    load = loadgen.Stages(
        [
            loadgen.Warmup(loadgen.Concurrency(1, queries=6)),
            loadgen.Stage(loadgen.Concurrency(2, queries=14), "main"),
        ]
    )
    result = loadgen.run(
        sut,
        endpoint_qsl(dataset),
        loadgen.Settings(scenario=loadgen.Scenario.SERVER, use_token_latencies=True),
        log_dir=tmp_path,
        load=load,
        progress=False,
    )
    warm, main = result.stages
    assert result.metrics is not None and warm.metrics is not None and main.metrics is not None
    assert (warm.metrics.requests, main.metrics.requests, result.metrics.requests) == (6, 14, 14)
    gaps = MAX_TOKENS - 1
    assert warm.metrics.itl_ns.count == 6 * gaps
    assert main.metrics.itl_ns.count == result.metrics.itl_ns.count == 14 * gaps
    (endpoint,) = result.endpoints
    assert endpoint.completed == 14  # the measured stage's requests


def server_prompt_tokens(llama_server: LlamaServer, prompt: str) -> int:
    """The server's own usage.prompt_tokens for one chat request, asked without loadgen."""
    import urllib.request

    body = {
        "model": llama_server.model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": 1,
    }
    request = urllib.request.Request(
        llama_server.url + "/v1/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return int(json.load(response)["usage"]["prompt_tokens"])


@pytest.mark.parametrize("stream", [True, False])
def test_total_token_throughput_counts_the_servers_prompt_tokens(
    llama_server: LlamaServer, make_sut: Any, tmp_path: Path, stream: bool
) -> None:
    # Text prompts of different lengths: loadgen cannot count their tokens, the server can.
    prompts = [" ".join(["hello"] * (2 + 3 * i)) for i in range(4)]
    dataset = Dataset([Sample(prompt=p, max_tokens=MAX_TOKENS) for p in prompts])
    sut = make_sut(
        Endpoint(llama_server.url, api="openai-chat", model=llama_server.model, stream=stream),
        dataset,
    )
    assert sut.input_token_counts == (-1,) * len(prompts)  # no token-id prompt
    result = loadgen.run(
        sut,
        endpoint_qsl(dataset),
        loadgen.Settings(
            scenario=loadgen.Scenario.SINGLE_STREAM,
            min_duration_ms=0,
            min_query_count=8,
            use_token_latencies=stream,  # whole answers have no first token
        ),
        log_dir=tmp_path,
        progress=False,
    )
    m = result.metrics
    assert m is not None and result.errors == 0 and m.failed == 0
    records = sut.records()
    # Each record carries the server's count; the same prompt always gets the same count, and
    # it is what the server answers to a request made without loadgen.
    expected = {i: server_prompt_tokens(llama_server, p) for i, p in enumerate(prompts)}
    assert len(set(expected.values())) == len(prompts)  # longer prompts, more tokens
    assert records["prompt_tokens"] == [expected[s] for s in records["sample_index"]]
    assert m.requests == len(records["sample_index"]) == result.samples_completed
    assert m.input_tokens == sum(records["prompt_tokens"])
    assert m.total_token_throughput == pytest.approx(
        (m.input_tokens + m.output_tokens) / m.duration_s
    )
    (endpoint,) = result.endpoints
    assert endpoint.metrics.input_tokens == m.input_tokens
    assert endpoint.metrics.total_token_throughput is not None
    # One URL answered every request: its rows are the run's, timed from the same scheduled
    # moments, so every figure is the run's.
    assert endpoint.metrics == m


def test_written_on_issue_is_counted_and_can_be_turned_off(
    llama_server: LlamaServer, make_sut: Any, tmp_path: Path
) -> None:
    dataset = Dataset([Sample(prompt="hello there", max_tokens=2) for _ in range(4)])
    settings = loadgen.Settings(
        scenario=loadgen.Scenario.SERVER,
        server_target_qps=20,
        min_duration_ms=0,
        min_query_count=30,
    )
    written: dict[bool, int] = {}
    for write_on_issue in (True, False):
        sut = make_sut(
            Endpoint(
                llama_server.url,
                api="openai-chat",
                model=llama_server.model,
                write_on_issue=write_on_issue,
            ),
            dataset,
        )
        result = loadgen.run(
            sut,
            endpoint_qsl(dataset),
            settings,
            log_dir=tmp_path / str(write_on_issue),
            progress=False,
        )
        assert result.errors == 0
        stats, records = sut.stats(), sut.records()
        assert stats["completed"] == len(records["written_on_issue"]) >= 30
        assert stats["written_on_issue"] == sum(records["written_on_issue"])
        written[write_on_issue] = stats["written_on_issue"]
    # One sample per query at 20/s: most find an idle connection (one is kept ready even
    # though llama.cpp closes it after each stream); none when turned off.
    assert written[True] > 0
    assert written[False] == 0
