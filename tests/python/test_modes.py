"""Every test mode and the settings hooks around it, checked against the official behaviour
(docs/official-behaviour.md: #session, #schedule-loadable-sets, #schedule-accuracy-sampling,
#settings-config-file, #api-outputs, #logging) and against the official reference logs.

Runs go through tests/differential/harness.py, each in a fresh working directory (audit.config
is read from there, stdout is captured at the file-descriptor level), all of them up front. The differential suite compares the same behaviours with the official wheel run by
run; these tests pin the rules themselves, so they also hold where the wheel is absent.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Set, Tuple

import mlperf_loadgen as lg
import pytest
from modes_runs import RUNS

TESTS = Path(__file__).resolve().parents[1]
HARNESS = TESTS / "differential" / "harness.py"


def _load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(
        f"_modes_{name}", TESTS / "differential" / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


common = _load("common")
harness = _load("harness")  # imports this interpreter's mlperf_loadgen: ours

AUDIT_WARNING = (
    "Found Audit Config file (audit.config). Overriding TestSettings from audit.config file."
)


# ---------------------------------------------------------------------------------------------
# The accuracy-log sampling RNG (docs/official-behaviour.md#schedule-random,
# #schedule-sequence-ids, #schedule-accuracy-sampling), written independently of the engine.


class Mt19937:
    """std::mt19937: 32-bit Mersenne Twister; the seed is taken modulo 2^32."""

    def __init__(self, seed: int = 5489) -> None:
        self.state = [seed & 0xFFFFFFFF]
        for i in range(1, 624):
            prev = self.state[-1]
            self.state.append((1812433253 * (prev ^ (prev >> 30)) + i) & 0xFFFFFFFF)
        self.index = 624

    def __call__(self) -> int:
        if self.index == 624:
            s = self.state
            for i in range(624):
                y = (s[i] & 0x80000000) | (s[(i + 1) % 624] & 0x7FFFFFFF)
                s[i] = s[(i + 397) % 624] ^ (y >> 1) ^ (0x9908B0DF if y & 1 else 0)
            self.index = 0
        y = self.state[self.index]
        self.index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C5680
        y ^= (y << 15) & 0xEFC60000
        return y ^ (y >> 18)

    def canonical(self) -> float:
        """libstdc++ generate_canonical<double, 53>: two outputs, low word first."""
        low = float(self())
        value = (low + float(self()) * 4294967296.0) / 18446744073709551616.0
        return value if value < 1.0 else math.nextafter(1.0, 0.0)


def sampled_sequence_ids(count: int, rng_seed: int, probability: float) -> Set[int]:
    """Sequence ids in [0, count) whose response is logged in performance mode."""
    offset = Mt19937(rng_seed).canonical()
    values = Mt19937()  # the default seed, never reseeded within a StartTest
    chosen = set()
    for seq in range(count):
        v = values.canonical() + offset
        if (v if v < 1.0 else v - 1.0) <= probability:
            chosen.add(seq)
    return chosen


def test_mt19937_matches_the_standard() -> None:
    g = Mt19937()
    outputs = [g() for _ in range(10000)]
    assert outputs[0] == 3499211612 and outputs[-1] == 4123659995  # [rand.predef] check value


# ---------------------------------------------------------------------------------------------
# Runs


def _run_harness(case: Dict[str, Any], workdir: Path) -> Dict[str, Any]:
    """Runs the harness in `workdir`: in a subprocess for the cases that depend on state of the
    process (FromConfig's "first call" counter), in this process for the others."""
    workdir.mkdir(parents=True)
    if case.get("from_config"):
        (workdir / "case.json").write_text(json.dumps(case), encoding="utf-8")
        proc = subprocess.run(
            [sys.executable, str(HARNESS), "case.json", "."],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert (workdir / "record.json").exists(), f"harness failed: {proc.stderr[-2000:]}"
    else:
        cwd = os.getcwd()
        os.chdir(workdir)
        try:
            harness.run(copy.deepcopy(case), ".")
        finally:
            os.chdir(cwd)
    record: Dict[str, Any] = json.loads((workdir / "record.json").read_text(encoding="utf-8"))
    assert record["exception"] is None, record["exception"]
    record["rundir"] = str(workdir)
    return record


@pytest.fixture(scope="module")
def records() -> Iterator[Dict[str, Dict[str, Any]]]:
    with tempfile.TemporaryDirectory() as tmp:
        yield {name: _run_harness(case, Path(tmp) / name) for name, case in RUNS.items()}


def detail(record: Dict[str, Any], text: Optional[str] = None) -> List[Any]:
    return list(common.parse_detail_log(record["detail"] if text is None else text))


def values(entries: Sequence[Any], key: str) -> List[Any]:
    return [e.value for e in entries if e.key == key]


def first(entries: Sequence[Any], key: str) -> Any:
    found = values(entries, key)
    assert found, f"no {key} in the detail log"
    return found[0]


def calls(record: Dict[str, Any], kind: str) -> List[Any]:
    return [payload for name, payload in record["calls"] if name == kind]


def issued(record: Dict[str, Any]) -> List[int]:
    return [i for call in calls(record, "issue") for i in call]


def accuracy(record: Dict[str, Any]) -> List[Any]:
    return list(common.parse_accuracy_log(record["accuracy"]))


# ---------------------------------------------------------------------------------------------
# Accuracy-log sampling in performance mode


@pytest.mark.parametrize(
    "name, probability",
    [
        ("ss_target", 30 / 100),  # target / (min_query_count x samples per query)
        ("ms_probability", 0.1),
        ("offline_probability", 0.2),
    ],
)
def test_performance_mode_logs_exactly_the_spec_selection(
    records: Any, name: str, probability: float
) -> None:
    record = records[name]
    entries = detail(record)
    seed = first(entries, "effective_accuracy_log_rng_seed")
    order = issued(record)  # samples get their sequence ids in issue order here
    expected = sampled_sequence_ids(len(order), seed, probability)
    logged = accuracy(record)
    assert sorted(e.seq_id for e in logged) == sorted(expected)
    assert all(e.qsl_idx == order[e.seq_id] for e in logged)
    assert 0 < len(expected) < len(order)


def test_submission_run_is_accuracy_then_performance(records: Any) -> None:
    record = records["ss_submission"]
    entries = detail(record)
    messages = values(entries, "generic_message")
    assert messages.index("Starting accuracy mode") < messages.index("Starting performance mode")
    assert first(entries, "effective_test_mode") == "SubmissionRun"
    # Two accuracy sets of 16, then the performance set: one load/flush/unload each.
    loads = calls(record, "load")
    assert [len(x) for x in loads] == [16, 16, 16]
    assert sorted(loads[0] + loads[1]) == list(range(32)) and sorted(loads[2]) == list(range(16))
    assert calls(record, "unload") == loads
    assert len(calls(record, "flush")) == 3
    # Every accuracy sample is logged (sequence ids 0-31), then the performance pass is
    # sampled with the same RNG stream continuing from sequence id 32.
    order = issued(record)
    logged = accuracy(record)
    accuracy_part = sorted(e.seq_id for e in logged if e.seq_id < 32)
    assert accuracy_part == list(range(32))
    performance = sorted(e.seq_id for e in logged if e.seq_id >= 32)
    chosen = sampled_sequence_ids(len(order), 11, 0.4)
    assert performance == sorted(s for s in chosen if s >= 32)
    assert all(e.qsl_idx == order[e.seq_id] for e in logged)
    summary = record["summary"]
    assert "Mode     : SubmissionRun\n" in summary and "Result is : " in summary
    # print_timestamps: one block, around the performance pass only.
    assert re.fullmatch(
        r"Loadgen :: Perf mode start\. system_clock Timestamp = \d+\n"
        r"Loadgen :: Perf mode stop\. systme_clock Timestamp = \d+\n"
        r"Loadgen :: PerfClock Perf duration = \d+ms\n"
        r"Loadgen :: system_clock Perf duration = \d+ms\n"
        r"Loadgen :: PerfClock/system_clock ratio = \d+\.\d{4}\n",
        record["stdout"],
    )


@pytest.mark.parametrize(
    "name, total, set_sizes",
    [
        ("ss_acc_override", 150, [64, 64, 22]),
        # Capped at the QSL's 40; MultiStream pads each set with its first 7 samples.
        ("ms_acc_override_capped", 40, [16 + 7, 16 + 7, 8 + 7]),
    ],
)
def test_accuracy_sample_count_override(
    records: Any, name: str, total: int, set_sizes: List[int]
) -> None:
    record = records[name]
    loads = calls(record, "load")
    assert [len(x) for x in loads] == set_sizes
    distinct = [x[: len(x) - 7] if name.startswith("ms") else x for x in loads]
    assert sorted(i for x in distinct for i in x) == list(range(total))
    if name.startswith("ms"):
        assert all(x[-7:] == x[:7] for x in loads)
    logged = accuracy(record)
    assert len(logged) == len(issued(record))
    assert {e.qsl_idx for e in logged} == set(range(total))
    assert record["summary"] == (
        "\nNo warnings encountered during test.\n\nNo errors encountered during test.\n"
    )


# ---------------------------------------------------------------------------------------------
# FindPeakPerformance


def _qps(text: str) -> List[float]:
    return [float(x) for x in re.findall(r"\d+\.\d{6}", text)]


def test_find_peak_server_search_protocol(records: Any) -> None:
    """The boundary search then the bisection (docs/official-behaviour.md#session-find-peak),
    decided trial by trial.

    A trial passes iff its 50 ms schedule has at most 10 queries (the 11th sample of a series
    on takes 150 ms against a 100 ms target).
    """
    record = records["find_peak_server"]
    entries = detail(record)
    trials: List[Tuple[float, bool]] = []
    pending: Optional[float] = None
    boundaries: List[Tuple[float, float]] = []
    bisections: List[Tuple[float, float, float]] = []
    peak = None
    for e in entries:
        text = str(e.value)
        if e.key == "generic_message" and "Check validity of the base" in text:
            pending = _qps(text)[0]
        elif e.key == "generic_message" and text.startswith("FindBoundaries: Checking fields"):
            lo, hi = _qps(text)
            boundaries.append((lo, hi))
            pending = hi
        elif e.key == "generic_message" and text.startswith("FindPeakPerformanceBinarySearch"):
            lo, hi, mid = _qps(text)
            bisections.append((lo, hi, mid))
            pending = mid
        elif e.key == "generic_message" and "Found peak performance field" in text:
            peak = _qps(text)[0]
        elif e.key == "generated_query_count":
            assert pending is not None
            trials.append((pending, e.value <= 10))
            pending = None
    assert trials[0] == (60.0, True)
    # Boundaries: multiply by 1 + step while the upper bound passes.
    for (lo, hi), (qps, _passed) in zip(boundaries, trials[1:]):
        assert hi == pytest.approx(lo * 1.5, abs=1e-6) and qps == hi
    assert [passed for _, passed in trials[1 : len(boundaries) + 1]] == (
        [True] * (len(boundaries) - 1) + [False]
    )
    lo, hi = boundaries[-1]
    assert f"FindPeakPerformance: Found boundaries: [{lo:.6f}, {hi:.6f})" in values(
        entries, "generic_message"
    )
    # Bisection on the passing lower bound, to 10^0 QPS.
    for (b_lo, b_hi, mid), (qps, passed) in zip(bisections, trials[len(boundaries) + 1 :]):
        assert (b_lo, b_hi) == pytest.approx((lo, hi), abs=1e-6)
        assert mid == pytest.approx(lo + (hi - lo) / 2, abs=1e-6) and qps == mid
        lo, hi = (mid, hi) if passed else (lo, mid)
    assert len(trials) == 1 + len(boundaries) + len(bisections)
    assert math.floor(lo) + 1 >= math.floor(hi)
    assert peak == pytest.approx(lo, abs=1e-6)
    assert f"target_qps : {peak:g}\n" in record["summary"]
    # One load per boundary trial, one for the whole bisection; nothing printed.
    assert len(calls(record, "load")) == 1 + len(boundaries) + 1
    assert record["stdout"] == ""


@pytest.mark.parametrize("scenario", ["SingleStream", "MultiStream", "Offline"])
def test_find_peak_outside_server_is_refused(records: Any, scenario: str) -> None:
    record = records[f"find_peak_{scenario}"]
    errors = [e.value for e in detail(record) if e.is_error]
    assert errors == ["Finding peak performance is only supported in Server scenarios."]
    assert record["calls"] == []
    # As tests/data/reference/probe_err_findpeak_ss/mlperf_log_summary.txt.
    assert record["summary"] == (
        "\nNo warnings encountered during test.\n\n1 ERROR encountered. See detailed log.\n"
    )


# ---------------------------------------------------------------------------------------------
# audit.config and test05


def test_audit_config_precedence_and_ignored_keys(records: Any) -> None:
    record = records["audit_precedence"]
    entries = detail(record)
    assert values(entries, "warning_generic_message") == [AUDIT_WARNING]
    # *.SingleStream beats *.*; model-specific and other-scenario lines are inert.
    assert first(entries, "requested_min_query_count") == 40
    assert first(entries, "requested_max_query_count") == 41
    assert first(entries, "requested_test_mode") == "PerformanceOnly"
    # conf_type 2 reads neither seeds, nor accuracy_log_probability, nor test05.
    assert first(entries, "requested_qsl_rng_seed") == 5
    assert first(entries, "requested_accuracy_log_probability") == 0
    assert "Test05 flag detected Overriding random seeds" not in values(
        entries, "warning_generic_message"
    )
    assert len(issued(record)) == 40
    assert common.summary_counts(record["summary"]) == (1, 0)


def test_audit_file_name_argument(records: Any) -> None:
    custom = detail(records["audit_custom_name"])
    # The warning names audit.config whatever the file is called.
    assert values(custom, "warning_generic_message") == [AUDIT_WARNING]
    assert first(custom, "requested_min_query_count") == 20
    disabled = detail(records["audit_disabled"])
    assert values(disabled, "warning_generic_message") == []
    assert first(disabled, "requested_min_query_count") == 100


def test_audit_parse_error_applies_nothing(records: Any) -> None:
    record = records["audit_parse_error"]
    entries = detail(record)
    assert [(e.key, e.value) for e in entries if e.is_error] == [
        ("error_invalid_config", "value needs to be integer or double, line=2")
    ]
    assert values(entries, "warning_generic_message") == [AUDIT_WARNING]
    assert first(entries, "requested_test_mode") == "AccuracyOnly"
    assert len(accuracy(record)) == 256


def test_test05_overrides_mode_and_seeds(records: Any) -> None:
    entries = detail(records["test05"])
    assert values(entries, "warning_generic_message") == [
        AUDIT_WARNING,
        "Test05 flag detected Overriding random seeds",
    ]
    assert first(entries, "requested_test_mode") == "PerformanceOnly"  # after the audit's mode 1
    assert [
        first(entries, f"effective_{k}_rng_seed") for k in ("qsl", "sample_index", "schedule")
    ] == [11, 22, 33]
    assert accuracy(records["test05"]) == []


# ---------------------------------------------------------------------------------------------
# Several StartTest calls, logging settings, SUT kinds


def test_second_from_config_in_a_process_is_flagged(records: Any) -> None:
    record = records["two_tests"]
    (earlier,) = record["earlier_tests"]
    first_log, second_log = detail(record, earlier["detail"]), detail(record)
    assert [e for e in first_log if e.is_error] == []
    # mlperf.conf is loaded by the first user.conf only: the second test runs without its seeds.
    assert first(first_log, "effective_qsl_rng_seed") == 2085463073848966840
    assert first(second_log, "effective_qsl_rng_seed") == 0
    assert second_log[0].key == "error_invalid_config" and second_log[0].value == (
        "Multiple conf files are used. This is not valid for official submission."
    )
    assert [e.value for e in second_log if e.is_error] == [second_log[0].value]
    assert common.summary_counts(record["summary"]) == (0, 1)
    assert common.summary_counts(earlier["summary"]) == (0, 0)
    assert first(second_log, "requested_min_query_count") == 50
    assert record["from_config_rc"] == [0, 0]


def test_every_log_output_setting(records: Any) -> None:
    record = records["log_every_field"]
    rundir = Path(record["rundir"])
    names = sorted(p.name for p in (rundir / "logs").iterdir())
    stamp = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"
    kinds = ["accuracy", "detail", "summary", "trace"]
    assert len(names) == 4
    for name, kind in zip(names, kinds):
        ext = "json" if kind in ("accuracy", "trace") else "txt"
        assert re.fullmatch(rf"run-{stamp}_{kind}\.x\.{ext}", name), name
    assert json.loads((rundir / "logs" / names[3]).read_text())  # the trace is written
    # stdout: every detail line as it is written, then the summary.
    detail_text, summary = record["detail"], record["summary"]
    assert record["stdout"] == detail_text + summary
    no_trace = Path(records["log_no_trace"]["rundir"]) / "mlperf_log_trace.json"
    assert no_trace.exists() and no_trace.stat().st_size == 0
    assert records["log_no_trace"]["stdout"] == ""


@pytest.mark.parametrize("mode", list(lg.LoggingMode.__members__.values()))
def test_logging_modes_are_accepted(tmp_path: Path, mode: Any) -> None:
    log_settings = lg.LogSettings()
    log_settings.log_mode = mode
    log_settings.log_mode_async_poll_interval_ms = 3
    log_settings.log_output.outdir = str(tmp_path)
    assert log_settings.log_mode == mode

    def issue(samples: List[Any]) -> None:
        lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, 0, 0) for s in samples])

    sut = lg.ConstructSUT(issue, lambda: None)
    qsl = lg.ConstructQSL(32, 16, lambda _: None, lambda _: None)
    settings = lg.TestSettings()
    settings.mode = lg.TestMode.PerformanceOnly
    settings.min_duration_ms = 0
    settings.min_query_count = 70
    try:
        lg.StartTestWithLogSettings(sut, qsl, settings, log_settings, "")
    finally:
        lg.DestroyQSL(qsl)
        lg.DestroySUT(sut)
    summary = (tmp_path / "mlperf_log_summary.txt").read_text()
    assert "Result is : VALID" in summary


def test_qdl_name_callback(records: Any) -> None:
    # Asked for the name when the test starts, and again for the performance report.
    submission = records["qdl_submission"]
    names = [name for name, _ in submission["calls"]]
    assert names.count("name") == 2 and names[0] == "name"
    assert names[-2:] == ["name", "unload"]
    assert first(detail(submission), "sut_name") == "Network SUT x"
    assert "SUT name : Network SUT x\n" in submission["summary"]
    assert [name for name, _ in records["qdl_accuracy"]["calls"]].count("name") == 1


@pytest.mark.parametrize("scenario", ["SingleStream", "MultiStream", "Server", "Offline"])
def test_fast_sut_runs_every_scenario(records: Any, scenario: str) -> None:
    record = records[f"fast_{scenario}"]
    entries = detail(record)
    assert first(entries, "sut_name") == "PyFastSUT"
    assert first(entries, "result_validity") in ("VALID", "INVALID")
    spq = 8 if scenario == "MultiStream" else 1
    count = len(issued(record))
    assert count == (40 * spq if scenario != "Offline" else 40)
    assert first(entries, "result_query_count") == (40 if scenario != "Offline" else 1)
