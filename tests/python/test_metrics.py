"""Request metrics (docs/metrics.md) through loadgen.run with in-process SUTs: the metrics equal
what the run recorded per sample (from its trace, by the official percentile rule), SUTs with
known service times give the goodput of each SLO tier, per-stage breakdowns, failed samples,
the results file and its schema (both directions), and the CLI's --percentiles and --slo."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterator, Mapping

import jsonschema
import loadgen
import pytest
from loadgen import results_file
from loadgen.__main__ import main as cli_main
from loadgen.metrics import (
    HISTOGRAM_RELATIVE_ERROR,
    MetricOptions,
    Slo,
    parse_percentiles,
    parse_slo,
)
from loadgen.report import load_run

pytestmark = pytest.mark.usefixtures("hang_watchdog")


def tokens_of(index: int) -> int:
    """The output length the token SUTs give sample `index`: 2..6."""
    return index % 5 + 2


class TokenSut:
    """A token SUT: the first token at once, then `slow_s` more for odd sample indices (0 for
    even ones) before completing with tokens_of(index) tokens. Records each id's index."""

    def __init__(self, slow_s: float = 0.0, first_token_delay_s: float = 0.0) -> None:
        self.slow_s = slow_s
        self.first_token_delay_s = first_token_delay_s
        self.index_of: dict[int, int] = {}

    def issue(self, batch: loadgen.SampleBatch) -> None:
        for i, index in zip(batch.ids, batch.indices):
            self.index_of[i] = index
            if index % 2 and self.first_token_delay_s:
                time.sleep(self.first_token_delay_s)
            loadgen.first_token([i])
            if index % 2 and self.slow_s:
                time.sleep(self.slow_s)
            loadgen.complete([i], [tokens_of(index)])

    def flush(self) -> None:
        pass


def token_settings(**changes: Any) -> loadgen.Settings:
    base: dict[str, Any] = dict(
        scenario=loadgen.Scenario.SINGLE_STREAM,
        min_duration_ms=0,
        min_query_count=40,
        use_token_latencies=True,
    )
    base.update(changes)
    return loadgen.Settings(**base)


def at(values: list[int], p: float) -> int:
    """The official percentile rule: element trunc(n * p) of the sorted values."""
    s = sorted(values)
    return s[min(int(len(s) * p / 100), len(s) - 1)]


