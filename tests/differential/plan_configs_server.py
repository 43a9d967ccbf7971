"""record_plan.py's configurations: Server runs (timings: the generated horizon stays under ~50 ms)."""

from __future__ import annotations

from plan_configs_common import cfg, official_seeds


def server() -> list[dict]:
    """Server runs (timings: the generated horizon stays under ~50 ms)."""
    perf, acc, sub = "PerformanceOnly", "AccuracyOnly", "SubmissionRun"
    srv = "Server"
    quick = dict(min_duration_ms=0)
    c: list[dict] = []

    # Server (timings: the generated horizon stays under ~50 ms).
    c.append(
        cfg(
            "srv_count_driven",
            srv,
            perf,
            1000,
            100,
            min_query_count=200,
            **quick,
            server_target_qps=20000,
            **official_seeds(),
        )
    )
    c.append(
        cfg(
            "srv_tv2",
            srv,
            perf,
            1000,
            100,
            min_query_count=10,
            **quick,
            server_target_qps=1000,
            **official_seeds(),
        )
    )
    c.append(
        cfg(
            "srv_duration_driven",
            srv,
            perf,
            500,
            50,
            min_query_count=10,
            min_duration_ms=20,
            server_target_qps=5000,
            **official_seeds(),
        )
    )
    c.append(
        cfg(
            "srv_seed_max64",
            srv,
            perf,
            300,
            40,
            min_query_count=100,
            **quick,
            server_target_qps=30000,
            schedule_rng_seed=2**64 - 1,
            sample_index_rng_seed=2**63 + 5,
        )
    )
    c.append(
        cfg(
            "srv_unique",
            srv,
            perf,
            60,
            25,
            min_query_count=5,
            **quick,
            server_target_qps=20000,
            performance_issue_unique=True,
            qsl_rng_seed=51,
            sample_index_rng_seed=52,
        )
    )
    c.append(
        cfg(
            "srv_same",
            srv,
            perf,
            60,
            25,
            min_query_count=30,
            **quick,
            server_target_qps=20000,
            performance_issue_same=True,
            performance_issue_same_index=24,
        )
    )
    c.append(
        cfg(
            "srv_equal_issue_count",
            srv,
            perf,
            60,
            7,
            min_query_count=30,
            **quick,
            server_target_qps=20000,
            sample_concatenate_permutation=True,
            qsl_rng_seed=53,
            sample_index_rng_seed=54,
        )
    )
    c.append(
        cfg(
            "srv_equal_issue_duration",
            srv,
            perf,
            60,
            7,
            min_query_count=3,
            min_duration_ms=10,
            server_target_qps=5000,
            sample_concatenate_permutation=True,
            qsl_rng_seed=55,
            sample_index_rng_seed=56,
            schedule_rng_seed=57,
        )
    )
    # Schedule seed 9 reaches a multiple of the set size exactly while still inside the horizon,
    # which tells "generated >= M" from "generated > M" in the equal-issue bump.
    c.append(
        cfg(
            "srv_equal_issue_bump_boundary",
            srv,
            perf,
            60,
            7,
            min_query_count=3,
            min_duration_ms=2,
            server_target_qps=5000,
            sample_concatenate_permutation=True,
            schedule_rng_seed=9,
        )
    )
    c.append(
        cfg(
            "srv_probability",
            srv,
            perf,
            200,
            50,
            min_query_count=300,
            **quick,
            server_target_qps=30000,
            accuracy_log_probability=0.15,
            accuracy_log_rng_seed=2**50 + 3,
            **official_seeds(),
        )
    )
    c.append(
        cfg(
            "srv_sampling_target",
            srv,
            perf,
            200,
            50,
            min_query_count=100,
            min_duration_ms=5,
            server_target_qps=20000,
            accuracy_log_sampling_target=12,
            accuracy_log_rng_seed=61,
            qsl_rng_seed=62,
        )
    )
    c.append(cfg("srv_acc", srv, acc, 50, 20, **quick, server_target_qps=10000, **official_seeds()))
    c.append(
        cfg(
            "srv_submission",
            srv,
            sub,
            40,
            15,
            min_query_count=60,
            **quick,
            server_target_qps=20000,
            accuracy_log_probability=0.25,
            accuracy_log_rng_seed=63,
            qsl_rng_seed=64,
            sample_index_rng_seed=65,
            schedule_rng_seed=66,
        )
    )
    return c
