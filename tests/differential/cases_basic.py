"""Differential cases: the scenario x mode x tokens matrix, the SUT completion variants and the
limits (query counts, durations, sample counts)."""

from cases_shared import ACC, MATRIX_SUT, PERF, SECOND, SHORT, TOKEN_BOUNDS, make_case


def matrix():
    cases = []
    for scenario, short in SHORT.items():
        for tokens in (False, True):
            suffix = "_tokens" if tokens else ""
            # Server is issued from one thread, so a pool may complete in any order but
            # IssueQuery calls stay one sample each: the call lists are still exact.
            bounds = TOKEN_BOUNDS if tokens and scenario == "Server" else {}
            cases.append(
                make_case(
                    f"{short}_perf{suffix}",
                    scenario,
                    "PerformanceOnly",
                    settings=dict(PERF[scenario], use_token_latencies=tokens, **bounds),
                    sut=dict(MATRIX_SUT[scenario]),
                    tokens=tokens,
                )
            )
            cases.append(
                make_case(
                    f"{short}_acc{suffix}",
                    scenario,
                    "AccuracyOnly",
                    settings=dict(ACC[scenario], use_token_latencies=tokens, **bounds),
                    sut=dict(MATRIX_SUT[scenario]),
                    tokens=tokens,
                )
            )
    return cases


def sut_variants():
    return [
        # Completion order differs from issue order: accuracy entries and latencies move, the
        # sample order and every exact key must not.
        make_case(
            "server_perf_reversed",
            "Server",
            settings=dict(PERF["Server"], min_query_count=300),
            sut={"complete": "reversed", "window_s": 0.002},
        ),
        make_case(
            "ms_perf_reversed",
            "MultiStream",
            settings=PERF["MultiStream"],
            sut={"complete": "reversed", "window_s": 0.001},
        ),
        make_case(
            "offline_acc_reversed_tokens",
            "Offline",
            "AccuracyOnly",
            settings={"use_token_latencies": True},
            sut={"complete": "reversed", "window_s": 0.001},
            tokens=True,
        ),
        make_case(
            "offline_perf_pool",
            "Offline",
            settings=PERF["Offline"],
            sut={"complete": "pool", "workers": 4},
        ),
        make_case(
            "ms_acc_empty_payload",
            "MultiStream",
            "AccuracyOnly",
            sut={"complete": "inline"},
            payload="empty",
        ),
        # response_cb: every sample in accuracy mode, only logged samples in performance mode.
        make_case(
            "ss_acc_response_cb",
            "SingleStream",
            "AccuracyOnly",
            sut={"complete": "pool"},
            response_cb=True,
        ),
        make_case(
            "ss_perf_sampled_response_cb",
            "SingleStream",
            settings=dict(
                PERF["SingleStream"], accuracy_log_probability=0.25, accuracy_log_rng_seed=12345
            ),
            sut={"complete": "inline"},
            response_cb=True,
        ),
        make_case(
            "fast_sut_server",
            "Server",
            api="fast",
            settings=dict(PERF["Server"], min_query_count=200),
            sut={"complete": "inline"},
        ),
        make_case(
            "qdl_named",
            "SingleStream",
            api="qdl",
            qdl_name="Network SUT demo",
            settings=PERF["SingleStream"],
            sut={"complete": "inline"},
        ),
    ]


def limits():
    return [
        # Count-driven early end: exact query count and message.
        make_case(
            "ss_max_query_count",
            "SingleStream",
            settings={"min_duration_ms": 0, "min_query_count": 100, "max_query_count": 10},
            sut={"complete": "inline"},
        ),
        # Clock-driven early end: ~50 queries of 1 ms; the verdict (min duration and min
        # queries not met) is certain, the count is not.
        make_case(
            "ss_max_duration",
            "SingleStream",
            settings={"min_duration_ms": 1000, "min_query_count": 100, "max_duration_ms": 50},
            sut={"complete": "inline", "issue_sleep_s": 0.001},
            compare={"order": "prefix", "counts": False, "es": "verdict"},
        ),
        # max_async 2 with a 20 ms single worker: stops after the third outstanding query.
        make_case(
            "server_max_async",
            "Server",
            settings={
                "min_duration_ms": 200,
                "min_query_count": 100,
                "server_target_qps": 1000.0,
                "server_max_async_queries": 2,
                "server_target_latency_ns": SECOND,
            },
            sut={"complete": "pool", "workers": 1, "work_s": 0.02},
            compare={"order": "prefix", "counts": False, "es": "verdict"},
        ),
        # The issuer sleeps 2 ms per call at 5000 QPS, so overdue queries get coalesced; the
        # grouping is timing, the order and the count (all generated queries) are not.
        make_case(
            "server_coalesce",
            "Server",
            settings={
                "min_duration_ms": 0,
                "min_query_count": 200,
                "server_target_qps": 5000.0,
                "server_target_latency_ns": SECOND,
                "server_coalesce_queries": True,
            },
            sut={"complete": "inline", "issue_sleep_s": 0.002},
            compare={"order": "flat"},
        ),
        # 1 ms per query for 30 ms: ends naturally with the duration met, count from the clock.
        make_case(
            "ss_min_duration_met",
            "SingleStream",
            settings={"min_duration_ms": 30, "min_query_count": 10},
            sut={"complete": "inline", "issue_sleep_s": 0.001},
            compare={"order": "prefix", "counts": False, "es": "verdict"},
        ),
        # Expected latency 1 s: only min_query_count queries are generated, they run out long
        # before 100 ms: "Ran out of generated queries", min duration not met.
        make_case(
            "ss_min_duration_not_met",
            "SingleStream",
            settings={
                "min_duration_ms": 100,
                "min_query_count": 5,
                "single_stream_expected_latency_ns": 1e9,
            },
            sut={"complete": "inline"},
        ),
        make_case(
            "offline_min_duration_not_met",
            "Offline",
            settings={"min_duration_ms": 1000, "offline_expected_qps": 100.0},
            sut={"complete": "inline"},
        ),
        # Offline waits 30 ms before completing anything: max latency > min duration.
        make_case(
            "offline_min_duration_met",
            "Offline",
            settings={"min_duration_ms": 20, "min_query_count": 1, "offline_expected_qps": 100.0},
            sut={"complete": "timed", "delay_s": 0.03},
        ),
        make_case(
            "ss_too_few_for_early_stopping",
            "SingleStream",
            settings={"min_duration_ms": 0, "min_query_count": 20},
            sut={"complete": "inline"},
            compare={"es": "exact"},
        ),
        # Every 10th sample takes 40 ms against a 10 ms target (the others complete at once):
        # perf constraints and early stopping fail for certain.
        make_case(
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
        make_case(
            "ss_double_complete",
            "SingleStream",
            compare={"accuracy": "deduplicated"},
            settings={"min_duration_ms": 0, "min_query_count": 80},
            sut={"complete": "inline", "double_complete_first": 76},
        ),
        make_case(
            "ss_acc_double_complete",
            "SingleStream",
            "AccuracyOnly",
            compare={"accuracy": "deduplicated"},
            qsl={"total": 48, "performance": 16},
            sut={"complete": "inline", "double_complete_first": 12},
        ),
        # use_token_latencies without FirstTokenComplete: one error per sample.
        make_case(
            "ss_tokens_without_first_token",
            "SingleStream",
            settings={"min_duration_ms": 0, "min_query_count": 30, "use_token_latencies": True},
            sut={"complete": "inline"},
            tokens=True,
            first_token=False,
        ),
    ]
