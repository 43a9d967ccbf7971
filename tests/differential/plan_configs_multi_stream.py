"""record_plan.py's configurations: MultiStream runs, padded sets included."""

from __future__ import annotations

from plan_configs_common import TV6_ACC_SEED, cfg, official_seeds


def multi_stream() -> list[dict]:
    """MultiStream runs, padded sets included."""
    perf, acc, sub = "PerformanceOnly", "AccuracyOnly", "SubmissionRun"
    ms = "MultiStream"
    quick = dict(min_duration_ms=0)
    c: list[dict] = []

    # MultiStream.
    for spq in range(1, 9):
        c.append(
            cfg(
                f"ms_spq{spq}",
                ms,
                perf,
                100,
                30,
                min_query_count=12,
                **quick,
                multi_stream_samples_per_query=spq,
                qsl_rng_seed=100 + spq,
                sample_index_rng_seed=200 + spq,
            )
        )
    c.append(cfg("ms_tv3", ms, perf, 1000, 100, min_query_count=4, **quick, **official_seeds()))
    c.append(
        cfg(
            "ms_duration_driven",
            ms,
            perf,
            200,
            40,
            min_query_count=2,
            min_duration_ms=2,
            multi_stream_expected_latency_ns=200000,
            multi_stream_samples_per_query=4,
            **official_seeds(),
        )
    )
    c.append(
        cfg(
            "ms_unique",
            ms,
            perf,
            50,
            20,
            min_query_count=3,
            **quick,
            multi_stream_samples_per_query=3,
            performance_issue_unique=True,
            qsl_rng_seed=41,
            sample_index_rng_seed=42,
        )
    )
    c.append(
        cfg(
            "ms_same",
            ms,
            perf,
            50,
            20,
            min_query_count=6,
            **quick,
            multi_stream_samples_per_query=4,
            performance_issue_same=True,
            performance_issue_same_index=5,
        )
    )
    c.append(
        cfg(
            "ms_equal_issue",
            ms,
            perf,
            50,
            10,
            min_query_count=5,
            **quick,
            multi_stream_samples_per_query=3,
            sample_concatenate_permutation=True,
            qsl_rng_seed=43,
            sample_index_rng_seed=44,
        )
    )
    c.append(
        cfg(
            "ms_sampling_target",
            ms,
            perf,
            200,
            64,
            min_query_count=50,
            **quick,
            multi_stream_samples_per_query=8,
            accuracy_log_sampling_target=20,
            accuracy_log_rng_seed=TV6_ACC_SEED,
            **official_seeds(),
        )
    )
    c.append(
        cfg(
            "ms_acc_23_7_spq3",
            ms,
            acc,
            23,
            7,
            **quick,
            multi_stream_samples_per_query=3,
            **official_seeds(),
        )
    )
    c.append(
        cfg(
            "ms_acc_23_7_spq8",
            ms,
            acc,
            23,
            8,
            **quick,
            multi_stream_samples_per_query=8,
            qsl_rng_seed=45,
            sample_index_rng_seed=46,
        )
    )
    # Sets smaller than spq - 1 are padded cyclically.
    c.append(
        cfg(
            "ms_acc_cyclic_padding",
            ms,
            acc,
            10,
            4,
            **quick,
            multi_stream_samples_per_query=8,
            qsl_rng_seed=3,
        )
    )
    c.append(
        cfg(
            "ms_perf_cyclic_padding",
            ms,
            perf,
            10,
            4,
            min_query_count=3,
            **quick,
            multi_stream_samples_per_query=8,
            qsl_rng_seed=3,
            sample_index_rng_seed=2**32,
        )
    )
    c.append(
        cfg(
            "ms_submission",
            ms,
            sub,
            30,
            10,
            min_query_count=10,
            **quick,
            multi_stream_samples_per_query=4,
            accuracy_log_probability=0.3,
            accuracy_log_rng_seed=5,
            qsl_rng_seed=47,
            sample_index_rng_seed=48,
        )
    )
    return c
