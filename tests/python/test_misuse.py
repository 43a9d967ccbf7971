"""The commonest harness mistakes, through the drop-in module, each in a child process.

The official wheel hangs or crashes on most of these; loadgen must end every one promptly with a
clear outcome: an exception before the run, a warning plus a detail-log error, or the SUT's own
exception re-raised after the logs are written. (Ctrl-C is in test_callbacks.py.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PRELUDE = """
import sys
import mlperf_loadgen as lg

def settings(scenario=lg.TestScenario.Offline, **changes):
    s = lg.TestSettings()
    s.scenario = scenario
    s.mode = lg.TestMode.PerformanceOnly
    s.min_duration_ms = 0
    s.min_query_count = 10
    for key, value in changes.items():
        setattr(s, key, value)
    return s

def complete(samples):
    lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, 0, 0) for s in samples])

qsl = lg.ConstructQSL(100, 100, lambda indices: None, lambda indices: None)
log_settings = lg.LogSettings()
log_settings.log_output.outdir = sys.argv[1]
try:
    BODY
except BaseException as error:
    print("raised", type(error).__name__, error)
else:
    print("returned")
"""

# name -> (statement, expected start of the output, text expected in stderr or the detail log)
CASES: dict[str, tuple[str, str, str | None]] = {
    "performance_sample_count_zero": (
        "lg.StartTestWithLogSettings(lg.ConstructSUT(complete, lambda: None), "
        "lg.ConstructQSL(100, 0, lambda i: None, lambda i: None), settings(), log_settings)",
        "raised SettingsError performance_sample_count is 0",
        None,
    ),
    "total_sample_count_zero": (
        "lg.StartTestWithLogSettings(lg.ConstructSUT(complete, lambda: None), "
        "lg.ConstructQSL(0, 0, lambda i: None, lambda i: None), settings(), log_settings)",
        "raised SettingsError the QSL reports TotalSampleCount() = 0",
        None,
    ),
    "missing_output_directory": (
        "log_settings.log_output.outdir = sys.argv[1] + '/no/such/dir'; "
        "lg.StartTestWithLogSettings(lg.ConstructSUT(complete, lambda: None), qsl, settings(), log_settings)",
        "raised",
        "must exist and be writable",
    ),
    "no_queries_to_generate": (
        "lg.StartTestWithLogSettings(lg.ConstructSUT(complete, lambda: None), qsl, "
        "settings(min_query_count=0), log_settings)",
        "raised SettingsError the Offline query would have 0 samples",
        None,
    ),
    "server_target_qps_zero": (
        "lg.StartTestWithLogSettings(lg.ConstructSUT(complete, lambda: None), qsl, "
        "settings(lg.TestScenario.Server, server_target_qps=0.0), log_settings)",
        "raised SettingsError server_target_qps is 0",
        None,
    ),
    "multistream_query_larger_than_the_set": (
        "lg.StartTestWithLogSettings(lg.ConstructSUT(complete, lambda: None), qsl, "
        "settings(lg.TestScenario.MultiStream, multi_stream_samples_per_query=1000), log_settings)",
        "raised SettingsError multi_stream_samples_per_query (1000) is larger",
        None,
    ),
    "bogus_response_id": (
        "lg.StartTestWithLogSettings(lg.ConstructSUT(lambda s: (lg.QuerySamplesComplete("
        "[lg.QuerySampleResponse(12345, 0, 0)]), complete(s)), lambda: None), qsl, settings(), "
        "log_settings)",
        "returned",
        "1 unknown, 0 stale and 0 duplicate ids",
    ),
    "repeated_response_ids": (
        "lg.StartTestWithLogSettings(lg.ConstructSUT(lambda s: (complete(s), complete(s)), "
        "lambda: None), qsl, settings(), log_settings)",
        "returned",
        "0 unknown, 0 stale and 10 duplicate ids",
    ),
    "completing_outside_a_test": (
        "lg.QuerySamplesComplete([lg.QuerySampleResponse(1, 0, 0)])",
        "returned",
        "1 unknown",
    ),
    "issue_query_raises": (
        "lg.StartTestWithLogSettings(lg.ConstructSUT(lambda s: 1 / 0, lambda: None), qsl, "
        "settings(), log_settings)",
        "raised ZeroDivisionError division by zero",
        None,
    ),
    "load_samples_raises": (
        "lg.StartTestWithLogSettings(lg.ConstructSUT(complete, lambda: None), "
        "lg.ConstructQSL(100, 100, lambda i: 1 / 0, lambda i: None), settings(), log_settings)",
        "raised ZeroDivisionError division by zero",
        None,
    ),
    "flush_raises": (
        "lg.StartTestWithLogSettings(lg.ConstructSUT(complete, lambda: 1 / 0), qsl, settings(), "
        "log_settings)",
        "raised ZeroDivisionError division by zero",
        None,
    ),
    "destroyed_sut_handle": (
        "sut = lg.ConstructSUT(complete, lambda: None); lg.DestroySUT(sut); "
        "lg.StartTestWithLogSettings(sut, qsl, settings(), log_settings)",
        "raised ValueError handle",
        None,
    ),
    "made_up_handle": (
        "lg.StartTestWithLogSettings(12345, qsl, settings(), log_settings)",
        "raised ValueError 12345 is not a handle",
        None,
    ),
    "first_token_without_token_latencies": (
        "lg.StartTestWithLogSettings(lg.ConstructSUT(lambda s: (lg.FirstTokenComplete("
        "[lg.QuerySampleResponse(q.id, 0, 0) for q in s]), complete(s)), lambda: None), qsl, "
        "settings(), log_settings)",
        "returned",
        None,
    ),
    "unregistered_issue_threads": (
        # The official deadlocks; loadgen waits 10 s for the threads, logs the error and issues
        # from the StartTest thread.
        "lg.StartTestWithLogSettings(lg.ConstructSUT(complete, lambda: None), qsl, "
        "settings(lg.TestScenario.Server, server_target_qps=100.0, "
        "server_num_issue_query_threads=2), log_settings)",
        "returned",
        "Mismatch between settings and number of registered IssueQueryThreads",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_mistake_ends_promptly_with_a_clear_outcome(name: str, tmp_path: Path) -> None:
    statement, expected, stderr_text = CASES[name]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    child = subprocess.run(
        [sys.executable, "-c", PRELUDE.replace("BODY", statement), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert child.returncode == 0, child.stderr  # no crash
    assert child.stdout.strip().splitlines()[0].startswith(expected), child.stdout
    if stderr_text is not None:
        detail = tmp_path / "mlperf_log_detail.txt"
        logged = detail.read_text() if detail.exists() else ""
        assert stderr_text in child.stdout + child.stderr + logged
