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

DEFAULT_COMPARE = {
    "order": "calls",
    "counts": True,
    "es": "masked",
    "overlatency": True,
    "timeout_s": 60,
}

SMALL_QSL = {"total": 256, "performance": 64}

# Server latency bounds far above anything a loaded machine produces, so the over-latency
# count (and with it early stopping) is 0 for certain wherever a case does not test it.
_SECOND = 1_000_000_000
_TOKEN_BOUNDS = {"ttft_latency": _SECOND, "tpot_latency": _SECOND}

# Shapes of the main matrix: fast, count-driven runs for each scenario.
_PERF = {
    "SingleStream": {"min_duration_ms": 0, "min_query_count": 100},
    "MultiStream": {"min_duration_ms": 0, "min_query_count": 40},
    "Server": {
        "min_duration_ms": 0,
        "min_query_count": 500,
        "server_target_qps": 5000.0,
        "server_target_latency_ns": _SECOND,
    },
    "Offline": {"min_duration_ms": 0, "min_query_count": 300},
}
# Server accuracy runs are paced by the schedule, so they need a high QPS too.
_ACC = {
    "SingleStream": {},
    "MultiStream": {},
    "Server": {"server_target_qps": 5000.0},
    "Offline": {},
}
# A different way of completing per scenario, so the matrix covers all of them.
_MATRIX_SUT = {
    "SingleStream": {"complete": "inline"},
    "MultiStream": {"complete": "pool", "workers": 3},
    "Server": {"complete": "pool", "workers": 2},
    "Offline": {"complete": "batches", "batch": 37},
}
_SHORT = {"SingleStream": "ss", "MultiStream": "ms", "Server": "server", "Offline": "offline"}


def _case(name, scenario, mode="PerformanceOnly", compare=None, **fields):
    case = {"name": name, "scenario": scenario, "mode": mode, "qsl": dict(SMALL_QSL)}
    case.update(fields)
    case["compare"] = dict(DEFAULT_COMPARE, **(compare or {}))
    return case


def _matrix():
    cases = []
    for scenario, short in _SHORT.items():
        for tokens in (False, True):
            suffix = "_tokens" if tokens else ""
            # Server is issued from one thread, so a pool may complete in any order but
            # IssueQuery calls stay one sample each: the call lists are still exact.
            bounds = _TOKEN_BOUNDS if tokens and scenario == "Server" else {}
            cases.append(
                _case(
                    f"{short}_perf{suffix}",
                    scenario,
                    "PerformanceOnly",
                    settings=dict(_PERF[scenario], use_token_latencies=tokens, **bounds),
                    sut=dict(_MATRIX_SUT[scenario]),
                    tokens=tokens,
                )
            )
            cases.append(
                _case(
                    f"{short}_acc{suffix}",
                    scenario,
                    "AccuracyOnly",
                    settings=dict(_ACC[scenario], use_token_latencies=tokens, **bounds),
                    sut=dict(_MATRIX_SUT[scenario]),
                    tokens=tokens,
                )
            )
    return cases


def _sut_variants():
    return [
        # Completion order differs from issue order: accuracy entries and latencies move, the
        # sample order and every exact key must not.
        _case(
            "server_perf_reversed",
            "Server",
            settings=dict(_PERF["Server"], min_query_count=300),
            sut={"complete": "reversed", "window_s": 0.002},
        ),
        _case(
            "ms_perf_reversed",
            "MultiStream",
            settings=_PERF["MultiStream"],
            sut={"complete": "reversed", "window_s": 0.001},
        ),
        _case(
            "offline_acc_reversed_tokens",
            "Offline",
            "AccuracyOnly",
            settings={"use_token_latencies": True},
            sut={"complete": "reversed", "window_s": 0.001},
            tokens=True,
        ),
        _case(
            "offline_perf_pool",
            "Offline",
            settings=_PERF["Offline"],
            sut={"complete": "pool", "workers": 4},
        ),
        _case(
            "ms_acc_empty_payload",
            "MultiStream",
            "AccuracyOnly",
            sut={"complete": "inline"},
            payload="empty",
        ),
        # response_cb: every sample in accuracy mode, only logged samples in performance mode.
        _case(
            "ss_acc_response_cb",
            "SingleStream",
            "AccuracyOnly",
            sut={"complete": "pool"},
            response_cb=True,
        ),
        _case(
            "ss_perf_sampled_response_cb",
            "SingleStream",
            settings=dict(
                _PERF["SingleStream"], accuracy_log_probability=0.25, accuracy_log_rng_seed=12345
            ),
            sut={"complete": "inline"},
            response_cb=True,
        ),
        _case(
            "fast_sut_server",
            "Server",
            api="fast",
            settings=dict(_PERF["Server"], min_query_count=200),
            sut={"complete": "inline"},
        ),
        _case(
            "qdl_named",
            "SingleStream",
            api="qdl",
            qdl_name="Network SUT demo",
            settings=_PERF["SingleStream"],
            sut={"complete": "inline"},
        ),
    ]


