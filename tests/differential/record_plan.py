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

from plan_configs_multi_stream import multi_stream
from plan_configs_offline import offline
from plan_configs_server import server
from plan_configs_single_stream import single_stream

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


def configurations() -> list[dict]:
    """The fixed list of configurations (plan_configs_*.py). Each run takes well under 0.3 s."""
    return single_stream() + multi_stream() + server() + offline()


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
