"""The typed `loadgen` API (issue 7): run() in every scenario, the RunResult it returns, and
plan()."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import loadgen
import numpy as np
import pytest
from loadgen.demo import MatmulSut, NullSut, SleepSut
from typed_api_helpers import QSL, RecordingSut, detail_entries, quick

pytestmark = pytest.mark.usefixtures("hang_watchdog")


# --- run() in every scenario ---------------------------------------------------------------

METRIC_KEYS = {
    loadgen.Scenario.SINGLE_STREAM: ("early_stopping_latency_ss_ns", "early_stopping_latency_ss"),
    loadgen.Scenario.MULTI_STREAM: (
        "early_stopping_latency_multi_stream_ns",
        "early_stopping_latency_ms",
    ),
    loadgen.Scenario.SERVER: ("completed_samples_per_second", "result_completed_samples_per_sec"),
    loadgen.Scenario.OFFLINE: ("samples_per_second", "result_samples_per_second"),
}


@pytest.mark.parametrize("scenario", list(loadgen.Scenario))
@pytest.mark.parametrize("sut_name", ["null", "sleep"])
def test_run_every_scenario_with_the_demo_suts(
    scenario: loadgen.Scenario, sut_name: str, tmp_path: Path
) -> None:
    sut = NullSut() if sut_name == "null" else SleepSut(latency_s=0.0005, per_sample_s=0.00001)
    try:
        result = loadgen.run(sut, QSL, quick(scenario), log_dir=tmp_path)
    finally:
        if isinstance(sut, SleepSut):
            sut.close()
    assert result.valid, (result.failed_constraints, result.summary)
    assert result.failed_constraints == ()
    assert result.scenario is scenario and result.mode is loadgen.Mode.PERFORMANCE
    assert not result.interrupted and result.interrupt_reason == ""
    assert result.errors == 0
    name, key = METRIC_KEYS[scenario]
    assert result.metric_name == name and result.metric > 0
    # The result object carries the very numbers of the detail log.
    detail = detail_entries(result.detail_path)
    assert detail["result_validity"] == "VALID"
    assert result.metric == pytest.approx(float(detail[key]), rel=1e-5)  # the log prints 6 digits
    assert result.latency is not None
    assert result.latency.min_ns == detail["result_min_latency_ns"]
    assert result.latency.max_ns == detail["result_max_latency_ns"]
    assert result.latency.percentiles_ns[0.99] == detail["result_99.00_percentile_latency_ns"]
    assert result.latency.min_ns <= result.latency.percentiles_ns[0.5] <= result.latency.max_ns
    assert (result.query_latency is not None) == (scenario is loadgen.Scenario.MULTI_STREAM)
    assert result.first_token_latency is None and result.time_per_output_token is None
    spq = 8 if scenario is loadgen.Scenario.MULTI_STREAM else 1
    if scenario is loadgen.Scenario.OFFLINE:
        assert result.queries_issued == 1
    else:
        assert (
            result.queries_issued == detail["result_query_count"]
            if scenario is not loadgen.Scenario.SERVER
            else True
        )
        assert result.samples_completed == result.queries_issued * spq
    for path in (result.summary_path, result.detail_path, result.accuracy_path):
        assert path.parent == tmp_path and path.is_file()
    assert "Result is : VALID" in result.summary


def test_run_with_the_numpy_matmul_sut(tmp_path: Path) -> None:
    sut = MatmulSut()
    try:
        result = loadgen.run(sut, QSL, quick(loadgen.Scenario.OFFLINE), log_dir=tmp_path)
    finally:
        sut.close()
    assert result.valid and result.samples_completed == 500


def test_too_few_queries_for_early_stopping_is_invalid(tmp_path: Path) -> None:
    settings = loadgen.Settings(min_duration_ms=0, min_query_count=10)
    result = loadgen.run(NullSut(), QSL, settings, log_dir=tmp_path)
    assert not result.valid
    assert result.failed_constraints == ("early_stopping",)
    assert not result.early_stopping_met
    assert result.queries_issued == 10
    assert result.early_stopping_text == (
        " * Only processed 10 queries.\n * Need to process at least 64 queries for early stopping."
    )
    assert result.early_stopping_latency_ss_ns == 0
    assert "Result is : INVALID" in result.summary


def test_early_stopping_latency_ms_ns_is_a_deprecated_alias(tmp_path: Path) -> None:
    result = loadgen.run(NullSut(), QSL, quick(loadgen.Scenario.MULTI_STREAM), log_dir=tmp_path)
    detail = detail_entries(result.detail_path)
    assert result.early_stopping_latency_multi_stream_ns == detail["early_stopping_latency_ms"] > 0
    with pytest.warns(DeprecationWarning, match="early_stopping_latency_multi_stream_ns"):
        alias = result.early_stopping_latency_ms_ns
    assert alias == result.early_stopping_latency_multi_stream_ns
    # Not a field: copies and dataclasses.asdict carry the new name only.
    assert "early_stopping_latency_ms_ns" not in dataclasses.asdict(result)


def test_one_latency_stats_for_results_and_parsed_logs(tmp_path: Path) -> None:
    import loadgen.report

    assert loadgen.report.LatencyStats is loadgen.LatencyStats
    result = loadgen.run(NullSut(), QSL, quick(loadgen.Scenario.SINGLE_STREAM), log_dir=tmp_path)
    parsed = loadgen.report.load_run(tmp_path).stats("latency")
    assert result.latency is not None and parsed is not None
    assert result.latency.at_target_ns is not None  # a run knows its target percentile
    assert (parsed.min_ns, parsed.max_ns, parsed.mean_ns, dict(parsed.percentiles_ns)) == (
        result.latency.min_ns,
        result.latency.max_ns,
        result.latency.mean_ns,
        dict(result.latency.percentiles_ns),
    )


def test_server_latency_over_target_fails_the_latency_constraint(tmp_path: Path) -> None:
    sut = SleepSut(latency_s=0.003, per_sample_s=0.0)
    try:
        settings = quick(loadgen.Scenario.SERVER, server_target_latency_ns=1_000_000)
        result = loadgen.run(sut, QSL, settings, log_dir=tmp_path)
    finally:
        sut.close()
    assert not result.valid
    assert "latency_constraint" in result.failed_constraints
    assert "early_stopping" in result.failed_constraints
    assert any("Reduce target QPS" in r for r in result.recommendations)


def test_offline_shorter_than_min_duration_recommends_more_qps(tmp_path: Path) -> None:
    settings = quick(loadgen.Scenario.OFFLINE, offline_expected_qps=100, min_duration_ms=1000)
    result = loadgen.run(NullSut(), QSL, settings, log_dir=tmp_path)
    assert result.failed_constraints == ("min_duration",)
    assert result.recommendations == (
        "Increase expected QPS so the loadgen pre-generates a larger (coalesced) query.",
    )


def test_accuracy_mode_result_has_no_performance_figures(tmp_path: Path) -> None:
    settings = loadgen.Settings(mode=loadgen.Mode.ACCURACY)
    result = loadgen.run(NullSut(), loadgen.InMemoryQsl(50, 20), settings, log_dir=tmp_path)
    assert result.valid and result.latency is None and result.metric_name == ""
    assert result.accuracy_path.read_text().count('"qsl_idx"') == 50


# --- plan ----------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", [loadgen.Scenario.SINGLE_STREAM, loadgen.Scenario.SERVER])
def test_plan_matches_the_issued_order(scenario: loadgen.Scenario, tmp_path: Path) -> None:
    settings = quick(scenario)
    sut = RecordingSut()
    result = loadgen.run(sut, QSL, settings, log_dir=tmp_path)
    planned = loadgen.plan(settings, QSL.total_sample_count, QSL.performance_sample_count)
    (series,) = planned["series"]
    assert series["mode"] == "PerformanceOnly"
    assert len(sut.indices) == result.queries_issued
    assert list(series["sample_index"][: len(sut.indices)]) == sut.indices
    assert set(sut.indices) <= set(series["loaded"])
    assert series["sample_index"].dtype == np.uint32
