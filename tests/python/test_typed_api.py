"""The typed `loadgen` API (issue 7): run() in every scenario, RunResult, settings and config
files with provenance, plan(), response-id errors, callback exceptions, abort, Ctrl-C, the stall
watchdog, numpy batches and asyncio SUTs."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import loadgen
import mlperf_loadgen
import numpy as np
import pytest
from loadgen.demo import MatmulSut, NullSut, SleepSut

ROOT = Path(__file__).resolve().parents[2]
MLPERF_CONF = Path(loadgen.__file__).resolve().parent / "mlperf.conf"
pytestmark = pytest.mark.usefixtures("hang_watchdog")


QSL = loadgen.InMemoryQsl(1024, 256)


def quick(scenario: loadgen.Scenario, **changes: Any) -> loadgen.Settings:
    """Short runs, valid with a SUT that answers within a few ms (no minimum duration: the
    query counts are the smallest early stopping accepts)."""
    s = loadgen.Settings(scenario=scenario, min_duration_ms=0)
    base: dict[str, Any] = {
        loadgen.Scenario.SINGLE_STREAM: dict(min_query_count=64),
        loadgen.Scenario.MULTI_STREAM: dict(min_query_count=662),
        loadgen.Scenario.SERVER: dict(
            server_target_qps=3000, server_target_latency_ns=50_000_000, min_query_count=500
        ),
        loadgen.Scenario.OFFLINE: dict(offline_expected_qps=1000, min_query_count=500),
    }[scenario]
    return s.replace(**{**base, **changes})


def detail_entries(path: Path) -> dict[str, Any]:
    """key -> value of the detail log (the last entry of each key)."""
    entries: dict[str, Any] = {}
    for line in path.read_text().splitlines():
        # Rates of an interrupted run can be printed as C's inf, as the official logger does.
        text = re.sub(r'"value": (-?)inf,', r'"value": \1Infinity,', line.split(":::MLLOG", 1)[1])
        record = json.loads(text)
        entries[record["key"]] = record["value"]
    return entries


class RecordingSut:
    """Completes inline and remembers the QSL indices in issue order."""

    def __init__(self) -> None:
        self.indices: list[int] = []

    def issue(self, batch: loadgen.SampleBatch) -> None:
        self.indices.extend(batch.indices)
        loadgen.complete(batch.ids)

    def flush(self) -> None:
        pass


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


# --- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        (dict(scenario="Server"), TypeError, "scenario must be a loadgen.Scenario, got 'Server'"),
        (dict(mode=2), TypeError, "mode must be a loadgen.Mode, got 2"),
        (dict(min_query_count=1.5), TypeError, "min_query_count must be an int, got 1.5"),
        (dict(min_duration_ms=True), TypeError, "min_duration_ms must be an int, got True"),
        (
            dict(min_duration_ms=-1),
            ValueError,
            r"min_duration_ms must be in \[0, 2\*\*64\), got -1",
        ),
        (dict(max_query_count=2**64), ValueError, r"max_query_count must be in \[0, 2\*\*64\)"),
        (dict(server_target_qps="5"), TypeError, "server_target_qps must be a number, got '5'"),
        (dict(server_target_qps=math.nan), ValueError, "server_target_qps is NaN"),
        (
            dict(server_target_qps=0.0),
            ValueError,
            "server_target_qps must be a positive finite number, got 0.0",
        ),
        (
            dict(offline_expected_qps=math.inf),
            ValueError,
            "offline_expected_qps must be a positive finite number",
        ),
        (
            dict(server_coalesce_queries=1),
            TypeError,
            "server_coalesce_queries must be a bool, got 1",
        ),
        (
            dict(server_target_latency_percentile=99.0),
            ValueError,
            r"server_target_latency_percentile must be in \(0, 1\), got 99.0 \(e.g. 0.99",
        ),
        (
            dict(single_stream_target_latency_percentile=0.0),
            ValueError,
            r"single_stream_target_latency_percentile must be in \(0, 1\)",
        ),
        (
            dict(accuracy_log_probability=1.5),
            ValueError,
            r"accuracy_log_probability must be in \(0, 1\)",
        ),
        (
            dict(multi_stream_samples_per_query=0),
            ValueError,
            "multi_stream_samples_per_query must be at least 1",
        ),
        (
            dict(server_find_peak_qps_decimals_of_precision=300),
            ValueError,
            r"server_find_peak_qps_decimals_of_precision must be in \[0, 255\]",
        ),
        (
            dict(server_find_peak_qps_boundary_step_size=0.0),
            ValueError,
            "server_find_peak_qps_boundary_step_size must be positive",
        ),
        (
            dict(performance_issue_unique=True, performance_issue_same=True),
            ValueError,
            "performance_issue_unique and performance_issue_same cannot both be set",
        ),
        (
            dict(min_duration_ms=0, min_query_count=0),
            ValueError,
            "min_duration_ms and min_query_count are both 0: the test would issue nothing",
        ),
    ],
)
def test_settings_validation_errors(
    changes: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=f"^{message}"):
        loadgen.Settings(**changes)
    with pytest.raises(error, match=f"^{message}"):
        loadgen.Settings().replace(**changes)


def _core_name(field: str) -> str:
    return {"server_ttft_latency_ns": "ttft_latency", "server_tpot_latency_ns": "tpot_latency"}.get(
        field, field
    )


SETTINGS_FIELDS = [f.name for f in dataclasses.fields(loadgen.Settings) if f.name != "provenance"]


def test_settings_defaults_are_the_official_defaults() -> None:
    official = mlperf_loadgen.TestSettings()
    ours = loadgen.Settings().to_core()
    for name in SETTINGS_FIELDS:
        assert getattr(ours, _core_name(name)) == getattr(official, _core_name(name)), name
    assert loadgen.Settings.from_core(official) == loadgen.Settings()


def _distinct_value(name: str, default: Any) -> Any:
    if isinstance(default, bool):
        return not default
    if isinstance(default, loadgen.Scenario):
        return loadgen.Scenario.OFFLINE
    if isinstance(default, loadgen.Mode):
        return loadgen.Mode.ACCURACY
    if isinstance(default, float):
        return default / 2 if "percentile" in name or "probability" in name else default * 3 + 0.5
    return default * 3 + 7 if name != "server_find_peak_qps_decimals_of_precision" else 3


def test_settings_round_trip_every_field_through_core() -> None:
    defaults = loadgen.Settings()
    changes = {name: _distinct_value(name, getattr(defaults, name)) for name in SETTINGS_FIELDS}
    changes["accuracy_log_probability"] = 0.25
    changes["performance_issue_same"] = False  # cannot be set together with _unique
    custom = loadgen.Settings(**changes)
    core = custom.to_core()
    for name in SETTINGS_FIELDS:
        value = getattr(custom, name)
        expected = value.to_core() if isinstance(value, (loadgen.Scenario, loadgen.Mode)) else value
        assert getattr(core, _core_name(name)) == expected, name
    assert loadgen.Settings.from_core(core) == custom
    assert isinstance(core, mlperf_loadgen.TestSettings)


# --- config files --------------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


@pytest.mark.parametrize(
    ("line", "key", "message", "suggestion"),
    [
        (
            "resnet50.Server.targt_latency = 20",
            "resnet50.Server.targt_latency",
            "unknown key 'targt_latency': LoadGen ignores this line (did you mean 'target_latency'?)",
            "resnet50.Server.target_latency",
        ),
        (
            "*.Offline.target_qps=5",
            "*.Offline.target_qps",
            "'*.Offline.target_qps=5' has no spaces around '=': the official parser silently ignores it",
            "*.Offline.target_qps = 5",
        ),
        (
            "*.Server.min_query_count = 100 # at least",
            "*.Server.min_query_count",
            "comment after the value: the official parser reads '#' as a value and rejects the whole "
            "file; put the comment on its own line",
            "*.Server.min_query_count = 100",
        ),
        (
            "*.*.min_duration = 010",
            "*.*.min_duration",
            "'010' has a leading 0, so it is read as octal (= 8); drop the leading zeros if you meant "
            "decimal",
            "*.*.min_duration = 8",
        ),
    ],
)
def test_strict_from_config_raises_config_error(
    tmp_path: Path, line: str, key: str, message: str, suggestion: str
) -> None:
    conf = write(tmp_path / "user.conf", f"# a comment\n*.Server.target_qps = 100\n{line}\n")
    with pytest.raises(loadgen.ConfigError) as info:
        loadgen.Settings.from_config(conf, "resnet50", loadgen.Scenario.SERVER)
    error = info.value
    assert (error.file, error.line, error.key, error.suggestion) == (str(conf), 3, key, suggestion)
    assert str(error) == f"{conf}:3: {message} Did you mean {suggestion}?"
    assert isinstance(error, ValueError)


def test_strict_from_config_counts_further_problems(tmp_path: Path) -> None:
    conf = write(tmp_path / "user.conf", "*.*.min_duration=5\n*.*.max_duration=6\n")
    with pytest.raises(loadgen.ConfigError, match=r"\(1 more problem\(s\) in this file\)$"):
        loadgen.Settings.from_config(conf, "m", loadgen.Scenario.OFFLINE)


def test_from_config_missing_file(tmp_path: Path) -> None:
    with pytest.raises(loadgen.ConfigError, match="^config file not found: "):
        loadgen.Settings.from_config(tmp_path / "nope.conf", "m", loadgen.Scenario.OFFLINE)


def test_lenient_from_config_reads_like_the_official_parser(tmp_path: Path) -> None:
    conf = write(
        tmp_path / "user.conf", "*.Offline.target_qps=5\n*.Offline.min_query_count = 017\n"
    )
    settings = loadgen.Settings.from_config(
        conf, "m", loadgen.Scenario.OFFLINE, strict=False, include_mlperf_conf=False
    )
    assert settings.offline_expected_qps == 1.0  # 'key=5' is ignored
    assert settings.min_query_count == 15  # octal
    assert settings.provenance["min_query_count"] == f"{conf}:2"
    assert "offline_expected_qps" not in settings.provenance


def mlperf_conf_line(text: str) -> int:
    lines = MLPERF_CONF.read_text().splitlines()
    return lines.index(text) + 1


def test_from_config_provenance_names_file_and_line(tmp_path: Path) -> None:
    conf = write(
        tmp_path / "user.conf",
        """
        # resnet50 on our server
        resnet50.Server.target_qps = 1500

        *.Server.target_qps = 100
        *.*.min_query_count = 300
        *.Server.min_query_count = 500
        """,
    )
    settings = loadgen.Settings.from_config(conf, "resnet50", loadgen.Scenario.SERVER)
    assert settings.scenario is loadgen.Scenario.SERVER
    assert settings.server_target_qps == 1500.0
    assert settings.min_query_count == 500
    p = settings.provenance
    # The most specific key wins, and provenance names the line that supplied it.
    assert p["server_target_qps"] == f"{conf}:2"
    assert p["min_query_count"] == f"{conf}:6"
    # Rules-file values name their line in the built-in mlperf.conf.
    assert settings.server_target_latency_ns == 15_000_000
    assert (
        p["server_target_latency_ns"]
        == f"{MLPERF_CONF}:{mlperf_conf_line('resnet50.Server.target_latency = 15')}"
    )
    assert (
        p["min_duration_ms"]
        == f"{MLPERF_CONF}:{mlperf_conf_line('*.Server.min_duration = 600000')}"
    )
    assert p["qsl_rng_seed"].startswith(f"{MLPERF_CONF}:")
    # A field no file set has no provenance.
    assert "max_query_count" not in p and "server_coalesce_queries" not in p


def test_from_config_provenance_keeps_the_last_line_of_a_repeated_key(tmp_path: Path) -> None:
    conf = write(tmp_path / "user.conf", "*.Offline.target_qps = 10\n*.Offline.target_qps = 20\n")
    settings = loadgen.Settings.from_config(
        conf, "m", loadgen.Scenario.OFFLINE, strict=False, include_mlperf_conf=False
    )
    assert settings.offline_expected_qps == 20.0
    assert settings.provenance == {"offline_expected_qps": f"{conf}:2"}


def test_from_config_provenance_for_token_latency_keys(tmp_path: Path) -> None:
    conf = write(
        tmp_path / "user.conf",
        "*.*.use_token_latencies = 1\n*.Server.ttft_latency = 2000\n*.Server.tpot_latency = 200\n",
    )
    settings = loadgen.Settings.from_config(
        conf, "llm", loadgen.Scenario.SERVER, include_mlperf_conf=False
    )
    assert settings.use_token_latencies
    assert settings.server_ttft_latency_ns == 2_000_000_000
    assert settings.provenance == {
        "use_token_latencies": f"{conf}:1",
        "server_ttft_latency_ns": f"{conf}:2",
        "server_tpot_latency_ns": f"{conf}:3",
    }


def test_explain_config_does_not_apply_or_log(tmp_path: Path) -> None:
    conf = write(tmp_path / "user.conf", "*.Offline.target_qps = 42\n*.Offline.mode = 1\n")
    ts = mlperf_loadgen.TestSettings()
    applied = loadgen._core._explain_config(ts, str(conf), "m", "Offline", 2)
    assert applied == [
        {"field": "mode", "key": "*.Offline.mode", "file": str(conf), "line": 2, "value": "1"},
        {
            "field": "offline_expected_qps",
            "key": "*.Offline.target_qps",
            "file": str(conf),
            "line": 1,
            "value": "42",
        },
    ]
    assert ts.offline_expected_qps == 1.0 and ts.mode == mlperf_loadgen.TestMode.PerformanceOnly
    write(conf, "*.Offline.target_qps = 4 # no\n")
    assert loadgen._core._explain_config(ts, str(conf), "m", "Offline", 2) == []


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


# --- response ids --------------------------------------------------------------------------


def test_complete_rejects_repeated_and_bogus_ids(tmp_path: Path) -> None:
    errors: list[str] = []

    class Sut:
        def issue(self, batch: loadgen.SampleBatch) -> None:
            loadgen.complete(batch.ids)
            for bad in (list(batch.ids), [12345]):
                try:
                    loadgen.complete(bad)
                except loadgen.ResponseIdError as e:
                    errors.append(str(e))

        def flush(self) -> None:
            pass

    result = loadgen.run(Sut(), QSL, quick(loadgen.Scenario.SINGLE_STREAM), log_dir=tmp_path)
    assert errors[:2] == [
        "complete: 0 unknown, 0 stale and 1 repeated response id(s) were rejected; complete each "
        "sample once, with the id loadgen issued in this test",
        "complete: 1 unknown, 0 stale and 0 repeated response id(s) were rejected; complete each "
        "sample once, with the id loadgen issued in this test",
    ]
    assert len(errors) == 2 * result.queries_issued
    assert result.errors > 0  # every rejection is in the detail log too


def test_complete_outside_a_run_and_with_numpy_ids() -> None:
    with pytest.raises(loadgen.ResponseIdError, match="^complete: 1 unknown"):
        loadgen.complete([7])
    with pytest.raises(loadgen.ResponseIdError, match="^complete: 2 unknown"):
        loadgen.complete(np.array([7, 8], dtype=np.uint64))
    with pytest.raises(loadgen.ResponseIdError, match="^first_token: 1 unknown"):
        loadgen.first_token((9,))


def test_response_id_error_escaping_issue_stops_the_run(tmp_path: Path) -> None:
    class Sut:
        def issue(self, batch: loadgen.SampleBatch) -> None:
            loadgen.complete(batch.ids)
            loadgen.complete(batch.ids)

        def flush(self) -> None:
            pass

    with pytest.raises(loadgen.ResponseIdError, match="1 repeated"):
        loadgen.run(Sut(), QSL, quick(loadgen.Scenario.SINGLE_STREAM), log_dir=tmp_path)
    assert (tmp_path / "mlperf_log_summary.txt").is_file()


# --- callback exceptions, abort ------------------------------------------------------------


class Boom(Exception):
    pass


@pytest.mark.parametrize("where", ["issue", "flush", "load", "unload"])
def test_callback_exception_is_re_raised_with_logs_written(where: str, tmp_path: Path) -> None:
    error = Boom(f"failed in {where}")

    class Sut:
        def issue(self, batch: loadgen.SampleBatch) -> None:
            if where == "issue" and len(batch.ids):
                raise error
            loadgen.complete(batch.ids)

        def flush(self) -> None:
            if where == "flush":
                raise error

    class Qsl(loadgen.InMemoryQsl):
        def load(self, indices: Sequence[int]) -> None:
            if where == "load":
                raise error

        def unload(self, indices: Sequence[int]) -> None:
            if where == "unload":
                raise error

    with pytest.raises(Boom) as info:
        loadgen.run(Sut(), Qsl(100, 50), quick(loadgen.Scenario.SINGLE_STREAM), log_dir=tmp_path)
    assert info.value is error
    summary = (tmp_path / "mlperf_log_summary.txt").read_text()
    assert summary.strip()
    detail = (tmp_path / "mlperf_log_detail.txt").read_text()
    assert f"Test stopped: failed in {where}" in detail or f"failed in {where}" in detail


def test_abort_from_another_thread_gives_an_interrupted_result(tmp_path: Path) -> None:
    held: list[int] = []

    class Sut:
        def issue(self, batch: loadgen.SampleBatch) -> None:
            held.extend(batch.ids)  # never completed

        def flush(self) -> None:
            pass

    assert loadgen.abort() is False  # no test running
    timer = threading.Timer(0.2, loadgen.abort)
    timer.start()
    started = time.monotonic()
    result = loadgen.run(Sut(), QSL, quick(loadgen.Scenario.SINGLE_STREAM), log_dir=tmp_path)
    timer.join()
    assert time.monotonic() - started < 5
    assert result.interrupted and not result.valid
    assert result.interrupt_reason == "loadgen.abort() was called."
    assert len(held) == 1
    assert "Test aborted: loadgen.abort() was called." in result.detail_path.read_text()


# --- stall watchdog ------------------------------------------------------------------------


def test_stall_watchdog_names_the_outstanding_sample(tmp_path: Path) -> None:
    held: list[tuple[int, int]] = []

    class Sut:
        def issue(self, batch: loadgen.SampleBatch) -> None:
            if len(held) < 1 and sum(1 for _ in self.done) >= 20:
                held.extend(zip(batch.ids, batch.indices))
                return
            self.done.append(1)
            loadgen.complete(batch.ids)

        def flush(self) -> None:
            pass

        done: list[int] = []

    started = time.monotonic()
    with pytest.raises(loadgen.TestAborted) as info:
        loadgen.run(
            Sut(),
            QSL,
            quick(loadgen.Scenario.SINGLE_STREAM),
            log_dir=tmp_path,
            no_progress_timeout_s=0.3,
        )
    assert 0.3 <= time.monotonic() - started < 5
    ((rid, index),) = held
    assert str(info.value) == (
        "No sample completed for 0.3 s with 1 sample outstanding (no_progress_timeout): the SUT "
        f"stopped completing. Outstanding (response id: QSL index): {rid}: {index}."
    )
    assert isinstance(info.value, RuntimeError)
    assert "Test aborted: No sample completed" in (tmp_path / "mlperf_log_detail.txt").read_text()
    assert (tmp_path / "mlperf_log_summary.txt").read_text().strip()


def test_stall_watchdog_lists_ten_samples_and_the_count(tmp_path: Path) -> None:
    kept: list[tuple[int, int]] = []

    class Sut:
        def issue(self, batch: loadgen.NumpyBatch) -> None:
            kept.extend(zip(batch.ids[-15:].tolist(), batch.indices[-15:].tolist()))
            loadgen.complete(batch.ids[:-15])

        def flush(self) -> None:
            pass

    with pytest.raises(loadgen.TestAborted) as info:
        loadgen.run(
            Sut(),
            QSL,
            quick(loadgen.Scenario.OFFLINE),
            log_dir=tmp_path,
            batch="numpy",
            no_progress_timeout_s=0.2,
        )
    named = ", ".join(f"{rid}: {index}" for rid, index in kept[:10])
    assert str(info.value) == (
        "No sample completed for 0.2 s with 15 samples outstanding (no_progress_timeout): the SUT "
        f"stopped completing. Outstanding (response id: QSL index): {named} and 5 more."
    )


def test_slow_but_steady_sut_is_not_a_stall(tmp_path: Path) -> None:
    # Samples are outstanding all the time (30 ms each, one every 5 ms), but keep completing.
    sut = SleepSut(latency_s=0.03, per_sample_s=0.0)
    try:
        result = loadgen.run(
            sut,
            QSL,
            quick(loadgen.Scenario.SERVER, server_target_qps=200, min_query_count=100),
            log_dir=tmp_path,
            no_progress_timeout_s=0.2,
        )
    finally:
        sut.close()
    assert not result.interrupted and result.samples_completed == result.queries_issued


@pytest.mark.parametrize("value", [0, -1.0, math.nan, math.inf, True, "1"])
def test_no_progress_timeout_must_be_positive(value: Any, tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match="^no_progress_timeout_s must be a positive number of seconds"
    ):
        loadgen.run(
            NullSut(),
            QSL,
            quick(loadgen.Scenario.OFFLINE),
            log_dir=tmp_path,
            no_progress_timeout_s=value,
        )


# --- numpy batches -------------------------------------------------------------------------


def test_numpy_batch_is_a_zero_copy_read_only_view(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []

    class Sut:
        def issue(self, batch: loadgen.NumpyBatch) -> None:
            samples = batch.samples
            seen.append(
                dict(
                    shape=samples.shape,
                    dtype=samples.dtype,
                    strides=samples.strides,
                    owndata=samples.flags.owndata,
                    writeable=samples.flags.writeable,
                    base=type(samples.base).__name__,
                    ids_base=batch.ids.base is samples,
                    indices=batch.indices.tolist(),
                    length=len(batch),
                )
            )
            with pytest.raises(ValueError, match="read-only"):
                samples[0, 0] = 0
            loadgen.complete(batch.ids)

        def flush(self) -> None:
            pass

    settings = quick(loadgen.Scenario.OFFLINE)
    result = loadgen.run(Sut(), QSL, settings, log_dir=tmp_path, batch="numpy")
    assert result.valid
    (call,) = seen
    n = result.samples_completed
    assert call["shape"] == (n, 2) and call["dtype"] == np.uint64 and call["length"] == n
    assert call["strides"] == (16, 8)
    assert not call["owndata"] and not call["writeable"]
    assert call["base"] == "PyCapsule" and call["ids_base"]
    planned = loadgen.plan(settings, QSL.total_sample_count, QSL.performance_sample_count)
    assert call["indices"] == planned["series"][0]["sample_index"][:n].tolist()


@pytest.mark.parametrize("scenario", [loadgen.Scenario.OFFLINE, loadgen.Scenario.SINGLE_STREAM])
def test_numpy_batches_kept_beyond_the_call_stay_valid(
    scenario: loadgen.Scenario, tmp_path: Path
) -> None:
    # A SUT may hand the view to a worker thread (which completes after issue returned) and
    # keep it after the test: the engine's batch lives as long as the view, and a batch kept
    # across queries is not overwritten by the next one.
    kept: list[tuple[loadgen.NumpyBatch, list[int]]] = []
    workers: list[threading.Thread] = []

    class Sut:
        def issue(self, batch: loadgen.NumpyBatch) -> None:
            kept.append((batch, batch.ids.tolist()))
            worker = threading.Thread(
                target=lambda: (time.sleep(0.001), loadgen.complete(batch.ids))
            )
            workers.append(worker)
            worker.start()

        def flush(self) -> None:
            pass

    result = loadgen.run(Sut(), QSL, quick(scenario), log_dir=tmp_path, batch="numpy")
    for worker in workers:
        worker.join()
    assert result.samples_completed == sum(len(ids) for _, ids in kept) > 0
    for batch, ids_at_issue in kept:
        assert batch.ids.tolist() == ids_at_issue


def test_numpy_batch_without_numpy_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "numpy", None)
    with pytest.raises(
        ImportError,
        match=r"^run\(\.\.\., batch='numpy'\) needs numpy: pip install 'loadgen\[numpy\]'$",
    ):
        loadgen.run(
            NullSut(), QSL, quick(loadgen.Scenario.OFFLINE), log_dir=tmp_path, batch="numpy"
        )  # type: ignore[call-overload]


def test_unknown_batch_kind(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="^batch must be 'list' or 'numpy', got 'arrow'$"):
        loadgen.run(
            NullSut(), QSL, quick(loadgen.Scenario.OFFLINE), log_dir=tmp_path, batch="arrow"
        )  # type: ignore[call-overload]


# --- asyncio SUTs --------------------------------------------------------------------------


def test_async_sut_runs_on_a_loop_thread_loadgen_manages(tmp_path: Path) -> None:
    threads: set[str] = set()

    class Sut:
        async def issue(self, batch: loadgen.SampleBatch) -> None:
            threads.add(threading.current_thread().name)
            await asyncio.sleep(0.0005)
            loadgen.complete(batch.ids)

        async def flush(self) -> None:
            threads.add("flushed")

    result = loadgen.run(Sut(), QSL, quick(loadgen.Scenario.SERVER), log_dir=tmp_path)
    assert result.valid
    assert threads == {"loadgen-asyncio", "flushed"}
    assert not any(t.name == "loadgen-asyncio" for t in threading.enumerate())


def test_async_sut_with_numpy_batches_gets_copies(tmp_path: Path) -> None:
    class Sut:
        async def issue(self, batch: loadgen.NumpyBatch) -> None:
            await asyncio.sleep(0)
            assert batch.samples.flags.owndata
            loadgen.complete(batch.ids)

        def flush(self) -> None:
            pass

    assert loadgen.run(
        Sut(), QSL, quick(loadgen.Scenario.OFFLINE), log_dir=tmp_path, batch="numpy"
    ).valid


def test_exception_in_a_coroutine_stops_the_run_and_is_re_raised(tmp_path: Path) -> None:
    error = Boom("coroutine failed")

    class Sut:
        calls = 0

        async def issue(self, batch: loadgen.SampleBatch) -> None:
            Sut.calls += 1
            if Sut.calls == 5:
                raise error
            loadgen.complete(batch.ids)

        def flush(self) -> None:
            pass

    started = time.monotonic()
    with pytest.raises(Boom) as info:
        loadgen.run(Sut(), QSL, quick(loadgen.Scenario.SINGLE_STREAM), log_dir=tmp_path)
    assert info.value is error
    assert time.monotonic() - started < 5
    assert Sut.calls == 5
    detail = (tmp_path / "mlperf_log_detail.txt").read_text()
    assert "Test aborted: an async issue/flush coroutine raised Boom: coroutine failed" in detail
    assert not any(t.name == "loadgen-asyncio" for t in threading.enumerate())


# --- Ctrl-C --------------------------------------------------------------------------------

CHILD = """
import json, sys, threading, time
import loadgen

