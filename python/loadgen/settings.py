"""Typed settings: enums for scenario and mode, one dataclass with checked ranges, and config
files read with provenance (which file and line set each value)."""

from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Union

from . import _core
from .errors import ConfigError

__all__ = ["Mode", "Scenario", "Settings", "LogOptions"]

PathLike = Union[str, Path]


class Scenario(enum.Enum):
    """How queries arrive (see docs/settings.md)."""

    SINGLE_STREAM = "SingleStream"
    MULTI_STREAM = "MultiStream"
    SERVER = "Server"
    OFFLINE = "Offline"

    def to_core(self) -> _core.TestScenario:
        return getattr(_core.TestScenario, self.value)  # type: ignore[no-any-return]


class Mode(enum.Enum):
    """What the test measures."""

    PERFORMANCE = "PerformanceOnly"
    ACCURACY = "AccuracyOnly"
    SUBMISSION = "SubmissionRun"
    FIND_PEAK = "FindPeakPerformance"

    def to_core(self) -> _core.TestMode:
        return getattr(_core.TestMode, self.value)  # type: ignore[no-any-return]


_ENUM_FIELDS = {"scenario": Scenario, "mode": Mode}
# Python attribute names of _core.TestSettings that differ from ours.
_CORE_NAMES = {"server_ttft_latency_ns": "ttft_latency", "server_tpot_latency_ns": "tpot_latency"}


def _probability(name: str, value: float, *, open_high: bool = True) -> None:
    if not (0.0 < value < 1.0 if open_high else 0.0 <= value <= 1.0) or math.isnan(value):
        raise ValueError(
            f"{name} must be in (0, 1), got {value!r} (e.g. 0.99 for the 99th percentile)"
        )