def _limits():
    return [
        # Count-driven early end: exact query count and message.
        _case(
            "ss_max_query_count",
            "SingleStream",
            settings={"min_duration_ms": 0, "min_query_count": 100, "max_query_count": 10},
            sut={"complete": "inline"},
        ),
        # Clock-driven early end: ~50 queries of 1 ms; the verdict (min duration and min
        # queries not met) is certain, the count is not.
        _case(
            "ss_max_duration",
            "SingleStream",
            settings={"min_duration_ms": 1000, "min_query_count": 100, "max_duration_ms": 50},
            sut={"complete": "inline", "issue_sleep_s": 0.001},
            compare={"order": "prefix", "counts": False, "es": "verdict"},
        ),
        # max_async 2 with a 20 ms single worker: stops after the third outstanding query.
        _case(
            "server_max_async",
            "Server",
            settings={
                "min_duration_ms": 200,
                "min_query_count": 100,
                "server_target_qps": 1000.0,
                "server_max_async_queries": 2,
                "server_target_latency_ns": _SECOND,
            },
            sut={"complete": "pool", "workers": 1, "work_s": 0.02},
            compare={"order": "prefix", "counts": False, "es": "verdict"},
        ),
        # The issuer sleeps 2 ms per call at 5000 QPS, so overdue queries get coalesced; the
        # grouping is timing, the order and the count (all generated queries) are not.
        _case(
            "server_coalesce",
            "Server",
            settings={
                "min_duration_ms": 0,
                "min_query_count": 200,
                "server_target_qps": 5000.0,
                "server_target_latency_ns": _SECOND,
                "server_coalesce_queries": True,
            },
            sut={"complete": "inline", "issue_sleep_s": 0.002},
            compare={"order": "flat"},
        ),
        # 1 ms per query for 30 ms: ends naturally with the duration met, count from the clock.
        _case(
            "ss_min_duration_met",
            "SingleStream",
            settings={"min_duration_ms": 30, "min_query_count": 10},
            sut={"complete": "inline", "issue_sleep_s": 0.001},
            compare={"order": "prefix", "counts": False, "es": "verdict"},
        ),
        # Expected latency 1 s: only min_query_count queries are generated, they run out long
        # before 100 ms: "Ran out of generated queries", min duration not met.
        _case(
            "ss_min_duration_not_met",
            "SingleStream",
            settings={
                "min_duration_ms": 100,
                "min_query_count": 5,
                "single_stream_expected_latency_ns": 1e9,
            },
            sut={"complete": "inline"},
        ),
        _case(
            "offline_min_duration_not_met",
            "Offline",
            settings={"min_duration_ms": 1000, "offline_expected_qps": 100.0},
            sut={"complete": "inline"},
        ),
        # Offline waits 30 ms before completing anything: max latency > min duration.
        _case(
            "offline_min_duration_met",
            "Offline",
            settings={"min_duration_ms": 20, "min_query_count": 1, "offline_expected_qps": 100.0},
            sut={"complete": "timed", "delay_s": 0.03},
        ),
        _case(
            "ss_too_few_for_early_stopping",
            "SingleStream",
            settings={"min_duration_ms": 0, "min_query_count": 20},
            sut={"complete": "inline"},
            compare={"es": "exact"},
        ),
        # Every 10th sample takes 40 ms against a 10 ms target (the others complete at once):
        # perf constraints and early stopping fail for certain.
        _case(
            "server_overlatency",
            "Server",
            settings={
                "min_duration_ms": 0,
                "min_query_count": 300,
                "server_target_qps": 1000.0,
                "server_target_latency_ns": 10_000_000,
            },
            sut={"complete": "timed", "slow_every": 10, "slow_delay_s": 0.04},
            compare={"es": "verdict", "overlatency": False},
        ),
        # Duplicate completions: one error each, the verdict ignores them.
        _case(
            "ss_double_complete",
            "SingleStream",
            compare={"accuracy": "deduplicated"},
            settings={"min_duration_ms": 0, "min_query_count": 80},
            sut={"complete": "inline", "double_complete_first": 76},
        ),
        _case(
            "ss_acc_double_complete",
            "SingleStream",
            "AccuracyOnly",
            compare={"accuracy": "deduplicated"},
            qsl={"total": 48, "performance": 16},
            sut={"complete": "inline", "double_complete_first": 12},
        ),
        # use_token_latencies without FirstTokenComplete: one error per sample.
        _case(
            "ss_tokens_without_first_token",
            "SingleStream",
            settings={"min_duration_ms": 0, "min_query_count": 30, "use_token_latencies": True},
            sut={"complete": "inline"},
            tokens=True,
            first_token=False,
        ),
    ]


