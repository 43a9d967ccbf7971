"""The runs test_modes.py makes (through tests/differential/harness.py), one case dict per name
in the format tests/differential/cases.py documents."""

from __future__ import annotations

from typing import Any, Dict, Optional

TEST01_SEED = 720381539243781796
SS_PERF = {"min_duration_ms": 0, "min_query_count": 100}


def _case(name: str, scenario: str, mode: Optional[str], **fields: Any) -> Dict[str, Any]:
    case: Dict[str, Any] = {
        "name": name,
        "scenario": scenario,
        "qsl": {"total": 256, "performance": 64},
        "sut": {"complete": "inline"},
        "settings": {},
    }
    if mode is not None:
        case["mode"] = mode
    case.update(fields)
    return case


_SLOW_PEAK_SUT = {"complete": "timed", "slow_from": 10, "slow_delay_s": 0.15}

RUNS: Dict[str, Dict[str, Any]] = {
    c["name"]: c
    for c in [
        # Sampling in performance mode, by target and by probability.
        _case(
            "ss_target",
            "SingleStream",
            "PerformanceOnly",
            settings=dict(
                SS_PERF, accuracy_log_rng_seed=TEST01_SEED, accuracy_log_sampling_target=30
            ),
        ),
        _case(
            "ms_probability",
            "MultiStream",
            "PerformanceOnly",
            settings={
                "min_duration_ms": 0,
                "min_query_count": 40,
                "accuracy_log_probability": 0.1,
                "accuracy_log_rng_seed": 7,
            },
        ),
        _case(
            "offline_probability",
            "Offline",
            "PerformanceOnly",
            settings={
                "min_duration_ms": 0,
                "min_query_count": 200,
                "accuracy_log_probability": 0.2,
                "accuracy_log_rng_seed": 3,
            },
        ),
        _case(
            "ss_submission",
            "SingleStream",
            "SubmissionRun",
            qsl={"total": 32, "performance": 16},
            settings={
                "min_duration_ms": 0,
                "min_query_count": 30,
                "accuracy_log_probability": 0.4,
                "accuracy_log_rng_seed": 11,
                "print_timestamps": True,
            },
        ),
        _case(
            "ss_acc_override",
            "SingleStream",
            "AccuracyOnly",
            settings={"accuracy_sample_count_override": 150},
        ),
        _case(
            "ms_acc_override_capped",
            "MultiStream",
            "AccuracyOnly",
            qsl={"total": 40, "performance": 16},
            settings={"accuracy_sample_count_override": 1000},
        ),
        _case(
            "find_peak_server",
            "Server",
            "FindPeakPerformance",
            sut=_SLOW_PEAK_SUT,
            settings={
                "min_duration_ms": 50,
                "min_query_count": 1,
                "server_target_qps": 60.0,
                "server_target_latency_ns": 100_000_000,
                "print_timestamps": True,
                "server_find_peak_qps_boundary_step_size": 0.5,
            },
        ),
        *[
            _case(f"find_peak_{s}", s, "FindPeakPerformance", settings=dict(SS_PERF))
            for s in ("SingleStream", "MultiStream", "Offline")
        ],
        # audit.config: precedence of the four key forms, then the keys conf_type 2 ignores.
        _case(
            "audit_precedence",
            "SingleStream",
            "AccuracyOnly",
            settings=dict(SS_PERF, qsl_rng_seed=5, accuracy_log_probability=0.0),
            files={
                "audit.config": "*.*.min_query_count = 10\n"
                "*.SingleStream.min_query_count = 40\n"
                "resnet50.SingleStream.min_query_count = 70\n"
                "*.Server.min_query_count = 90\n"
                "*.*.mode = 2\n*.*.max_query_count = 41\n"
                "*.*.qsl_rng_seed = 6\n*.*.accuracy_log_probability = 50\n"
                "*.*.test05 = 1\n"
            },
        ),
        _case(
            "audit_custom_name",
            "SingleStream",
            "PerformanceOnly",
            settings=dict(SS_PERF),
            files={"my.audit": "*.*.min_query_count = 20\n"},
            audit_config_filename="my.audit",
        ),
        _case(
            "audit_disabled",
            "SingleStream",
            "PerformanceOnly",
            settings=dict(SS_PERF),
            files={"audit.config": "*.*.min_query_count = 20\n"},
            audit_config_filename="",
        ),
        _case(
            "audit_parse_error",
            "SingleStream",
            "AccuracyOnly",
            files={"audit.config": "*.*.mode = 2\n*.*.min_query_count = 10 # comment\n"},
        ),
        # test05: seeds from the settings passed to StartTest; the audit cannot set them.
        _case(
            "test05",
            "SingleStream",
            "AccuracyOnly",
            settings=dict(
                SS_PERF,
                test05=True,
                qsl_rng_seed=1,
                sample_index_rng_seed=2,
                schedule_rng_seed=3,
                test05_qsl_rng_seed=11,
                test05_sample_index_rng_seed=22,
                test05_schedule_rng_seed=33,
            ),
            files={"audit.config": "*.*.mode = 1\n*.*.test05_qsl_rng_seed = 99\n"},
        ),
        # Two StartTest calls, FromConfig(user.conf) before each.
        _case(
            "two_tests",
            "SingleStream",
            None,
            repeat=2,
            files={
                "user.conf": "*.SingleStream.min_duration = 0\n"
                "*.SingleStream.min_query_count = 50\n"
            },
            from_config=[["user.conf", "resnet50", "SingleStream"]],
            settings={"performance_sample_count_override": 16},
        ),
        _case(
            "log_every_field",
            "Offline",
            "PerformanceOnly",
            settings={"min_duration_ms": 0, "min_query_count": 20},
            log={
                "outdir": "logs",
                "prefix": "run-",
                "suffix": ".x",
                "prefix_with_datetime": True,
                "copy_detail_to_stdout": True,
                "copy_summary_to_stdout": True,
                "enable_trace": True,
            },
        ),
        _case(
            "log_no_trace",
            "SingleStream",
            "PerformanceOnly",
            settings=dict(SS_PERF),
            log={"enable_trace": False},
        ),
        _case(
            "qdl_submission",
            "Offline",
            "SubmissionRun",
            api="qdl",
            qdl_name="Network SUT x",
            qsl={"total": 40, "performance": 16},
            settings={"min_duration_ms": 0, "min_query_count": 20},
        ),
        _case(
            "qdl_accuracy",
            "SingleStream",
            "AccuracyOnly",
            api="qdl",
            qdl_name="Network SUT y",
            qsl={"total": 20, "performance": 16},
        ),
        *[
            _case(
                f"fast_{s}",
                s,
                "PerformanceOnly",
                api="fast",
                settings={"min_duration_ms": 0, "min_query_count": 40, "server_target_qps": 5000.0},
            )
            for s in ("SingleStream", "MultiStream", "Server", "Offline")
        ],
    ]
}
