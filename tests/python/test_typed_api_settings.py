"""The typed `loadgen` API (issue 7): Settings (validation, defaults, the round trip through the
core) and config files with provenance."""

from __future__ import annotations

import dataclasses
import math
import textwrap
from pathlib import Path
from typing import Any

import loadgen
import mlperf_loadgen
import pytest
from typed_api_helpers import MLPERF_CONF

pytestmark = pytest.mark.usefixtures("hang_watchdog")


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
