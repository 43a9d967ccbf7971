"""record_plan.py's configurations: Offline runs."""

from __future__ import annotations

from plan_configs_common import cfg, official_seeds


def offline() -> list[dict]:
    """Offline runs."""
    perf, acc, sub = "PerformanceOnly", "AccuracyOnly", "SubmissionRun"
    off = "Offline"
    quick = dict(min_duration_ms=0)
    c: list[dict] = []

    # Offline.
    c.append(
        cfg(
            "off_qps77",
            off,
            perf,
            1000,
            100,
            min_query_count=1,
            min_duration_ms=1000,
            offline_expected_qps=77,
            **official_seeds(),
        )
    )
    c.append(cfg("off_tv4", off, perf, 1000, 100, min_query_count=250, **quick, **official_seeds()))
    c.append(cfg("off_remainder", off, perf, 100, 30, min_query_count=45, **quick, qsl_rng_seed=71))
    c.append(
        cfg(
            "off_equal_issue_multiple",
            off,
            perf,
            100,
            30,
            min_query_count=90,
            **quick,
            sample_concatenate_permutation=True,
            qsl_rng_seed=72,
            sample_index_rng_seed=73,
        )
    )
    c.append(
        cfg(
            "off_equal_issue_padded",
            off,
            perf,
            100,
            30,
            min_query_count=50,
            **quick,
            sample_concatenate_permutation=True,
            qsl_rng_seed=74,
            sample_index_rng_seed=75,
        )
    )
    c.append(
        cfg(
            "off_unique",
            off,
            perf,
            100,
            30,
            min_query_count=10,
            **quick,
            performance_issue_unique=True,
            qsl_rng_seed=76,
        )
    )
    c.append(
        cfg(
            "off_same",
            off,
            perf,
            100,
            30,
            min_query_count=20,
            **quick,
            performance_issue_same=True,
            performance_issue_same_index=29,
        )
    )
    c.append(
        cfg(
            "off_unique_and_same",
            off,
            perf,
            100,
            30,
            min_query_count=20,
            **quick,
            performance_issue_unique=True,
            performance_issue_same=True,
            performance_issue_same_index=7,
            qsl_rng_seed=77,
        )
    )
    c.append(
        cfg(
            "off_probability",
            off,
            perf,
            500,
            200,
            min_query_count=300,
            **quick,
            accuracy_log_probability=0.1,
            accuracy_log_rng_seed=78,
            **official_seeds(),
        )
    )
    c.append(
        cfg(
            "off_single_path",
            off,
            perf,
            100000,
            70000,
            min_query_count=1,
            min_duration_ms=500,
            offline_expected_qps=100000,
            qsl_rng_seed=79,
            sample_index_rng_seed=80,
        )
    )
    c.append(
        cfg(
            "off_acc_overrides",
            off,
            acc,
            30,
            10,
            **quick,
            performance_sample_count_override=5,
            accuracy_sample_count_override=17,
            qsl_rng_seed=81,
        )
    )
    c.append(
        cfg(
            "off_acc_equal_issue",
            off,
            acc,
            30,
            8,
            **quick,
            sample_concatenate_permutation=True,
            qsl_rng_seed=82,
            sample_index_rng_seed=83,
        )
    )
    c.append(
        cfg(
            "off_submission_sampling_target",
            off,
            sub,
            60,
            25,
            min_query_count=100,
            **quick,
            accuracy_log_sampling_target=30,
            accuracy_log_rng_seed=84,
            **official_seeds(),
        )
    )
    return c