_TEST01 = """# TEST01-like audit file
*.*.mode = 2
*.*.accuracy_log_rng_seed = 720381539243781796
*.*.accuracy_log_sampling_target = 20
"""
_TEST04 = """# TEST04-like audit file
*.SingleStream.mode = 2
*.SingleStream.performance_issue_unique = 0
*.SingleStream.performance_issue_same = 1
*.SingleStream.performance_issue_same_index = 3
resnet50.SingleStream.min_query_count = 500
"""
_USER_CONF = """# user.conf
resnet50.SingleStream.target_latency = 2
*.SingleStream.min_duration = 0
*.SingleStream.min_query_count = 120
resnet50.*.performance_sample_count_override = 48
"""
_BAD_USER_CONF = """*.SingleStream.min_query_count = 7
this line is bad
*.*.min_duration = abc
"""


def _config_and_modes():
    return [
        # Requested AccuracyOnly; the audit file forces PerformanceOnly and samples the
        # accuracy log with its rng seed and sampling target.
        _case(
            "audit_test01",
            "SingleStream",
            "AccuracyOnly",
            settings=dict(_PERF["SingleStream"], min_query_count=200),
            files={"audit.config": _TEST01},
            sut={"complete": "inline"},
        ),
        _case(
            "audit_test04",
            "SingleStream",
            settings=_PERF["SingleStream"],
            files={"audit.config": _TEST04},
            sut={"complete": "inline"},
        ),
        # An audit file present but disabled by the filename argument.
        _case(
            "audit_disabled",
            "SingleStream",
            settings=dict(_PERF["SingleStream"], min_query_count=30),
            files={"audit.config": _TEST01},
            audit_config_filename="",
            sut={"complete": "inline"},
        ),
        _case(
            "fromconfig_user_conf",
            "SingleStream",
            files={"user.conf": _USER_CONF},
            from_config=[["user.conf", "resnet50", "SingleStream"]],
            sut={"complete": "inline"},
            settings={},
            mode=None,
        ),
        # Parse errors land at the top of the next detail log and count as errors.
        _case(
            "fromconfig_errors",
            "SingleStream",
            files={"user.conf": _BAD_USER_CONF},
            from_config=[
                ["user.conf", "resnet50", "SingleStream"],
                ["missing.conf", "resnet50", "SingleStream"],
            ],
            settings=dict(
                _PERF["SingleStream"], min_query_count=30, performance_sample_count_override=0
            ),
            sut={"complete": "inline"},
        ),
        _case(
            "test05_flag",
            "SingleStream",
            "AccuracyOnly",
            settings=dict(
                _PERF["SingleStream"],
                test05=True,
                test05_qsl_rng_seed=11,
                test05_sample_index_rng_seed=22,
                test05_schedule_rng_seed=33,
            ),
            sut={"complete": "inline"},
        ),
        _case(
            "submission_run",
            "SingleStream",
            "SubmissionRun",
            qsl={"total": 32, "performance": 16},
            settings={"min_duration_ms": 0, "min_query_count": 30},
            sut={"complete": "inline"},
        ),
        _case(
            "offline_submission_run_sampled",
            "Offline",
            "SubmissionRun",
            qsl={"total": 40, "performance": 16},
            settings={
                "min_duration_ms": 0,
                "min_query_count": 50,
                "accuracy_log_probability": 0.5,
                "accuracy_log_rng_seed": 7,
            },
            sut={"complete": "batches", "batch": 9},
        ),
        # min_query_count 20 is rounded up to whole copies of the 16-sample set (32).
        _case(
            "ss_equal_issue",
            "SingleStream",
            qsl={"total": 64, "performance": 16},
            settings={
                "min_duration_ms": 0,
                "min_query_count": 20,
                "sample_concatenate_permutation": True,
            },
            sut={"complete": "inline"},
        ),
        _case(
            "ss_issue_unique_seeded",
            "SingleStream",
            settings={
                "min_duration_ms": 0,
                "min_query_count": 64,
                "performance_issue_unique": True,
                "qsl_rng_seed": 1234567,
                "sample_index_rng_seed": 98765,
                "schedule_rng_seed": 5,
            },
            sut={"complete": "inline"},
        ),
        _case(
            "server_seeded_sampling_target",
            "Server",
            settings=dict(
                _PERF["Server"],
                qsl_rng_seed=3,
                sample_index_rng_seed=4,
                schedule_rng_seed=5,
                accuracy_log_rng_seed=6,
                accuracy_log_sampling_target=40,
            ),
            sut={"complete": "inline"},
        ),
        # From the 11th sample of a series on, latency is 80 ms against a 40 ms target (the
        # others complete at once), so a tried QPS passes iff its 50 ms schedule has at most 10
        # queries (99th percentile): the peak depends on the schedule only.
        _case(
            "find_peak_server",
            "Server",
            "FindPeakPerformance",
            settings={
                "min_duration_ms": 50,
                "min_query_count": 1,
                "server_target_qps": 100.0,
                "server_target_latency_ns": 40_000_000,
                "server_find_peak_qps_decimals_of_precision": 0,
            },
            sut={"complete": "timed", "slow_from": 10, "slow_delay_s": 0.08},
            compare={"es": "verdict", "counts": True},
        ),
        _case(
            "offline_inferred_tokens",
            "Offline",
            settings=dict(
                _PERF["Offline"], infer_token_latencies=True, token_latency_scaling_factor=21
            ),
            sut={"complete": "inline"},
        ),
        _case(
            "find_peak_single_stream",
            "SingleStream",
            "FindPeakPerformance",
            settings=_PERF["SingleStream"],
            sut={"complete": "inline"},
        ),
    ]