def test_metrics_are_the_recorded_samples_by_the_official_rule(tmp_path: Path) -> None:
    sut = TokenSut(slow_s=0.002)
    options = MetricOptions(percentiles=(50, 90, 99.9), tiers={"all": Slo(e2e_ms=60_000)})
    result = loadgen.run(
        sut,
        loadgen.InMemoryQsl(64, 64),
        token_settings(),
        log=loadgen.LogOptions(outdir=tmp_path, enable_trace=True),
        metrics=options,
        progress=False,
    )
    m = result.metrics
    assert m is not None and result.errors == 0
    samples = load_run(tmp_path).samples
    assert samples is not None and len(samples) == m.requests == result.samples_completed
    e2e = [s.latency_ns for s in samples]
    ttft = [s.ttft_ns for s in samples]
    assert None not in ttft
    tokens = [tokens_of(s.sample_idx) for s in samples]
    tpot = [(lat - t) // (n - 1) for lat, t, n in zip(e2e, ttft, tokens)]  # type: ignore[operator]
    for dist, values in ((m.e2e_ns, e2e), (m.ttft_ns, ttft), (m.tpot_ns, tpot)):
        assert dist.count == len(values) and not dist.approximate
        assert dist.min == min(values) and dist.max == max(values)  # type: ignore[type-var]
        assert dist.mean == pytest.approx(sum(values) / len(values))  # type: ignore[arg-type]
        assert dist.percentiles == {p: at(values, p) for p in (50, 90, 99.9)}  # type: ignore[arg-type]
    # The official figures agree where they overlap (same rule, same samples).
    assert result.latency is not None
    assert m.e2e_ns.percentiles[50] == result.latency.percentiles_ns[0.5]
    assert m.e2e_ns.percentiles[90] == result.latency.percentiles_ns[0.9]
    assert m.output_tokens == sum(tokens) == result.token_count
    duration_s = m.duration_s
    assert m.request_throughput == pytest.approx(m.requests / duration_s)
    assert m.output_token_throughput == pytest.approx(sum(tokens) / duration_s)
    per_user = sorted(n * 1e9 / lat for n, lat in zip(tokens, e2e))
    assert m.output_tokens_per_s_per_user.min == pytest.approx(per_user[0])
    assert m.output_tokens_per_s_per_user.max == pytest.approx(per_user[-1])
    # In-process: no chunks seen, no input lengths.
    assert m.itl_ns.count == 0
    assert m.input_tokens is None and m.total_token_throughput is None
    assert m.goodput["all"].met == m.requests and m.goodput["all"].share == 1.0
    assert m.goodput["all"].rate_per_s == pytest.approx(m.requests / duration_s)


def test_known_service_times_give_each_tiers_goodput(tmp_path: Path) -> None:
    # Odd sample indices wait 150 ms for their first token and 20 ms per token after it; even
    # ones answer at once. "interactive" (TTFT <= 75 ms) is met by the even ones only, "batch"
    # (E2E <= 60 s) by all, "tight" (TPOT <= 5 ms) by the even ones only.
    sut = TokenSut(slow_s=0.08, first_token_delay_s=0.15)
    tiers = {
        "interactive": Slo(ttft_ms=75),
        "batch": Slo(e2e_ms=60_000),
        "tight": Slo(tpot_ms=5),
    }
    result = loadgen.run(
        sut,
        loadgen.InMemoryQsl(64, 64),
        token_settings(min_query_count=16),
        log_dir=tmp_path,
        metrics=MetricOptions(tiers=tiers),
        progress=False,
    )
    m = result.metrics
    assert m is not None
    even = sum(1 for index in sut.index_of.values() if index % 2 == 0)
    assert m.requests == len(sut.index_of) >= 16
    assert 0 < even < m.requests
    assert m.goodput["interactive"].met == even
    assert m.goodput["interactive"].share == pytest.approx(even / m.requests)
    assert m.goodput["batch"].met == m.requests
    # Odd ones: at least 80 ms over at most 5 tokens: >= 20 ms per token.
    assert m.goodput["tight"].met == even
    assert m.goodput["interactive"].slo == tiers["interactive"]
    assert m.ttft_ns.max >= 150_000_000
    assert m.ttft_ns.min < 75_000_000 and m.ttft_ns.percentiles[99] >= 150_000_000


def test_failed_samples_count_but_never_meet_an_objective(tmp_path: Path) -> None:
    class HalfFails:
        def issue(self, batch: loadgen.SampleBatch) -> None:
            for i, index in zip(batch.ids, batch.indices):
                if index % 2:
                    loadgen.fail([i], "error")
                else:
                    loadgen.complete([i])

        def flush(self) -> None:
            pass

    result = loadgen.run(
        HalfFails(),
        loadgen.InMemoryQsl(64, 64),
        loadgen.Settings(
            scenario=loadgen.Scenario.SINGLE_STREAM, min_duration_ms=0, min_query_count=20
        ),
        log_dir=tmp_path,
        metrics=MetricOptions(tiers={"any": Slo(e2e_ms=60_000)}),
        progress=False,
    )
    m = result.metrics
    assert m is not None
    assert m.failed == result.samples_failed > 0
    assert m.requests == result.samples_completed
    assert m.goodput["any"].met == m.requests - m.failed == m.e2e_ns.count
    # Without token latencies: no token figures, and a TTFT objective cannot be met.
    assert m.ttft_ns.count == m.tpot_ns.count == 0 and m.output_tokens == 0


def test_stages_have_their_own_metrics_and_warm_up_is_left_out(tmp_path: Path) -> None:
    load = loadgen.Stages(
        [
            loadgen.Warmup(loadgen.ConstantRate(500, queries=30)),
            loadgen.Stage(loadgen.Concurrency(2, queries=50), "main"),
        ]
    )
    result = loadgen.run(
        TokenSut(),
        loadgen.InMemoryQsl(256, 64),
        loadgen.Settings(scenario=loadgen.Scenario.SERVER, use_token_latencies=True),
        log_dir=tmp_path,
        load=load,
        metrics=MetricOptions(percentiles=(50, 99), tiers={"fast": Slo(ttft_ms=10_000)}),
        progress=False,
    )
    warm, main = result.stages
    assert warm.metrics is not None and main.metrics is not None and result.metrics is not None
    assert (warm.metrics.requests, main.metrics.requests) == (30, 50)
    assert result.metrics.requests == 50  # the measured stages only
    assert result.metrics.e2e_ns == main.metrics.e2e_ns
    assert main.metrics.goodput["fast"].met == 50
    assert warm.metrics.e2e_ns.max <= warm.latency_max_ns
    assert warm.metrics.e2e_ns.percentiles[50] == warm.latency_percentiles_ns[0.5]
    doc = results_file.read(tmp_path)
    assert [s["metrics"]["requests"] for s in doc["stages"]] == [30, 50]
    assert [s["name"] for s in doc["stages"]] == ["warm-up", "main"]


# --- the results file ---------------------------------------------------------------------------


def schema_mismatches(
    value: Any, schema: Mapping[str, Any], root: Mapping[str, Any], at: str
) -> list[str]:
    """Where the file has a field the schema does not name, or the schema names (as a fixed
    property) a field the file lacks."""
    if "$ref" in schema:
        ref = schema["$ref"].split("/")[-1]
        return schema_mismatches(value, root["$defs"][ref], root, at)
    problems: list[str] = []
    if isinstance(value, dict):
        props = schema.get("properties")
        if props is not None:
            problems += [f"{at}.{k}: not in the schema" for k in value if k not in props]
            problems += [
                f"{at}.{k}: in the schema, not in the file" for k in props if k not in value
            ]
            for k, v in value.items():
                if k in props:
                    problems += schema_mismatches(v, props[k], root, f"{at}.{k}")
        else:
            extra = schema.get("additionalProperties")
            if not isinstance(extra, dict):
                problems.append(f"{at}: an object the schema does not describe")
            else:
                for k, v in value.items():
                    problems += schema_mismatches(v, extra, root, f"{at}.{k}")
    elif isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            problems += schema_mismatches(v, schema["items"], root, f"{at}[{i}]")
    return problems


def all_property_names(schema: Any) -> set[str]:
    names: set[str] = set()
    if isinstance(schema, dict):
        names |= set(schema.get("properties", {}))
        for v in schema.values():
            names |= all_property_names(v)
    elif isinstance(schema, list):
        for v in schema:
            names |= all_property_names(v)
    return names


DATA_KEYED = ("percentiles", "percentiles_ns", "goodput", "slo_tiers", "failed_by_reason")


def file_keys(value: Any) -> set[str]:
    """Every field name of the file; the keys of maps keyed by data (percentiles, tier names,
    failure reasons) are not field names."""
    keys: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            keys.add(k)
            if k in DATA_KEYED and isinstance(v, dict):
                for inner in v.values():
                    keys |= file_keys(inner)
            else:
                keys |= file_keys(v)
    elif isinstance(value, list):
        for v in value:
            keys |= file_keys(v)
    return keys


@pytest.fixture(scope="module")
def staged_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[loadgen.RunResult]:
    log_dir = tmp_path_factory.mktemp("staged")
    load = loadgen.Stages(
        [
            loadgen.Warmup(loadgen.ConstantRate(400, queries=20)),
            loadgen.Stage(loadgen.ConstantRate(400, queries=40), "main"),
        ]
    )
    yield loadgen.run(
        TokenSut(),
        loadgen.InMemoryQsl(256, 64),
        loadgen.Settings(scenario=loadgen.Scenario.SERVER, use_token_latencies=True),
        log_dir=log_dir,
        load=load,
        metrics=MetricOptions(
            percentiles=(50, 90, 99, 99.9),
            tiers={"interactive": Slo(ttft_ms=200, tpot_ms=50), "batch": Slo(e2e_ms=5000)},
        ),
        progress=False,
    )


def test_a_real_runs_file_validates_against_the_schema(staged_run: loadgen.RunResult) -> None:
    assert staged_run.results_path == staged_run.log_dir / "loadgen_results.json"
    doc = json.loads(staged_run.results_path.read_text())
    schema = results_file.schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)
    assert doc["schema_version"] == results_file.SCHEMA_VERSION
    assert doc["metrics"]["goodput"].keys() == {"interactive", "batch"}
    assert doc["metrics"]["ttft_ns"]["percentiles"].keys() == {"50", "90", "99", "99.9"}
    assert doc["options"]["slo_tiers"]["interactive"] == {
        "ttft_ms": 200,
        "tpot_ms": 50,
        "e2e_ms": None,
    }
    assert doc["metrics"]["requests"] == staged_run.metrics.requests  # type: ignore[union-attr]


