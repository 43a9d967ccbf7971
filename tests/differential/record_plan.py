#!/usr/bin/env python3
"""Records what a LoadGen does with its samples, for the schedule-stage differential tests.

Runs StartTest once per configuration (each in a child process, so a crash cannot take the others
with it) with a QSL and SUT that record every LoadSamplesToRam / UnloadSamplesFromRam call, every
IssueQuery's sample indices and every FlushQueries. The SUT completes each query inline. From the
detail log it keeps the generated_* values of every series and the effective_* settings; from the
accuracy log the logged (seq_id, qsl_idx) pairs.

    /tmp/oracle/venv/bin/python tests/differential/record_plan.py \
        --out tests/data/official_plans.json

Standard library only; the module under test is imported by name (--module, default
mlperf_loadgen), so the same script records our own implementation too.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time

Q_SEED = 2085463073848966840
S_SEED = 2747215439041700203
C_SEED = 16159082839903944936
TV6_ACC_SEED = 720381539243781796

# Lists longer than this are stored as {"n", "head", "fnv1a64"} to keep the data file small.
MAX_LIST = 4000
HEAD = 32


def fnv1a64(values: list[int]) -> int:
    """FNV-1a over each value as 8 little-endian bytes (the C++ test computes the same)."""
    h = 0xCBF29CE484222325
    for v in values:
        for shift in range(0, 64, 8):
            h ^= (v >> shift) & 0xFF
            h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def pack(values: list[int]) -> object:
    if len(values) <= MAX_LIST:
        return values
    return {"n": len(values), "head": values[:HEAD], "fnv1a64": fnv1a64(values)}


# ------------------------------------------------------------------------------------------------
# Configurations


def cfg(name: str, scenario: str, mode: str, total: int, perf: int, **settings: object) -> dict:
    return {
        "name": name,
        "scenario": scenario,
        "mode": mode,
        "total": total,
        "perf": perf,
        "settings": settings,
    }


def official_seeds(**extra: object) -> dict:
    return dict(
        qsl_rng_seed=Q_SEED, sample_index_rng_seed=S_SEED, schedule_rng_seed=C_SEED, **extra
    )


def configurations() -> list[dict]:
    """The fixed list of configurations. Each run takes well under 0.3 s."""
    perf, acc, sub = "PerformanceOnly", "AccuracyOnly", "SubmissionRun"
    ss, ms, srv, off = "SingleStream", "MultiStream", "Server", "Offline"
    quick = dict(min_duration_ms=0)
    c: list[dict] = []

    # SingleStream performance.
    c.append(cfg("ss_small_seeds0", ss, perf, 20, 5, min_query_count=12, **quick))
    c.append(cfg("ss_tv1", ss, perf, 1000, 100, min_query_count=20, **quick, **official_seeds()))
    c.append(
        cfg(
            "ss_tv6_sampling_target",
            ss,
            perf,
            1000,
            100,
            min_query_count=500,
            **quick,
            accuracy_log_rng_seed=TV6_ACC_SEED,
            accuracy_log_sampling_target=10,
            **official_seeds(),
        )
    )
    c.append(
        cfg(
            "ss_official_seeds_300",
            ss,
            perf,
            1000,
            300,
            min_query_count=500,
            **quick,
            **official_seeds(),
        )
    )
    c.append(
        cfg(
            "ss_perf_gt_total",
            ss,
            perf,
            50,
            80,
            min_query_count=30,
            **quick,
            qsl_rng_seed=11,
            sample_index_rng_seed=12,
        )
    )
    c.append(
        cfg(
            "ss_perf_override",
            ss,
            perf,
            100,
            40,
            min_query_count=25,
            **quick,
            performance_sample_count_override=7,
            qsl_rng_seed=3,
            sample_index_rng_seed=4,
        )
    )
    c.append(
        cfg(
            "ss_override_gt_total",
            ss,
            perf,
            30,
            10,
            min_query_count=40,
            **quick,
            performance_sample_count_override=45,
            qsl_rng_seed=5,
            sample_index_rng_seed=6,
        )
    )
    c.append(
        cfg(
            "ss_single_path_70000",
            ss,
            perf,
            100000,
            70000,
            min_query_count=50,
            **quick,
            qsl_rng_seed=123,
            sample_index_rng_seed=456,
        )
    )
    c.append(
        cfg(
            "ss_pair_path_65535",
            ss,
            perf,
            65535,
            65535,
            min_query_count=10,
            **quick,
            qsl_rng_seed=2**33 + 77,
            sample_index_rng_seed=9,
        )
    )
    c.append(
        cfg(
            "ss_single_path_65536",
            ss,
            perf,
            65536,
            65536,
            min_query_count=10,
            **quick,
            qsl_rng_seed=77,
            sample_index_rng_seed=2**40 + 9,
        )
    )
    c.append(
        cfg(
            "ss_seed_low32_a",
            ss,
            perf,
            200,
            50,
            min_query_count=15,
            **quick,
            qsl_rng_seed=7,
            sample_index_rng_seed=9,
        )
    )
    c.append(
        cfg(
            "ss_seed_low32_b",
            ss,
            perf,
            200,
            50,
            min_query_count=15,
            **quick,
            qsl_rng_seed=2**32 + 7,
            sample_index_rng_seed=5 * 2**32 + 9,
        )
    )
    c.append(
        cfg(
            "ss_seed_max64",
            ss,
            perf,
            200,
            50,
            min_query_count=15,
            **quick,
            qsl_rng_seed=2**64 - 1,
            sample_index_rng_seed=2**64 - 2,
        )
    )
    c.append(
        cfg(
            "ss_duration_driven",
            ss,
            perf,
            100,
            20,
            min_query_count=5,
            min_duration_ms=3,
            single_stream_expected_latency_ns=100000,
            **official_seeds(),
        )
    )
    c.append(
        cfg(
            "ss_truncated_period_1011",
            ss,
            perf,
            100,
            20,
            min_query_count=1,
            min_duration_ms=1,
            single_stream_expected_latency_ns=1011,
            qsl_rng_seed=1,
        )
    )
    c.append(
        cfg(
            "ss_probability_0_1",
            ss,
            perf,
            300,
            64,
            min_query_count=200,
            **quick,
            accuracy_log_probability=0.1,
            accuracy_log_rng_seed=17,
            qsl_rng_seed=21,
        )
    )
    c.append(
        cfg(
            "ss_probability_64bit_seed",
            ss,
            perf,
            300,
            64,
            min_query_count=200,
            **quick,
            accuracy_log_probability=0.05,
            accuracy_log_rng_seed=TV6_ACC_SEED,
            **official_seeds(),
        )
    )
    c.append(
        cfg(
            "ss_unique",
            ss,
            perf,
            30,
            10,
            min_query_count=50,
            **quick,
            performance_issue_unique=True,
            qsl_rng_seed=2,
            sample_index_rng_seed=3,
        )
    )
    c.append(
        cfg(
            "ss_same",
            ss,
            perf,
            30,
            10,
            min_query_count=15,
            **quick,
            performance_issue_same=True,
            performance_issue_same_index=3,
            qsl_rng_seed=2,
        )
    )
    c.append(
        cfg(
            "ss_unique_and_same",
            ss,
            perf,
            30,
            10,
            min_query_count=15,
            **quick,
            performance_issue_unique=True,
            performance_issue_same=True,
            performance_issue_same_index=4,
            qsl_rng_seed=8,
        )
    )
    c.append(
        cfg(
            "ss_equal_issue_tv7",
            ss,
            perf,
            30,
            6,
            min_query_count=10,
            **quick,
            sample_concatenate_permutation=True,
        )
    )
    c.append(
        cfg(
            "ss_equal_issue_override",
            ss,
            perf,
            40,
            6,
            min_query_count=10,
            **quick,
            sample_concatenate_permutation=True,
            performance_sample_count_override=4,
            **official_seeds(),
        )
    )
    c.append(
        cfg(
            "ss_equal_issue_duration",
            ss,
            perf,
            40,
            8,
            min_query_count=3,
            min_duration_ms=2,
            single_stream_expected_latency_ns=100000,
            sample_concatenate_permutation=True,
            qsl_rng_seed=31,
            sample_index_rng_seed=32,
        )
    )

    # SingleStream accuracy and submission runs.
    c.append(cfg("ss_acc_tv5", ss, acc, 10, 4, **quick))
    c.append(cfg("ss_acc_23_7", ss, acc, 23, 7, **quick, **official_seeds()))
    c.append(
        cfg(
            "ss_acc_override_10",
            ss,
            acc,
            23,
            7,
            **quick,
            accuracy_sample_count_override=10,
            qsl_rng_seed=4,
            sample_index_rng_seed=5,
        )
    )
    c.append(
        cfg(
            "ss_acc_override_capped",
            ss,
            acc,
            23,
            7,
            **quick,
            accuracy_sample_count_override=50,
            qsl_rng_seed=4,
            sample_index_rng_seed=5,
        )
    )
    c.append(
        cfg(
            "ss_acc_equal_issue",
            ss,
            acc,
            20,
            6,
            **quick,
            sample_concatenate_permutation=True,
            qsl_rng_seed=14,
            sample_index_rng_seed=15,
        )
    )
    # same_index must stay inside the last, smaller set too (the official reads out of bounds).
    c.append(
        cfg(
            "ss_acc_same",
            ss,
            acc,
            12,
            5,
            **quick,
            performance_issue_same=True,
            performance_issue_same_index=1,
        )
    )
    c.append(
        cfg(
            "ss_acc_unique",
            ss,
            acc,
            12,
            5,
            **quick,
            performance_issue_unique=True,
            qsl_rng_seed=19,
            sample_index_rng_seed=20,
        )
    )
    c.append(
        cfg(
            "ss_submission",
            ss,
            sub,
            25,
            8,
            min_query_count=40,
            **quick,
            accuracy_log_probability=0.2,
            accuracy_log_rng_seed=99,
            **official_seeds(),
        )
    )
    c.append(
        cfg(
            "ss_submission_single_path",
            ss,
            sub,
            66000,
            66000,
            min_query_count=20,
            **quick,
            accuracy_sample_count_override=300,
            qsl_rng_seed=5,
            sample_index_rng_seed=6,
        )
    )

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


# ------------------------------------------------------------------------------------------------
# Running one configuration (child process)


def run_one(module_name: str, config: dict) -> dict:
    lg = importlib.import_module(module_name)
    loads: list[list[int]] = []
    unloads: list[list[int]] = []
    issues: list[list[int]] = []  # per IssueQuery call
    flushes: list[int] = []  # number of IssueQuery calls seen at each flush

    def issue(samples):  # noqa: ANN001 - binding type
        issues.append([s.index for s in samples])
        lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, 0, 0) for s in samples])

    def flush():
        flushes.append(len(issues))

    sut = lg.ConstructSUT(issue, flush)
    qsl = lg.ConstructQSL(
        config["total"],
        config["perf"],
        lambda s: loads.append(list(s)),
        lambda s: unloads.append(list(s)),
    )
    settings = lg.TestSettings()
    settings.scenario = getattr(lg.TestScenario, config["scenario"])
    settings.mode = getattr(lg.TestMode, config["mode"])
    for key, value in config["settings"].items():
        setattr(settings, key, value)

    with tempfile.TemporaryDirectory() as outdir:
        log = lg.LogSettings()
        log.log_output.outdir = outdir
        log.enable_trace = False
        start = time.monotonic()
        lg.StartTestWithLogSettings(
            sut, qsl, settings, log, os.path.join(outdir, "no-audit.config")
        )
        elapsed = time.monotonic() - start
        detail = open(os.path.join(outdir, "mlperf_log_detail.txt"), encoding="utf-8").read()
        accuracy = json.load(
            open(os.path.join(outdir, "mlperf_log_accuracy.json"), encoding="utf-8")
        )
    lg.DestroyQSL(qsl)
    lg.DestroySUT(sut)

    effective: dict[str, object] = {}
    generated: list[dict[str, int]] = []
    for line in detail.splitlines():
        if not line.startswith(":::MLLOG "):
            continue
        entry = json.loads(line[len(":::MLLOG ") :])
        key, value = entry["key"], entry["value"]
        if key.startswith("effective_"):
            effective[key[len("effective_") :]] = value
        elif key == "generated_query_count":
            generated.append({"query_count": value})
        elif key == "generated_samples_per_query":
            generated[-1]["samples_per_query"] = value
        elif key == "generated_query_duration":
            generated[-1]["duration_ns"] = value

    # One series per FlushQueries; its IssueQuery calls are those since the previous flush.
    if len(flushes) != len(generated) or len(loads) != len(flushes):
        raise RuntimeError(
            f"{config['name']}: {len(loads)} loads, {len(flushes)} flushes, "
            f"{len(generated)} generated blocks"
        )
    series = []
    begin = 0
    for i, end in enumerate(flushes):
        calls = issues[begin:end]
        begin = end
        spq = generated[i]["samples_per_query"]
        if any(len(call) != spq for call in calls):
            raise RuntimeError(f"{config['name']}: an IssueQuery call without {spq} samples")
        if any(index >= config["total"] for call in calls for index in call):
            raise RuntimeError(f"{config['name']}: an index out of range (undefined behaviour)")
        series.append(
            {
                "load": pack(loads[i]),
                "unload": pack(unloads[i]),
                "issued_queries": len(calls),
                "issued": pack([index for call in calls for index in call]),
                **generated[i],
            }
        )

    logged = sorted((r["seq_id"], r["qsl_idx"]) for r in accuracy)
    return {
        **config,
        "effective": effective,
        "series": series,
        "accuracy_log": [list(p) for p in logged],
        "elapsed_s": round(elapsed, 3),
    }


# ------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", default="mlperf_loadgen")
    parser.add_argument("--out", help="output JSON file (default: stdout)")
    parser.add_argument("--only", nargs="*", help="record only these configuration names")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # result file of one run
    args = parser.parse_args()

    if args.child:
        config = json.loads(sys.stdin.read())
        result = run_one(args.module, config)
        with open(args.child, "w", encoding="utf-8") as f:
            json.dump(result, f)
        return 0

    configs = configurations()
    names = [c["name"] for c in configs]
    if len(set(names)) != len(names):
        raise SystemExit("duplicate configuration names")
    if args.only:
        configs = [c for c in configs if c["name"] in args.only]

    records = []
    for config in configs:
        with tempfile.TemporaryDirectory() as cwd:  # no audit.config can be picked up
            result_file = os.path.join(cwd, "result.json")
            proc = subprocess.run(
                [
                    sys.executable,
                    os.path.abspath(__file__),
                    "--child",
                    result_file,
                    "--module",
                    args.module,
                ],
                input=json.dumps(config),
                capture_output=True,
                text=True,
                cwd=cwd,
                timeout=120,
            )
            if proc.returncode != 0:
                raise SystemExit(f"{config['name']} failed ({proc.returncode}):\n{proc.stderr}")
            with open(result_file, encoding="utf-8") as f:
                record = json.load(f)
        print(f"{record['name']}: {record.pop('elapsed_s')} s", file=sys.stderr)
        records.append(record)

    text = json.dumps({"module": args.module, "configs": records}, separators=(",", ":"))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