def _log_settings():
    return [
        _case(
            "log_settings_outdir_prefix_suffix",
            "SingleStream",
            settings=dict(_PERF["SingleStream"], min_query_count=30),
            log={
                "outdir": "sub",
                "prefix": "pre_",
                "suffix": "_suf",
                "enable_trace": False,
                "copy_summary_to_stdout": True,
            },
            sut={"complete": "inline"},
        ),
        _case(
            "log_settings_datetime_detail_stdout",
            "Offline",
            settings=dict(_PERF["Offline"], min_query_count=20),
            log={"prefix_with_datetime": True, "copy_detail_to_stdout": True},
            sut={"complete": "inline"},
        ),
        _case(
            "log_settings_no_trace_print_timestamps",
            "MultiStream",
            settings=dict(_PERF["MultiStream"], print_timestamps=True),
            log={"enable_trace": False},
            sut={"complete": "inline"},
        ),
    ]


# Official compliance audit files (docs/official-behaviour.md#session-audit), as the official
# compliance/TEST0x directories ship them.
_AUDIT_HEADER = """# The format of this config file is 'key = value'.
# The key has the format 'model.scenario.key'. Value is mostly int64_t.
# Model maybe '*' as wildcard. In that case the value applies to all models.
# All times are in milli seconds
"""
TEST01_AUDIT = (
    _AUDIT_HEADER
    + """
# mode dictionary (0 = submission, 1 = accuracy, 2 = performance, 3 = find peak perf)
*.*.mode = 2
*.*.accuracy_log_rng_seed = 720381539243781796
*.*.accuracy_log_sampling_target = 64
"""
)
TEST04_AUDIT = (
    _AUDIT_HEADER
    + "".join(
        f"*.{s}.mode = 2\n*.{s}.performance_issue_unique = 0\n*.{s}.performance_issue_same = 1\n"
        f"*.{s}.performance_issue_same_index = 3\n"
        for s in ("MultiStream", "Offline", "SingleStream", "Server")
    )
    + ("stable-diffusion-xl.Offline.min_query_count = 500\n")
)
TEST06_AUDIT = (
    _AUDIT_HEADER
    + """
# mode dictionary (0 = submission, 1 = accuracy, 2 = performance, 3 = find peak perf)
*.*.mode = 2
*.*.accuracy_log_rng_seed = 720381539243781796
*.*.accuracy_log_sampling_target = 100
*.*.min_query_count = 100
*.*.min_duration = 0
# Turn off equal issue mode for TEST06
*.*.sample_concatenate_permutation = 0
"""
)