hold = sys.argv[2] == "hold"

class Sut:
    # Completes each query 20 ms after it is issued; with "hold", never after the first 5.
    # Says "running" at the 8th query (so with "hold", samples are outstanding).
    def __init__(self):
        self.count = 0
    def issue(self, batch):
        self.count += 1
        if self.count == 8:
            print("running", flush=True)
        if hold and self.count > 5:
            return
        ids = list(batch.ids)
        threading.Timer(0.02, loadgen.complete, [ids]).start()
    def flush(self):
        pass

settings = loadgen.Settings(scenario=loadgen.Scenario.SERVER, server_target_qps=200,
                            min_duration_ms=60000, min_query_count=10)
r = loadgen.run(Sut(), loadgen.InMemoryQsl(100, 100), settings, log_dir=sys.argv[1],
                progress=False)
print(json.dumps(dict(interrupted=r.interrupted, reason=r.interrupt_reason, valid=r.valid,
                      issued=r.queries_issued, completed=r.samples_completed)), flush=True)
"""


def start_child(tmp_path: Path, mode: str) -> subprocess.Popen[str]:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    child = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "logs"), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "running"
    return child


def finish_child(child: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = child.communicate(timeout=20)
    assert child.returncode == 0, err
    return dict(json.loads(out.strip().splitlines()[-1]))


def assert_logs_complete(folder: Path) -> None:
    summary = (folder / "mlperf_log_summary.txt").read_text()
    assert "Result is : INVALID" in summary
    detail = folder / "mlperf_log_detail.txt"
    entries = detail_entries(detail)  # every line parses
    assert entries["result_validity"] == "INVALID"
    assert json.loads((folder / "mlperf_log_accuracy.json").read_text()) == []


FIRST_PRESS = (
    "Interrupted (Ctrl-C): issuing stopped; outstanding samples had up to 10 s to complete."
)


def test_first_ctrl_c_stops_issuing_and_drains(tmp_path: Path) -> None:
    child = start_child(tmp_path, "complete")
    started = time.monotonic()
    child.send_signal(signal.SIGINT)
    result = finish_child(child)
    assert time.monotonic() - started < 5
    assert result["interrupted"] and not result["valid"]
    assert result["reason"] == FIRST_PRESS
    assert result["completed"] == result["issued"] >= 5  # every issued sample finished
    assert_logs_complete(tmp_path / "logs")


def test_second_ctrl_c_stops_at_once(tmp_path: Path) -> None:
    child = start_child(tmp_path, "hold")
    child.send_signal(signal.SIGINT)
    time.sleep(0.3)  # the first press waits for samples that never complete
    assert child.poll() is None
    started = time.monotonic()
    child.send_signal(signal.SIGINT)
    result = finish_child(child)
    assert time.monotonic() - started < 3
    assert result["interrupted"]
    assert result["reason"] == FIRST_PRESS + " Then: Ctrl-C again: stopped at once."
    assert result["completed"] < result["issued"]
    assert_logs_complete(tmp_path / "logs")
    assert "Interrupted" in (tmp_path / "logs" / "mlperf_log_detail.txt").read_text()
