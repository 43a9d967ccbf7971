"""The official compliance checks (TEST01, TEST04, TEST06) applied to logs our engine wrote.

A compliance test drops the official `audit.config` into the harness's working directory, runs
the harness, and a verifier script reads the logs. Here the harness is
tests/differential/harness.py, run in this process (our `mlperf_loadgen`) with a fresh working
directory for each run, the audit files are the official contents
(docs/official-behaviour.md#session-audit), and the verifiers are re-implemented from the rules of
the official compliance scripts and log parser (docs/official-behaviour.md#compliance):

* TEST01 verify_accuracy: every entry of the performance-mode accuracy log (sampled through the
  audit's rng seed and sampling target) must be found, by qsl_idx, in the accuracy-mode log with
  the same data; in `--unixmode` the same is done on the text, line by line.
* TEST01 verify_performance: both detail logs parse as MLPerfLog does, same effective_scenario,
  result_validity VALID, the scenario's metric key present, num_errors 0.
* TEST04: both summaries parse (Scenario line, metric line found by its regex or prefix, value
  after the first ": "), `Result is` not INVALID; every issued sample is the audit's same index.
* TEST06: every accuracy-log entry has token_data (not in Offline) and token_count equal to the
  number of int32 elements of data.

Each verifier returns its problems, so the tests also show that a doctored log fails it.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

DIFFERENTIAL = Path(__file__).resolve().parents[1] / "differential"
MARKER = ":::MLLOG"


def _load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(
        f"_compliance_{name}", DIFFERENTIAL / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cases = _load("cases")
harness = _load("harness")  # imports this interpreter's mlperf_loadgen: ours

SCENARIOS = ("SingleStream", "MultiStream", "Server", "Offline")
# Count-driven runs long enough to be VALID (MultiStream's early stopping at the 99th
# percentile needs 662 queries).
PERF_SETTINGS: Dict[str, Dict[str, Any]] = {
    "SingleStream": {"min_duration_ms": 0, "min_query_count": 100},
    "MultiStream": {"min_duration_ms": 0, "min_query_count": 662},
    "Server": {
        "min_duration_ms": 0,
        "min_query_count": 500,
        "server_target_qps": 5000.0,
        "server_target_latency_ns": 1_000_000_000,
    },
    "Offline": {"min_duration_ms": 0, "min_query_count": 300},
}
TOKEN_BOUNDS = {"ttft_latency": 1_000_000_000, "tpot_latency": 1_000_000_000}
QSL = {"total": 256, "performance": 64}
SUT: Dict[str, Dict[str, Any]] = {
    "SingleStream": {"complete": "inline"},
    "MultiStream": {"complete": "pool", "workers": 2},
    "Server": {"complete": "pool", "workers": 2},
    "Offline": {"complete": "batches", "batch": 37},
}


def _case(
    name: str, scenario: str, mode: str, settings: Dict[str, Any], **fields: Any
) -> Dict[str, Any]:
    case = {
        "name": name,
        "scenario": scenario,
        "mode": mode,
        "qsl": dict(QSL),
        "settings": settings,
        "sut": dict(SUT[scenario]),
    }
    case.update(fields)
    return case


def _runs() -> Dict[Tuple[str, str], Dict[str, Any]]:
    """(scenario, run kind) -> harness case: everything the verifiers need."""
    runs = {}
    for s in SCENARIOS:
        runs[(s, "accuracy")] = _case(
            "accuracy", s, "AccuracyOnly", {"server_target_qps": 5000.0} if s == "Server" else {}
        )
        runs[(s, "performance")] = _case("performance", s, "PerformanceOnly", PERF_SETTINGS[s])
        # The audit forces PerformanceOnly whatever was requested.
        runs[(s, "test01")] = _case(
            "test01",
            s,
            "AccuracyOnly",
            PERF_SETTINGS[s],
            files={"audit.config": cases.TEST01_AUDIT},
        )
        runs[(s, "test04")] = _case(
            "test04",
            s,
            "PerformanceOnly",
            PERF_SETTINGS[s],
            files={"audit.config": cases.TEST04_AUDIT},
        )
        token_settings = dict(
            PERF_SETTINGS[s],
            use_token_latencies=True,
            sample_concatenate_permutation=True,
            **(TOKEN_BOUNDS if s == "Server" else {}),
        )
        runs[(s, "test06")] = _case(
            "test06",
            s,
            "PerformanceOnly",
            token_settings,
            files={"audit.config": cases.TEST06_AUDIT},
            payload="tokens_int32",
            tokens=True,
        )
    return runs


def _run_harness(case: Dict[str, Any], workdir: Path) -> Dict[str, Any]:
    """Runs the harness in this process, in `workdir` (where it writes the case's files)."""
    workdir.mkdir(parents=True)
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        harness.run(copy.deepcopy(case), str(workdir))
    finally:
        os.chdir(cwd)
    record: Dict[str, Any] = json.loads((workdir / "record.json").read_text(encoding="utf-8"))
    assert record["exception"] is None, record["exception"]
    return record


@pytest.fixture(scope="module")
def records() -> Iterator[Dict[Tuple[str, str], Dict[str, Any]]]:
    with tempfile.TemporaryDirectory() as tmp:
        yield {
            key: _run_harness(case, Path(tmp) / f"{key[0]}_{key[1]}")
            for key, case in _runs().items()
        }


# ---------------------------------------------------------------------------------------------
# Re-implemented verifier rules.


def parse_mlperf_log(text: str) -> Dict[str, List[Any]]:
    """MLPerfLog rules: marker on the first line, every marker line strict JSON.

    Returns key -> list of entries (dicts) in file order.
    """
    lines = text.splitlines()
    if not lines or not lines[0].startswith(MARKER):
        raise ValueError("Marker not found in first line")
    entries: Dict[str, List[Any]] = {}
    for line in lines:
        if not line.startswith(MARKER):
            continue
        try:
            entry = json.loads(line[len(MARKER) :])
        except ValueError as e:
            raise ValueError(f"Encountered invalid line: {line!r}") from e
        entries.setdefault(entry["key"], []).append(entry)
    return entries


def _first(log: Dict[str, List[Any]], key: str) -> Any:
    return log[key][0]["value"] if key in log else None


def _num_errors(log: Dict[str, List[Any]]) -> int:
    if "num_errors" in log:
        return int(_first(log, "num_errors"))
    return sum(1 for entries in log.values() for e in entries if e["metadata"]["is_error"])


METRIC_KEYS = {
    "SingleStream": "early_stopping_latency_ss",
    "MultiStream": "early_stopping_latency_ms",
    "Server": "result_completed_samples_per_sec",
    "Offline": "result_samples_per_second",
}


def verify_test01_accuracy(
    performance_log: str, accuracy_log: str, dtype_size: int = 4
) -> List[str]:
    """TEST01 verify_accuracy, JSON mode: sampled entries match the accuracy run by qsl_idx."""
    problems = []
    sampled = json.loads(performance_log)
    reference: Dict[int, List[str]] = {}
    for entry in json.loads(accuracy_log):
        reference.setdefault(entry["qsl_idx"], []).append(entry["data"])
    if not sampled:
        problems.append("the performance-mode accuracy log has no entries")
    for entry in sampled:
        data = bytes.fromhex(entry["data"])
        expected = reference.get(entry["qsl_idx"])
        if not expected:
            problems.append(f"qsl_idx {entry['qsl_idx']} missing from the accuracy-mode log")
            continue
        ref = bytes.fromhex(expected[0])
        if data[:dtype_size] != ref[:dtype_size] or data != ref:
            problems.append(f"qsl_idx {entry['qsl_idx']}: data {entry['data']} != {expected[0]}")
    return problems


_UNIX_SEQ_ID = re.compile(r'"seq_id" : \d+')


def verify_test01_accuracy_unixmode(performance_log: str, accuracy_log: str) -> List[str]:
    """TEST01 verify_accuracy --unixmode: the same check done on the text, line by line.

    Lines 1 and N are the brackets and each line in between is one entry. With commas and the
    seq_id member removed, a line's whitespace fields are `{ "qsl_idx" : <n> "data" : "<hex>"`;
    the reference line is found with the literal `"qsl_idx" : <n>,`.
    """
    problems = []
    lines = performance_log.rstrip("\n").split("\n")
    ref_lines = accuracy_log.rstrip("\n").split("\n")
    for name, text_lines in (("performance", lines), ("accuracy", ref_lines)):
        if text_lines[0] != "[" or text_lines[-1] != "]":
            problems.append(f"{name} log: first/last lines are not the brackets")
    if len(lines) <= 2:
        problems.append("the performance-mode accuracy log has no entries")

    def fields(line: str) -> List[str]:
        return _UNIX_SEQ_ID.sub("", line.replace(",", "")).split()

    for line in lines[1:-1]:
        f = fields(line)
        if len(f) < 7 or f[1] != '"qsl_idx"' or f[4] != '"data"' or not f[3].isdigit():
            problems.append(f"unexpected entry line layout: {line!r}")
            continue
        needle = f'"qsl_idx" : {f[3]},'
        found = [ref for ref in ref_lines if needle in ref]
        if not found:
            problems.append(f"{needle} not found in the accuracy-mode log")
        elif fields(found[0])[6] != f[6]:
            problems.append(f"{needle} data {f[6]} != {fields(found[0])[6]}")
    return problems


def verify_test01_performance(reference_detail: str, test_detail: str) -> List[str]:
    """TEST01 verify_performance on the two detail logs."""
    problems = []
    logs = []
    for name, text in (("reference", reference_detail), ("test", test_detail)):
        try:
            logs.append(parse_mlperf_log(text))
        except ValueError as e:
            return [f"{name}: {e}"]
    ref, test = logs
    scenario = _first(ref, "effective_scenario")
    if scenario not in METRIC_KEYS:
        problems.append(f"effective_scenario {scenario!r}")
        return problems
    if _first(test, "effective_scenario") != scenario:
        problems.append("the two runs have different scenarios")
    for name, log in (("reference", ref), ("test", test)):
        if _first(log, "result_validity") != "VALID":
            problems.append(f"{name}: result_validity {_first(log, 'result_validity')!r}")
        try:
            float(_first(log, METRIC_KEYS[scenario]))
        except (TypeError, ValueError):
            problems.append(f"{name}: no usable {METRIC_KEYS[scenario]}")
        if scenario == "Server" and _first(log, "effective_target_latency_ns") is None:
            problems.append(f"{name}: no effective_target_latency_ns")
        if _num_errors(log) != 0:
            problems.append(f"{name}: {_num_errors(log)} errors")
    return problems


TEST04_METRIC_LINE: Dict[str, Callable[[str], bool]] = {
    "SingleStream": lambda line: (
        re.match(r".*Early stopping (90th|90.0th|99.9th) percentile estimate", line) is not None
    ),
    "MultiStream": lambda line: (
        re.match(r".*Early stopping (99th|99.0th) percentile estimate", line) is not None
    ),
    "Server": lambda line: line.startswith("Completed samples per second"),
    "Offline": lambda line: line.startswith("Samples per second"),
}


def parse_test04_summary(text: str) -> Tuple[Optional[str], Optional[float], Optional[str]]:
    """(scenario, performance, result) as TEST04's verify_performance reads a summary."""
    scenario = metric = result = None
    for line in text.split("\n"):
        if line.startswith("Scenario"):
            scenario = line.split(": ", 1)[1].strip()
        elif line.startswith("Result is"):
            result = line.split(": ", 1)[1].strip()
        elif scenario in TEST04_METRIC_LINE and TEST04_METRIC_LINE[scenario](line):
            value = float(line.split(": ", 1)[1])
            metric = 1e9 / value if scenario in ("SingleStream", "MultiStream") else value
    return scenario, metric, result


def verify_test04(reference_summary: str, test_summary: str) -> List[str]:
    problems = []
    parsed = [parse_test04_summary(t) for t in (reference_summary, test_summary)]
    for name, (scenario, metric, result) in zip(("reference", "test"), parsed):
        if scenario not in TEST04_METRIC_LINE:
            problems.append(f"{name}: Scenario line {scenario!r}")
        if metric is None:
            problems.append(f"{name}: no metric line")
        if result is None or result == "INVALID":
            problems.append(f"{name}: Result is {result!r}")
    if parsed[0][0] != parsed[1][0]:
        problems.append("the two summaries have different scenarios")
    return problems


def verify_test06(accuracy_log: str, scenario: str, dtype_size: int = 4) -> List[str]:
    problems = []
    entries = json.loads(accuracy_log)
    if not entries:
        problems.append("no entries")
    for entry in entries:
        data = bytes.fromhex(entry["data"])
        if scenario != "Offline":
            if "token_data" not in entry:
                problems.append(f"qsl_idx {entry['qsl_idx']}: no token_data")
                continue
            first = bytes.fromhex(entry["token_data"])
            if first[:dtype_size] != data[:dtype_size]:
                problems.append(f"qsl_idx {entry['qsl_idx']}: first token {entry['token_data']}")
        if entry.get("token_count") != len(data) // dtype_size:
            problems.append(
                f"qsl_idx {entry['qsl_idx']}: token_count {entry.get('token_count')} "
                f"!= {len(data) // dtype_size} elements"
            )
    return problems


# ---------------------------------------------------------------------------------------------
# Tests


def _issued(record: Dict[str, Any]) -> List[int]:
    return [i for name, payload in record["calls"] if name == "issue" for i in payload]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_test01_accuracy_passes_both_modes(
    records: Dict[Tuple[str, str], Dict[str, Any]], scenario: str
) -> None:
    audit, accuracy = records[(scenario, "test01")], records[(scenario, "accuracy")]
    detail = parse_mlperf_log(audit["detail"])
    assert _first(detail, "effective_test_mode") == "PerformanceOnly"
    assert _first(detail, "effective_accuracy_log_rng_seed") == 720381539243781796
    assert _first(detail, "effective_accuracy_log_sampling_target") == 64
    sampled = json.loads(audit["accuracy"])
    # Sampled, not everything: target 64 of (min_query_count x samples per query).
    assert 0 < len(sampled) < len(_issued(audit))
    assert verify_test01_accuracy(audit["accuracy"], accuracy["accuracy"]) == []
    assert verify_test01_accuracy_unixmode(audit["accuracy"], accuracy["accuracy"]) == []


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_test01_performance_passes(
    records: Dict[Tuple[str, str], Dict[str, Any]], scenario: str
) -> None:
    problems = verify_test01_performance(
        records[(scenario, "performance")]["detail"], records[(scenario, "test01")]["detail"]
    )
    assert problems == []


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_test04_passes_and_issues_one_sample(
    records: Dict[Tuple[str, str], Dict[str, Any]], scenario: str
) -> None:
    audit = records[(scenario, "test04")]
    assert verify_test04(records[(scenario, "performance")]["summary"], audit["summary"]) == []
    assert parse_test04_summary(audit["summary"])[0] == scenario
    loaded = next(payload for name, payload in audit["calls"] if name == "load")
    # Every query is the same: MultiStream queries are the 8 samples from index 3 on.
    same = loaded[3:11] if scenario == "MultiStream" else [loaded[3]]
    calls = [payload for name, payload in audit["calls"] if name == "issue"]
    if scenario == "Offline":
        assert calls == [same * len(calls[0])]
    else:
        assert len(calls) > 1 and all(call == same for call in calls)
    detail = parse_mlperf_log(audit["detail"])
    assert _first(detail, "effective_performance_issue_same") is True
    assert _first(detail, "effective_performance_issue_same_index") == 3
    assert _num_errors(detail) == 0


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_test06_token_consistency_passes(
    records: Dict[Tuple[str, str], Dict[str, Any]], scenario: str
) -> None:
    audit = records[(scenario, "test06")]
    detail = parse_mlperf_log(audit["detail"])
    assert _first(detail, "requested_min_query_count") == 100
    assert _first(detail, "requested_min_duration_ms") == 0
    assert _first(detail, "effective_sample_concatenate_permutation") is False
    assert _first(detail, "requested_use_token_latencies") is True
    entries = json.loads(audit["accuracy"])
    assert all(("token_data" in e) == (scenario != "Offline") for e in entries)
    assert verify_test06(audit["accuracy"], scenario) == []


def test_audit_runs_log_the_audit_warning(records: Dict[Tuple[str, str], Dict[str, Any]]) -> None:
    for (scenario, kind), record in records.items():
        warnings = [
            e["value"]
            for e in parse_mlperf_log(record["detail"]).get("warning_generic_message", [])
        ]
        audited = kind.startswith("test0")
        assert (
            (
                "Found Audit Config file (audit.config). Overriding TestSettings from "
                "audit.config file."
            )
            in warnings
        ) == audited, (scenario, kind)


# Logs of the official wheel's compliance runs (tests/data/reference/README.md), on which the
# official verifiers print TEST PASS: the re-implemented rules must accept them too.
OFFICIAL_LOGS = Path(__file__).resolve().parents[1] / "data" / "reference"


def test_verifiers_accept_the_official_compliance_logs() -> None:
    def read(run: str, name: str) -> str:
        return (OFFICIAL_LOGS / run / name).read_text(encoding="utf-8")

    audit = read("probe_audit_test01", "mlperf_log_accuracy.json")
    reference = read("probe_test01_reference_accuracy", "mlperf_log_accuracy.json")
    assert verify_test01_accuracy(audit, reference) == []
    assert verify_test01_accuracy_unixmode(audit, reference) == []
    assert (
        verify_test01_performance(
            read("probe_test01_reference_performance", "mlperf_log_detail.txt"),
            read("probe_audit_test01", "mlperf_log_detail.txt"),
        )
        == []
    )
    assert (
        verify_test04(
            read("probe_test01_reference_performance", "mlperf_log_summary.txt"),
            read("probe_audit_test04", "mlperf_log_summary.txt"),
        )
        == []
    )
    assert (
        verify_test06(read("probe_audit_test06_tokens", "mlperf_log_accuracy.json"), "SingleStream")
        == []
    )


def test_verifiers_fail_doctored_logs(records: Dict[Tuple[str, str], Dict[str, Any]]) -> None:
    """Each verifier rejects a log changed in the way its rule is about."""
    audit, accuracy = records[("SingleStream", "test01")], records[("SingleStream", "accuracy")]
    first = json.loads(audit["accuracy"])[0]
    wrong = "FF" * (len(first["data"]) // 2)
    doctored = accuracy["accuracy"].replace(
        f'"qsl_idx" : {first["qsl_idx"]}, "data" : "{first["data"]}"',
        f'"qsl_idx" : {first["qsl_idx"]}, "data" : "{wrong}"',
    )
    assert doctored != accuracy["accuracy"]
    for verify in (verify_test01_accuracy, verify_test01_accuracy_unixmode):
        problems = verify(audit["accuracy"], doctored)
        # One problem per time the sample was logged.
        assert problems and all(str(first["qsl_idx"]) in p for p in problems), problems
    one_line = json.dumps(json.loads(audit["accuracy"]))
    assert verify_test01_accuracy_unixmode(one_line, accuracy["accuracy"]) != []

    reference = records[("SingleStream", "performance")]["detail"]
    invalid = audit["detail"].replace(
        '"result_validity", "value": "VALID"', '"result_validity", "value": "INVALID"'
    )
    assert invalid != audit["detail"]
    assert verify_test01_performance(reference, invalid) == ["test: result_validity 'INVALID'"]
    with_error = re.sub(r'("key": "num_errors", "value": )0', r"\g<1>1", audit["detail"])
    assert verify_test01_performance(reference, with_error) == ["test: 1 errors"]
    assert verify_test01_performance(reference, "garbage\n" + audit["detail"]) != []

    summary = records[("Server", "test04")]["summary"]
    invalid_summary = summary.replace("Result is : VALID", "Result is : INVALID")
    assert invalid_summary != summary
    assert verify_test04(summary, invalid_summary) == ["test: Result is 'INVALID'"]

    tokens = copy.deepcopy(json.loads(records[("Server", "test06")]["accuracy"]))
    tokens[0]["token_count"] += 1
    del tokens[1]["token_data"]
    assert len(verify_test06(json.dumps(tokens), "Server")) == 2