def _modes_per_scenario():
    """SubmissionRun, accuracy_sample_count_override and FastSUT in every scenario; QDL."""
    cases = []
    for scenario, short in _SHORT.items():
        perf = dict(_PERF[scenario], **_ACC[scenario])
        # One accuracy set and the performance pass; seq ids and sampling continue across.
        cases.append(
            _case(
                f"{short}_submission_run",
                scenario,
                "SubmissionRun",
                qsl={"total": 48, "performance": 16},
                settings=dict(perf, accuracy_log_probability=0.3, accuracy_log_rng_seed=99),
                sut=dict(_MATRIX_SUT[scenario]),
            )
        )
        # More than two sets, the last one partial.
        cases.append(
            _case(
                f"{short}_acc_count_override",
                scenario,
                "AccuracyOnly",
                settings=dict(_ACC[scenario], accuracy_sample_count_override=150),
                sut=dict(_MATRIX_SUT[scenario]),
            )
        )
        if scenario != "Server":  # fast_sut_server exists
            cases.append(
                _case(
                    f"fast_sut_{short}",
                    scenario,
                    api="fast",
                    settings=_PERF[scenario],
                    sut={"complete": "inline"},
                )
            )
    cases += [
        # One set of 10 samples, padded with its first 7 (fewer than 7 is an error of ours
        # where the official reads past the set).
        _case(
            "ms_acc_count_override_small",
            "MultiStream",
            "AccuracyOnly",
            settings={"accuracy_sample_count_override": 10},
            sut={"complete": "inline"},
        ),
        _case(
            "fast_sut_offline_acc",
            "Offline",
            "AccuracyOnly",
            api="fast",
            sut={"complete": "batches", "batch": 50},
        ),
        # The QDL name callback: how often and when it is called, per mode.
        _case(
            "qdl_ms_acc",
            "MultiStream",
            "AccuracyOnly",
            api="qdl",
            qdl_name="Network SUT qdl",
            sut={"complete": "inline"},
        ),
        _case(
            "qdl_server_perf",
            "Server",
            api="qdl",
            qdl_name="Network SUT qdl",
            settings=_PERF["Server"],
            sut={"complete": "inline"},
        ),
        _case(
            "qdl_submission_run",
            "Offline",
            "SubmissionRun",
            api="qdl",
            qdl_name="Network SUT",
            qsl={"total": 40, "performance": 16},
            settings=_PERF["Offline"],
            sut={"complete": "inline"},
        ),
        _case(
            "server_submission_run_tokens",
            "Server",
            "SubmissionRun",
            qsl={"total": 24, "performance": 16},
            settings=dict(_PERF["Server"], use_token_latencies=True, **_TOKEN_BOUNDS),
            sut={"complete": "pool", "workers": 2},
            tokens=True,
        ),
    ]
    return cases


