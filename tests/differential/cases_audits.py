"""Differential cases: the modes in every scenario, the official compliance audits, find-peak
performance, and process-level and logging behaviour."""

from cases_shared import ACC, MATRIX_SUT, PERF, SHORT, TOKEN_BOUNDS, USER_CONF, make_case

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


def modes_per_scenario():
    """SubmissionRun, accuracy_sample_count_override and FastSUT in every scenario; QDL."""
    cases = []
    for scenario, short in SHORT.items():
        perf = dict(PERF[scenario], **ACC[scenario])
        # One accuracy set and the performance pass; seq ids and sampling continue across.
        cases.append(
            make_case(
                f"{short}_submission_run",
                scenario,
                "SubmissionRun",
                qsl={"total": 48, "performance": 16},
                settings=dict(perf, accuracy_log_probability=0.3, accuracy_log_rng_seed=99),
                sut=dict(MATRIX_SUT[scenario]),
            )
        )
        # More than two sets, the last one partial.
        cases.append(
            make_case(
                f"{short}_acc_count_override",
                scenario,
                "AccuracyOnly",
                settings=dict(ACC[scenario], accuracy_sample_count_override=150),
                sut=dict(MATRIX_SUT[scenario]),
            )
        )
        if scenario != "Server":  # fast_sut_server exists
            cases.append(
                make_case(
                    f"fast_sut_{short}",
                    scenario,
                    api="fast",
                    settings=PERF[scenario],
                    sut={"complete": "inline"},
                )
            )
    cases += [
        # One set of 10 samples, padded with its first 7 (fewer than 7 is an error of ours
        # where the official reads past the set).
        make_case(
            "ms_acc_count_override_small",
            "MultiStream",
            "AccuracyOnly",
            settings={"accuracy_sample_count_override": 10},
            sut={"complete": "inline"},
        ),
        make_case(
            "fast_sut_offline_acc",
            "Offline",
            "AccuracyOnly",
            api="fast",
            sut={"complete": "batches", "batch": 50},
        ),
        # The QDL name callback: how often and when it is called, per mode.
        make_case(
            "qdl_ms_acc",
            "MultiStream",
            "AccuracyOnly",
            api="qdl",
            qdl_name="Network SUT qdl",
            sut={"complete": "inline"},
        ),
        make_case(
            "qdl_server_perf",
            "Server",
            api="qdl",
            qdl_name="Network SUT qdl",
            settings=PERF["Server"],
            sut={"complete": "inline"},
        ),
        make_case(
            "qdl_submission_run",
            "Offline",
            "SubmissionRun",
            api="qdl",
            qdl_name="Network SUT",
            qsl={"total": 40, "performance": 16},
            settings=PERF["Offline"],
            sut={"complete": "inline"},
        ),
        make_case(
            "server_submission_run_tokens",
            "Server",
            "SubmissionRun",
            qsl={"total": 24, "performance": 16},
            settings=dict(PERF["Server"], use_token_latencies=True, **TOKEN_BOUNDS),
            sut={"complete": "pool", "workers": 2},
            tokens=True,
        ),
    ]
    return cases