@dataclass
class Settings:
    """Every setting of a test. Units are in the names; defaults are the official ones."""

    scenario: Scenario = Scenario.SINGLE_STREAM
    mode: Mode = Mode.PERFORMANCE
    single_stream_expected_latency_ns: float = 1_000_000.0
    single_stream_target_latency_percentile: float = 0.90
    multi_stream_expected_latency_ns: float = 8_000_000.0
    multi_stream_target_latency_percentile: float = 0.99
    multi_stream_samples_per_query: int = 8
    server_target_qps: float = 1.0
    server_target_latency_ns: int = 100_000_000
    server_target_latency_percentile: float = 0.99
    server_coalesce_queries: bool = False
    server_find_peak_qps_decimals_of_precision: int = 1
    server_find_peak_qps_boundary_step_size: float = 1.0
    server_max_async_queries: int = 0
    server_num_issue_query_threads: int = 0
    offline_expected_qps: float = 1.0
    sample_concatenate_permutation: bool = False
    min_duration_ms: int = 10_000
    max_duration_ms: int = 0
    min_query_count: int = 100
    max_query_count: int = 0
    qsl_rng_seed: int = 0
    sample_index_rng_seed: int = 0
    schedule_rng_seed: int = 0
    accuracy_log_rng_seed: int = 0
    accuracy_log_probability: float = 0.0
    accuracy_log_sampling_target: int = 0
    test05: bool = False
    test05_qsl_rng_seed: int = 0
    test05_sample_index_rng_seed: int = 0
    test05_schedule_rng_seed: int = 0
    print_timestamps: bool = False
    performance_issue_unique: bool = False
    performance_issue_same: bool = False
    performance_issue_same_index: int = 0
    performance_sample_count_override: int = 0
    accuracy_sample_count_override: int = 0
    use_token_latencies: bool = False
    server_ttft_latency_ns: int = 100_000_000
    server_tpot_latency_ns: int = 100_000_000
    infer_token_latencies: bool = False
    token_latency_scaling_factor: int = 0
    #: For values read from config files: field name -> "file:line" of the line that set it.
    provenance: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Checks types and ranges; raises ValueError/TypeError saying what to change."""
        for f in fields(self):
            if f.name == "provenance":
                continue
            value = getattr(self, f.name)
            if f.name in _ENUM_FIELDS:
                enum_type = _ENUM_FIELDS[f.name]
                if not isinstance(value, enum_type):
                    raise TypeError(
                        f"{f.name} must be a loadgen.{enum_type.__name__}, got {value!r}"
                    )
                continue
            if f.type in ("int", int):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise TypeError(f"{f.name} must be an int, got {value!r}")
                if (
                    f.name != "server_find_peak_qps_decimals_of_precision"
                    and not 0 <= value < 2**64
                ):
                    raise ValueError(f"{f.name} must be in [0, 2**64), got {value}")
            elif f.type in ("float", float):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise TypeError(f"{f.name} must be a number, got {value!r}")
                if math.isnan(value):
                    raise ValueError(f"{f.name} is NaN")
            elif f.type in ("bool", bool) and not isinstance(value, bool):
                raise TypeError(f"{f.name} must be a bool, got {value!r}")
        _probability(
            "single_stream_target_latency_percentile", self.single_stream_target_latency_percentile
        )
        _probability(
            "multi_stream_target_latency_percentile", self.multi_stream_target_latency_percentile
        )
        _probability("server_target_latency_percentile", self.server_target_latency_percentile)
        _probability("accuracy_log_probability", self.accuracy_log_probability, open_high=False)
        for name in (
            "single_stream_expected_latency_ns",
            "multi_stream_expected_latency_ns",
            "server_target_qps",
            "offline_expected_qps",
        ):
            if getattr(self, name) <= 0 or math.isinf(getattr(self, name)):
                raise ValueError(
                    f"{name} must be a positive finite number, got {getattr(self, name)!r}"
                )
        if self.multi_stream_samples_per_query < 1:
            raise ValueError("multi_stream_samples_per_query must be at least 1")
        if not 0 <= self.server_find_peak_qps_decimals_of_precision <= 255:
            raise ValueError("server_find_peak_qps_decimals_of_precision must be in [0, 255]")
        if self.server_find_peak_qps_boundary_step_size <= 0:
            raise ValueError("server_find_peak_qps_boundary_step_size must be positive")
        if self.performance_issue_unique and self.performance_issue_same:
            raise ValueError(
                "performance_issue_unique and performance_issue_same cannot both be set"
            )
        if self.min_duration_ms == 0 and self.min_query_count == 0:
            raise ValueError(
                "min_duration_ms and min_query_count are both 0: the test would issue nothing"
            )

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    def to_core(self) -> _core.TestSettings:
        """The equivalent official TestSettings object."""
        ts = _core.TestSettings()
        for f in fields(self):
            if f.name == "provenance":
                continue
            value = getattr(self, f.name)
            if isinstance(value, (Scenario, Mode)):
                value = value.to_core()
            setattr(ts, _CORE_NAMES.get(f.name, f.name), value)
        return ts

    @classmethod
    def from_core(cls, ts: _core.TestSettings) -> Settings:
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "provenance":
                continue
            value = getattr(ts, _CORE_NAMES.get(f.name, f.name))
            if f.name == "scenario":
                value = Scenario(value.name)
            elif f.name == "mode":
                value = Mode(value.name)
            values[f.name] = value
        return cls(**values)

    @classmethod
    def from_config(
        cls,
        path: PathLike,
        model: str,
        scenario: Scenario,
        *,
        strict: bool = True,
        include_mlperf_conf: bool = True,
        base: Settings | None = None,
    ) -> Settings:
        """Settings from a user.conf for (model, scenario), on top of the built-in mlperf.conf.

        In strict mode every problem the official parser would silently accept or reject
        (unknown keys, ``key=5`` without spaces, trailing comments, octal-looking numbers, ...)
        raises ConfigError naming the file, line and key, with a suggestion.
        """
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}", file=str(path), line=0, key="")
        if strict:
            problems = _core._lint_config(str(path))
            if problems:
                p = problems[0]
                hint = f" Did you mean {p['suggestion']}?" if p["suggestion"] else ""
                more = (
                    f" ({len(problems) - 1} more problem(s) in this file)"
                    if len(problems) > 1
                    else ""
                )
                raise ConfigError(
                    f"{p['file']}:{p['line']}: {p['message']}{hint}{more}",
                    file=p["file"],
                    line=p["line"],
                    key=p["key"],
                    suggestion=p["suggestion"],
                )
        ts = (base or cls(scenario=scenario)).to_core()
        provenance = dict(base.provenance) if base else {}
        if include_mlperf_conf:
            # conf_type 0 applies the built-in rules file, including the keys reserved to it
            # (seeds), without touching the process-wide user.conf counter.
            mlperf_conf = str(Path(__file__).resolve().parent / "mlperf.conf")
            applied = _core._explain_config(ts, mlperf_conf, model, scenario.value, 0)
            rc = ts.FromConfig(mlperf_conf, model, scenario.value, 0)
            if rc != 0:  # pragma: no cover - the shipped file is checked by the tests
                raise ConfigError(
                    "the built-in mlperf.conf could not be read", file=mlperf_conf, line=0, key=""
                )
            provenance.update(_provenance(applied))
        applied = _core._explain_config(ts, str(path), model, scenario.value, 2)
        rc = ts.FromConfig(str(path), model, scenario.value, 2)
        if rc != 0:
            raise ConfigError(
                f"{path}: the official parser rejected this file (code {rc})",
                file=str(path),
                line=0,
                key="",
            )
        provenance.update(_provenance(applied))
        ts.scenario = scenario.to_core()
        result = cls.from_core(ts)
        result.provenance = provenance
        return result


# TestSettings members whose Settings field names carry the unit.
_FIELDS_OF_MEMBERS = {
    "server_ttft_latency": "server_ttft_latency_ns",
    "server_tpot_latency": "server_tpot_latency_ns",
}


def _provenance(applied: list[dict[str, Any]]) -> dict[str, str]:
    """Field name -> "file:line" for the keys a config file applied (the last one wins)."""
    return {
        _FIELDS_OF_MEMBERS.get(a["field"], a["field"]): f"{a['file']}:{a['line']}" for a in applied
    }


@dataclass(frozen=True)
class LogOptions:
    """Where and how the log files are written."""

    outdir: PathLike = "."
    prefix: str = "mlperf_log_"
    suffix: str = ""
    prefix_with_datetime: bool = False
    copy_detail_to_stdout: bool = False
    copy_summary_to_stdout: bool = False
    enable_trace: bool = False

    def to_core(self) -> _core.LogSettings:
        ls = _core.LogSettings()
        ls.log_output.outdir = str(self.outdir)
        ls.log_output.prefix = self.prefix
        ls.log_output.suffix = self.suffix
        ls.log_output.prefix_with_datetime = self.prefix_with_datetime
        ls.log_output.copy_detail_to_stdout = self.copy_detail_to_stdout
        ls.log_output.copy_summary_to_stdout = self.copy_summary_to_stdout
        ls.enable_trace = self.enable_trace
        return ls