def _audits():
    """The official TEST01/TEST04/TEST06 audit files in every scenario, test05, odd files."""
    cases = []
    for scenario, short in _SHORT.items():
        # Requested AccuracyOnly: the audit forces PerformanceOnly.
        cases.append(
            _case(
                f"{short}_audit_test01",
                scenario,
                "AccuracyOnly",
                settings=_PERF[scenario],
                files={"audit.config": TEST01_AUDIT},
                sut=dict(_MATRIX_SUT[scenario]),
            )
        )
        cases.append(
            _case(
                f"{short}_audit_test04",
                scenario,
                settings=_PERF[scenario],
                files={"audit.config": TEST04_AUDIT},
                sut=dict(_MATRIX_SUT[scenario]),
            )
        )
        # TEST06 sets min_query_count 100 and min_duration 0 itself.
        settings = {
            k: v
            for k, v in _PERF[scenario].items()
            if k not in ("min_query_count", "min_duration_ms")
        }
        settings.update(
            use_token_latencies=True,
            sample_concatenate_permutation=True,
            **(_TOKEN_BOUNDS if scenario == "Server" else {}),
        )
        cases.append(
            _case(
                f"{short}_audit_test06",
                scenario,
                settings=settings,
                files={"audit.config": TEST06_AUDIT},
                payload="tokens_int32",
                sut=dict(_MATRIX_SUT[scenario]),
                tokens=True,
            )
        )
    seeds = {
        "test05": True,
        "test05_qsl_rng_seed": 1234,
        "test05_sample_index_rng_seed": 5678,
        "test05_schedule_rng_seed": 91011,
    }
    cases += [
        _case(
            "server_test05_seeds",
            "Server",
            "SubmissionRun",
            settings=dict(_PERF["Server"], **seeds),
            sut={"complete": "inline"},
        ),
        _case(
            "offline_test05_seeds",
            "Offline",
            settings=dict(_PERF["Offline"], qsl_rng_seed=1, **seeds),
            sut={"complete": "inline"},
        ),
        # test05 after a TEST01 audit: the audit's sampling applies, the seeds are test05's.
        _case(
            "ms_test05_with_audit",
            "MultiStream",
            "AccuracyOnly",
            settings=dict(_PERF["MultiStream"], **seeds),
            files={"audit.config": TEST01_AUDIT},
            sut={"complete": "inline"},
        ),
        # Another file name: the warning text still names audit.config.
        _case(
            "audit_custom_filename",
            "Offline",
            "AccuracyOnly",
            settings=_PERF["Offline"],
            files={"compliance.cfg": TEST04_AUDIT},
            audit_config_filename="compliance.cfg",
            sut={"complete": "inline"},
        ),
        # A bad line: logged, nothing applied, the test goes on in the requested mode.
        _case(
            "audit_parse_error",
            "SingleStream",
            settings=dict(_PERF["SingleStream"], min_query_count=40),
            files={"audit.config": "*.*.mode = 1\n*.*.min_query_count = 10 # no\n"},
            sut={"complete": "inline"},
        ),
        # An audit file may change the mode to any value, counts and overrides too.
        _case(
            "audit_to_submission_run",
            "SingleStream",
            qsl={"total": 40, "performance": 16},
            settings=_PERF["SingleStream"],
            files={
                "audit.config": "*.SingleStream.mode = 0\n*.*.min_query_count = 24\n"
                "*.*.accuracy_sample_count_override = 20\n"
                "*.Server.min_query_count = 5\n"
            },
            sut={"complete": "inline"},
        ),
    ]
    return cases


