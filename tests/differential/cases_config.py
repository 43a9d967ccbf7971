"""Differential cases: config files (FromConfig, audit.config), test modes, and the logging
settings."""

from cases_shared import PERF, USER_CONF, make_case

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
_BAD_USER_CONF = """*.SingleStream.min_query_count = 7
this line is bad
*.*.min_duration = abc
"""


def config_and_modes():
    return [
        # Requested AccuracyOnly; the audit file forces PerformanceOnly and samples the
        # accuracy log with its rng seed and sampling target.
        make_case(
            "audit_test01",
            "SingleStream",
            "AccuracyOnly",
            settings=dict(PERF["SingleStream"], min_query_count=200),
            files={"audit.config": _TEST01},
            sut={"complete": "inline"},
        ),
        make_case(
            "audit_test04",
            "SingleStream",
            settings=PERF["SingleStream"],
            files={"audit.config": _TEST04},
            sut={"complete": "inline"},
        ),
        # An audit file present but disabled by the filename argument.
        make_case(
            "audit_disabled",
            "SingleStream",
            settings=dict(PERF["SingleStream"], min_query_count=30),
            files={"audit.config": _TEST01},
            audit_config_filename="",
            sut={"complete": "inline"},
        ),
        make_case(
            "fromconfig_user_conf",
            "SingleStream",
            files={"user.conf": USER_CONF},
            from_config=[["user.conf", "resnet50", "SingleStream"]],
            sut={"complete": "inline"},
            settings={},
            mode=None,
        ),
        # Parse errors land at the top of the next detail log and count as errors.
        make_case(
            "fromconfig_errors",
            "SingleStream",
            files={"user.conf": _BAD_USER_CONF},
            from_config=[
                ["user.conf", "resnet50", "SingleStream"],
                ["missing.conf", "resnet50", "SingleStream"],
            ],
            settings=dict(
                PERF["SingleStream"], min_query_count=30, performance_sample_count_override=0
            ),
            sut={"complete": "inline"},
        ),
        make_case(
            "test05_flag",
            "SingleStream",
            "AccuracyOnly",
            settings=dict(
                PERF["SingleStream"],
                test05=True,
                test05_qsl_rng_seed=11,
                test05_sample_index_rng_seed=22,
                test05_schedule_rng_seed=33,
            ),
            sut={"complete": "inline"},
        ),
        make_case(
            "submission_run",
            "SingleStream",
            "SubmissionRun",
            qsl={"total": 32, "performance": 16},
            settings={"min_duration_ms": 0, "min_query_count": 30},
            sut={"complete": "inline"},
        ),
        make_case(
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
        make_case(
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
        make_case(
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
        make_case(
            "server_seeded_sampling_target",
            "Server",
            settings=dict(
                PERF["Server"],
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
        make_case(
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
        make_case(
            "offline_inferred_tokens",
            "Offline",
            settings=dict(
                PERF["Offline"], infer_token_latencies=True, token_latency_scaling_factor=21
            ),
            sut={"complete": "inline"},
        ),
        make_case(
            "find_peak_single_stream",
            "SingleStream",
            "FindPeakPerformance",
            settings=PERF["SingleStream"],
            sut={"complete": "inline"},
        ),
    ]


def log_settings():
    return [
        make_case(
            "log_settings_outdir_prefix_suffix",
            "SingleStream",
            settings=dict(PERF["SingleStream"], min_query_count=30),
            log={
                "outdir": "sub",
                "prefix": "pre_",
                "suffix": "_suf",
                "enable_trace": False,
                "copy_summary_to_stdout": True,
            },
            sut={"complete": "inline"},
        ),
        make_case(
            "log_settings_datetime_detail_stdout",
            "Offline",
            settings=dict(PERF["Offline"], min_query_count=20),
            log={"prefix_with_datetime": True, "copy_detail_to_stdout": True},
            sut={"complete": "inline"},
        ),
        make_case(
            "log_settings_no_trace_print_timestamps",
            "MultiStream",
            settings=dict(PERF["MultiStream"], print_timestamps=True),
            log={"enable_trace": False},
            sut={"complete": "inline"},
        ),
    ]