def audits():
    """The official TEST01/TEST04/TEST06 audit files in every scenario, test05, odd files."""
    cases = []
    for scenario, short in SHORT.items():
        # Requested AccuracyOnly: the audit forces PerformanceOnly.
        cases.append(
            make_case(
                f"{short}_audit_test01",
                scenario,
                "AccuracyOnly",
                settings=PERF[scenario],
                files={"audit.config": TEST01_AUDIT},
                sut=dict(MATRIX_SUT[scenario]),
            )
        )
        cases.append(
            make_case(
                f"{short}_audit_test04",
                scenario,
                settings=PERF[scenario],
                files={"audit.config": TEST04_AUDIT},
                sut=dict(MATRIX_SUT[scenario]),
            )
        )
        # TEST06 sets min_query_count 100 and min_duration 0 itself.
        settings = {
            k: v
            for k, v in PERF[scenario].items()
            if k not in ("min_query_count", "min_duration_ms")
        }
        settings.update(
            use_token_latencies=True,
            sample_concatenate_permutation=True,
            **(TOKEN_BOUNDS if scenario == "Server" else {}),
        )
        cases.append(
            make_case(
                f"{short}_audit_test06",
                scenario,
                settings=settings,
                files={"audit.config": TEST06_AUDIT},
                payload="tokens_int32",
                sut=dict(MATRIX_SUT[scenario]),
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
        make_case(
            "server_test05_seeds",
            "Server",
            "SubmissionRun",
            settings=dict(PERF["Server"], **seeds),
            sut={"complete": "inline"},
        ),
        make_case(
            "offline_test05_seeds",
            "Offline",
            settings=dict(PERF["Offline"], qsl_rng_seed=1, **seeds),
            sut={"complete": "inline"},
        ),
        # test05 after a TEST01 audit: the audit's sampling applies, the seeds are test05's.
        make_case(
            "ms_test05_with_audit",
            "MultiStream",
            "AccuracyOnly",
            settings=dict(PERF["MultiStream"], **seeds),
            files={"audit.config": TEST01_AUDIT},
            sut={"complete": "inline"},
        ),
        # Another file name: the warning text still names audit.config.
        make_case(
            "audit_custom_filename",
            "Offline",
            "AccuracyOnly",
            settings=PERF["Offline"],
            files={"compliance.cfg": TEST04_AUDIT},
            audit_config_filename="compliance.cfg",
            sut={"complete": "inline"},
        ),
        # A bad line: logged, nothing applied, the test goes on in the requested mode.
        make_case(
            "audit_parse_error",
            "SingleStream",
            settings=dict(PERF["SingleStream"], min_query_count=40),
            files={"audit.config": "*.*.mode = 1\n*.*.min_query_count = 10 # no\n"},
            sut={"complete": "inline"},
        ),
        # An audit file may change the mode to any value, counts and overrides too.
        make_case(
            "audit_to_submission_run",
            "SingleStream",
            qsl={"total": 40, "performance": 16},
            settings=PERF["SingleStream"],
            files={
                "audit.config": "*.SingleStream.mode = 0\n*.*.min_query_count = 24\n"
                "*.*.accuracy_sample_count_override = 20\n"
                "*.Server.min_query_count = 5\n"
            },
            sut={"complete": "inline"},
        ),
    ]
    return cases


def find_peak():
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
        make_case(
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
        make_case(
            "find_peak_server_print_timestamps",
            "Server",
            "FindPeakPerformance",
            settings=dict(peak, server_target_qps=150.0, print_timestamps=True),
            sut=slow,
            compare=compare,
        ),
        # Token mode: the constraint is the TTFT percentile (the first token comes with the
        # response); the 1 s latency target, which every trial meets, is not checked.
        make_case(
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
        make_case(
            "find_peak_server_base_fails",
            "Server",
            "FindPeakPerformance",
            settings=dict(peak, server_target_qps=400.0),
            sut=slow,
            compare=compare,
        ),
        make_case(
            "find_peak_offline",
            "Offline",
            "FindPeakPerformance",
            settings=dict(PERF["Offline"], print_timestamps=True),
            sut={"complete": "inline"},
        ),
        make_case(
            "find_peak_ms",
            "MultiStream",
            "FindPeakPerformance",
            settings=PERF["MultiStream"],
            sut={"complete": "inline"},
        ),
    ]


def process_and_logging():
    """Several StartTest calls in one process, LoggingMode values, every LogOutputSettings field."""
    cases = [
        # FromConfig(user.conf) before each test: the second loads no mlperf.conf (seeds 0)
        # and logs "Multiple conf files are used" at the top of its detail log.
        make_case(
            "two_tests_from_config_twice",
            "SingleStream",
            repeat=2,
            files={"user.conf": USER_CONF},
            from_config=[["user.conf", "resnet50", "SingleStream"]],
            sut={"complete": "inline"},
            settings={"performance_sample_count_override": 16},
        ),
        make_case(
            "three_tests_same_settings",
            "Offline",
            "SubmissionRun",
            repeat=3,
            qsl={"total": 24, "performance": 16},
            settings=PERF["Offline"],
            sut={"complete": "batches", "batch": 7},
        ),
        make_case(
            "log_settings_every_field",
            "Server",
            settings=dict(PERF["Server"], min_query_count=100),
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
        make_case(
            "submission_run_print_timestamps",
            "SingleStream",
            "SubmissionRun",
            qsl={"total": 32, "performance": 16},
            settings=dict(PERF["SingleStream"], print_timestamps=True),
            sut={"complete": "inline"},
        ),
        make_case(
            "acc_print_timestamps",
            "Offline",
            "AccuracyOnly",
            settings={"print_timestamps": True},
            sut={"complete": "inline"},
        ),
    ]
    for mode, interval in (("AsyncPoll", 1), ("EndOfTestOnly", 1000), ("Synchronous", 0)):
        cases.append(
            make_case(
                f"logging_mode_{mode.lower()}",
                "SingleStream",
                settings=dict(PERF["SingleStream"], min_query_count=30),
                log={"log_mode": mode, "log_mode_async_poll_interval_ms": interval},
                sut={"complete": "inline"},
            )
        )
    return cases