def test_the_schema_names_exactly_the_fields_the_file_has(staged_run: loadgen.RunResult) -> None:
    assert staged_run.results_path is not None
    doc = json.loads(staged_run.results_path.read_text())
    schema = results_file.schema()
    assert schema_mismatches(doc, schema, schema, "$") == []
    # Every field the schema names occurs in this run's file, except the endpoint rows' and
    # the self-check's client figures (an in-process SUT has none;
    # tests/python/test_metrics_endpoint.py covers them).
    endpoint_fields = set(schema["$defs"]["endpoint"]["properties"]) - {"metrics"}
    client_fields = set(schema["properties"]["generator"]["properties"]["client"]["properties"])
    assert doc["generator"] is not None and doc["generator"]["client"] is None
    expected_absent = (endpoint_fields | client_fields) - file_keys(doc)
    assert all_property_names(schema) - file_keys(doc) == expected_absent


def test_the_file_refuses_a_newer_schema_and_sections_cannot_clash(tmp_path: Path) -> None:
    (tmp_path / "loadgen_results.json").write_text('{"schema_version": 99}')
    with pytest.raises(ValueError, match="schema_version 99"):
        results_file.read(tmp_path)
    with pytest.raises(ValueError, match="exists already"):
        results_file.add_section("metrics", lambda r: None)


