"""The differential cases: what harness.py runs under both LoadGens, and how to compare them.

A case is a JSON-able dict read by harness.py:

* `name`: unique id (also the golden-data directory name).
* `scenario`, `mode`: enum member names; `settings`: TestSettings attributes set after any
  `from_config` calls (a list of FromConfig argument lists); `qsl`: {total, performance}.
* `api`: "sut" (ConstructSUT, default), "fast" (ConstructFastSUT) or "qdl" (ConstructQDL with
  `qdl_name`).
* `sut`: how samples are completed. `complete` is "inline" (inside IssueQuery, one
  QuerySamplesComplete per call), "pool" (`workers` threads, one sample each, optional `work_s`
  sleep per sample), "reversed" (one worker gathers what arrives within `window_s` and completes
  it in reverse order), "batches" (one worker, `batch` samples per QuerySamplesComplete) or
  "timed" (each sample completes `delay_s` after arrival, `slow_delay_s` for every
  `slow_every`-th sample of a series or every sample from the `slow_from`-th on).
  `issue_sleep_s` sleeps inside IssueQuery. `double_complete_first` (inline only): the first N
  samples of every series are completed twice (not the last ones: the official LoadGen frees a
  series' records as soon as every sample completed once, and its IO thread then reads a late
  duplicate of the final sample from freed memory, which crashes it now and then).
* `payload`: "index" (bytes derived from the sample index), "empty" or "tokens_int32" (the
  response is `token_count` int32 token ids, the first token is the first of them, as TEST06
  expects); `tokens`: send n_tokens
  and, except in Offline, a FirstTokenComplete first (`first_token` overrides); `response_cb`:
  pass a response callback and record which samples it saw.
* `files`: files written into the working directory first (audit.config, user.conf).
* `repeat`: StartTest calls in one process (default 1), each with settings built anew (the
  `from_config` calls repeated); the logs of the earlier ones are recorded in `earlier_tests`.
* `log`: LogOutputSettings fields plus `enable_trace`, `log_mode` (a LoggingMode member name)
  and `log_mode_async_poll_interval_ms` -> StartTestWithLogSettings; absent ->
  StartTest. `audit_config_filename`: optional last argument.

`compare` (read by the tests only) says what is deterministic in the case:

* `order`: "calls" (every IssueQuery call's index list equal), "flat" (the concatenated order
  equal; grouping into calls is timing), "prefix" (the run is stopped by the clock: the shorter
  flattened order must be a prefix of the longer).
* `counts`: result_query_count and the trailer counts are exact (runs decided by counts).
* `es`: early-stopping text policy, see common.mask_early_stopping.
* `overlatency`: result_overlatency_query_count is exact.
* `timeout_s`: harness subprocess timeout.

Runs are kept short (count-driven where possible: min_duration_ms = 0 makes SingleStream,
MultiStream and Server issue exactly min_query_count queries, Offline one query of
min_query_count samples).
"""

import copy
import importlib
import sys
from pathlib import Path

# The cases live in the cases_*.py modules next to this one. Tests in other directories load
# this file by its path, where those siblings are not importable by name until this directory
# is on the path.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
cases_basic = importlib.import_module("cases_basic")
cases_config = importlib.import_module("cases_config")
cases_audits = importlib.import_module("cases_audits")

# The official compliance audit files, for tests that write them themselves.
TEST01_AUDIT = cases_audits.TEST01_AUDIT
TEST04_AUDIT = cases_audits.TEST04_AUDIT
TEST06_AUDIT = cases_audits.TEST06_AUDIT


def all_cases():
    cases = (
        cases_basic.matrix()
        + cases_basic.sut_variants()
        + cases_basic.limits()
        + cases_config.config_and_modes()
        + cases_config.log_settings()
        + cases_audits.modes_per_scenario()
        + cases_audits.audits()
        + cases_audits.find_peak()
        + cases_audits.process_and_logging()
    )
    for case in cases:
        if case.get("mode") is None:
            case.pop("mode")
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "duplicate case names"
    return copy.deepcopy(cases)


def case_by_name(name):
    for case in all_cases():
        if case["name"] == name:
            return case
    raise KeyError(name)


# Fully deterministic cases whose official records are kept in tests/data/official_runs/ so
# that the exact comparisons also run where the official wheel is not installed.
GOLDEN_CASES = (
    "ss_perf",
    "ms_acc",
    "server_perf_tokens",
    "offline_perf",
    "audit_test01",
    "fromconfig_user_conf",
    "ss_max_query_count",
    "submission_run",
)
