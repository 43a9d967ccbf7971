"""Runs every case of cases.py under the official wheel and under ours, and compares the runs.

The official interpreter comes from LOADGEN_ORACLE_PYTHON (see common.require_oracle_python).
Ours is this interpreter (`python3` with our package installed), or LOADGEN_CANDIDATE_PYTHON;
pointing that at the oracle too runs official-vs-official, which checks the comparison rules
themselves. Each run is a harness.py subprocess in a fresh working directory.

test_runs_like_recorded_official compares ours with official records kept in
tests/data/official_runs/ (the fully deterministic cases of cases.GOLDEN_CASES), so the exact
comparisons also run without the oracle. Refresh them with:

    LOADGEN_ORACLE_PYTHON=<oracle python> python tests/differential/test_runs_vs_official.py --update-golden
"""

from __future__ import annotations

import collections
import concurrent.futures
import difflib
import importlib.util
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
from typing import Any, Dict, List, Optional, Sequence, Tuple

import pytest

HERE = pathlib.Path(__file__).resolve().parent


def _load_sibling(name: str) -> Any:
    """Imports tests/differential/<name>.py under a private name (no clash with other tests)."""
    spec = importlib.util.spec_from_file_location(f"_differential_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


cases = _load_sibling("cases")
common = _load_sibling("common")

HARNESS = HERE / "harness.py"
GOLDEN_DIR = HERE.parent / "data" / "official_runs"

ALL_CASES = cases.all_cases()


# ---------------------------------------------------------------------------------------------
# Running the harness


def run_harness(python: str, case: Dict[str, Any], workdir: pathlib.Path) -> Dict[str, Any]:
    """Runs `case` under `python` in `workdir`/run and returns its record (or fails the test)."""
    rundir = workdir / "run"
    rundir.mkdir(parents=True)
    case_path = workdir / "case.json"
    common.json_dump(case, str(case_path))
    timeout = case["compare"]["timeout_s"]
    try:
        proc = subprocess.run(
            [python, str(HARNESS), str(case_path), str(rundir)],
            cwd=rundir,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(
            f"{case['name']}: harness under {python} did not finish in {timeout} s "
            f"(hang?); stderr tail:\n{(e.stderr or '')[-2000:]}",
            pytrace=False,
        )
    record_path = rundir / "record.json"
    if not record_path.exists():
        pytest.fail(
            f"{case['name']}: harness under {python} exited {proc.returncode} without a "
            f"record; stderr tail:\n{proc.stderr[-3000:]}",
            pytrace=False,
        )
    with open(record_path, encoding="utf-8") as f:
        record: Dict[str, Any] = json.load(f)
    record["returncode"] = proc.returncode
    record["stderr"] = proc.stderr[-3000:]
    return record


def run_pair(
    official_python: str, ours_python: str, case: Dict[str, Any], tmp_path: pathlib.Path
) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """Both runs, concurrently (one per core) unless LOADGEN_DIFF_SERIAL=1."""
    if os.environ.get("LOADGEN_DIFF_SERIAL") == "1":
        return (
            run_harness(official_python, case, tmp_path / "official"),
            run_harness(ours_python, case, tmp_path / "ours"),
        )
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        official = pool.submit(run_harness, official_python, case, tmp_path / "official")
        ours = pool.submit(run_harness, ours_python, case, tmp_path / "ours")
        return official.result(), ours.result()


# ---------------------------------------------------------------------------------------------
# Comparison


class Diff:
    """Collects the differences of one comparison, each with a short explanation."""

    def __init__(self) -> None:
        self.problems: List[str] = []

    def check(self, ok: bool, what: str, official: Any = None, ours: Any = None) -> bool:
        if not ok:
            detail = (
                ""
                if official is None and ours is None
                else (f"\n    official: {_short(official)}\n    ours:     {_short(ours)}")
            )
            self.problems.append(f"{what}{detail}")
        return ok

    def equal(self, official: Any, ours: Any, what: str) -> bool:
        return self.check(official == ours, what, official, ours)


def _short(value: Any, limit: int = 600) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def _series(calls: Sequence[Sequence[Any]]) -> List[List[List[int]]]:
    """IssueQuery index lists grouped by series (a series ends with FlushQueries)."""
    series: List[List[List[int]]] = [[]]
    for name, payload in calls:
        if name == "issue":
            series[-1].append(payload)
        elif name == "flush":
            series.append([])
    if not series[-1]:
        series.pop()
    return series


def compare_calls(diff: Diff, official: Dict[str, Any], ours: Dict[str, Any], order: str) -> None:
    """Load/unload/flush/name calls exactly; IssueQuery calls by the case's order policy."""
    diff.equal(
        [c for c in official["calls"] if c[0] != "issue"],
        [c for c in ours["calls"] if c[0] != "issue"],
        "LoadSamplesToRam/UnloadSamplesFromRam/FlushQueries/name call sequence",
    )
    diff.equal(
        official["off_main_thread"],
        ours["off_main_thread"],
        "callbacks invoked off the StartTest thread",
    )
    series_o, series_u = _series(official["calls"]), _series(ours["calls"])
    if not diff.equal(len(series_o), len(series_u), "number of series (FlushQueries calls)"):
        return
    for i, (calls_o, calls_u) in enumerate(zip(series_o, series_u)):
        flat_o = [x for call in calls_o for x in call]
        flat_u = [x for call in calls_u for x in call]
        if order == "calls":
            if diff.equal(len(calls_o), len(calls_u), f"series {i}: IssueQuery call count"):
                bad = next((j for j, (a, b) in enumerate(zip(calls_o, calls_u)) if a != b), None)
                diff.check(
                    bad is None,
                    f"series {i}: IssueQuery call {bad} samples differ",
                    calls_o[bad] if bad is not None else None,
                    calls_u[bad] if bad is not None else None,
                )
        elif order == "flat":
            diff.equal(flat_o, flat_u, f"series {i}: issued sample order")
        elif order == "prefix":
            n = min(len(flat_o), len(flat_u))
            diff.check(
                n > 0 and flat_o[:n] == flat_u[:n],
                f"series {i}: issued sample order (one must be a prefix of the other)",
                flat_o,
                flat_u,
            )
        else:
            raise ValueError(f"unknown order policy {order!r}")


def _ordered_keys(entries: Sequence[common.LogEntry]) -> List[common.LogEntry]:
    """Entries whose position is deterministic: runtime errors interleave with the clock."""
    return [
        e
        for e in entries
        if e.key != "error_runtime"
        and e.key not in common.LOADGEN_ONLY_KEYS
        and not common.is_ignorable(e)
    ]


def _sequence_diff(a: Sequence[str], b: Sequence[str]) -> str:
    lines = list(difflib.unified_diff(list(a), list(b), "official", "ours", n=2, lineterm=""))
    return "\n".join(lines[:40])


def compare_detail(
    diff: Diff, official_text: Optional[str], ours_text: Optional[str], policy: Dict[str, Any]
) -> None:
    if not diff.check(
        official_text is not None and ours_text is not None,
        "detail log present",
        official_text is not None,
        ours_text is not None,
    ):
        return
    assert official_text is not None and ours_text is not None
    try:
        raw_u = common.parse_detail_log_raw(ours_text)
    except ValueError as e:
        diff.check(False, f"our detail log does not parse: {e}")
        return
    raw_o = common.parse_detail_log_raw(official_text)
    diff.check(
        bool(raw_u) and ours_text.startswith(common.MLLOG_MARKER),
        "detail log starts with the :::MLLOG marker",
    )

    # 1. Same keys in the same order (runtime errors and timing-only warnings aside).
    ordered_o, ordered_u = _ordered_keys(raw_o), _ordered_keys(raw_u)
    keys_o, keys_u = common.key_sequence(ordered_o), common.key_sequence(ordered_u)
    if not diff.check(
        keys_o == keys_u, "detail-log key sequence differs:\n" + _sequence_diff(keys_o, keys_u)
    ):
        return

    # 2. Values: exact unless timing/version/internal or exempted by the case policy.
    ignore = set(policy.get("ignore_keys", ()))
    ignorable_errors = {"official": 0, "ours": 0}
    for side, entries in (("official", raw_o), ("ours", raw_u)):
        ignorable_errors[side] = sum(1 for e in entries if e.is_error and common.is_ignorable(e))
    for i, (o, u) in enumerate(zip(ordered_o, ordered_u)):
        key = o.key
        diff.check(
            (o.is_error, o.is_warning) == (u.is_error, u.is_warning),
            f"detail[{i}] {key}: is_error/is_warning flags",
            [o.is_error, o.is_warning],
            [u.is_error, u.is_warning],
        )
        if (
            key in ignore
            or key in common.VERSION_KEYS
            or key in common.INTERNAL_KEYS
            or common.is_timing_key(key)
        ):
            continue
        if key in common.QUERY_COUNT_KEYS and not policy["counts"]:
            continue
        if key in common.OVERLATENCY_KEYS and not policy["overlatency"]:
            continue
        if key in common.EARLY_STOPPING_TEXT_KEYS:
            es = policy["es"]
            diff.equal(
                common.mask_early_stopping(str(common.parse_value(o.value)), es),
                common.mask_early_stopping(str(common.parse_value(u.value)), es),
                f"detail[{i}] {key} (early stopping, policy {es})",
            )
            continue
        if key == "num_errors":
            # Errors logged before num_errors, minus the timing-only ones.
            diff.equal(
                int(o.value) - _ignorable_before(raw_o, o),
                int(u.value) - _ignorable_before(raw_u, u),
                f"detail[{i}] num_errors (timing-only errors excluded)",
            )
            continue
        diff.equal(o.value, u.value, f"detail[{i}] {key} value")

    # 3. Errors and warnings as a multiset, timing numbers masked.
    def flagged(entries: Sequence[common.LogEntry]) -> "collections.Counter[Tuple[str, str]]":
        return collections.Counter(
            (e.key, common.mask_message(str(common.parse_value(e.value))))
            for e in entries
            if (e.is_error or e.is_warning) and not common.is_ignorable(e)
        )

    errors_o, errors_u = flagged(raw_o), flagged(raw_u)
    diff.check(
        errors_o == errors_u,
        "error/warning lines (multiset, timing numbers masked)",
        common.counter_diff(errors_o, errors_u)["only_official"],
        common.counter_diff(errors_o, errors_u)["only_ours"],
    )


def _ignorable_before(entries: Sequence[common.LogEntry], stop: common.LogEntry) -> int:
    count = 0
    for e in entries:
        if e is stop:
            break
        count += bool(e.is_error and common.is_ignorable(e))
    return count


def _entries_or_empty(text: Optional[str]) -> List[common.LogEntry]:
    """Parsed detail-log lines; [] for a log that does not parse (compare_detail reports it)."""
    try:
        return list(common.parse_detail_log_raw(text or ""))
    except ValueError:
        return []


def _ignorable_counts(detail_text: Optional[str]) -> Tuple[int, int]:
    entries = _entries_or_empty(detail_text)
    warnings = sum(1 for e in entries if e.is_warning and common.is_ignorable(e))
    errors = sum(1 for e in entries if e.is_error and common.is_ignorable(e))
    return warnings, errors


def compare_summary(
    diff: Diff, official: Dict[str, Any], ours: Dict[str, Any], policy: Dict[str, Any]
) -> None:
    text_o, text_u = official["summary"], ours["summary"]
    if not diff.check(
        text_o is not None and text_u is not None,
        "summary file present",
        text_o is not None,
        text_u is not None,
    ):
        return
    shapes_o = common.summary_line_shapes(text_o, policy["es"])
    shapes_u = common.summary_line_shapes(text_u, policy["es"])
    diff.check(
        shapes_o == shapes_u,
        "summary lines (labels, exact values) differ:\n" + _sequence_diff(shapes_o, shapes_u),
    )
    counts = []
    for record, text in ((official, text_o), (ours, text_u)):
        warnings, errors = common.summary_counts(text)
        ignorable_w, ignorable_e = _ignorable_counts(record["detail"])
        counts.append((warnings - ignorable_w, errors - ignorable_e))
    diff.equal(counts[0], counts[1], "summary trailer (warnings, errors), timing-only excluded")


def compare_accuracy(
    diff: Diff,
    official: Dict[str, Any],
    ours: Dict[str, Any],
    policy: Optional[Dict[str, Any]] = None,
) -> None:
    text_o, text_u = official["accuracy"], ours["accuracy"]
    if not diff.check(
        text_o is not None and text_u is not None,
        "accuracy log present",
        text_o is not None,
        text_u is not None,
    ):
        return
    try:
        entries_u = common.parse_accuracy_log(text_u)
    except ValueError as e:
        diff.check(False, f"our accuracy log is not valid JSON: {e}", text_o[:300], text_u[:300])
        return
    multiset_o = common.accuracy_multiset(common.parse_accuracy_log(text_o))
    multiset_u = common.accuracy_multiset(entries_u)
    if (policy or {}).get("accuracy") == "deduplicated":
        # Intended difference: the official logs a repeated completion a second time; we
        # reject the repeat (it is an error) and log each sample once.
        diff.check(all(n == 1 for n in multiset_u.values()), "our accuracy log repeats entries")
        multiset_o = type(multiset_o)(dict.fromkeys(multiset_o, 1))
        diff.equal(len(text_u.splitlines()), len(multiset_u) + 2, "accuracy log line count")
        text_o = text_u
    missing = common.counter_diff(multiset_o, multiset_u)
    diff.check(
        multiset_o == multiset_u,
        f"accuracy log entries (multiset of seq_id, qsl_idx, data, token_data, "
        f"token_count): {sum(multiset_o.values())} official vs "
        f"{sum(multiset_u.values())} ours",
        [list(e) for e in missing["only_official"]],
        [list(e) for e in missing["only_ours"]],
    )
    diff.equal(
        common.accuracy_line_shapes(text_o),
        common.accuracy_line_shapes(text_u),
        "accuracy log line layout",
    )


_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def _file_shapes(record: Dict[str, Any]) -> Dict[str, bool]:
    """Produced files (date-times masked) -> whether they are empty."""
    return {
        _DATETIME_RE.sub("<DATETIME>", name): size == 0 for name, size in record["files"].items()
    }


_STDOUT_NUMBER_RE = re.compile(r"(Timestamp = |duration = |ratio = )[0-9.]+")


def _stdout_shape(text: str, es_policy: str) -> Tuple[List[str], List[str]]:
    """(detail-log keys copied to stdout, other lines masked like the summary)."""
    keys = common.key_sequence(_ordered_keys(_entries_or_empty(text)))
    rest = "\n".join(line for line in text.split("\n") if not line.startswith(common.MLLOG_MARKER))
    shapes = [
        _STDOUT_NUMBER_RE.sub(r"\1<T>", line)
        for line in common.summary_line_shapes(rest, es_policy)
    ]
    return keys, shapes


def compare_records(
    official: Dict[str, Any], ours: Dict[str, Any], case: Dict[str, Any]
) -> List[str]:
    """Every difference between two records of `case` that the case declares deterministic."""
    policy = case["compare"]
    diff = Diff()
    exc_o, exc_u = official["exception"], ours["exception"]
    diff.equal(
        exc_o and [exc_o["type"], exc_o["message"]],
        exc_u and [exc_u["type"], exc_u["message"]],
        "exception raised by StartTest",
    )
    diff.equal(official["from_config_rc"], ours["from_config_rc"], "FromConfig return codes")
    compare_calls(diff, official, ours, policy["order"])
    diff.equal(
        official["response_cb_indices"],
        ours["response_cb_indices"],
        "samples passed to the QuerySamplesComplete response callback",
    )
    diff.equal(_file_shapes(official), _file_shapes(ours), "files produced (name -> empty)")
    compare_detail(diff, official["detail"], ours["detail"], policy)
    compare_summary(diff, official, ours, policy)
    compare_accuracy(diff, official, ours, policy)
    # Tests run before the last one in the same process (case `repeat`).
    earlier_o, earlier_u = official.get("earlier_tests", []), ours.get("earlier_tests", [])
    if diff.equal(len(earlier_o), len(earlier_u), "number of earlier StartTest calls"):
        for k, (test_o, test_u) in enumerate(zip(earlier_o, earlier_u)):
            sub = Diff()
            sub.equal(
                test_o["exception"] and test_o["exception"]["type"],
                test_u["exception"] and test_u["exception"]["type"],
                "exception raised by StartTest",
            )
            compare_detail(sub, test_o["detail"], test_u["detail"], policy)
            compare_summary(sub, test_o, test_u, policy)
            compare_accuracy(sub, test_o, test_u, policy)
            diff.problems += [f"StartTest call {k + 1}: {p}" for p in sub.problems]
    diff.equal(
        _stdout_shape(official["stdout"], policy["es"]),
        _stdout_shape(ours["stdout"], policy["es"]),
        "stdout (timings masked)",
    )
    return diff.problems


def _report(
    case: Dict[str, Any], problems: List[str], official: Dict[str, Any], ours: Dict[str, Any]
) -> str:
    head = (
        f"{case['name']}: {len(problems)} difference(s) between the official LoadGen "
        f"({official.get('module')}) and ours ({ours.get('module')})"
    )
    return "\n".join([head] + [f"  - {p}" for p in problems])


# ---------------------------------------------------------------------------------------------
# Fixtures and tests


@pytest.fixture(scope="session")
def ours_python() -> str:
    """The interpreter whose `mlperf_loadgen` is under test."""
    python = os.environ.get("LOADGEN_CANDIDATE_PYTHON") or sys.executable
    with tempfile.TemporaryDirectory() as cwd:  # keep the source tree off sys.path
        probe = subprocess.run(
            [python, "-c", "import mlperf_loadgen"], cwd=cwd, capture_output=True, text=True
        )
    if probe.returncode != 0:
        message = (
            f"{python} cannot import mlperf_loadgen (install ours with `pip install .`, "
            f"or set LOADGEN_CANDIDATE_PYTHON): {probe.stderr.strip()[-300:]}"
        )
        if os.environ.get("LOADGEN_REQUIRE_ORACLE") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return python


@pytest.fixture(scope="session")
def official_python() -> str:
    return common.require_oracle_python()


@pytest.mark.oracle
@pytest.mark.parametrize("case", ALL_CASES, ids=[c["name"] for c in ALL_CASES])
def test_runs_like_official(
    case: Dict[str, Any], official_python: str, ours_python: str, tmp_path: pathlib.Path
) -> None:
    official, ours = run_pair(official_python, ours_python, case, tmp_path)
    problems = compare_records(official, ours, case)
    assert not problems, _report(case, problems, official, ours)


@pytest.mark.parametrize("name", cases.GOLDEN_CASES)
def test_runs_like_recorded_official(name: str, ours_python: str, tmp_path: pathlib.Path) -> None:
    case = cases.case_by_name(name)
    with open(GOLDEN_DIR / name / "record.json", encoding="utf-8") as f:
        official = json.load(f)
    ours = run_harness(ours_python, case, tmp_path / "ours")
    problems = compare_records(official, ours, case)
    assert not problems, _report(case, problems, official, ours)


def test_golden_records_cover_golden_cases() -> None:
    """Every golden case has a recorded official run, made from the same case definition."""
    for name in cases.GOLDEN_CASES:
        path = GOLDEN_DIR / name / "record.json"
        assert path.is_file(), f"missing {path}: run this file with --update-golden"
        with open(path, encoding="utf-8") as f:
            record = json.load(f)
        assert record["case"] == name
        assert record["exception"] is None and record["detail"], name


def test_comparison_rules_catch_differences() -> None:
    """A record compared with a doctored copy of itself reports exactly what was changed."""
    with open(GOLDEN_DIR / "ss_max_query_count" / "record.json", encoding="utf-8") as f:
        official = json.load(f)
    case = cases.case_by_name("ss_max_query_count")
    assert compare_records(official, official, case) == []

    ours = json.loads(json.dumps(official))
    ours["detail"] = ours["detail"].replace('"value": 1e+06', '"value": 1000000', 1)
    ours["calls"][2][1] = [ours["calls"][2][1][0] + 1]
    ours["summary"] = ours["summary"].replace(
        "Min queries satisfied : NO", "Min queries satisfied : Yes"
    )
    problems = compare_records(official, ours, case)
    assert any("requested_single_stream_expected_latency_ns value" in p for p in problems)
    assert any("IssueQuery call 1 samples differ" in p for p in problems)
    assert any("summary lines" in p for p in problems)
    assert len(problems) == 3, problems

    # Timing values may differ, exact ones may not.
    ours = json.loads(json.dumps(official))
    ours["detail"] = re.sub(
        r'("key": "result_mean_latency_ns", "value": )\d+', r"\g<1>1", ours["detail"]
    )
    ours["detail"] = ours["detail"].replace(
        '"key": "loadgen_version", "value": "6.0.17 @ d6147c7eb7"',
        '"key": "loadgen_version", "value": "6.0.17 @ ours"',
    )
    assert compare_records(official, ours, case) == []
    ours["detail"] = ours["detail"].replace("query_count 10", "query_count 11")
    assert any("error/warning lines" in p for p in compare_records(official, ours, case))


# ---------------------------------------------------------------------------------------------


def update_golden(oracle_python: str) -> None:
    """Re-records the official runs of cases.GOLDEN_CASES into tests/data/official_runs/."""
    for name in cases.GOLDEN_CASES:
        case = cases.case_by_name(name)
        with tempfile.TemporaryDirectory() as tmp:
            rundir = pathlib.Path(tmp) / "run"
            rundir.mkdir()
            common.json_dump(case, os.path.join(tmp, "case.json"))
            subprocess.run(
                [oracle_python, str(HARNESS), os.path.join(tmp, "case.json"), str(rundir)],
                cwd=rundir,
                check=True,
                timeout=120,
            )
            with open(rundir / "record.json", encoding="utf-8") as f:
                record = json.load(f)
        record["module"] = "official mlcommons-loadgen 6.0.17"
        (GOLDEN_DIR / name).mkdir(parents=True, exist_ok=True)
        common.json_dump(record, str(GOLDEN_DIR / name / "record.json"))
        print(f"recorded {name}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--update-golden"]:
        sys.exit(f"usage: LOADGEN_ORACLE_PYTHON=<python> {sys.argv[0]} --update-golden")
    update_golden(os.environ["LOADGEN_ORACLE_PYTHON"])