def test_a_section_added_without_its_schema_is_caught(staged_run: loadgen.RunResult) -> None:
    results_file.add_section("extra", lambda r: {"x": 1})
    try:
        doc = results_file.document(staged_run)
    finally:
        del results_file.SECTIONS["extra"]
    schema = results_file.schema()
    assert schema_mismatches(doc, schema, schema, "$") == ["$.extra: not in the schema"]


# --- options and the CLI ------------------------------------------------------------------------


def test_parsing_percentiles_and_slo_tiers() -> None:
    assert parse_percentiles("50, 90,99.9") == (50.0, 90.0, 99.9)
    assert parse_slo("interactive:ttft_ms=200,tpot_ms=50") == (
        "interactive",
        Slo(ttft_ms=200, tpot_ms=50),
    )
    assert parse_slo("batch:e2e_ms=5000") == ("batch", Slo(e2e_ms=5000))
    for bad, match in [
        ("nocolon", "expected NAME:KEY=MS"),
        ("x:ttft=1", "is not one of"),
        ("x:ttft_ms=fast", "is not a number"),
        ("x:ttft_ms=0", "positive"),
        ("x:ttft_ms=1,ttft_ms=2", "given twice"),
    ]:
        with pytest.raises(ValueError, match=match):
            parse_slo(bad)
    for bad in ("0", "101", "fifty", ""):
        with pytest.raises(ValueError):
            parse_percentiles(bad)
    with pytest.raises(ValueError):
        MetricOptions(percentiles=(0,))


def test_demo_prints_goodput_per_tier_and_writes_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = cli_main(
        [
            "demo",
            "--scenario",
            "Server",
            "--duration-ms",
            "300",
            "--log-dir",
            str(tmp_path),
            "--percentiles",
            "50,99",
            "--slo",
            "loose:e2e_ms=60000",
            "--slo",
            "impossible:e2e_ms=0.000001",
        ]
    )
    out = capsys.readouterr().out
    assert rc in (0, 1)
    lines = [line for line in out.splitlines() if line.startswith("goodput ")]
    assert [line.split(":")[0] for line in lines] == ["goodput loose", "goodput impossible"]
    assert "(100.0 %)" in lines[0] and " 0/" in lines[1] and "(0.0 %)" in lines[1]
    doc = results_file.read(tmp_path / "Server")
    assert doc["options"]["percentiles"] == [50, 99]
    assert list(doc["metrics"]["goodput"]) == ["loose", "impossible"]


def test_demo_refuses_a_bad_slo(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["demo", "--scenario", "Server", "--slo", "x:latency=3"]) == 2
    assert "is not one of" in capsys.readouterr().err


def test_the_histogram_bound_is_published() -> None:
    assert HISTOGRAM_RELATIVE_ERROR == 2**-8
