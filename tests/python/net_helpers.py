"""Helpers the endpoint tests share: SUTs closed at teardown, the accuracy log's entries, and
the logs of a run read as the official log parser reads them."""

from __future__ import annotations

import functools
import json
from typing import Any, Callable, Iterator, TypeVar

import loadgen

Sut = TypeVar("Sut")


def closing_suts(construct: Callable[..., Sut]) -> Iterator[Callable[..., Sut]]:
    """A fixture body: yields a SUT factory and closes every SUT it made at teardown."""
    made: list[Any] = []

    def make(*args: Any, **kwargs: Any) -> Sut:
        sut = construct(*args, **kwargs)
        made.append(sut)
        return sut

    yield make
    for sut in made:
        sut.close()


def run_dataset(sut: Any, dataset: Any, log_dir: Any, **overrides: Any) -> loadgen.RunResult:
    """A run of every sample of an endpoint dataset once (SingleStream unless overridden)."""
    from loadgen.net.endpoint import endpoint_qsl

    base: dict[str, Any] = dict(
        scenario=loadgen.Scenario.SINGLE_STREAM, min_duration_ms=0, min_query_count=len(dataset)
    )
    base.update(overrides)
    return loadgen.run(sut, endpoint_qsl(dataset), loadgen.Settings(**base), log_dir=log_dir)


def accuracy_entries(result: loadgen.RunResult) -> dict[int, bytes]:
    """qsl_idx -> the response bytes of each accuracy-log entry of a run."""
    return {
        e["qsl_idx"]: bytes.fromhex(e["data"]) for e in json.loads(result.accuracy_path.read_text())
    }


@functools.lru_cache(maxsize=None)
def official_log_checks() -> Any:
    """tests/python/test_compliance.py as a module: the official log parser's rules
    (``parse_mlperf_log``: MLPerfLog) and the submission checks re-implemented from them.
    Loaded under its own name so pytest does not collect its tests twice."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent / "test_compliance.py"
    spec = importlib.util.spec_from_file_location("_net_official_log_checks", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_official_logs(
    result: loadgen.RunResult, *, queries: int, samples: int, tokens_per_sample: int | None
) -> dict[str, Any]:
    """Reads a performance run's detail log with the official parser's rules and its summary as
    TEST04 does, checks both against the RunResult (scenario, verdict and the constraints behind
    it, query and sample counts, no error or failed sample, the scenario's metric, TTFT and TPOT
    for token runs), and returns the detail log as key -> first value."""
    checks = official_log_checks()
    parsed = checks.parse_mlperf_log(result.detail_path.read_text())
    detail = {key: entries[0]["value"] for key, entries in parsed.items()}
    scenario = result.scenario.value
    verdict = "VALID" if result.valid else "INVALID"
    assert detail["effective_scenario"] == scenario
    assert detail["result_validity"] == verdict
    assert detail["early_stopping_met"] == ("early_stopping" not in result.failed_constraints)
    assert detail["result_min_queries_met"] == ("min_queries" not in result.failed_constraints)
    assert checks._num_errors(parsed) == 0 and result.errors == 0, result.summary
    assert result.samples_failed == 0 and "loadgen_failed_samples" not in detail
    assert detail["result_query_count"] == result.queries_issued == queries
    assert result.samples_completed == samples
    summary = result.summary
    parsed_scenario, metric, summary_verdict = checks.parse_test04_summary(summary)
    assert (parsed_scenario, summary_verdict) == (scenario, verdict)
    # SingleStream and MultiStream report their metric only once early stopping is met.
    if scenario in ("Server", "Offline") or result.early_stopping_met:
        assert metric is not None and metric > 0, summary
        assert float(detail[checks.METRIC_KEYS[scenario]]) > 0
    if tokens_per_sample is None:
        assert result.token_count == 0 and "result_first_token_mean_latency_ns" not in detail
    else:
        assert result.token_count == samples * tokens_per_sample
        if scenario == "Offline":  # as the official LoadGen: throughput only, no TTFT or TPOT
            assert detail["result_tokens_per_second"] > 0
            assert "Tokens per second: " in summary
        else:
            assert result.first_token_latency is not None
            assert result.time_per_output_token is not None
            assert detail["result_first_token_mean_latency_ns"] == (
                result.first_token_latency.mean_ns
            )
            tpot_p50 = result.time_per_output_token.percentiles_ns[0.5]
            assert detail["result_time_per_output_token_50.00_percentile_ns"] == tpot_p50
            assert 0 < result.first_token_latency.min_ns <= result.first_token_latency.max_ns
            assert "Mean First Token latency (ns)" in summary
            assert "Mean Time per Output Token (ns)" in summary
    return detail