def _find_peak():
    """FindPeakPerformance with a SUT whose latency grows with load, as in find_peak_server.

    From the 11th sample of a series on, latency is 150 ms against a 100 ms target (the others
    complete at once, far below the target even on a loaded machine): a tried QPS passes iff
    its 50 ms schedule has at most 10 queries, so the peak is a function of the schedule only
    and is compared exactly (the messages, the summary's target_qps).
    """
    slow = {"complete": "timed", "slow_from": 10, "slow_delay_s": 0.15}
    peak = {"min_duration_ms": 50, "min_query_count": 1, "server_target_latency_ns": 100_000_000}
    compare = {"es": "verdict", "counts": True}
    return [
        # Another step size: boundaries 60, 90, 135, 202.5, then bisection to 1 QPS.
        _case(
            "find_peak_server_step",
            "Server",
            "FindPeakPerformance",
            settings=dict(
                peak,
                server_target_qps=60.0,
                server_find_peak_qps_boundary_step_size=0.5,
                server_find_peak_qps_decimals_of_precision=0,
            ),
            sut=slow,
            compare=compare,
        ),
        # print_timestamps prints nothing outside the performance mode driver.
        _case(
            "find_peak_server_print_timestamps",
            "Server",
            "FindPeakPerformance",
            settings=dict(peak, server_target_qps=150.0, print_timestamps=True),
            sut=slow,
            compare=compare,
        ),
        # Token mode: the constraint is the TTFT percentile (the first token comes with the
        # response); the 1 s latency target, which every trial meets, is not checked.
        _case(
            "find_peak_server_tokens",
            "Server",
            "FindPeakPerformance",
            settings=dict(
                peak,
                server_target_qps=60.0,
                server_target_latency_ns=1_000_000_000,
                use_token_latencies=True,
                ttft_latency=100_000_000,
                tpot_latency=1_000_000_000,
            ),
            sut=slow,
            tokens=True,
            compare=compare,
        ),
        # The base QPS already fails: error, and the base run's summary.
        _case(
            "find_peak_server_base_fails",
            "Server",
            "FindPeakPerformance",
            settings=dict(peak, server_target_qps=400.0),
            sut=slow,
            compare=compare,
        ),
        _case(
            "find_peak_offline",
            "Offline",
            "FindPeakPerformance",
            settings=dict(_PERF["Offline"], print_timestamps=True),
            sut={"complete": "inline"},
        ),
        _case(
            "find_peak_ms",
            "MultiStream",
            "FindPeakPerformance",
            settings=_PERF["MultiStream"],
            sut={"complete": "inline"},
        ),
    ]


def _process_and_logging():
    """Several StartTest calls in one process, LoggingMode values, every LogOutputSettings field."""
    cases = [
        # FromConfig(user.conf) before each test: the second loads no mlperf.conf (seeds 0)
        # and logs "Multiple conf files are used" at the top of its detail log.
        _case(
            "two_tests_from_config_twice",
            "SingleStream",
            repeat=2,
            files={"user.conf": _USER_CONF},
            from_config=[["user.conf", "resnet50", "SingleStream"]],
            sut={"complete": "inline"},
            settings={"performance_sample_count_override": 16},
        ),
        _case(
            "three_tests_same_settings",
            "Offline",
            "SubmissionRun",
            repeat=3,
            qsl={"total": 24, "performance": 16},
            settings=_PERF["Offline"],
            sut={"complete": "batches", "batch": 7},
        ),
        _case(
            "log_settings_every_field",
            "Server",
            settings=dict(_PERF["Server"], min_query_count=100),
            log={
                "outdir": "logs",
                "prefix": "run-",
                "suffix": ".x",
                "prefix_with_datetime": True,
                "copy_detail_to_stdout": True,
                "copy_summary_to_stdout": True,
                "enable_trace": True,
            },
            sut={"complete": "inline"},
        ),
        # Printed only around the performance pass. (Not with copy_*_to_stdout: after the
        # ratio line the official prints every default-formatted double that it writes to
        # stdout later in the process with 4 fixed decimals; ours does not.)
        _case(
            "submission_run_print_timestamps",
            "SingleStream",
            "SubmissionRun",
            qsl={"total": 32, "performance": 16},
            settings=dict(_PERF["SingleStream"], print_timestamps=True),
            sut={"complete": "inline"},
        ),
        _case(
            "acc_print_timestamps",
            "Offline",
            "AccuracyOnly",
            settings={"print_timestamps": True},
            sut={"complete": "inline"},
        ),
    ]
    for mode, interval in (("AsyncPoll", 1), ("EndOfTestOnly", 1000), ("Synchronous", 0)):
        cases.append(
            _case(
                f"logging_mode_{mode.lower()}",
                "SingleStream",
                settings=dict(_PERF["SingleStream"], min_query_count=30),
                log={"log_mode": mode, "log_mode_async_poll_interval_ms": interval},
                sut={"complete": "inline"},
            )
        )
    return cases


def all_cases():
    cases = (
        _matrix()
        + _sut_variants()
        + _limits()
        + _config_and_modes()
        + _log_settings()
        + _modes_per_scenario()
        + _audits()
        + _find_peak()
        + _process_and_logging()
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
