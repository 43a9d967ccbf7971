#!/usr/bin/env python3
"""Records what the official LoadGen's TestSettings.FromConfig does, for replay against loadgen.

Run with the interpreter of the environment that has the official wheel (never a dependency of
loadgen itself):

    /tmp/oracle/venv/bin/python tests/differential/record_fromconfig.py \
        [--out tests/data/official_fromconfig.json]

Each case runs in a fresh subprocess, because FromConfig keeps a process-wide counter of
conf_type-1 calls. A case writes its config files into an empty temporary directory (which is also
the working directory, so paths in messages are the relative names given here), applies optional
attribute presets, makes its FromConfig calls, and records:

* `returns`: the return value of every call;
* `settings`: every TestSettings attribute of every object afterwards, under the Python
  attribute names. Enums are recorded by name ("Offline"), doubles as JSON numbers (exact:
  shortest round-trip repr) except non-finite ones, which are the strings "inf", "-inf", "nan";
* `errors`: the messages FromConfig queued, as they appear at the top of the next test's detail
  log (a tiny SingleStream test on a fresh TestSettings is run to flush them).

The output is self-contained: every case carries the texts of its files. Standard library only.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import math
import os
import subprocess
import sys
import tempfile

from fromconfig_cases import REPO, build_cases

# ---------------------------------------------------------------------------------------------
# Child side: one case in this process
# ---------------------------------------------------------------------------------------------


def _encode(value):
    if hasattr(value, "name") and not isinstance(value, (bool, int, float, str)):
        return value.name
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def _attributes(lg):
    return sorted(a for a in dir(lg.TestSettings()) if not a.startswith("_") and a != "FromConfig")


def _snapshot(lg, settings):
    return {name: _encode(getattr(settings, name)) for name in _attributes(lg)}


def _preset(lg, settings, values):
    for name, value in values.items():
        if name == "scenario":
            value = getattr(lg.TestScenario, value)
        elif name == "mode":
            value = getattr(lg.TestMode, value)
        setattr(settings, name, value)


def _flush_errors(lg):
    """Runs a minimal test so the queued FromConfig messages land in a detail log."""

    def issue(queries):
        lg.QuerySamplesComplete([lg.QuerySampleResponse(q.id, 0, 0) for q in queries])

    sut = lg.ConstructSUT(issue, lambda: None)
    qsl = lg.ConstructQSL(1, 1, lambda samples: None, lambda samples: None)
    settings = lg.TestSettings()
    settings.min_duration_ms = 0
    settings.min_query_count = 1
    log_settings = lg.LogSettings()
    log_settings.log_output.outdir = "flush_logs"
    log_settings.enable_trace = False
    os.mkdir("flush_logs")
    lg.StartTestWithLogSettings(sut, qsl, settings, log_settings, "no-audit.config")
    lg.DestroyQSL(qsl)
    lg.DestroySUT(sut)
    errors = []
    with open(os.path.join("flush_logs", "mlperf_log_detail.txt"), encoding="utf-8") as f:
        for line in f:
            entry = json.loads(line[line.index("{") :])
            if entry["key"] == "loadgen_version":
                break
            errors.append(
                {
                    "key": entry["key"],
                    "message": entry["value"],
                    "line_no": entry["metadata"]["line_no"],
                }
            )
    return errors


def run_case(case):
    import mlperf_loadgen as lg  # the official wheel

    with tempfile.TemporaryDirectory() as workdir:
        os.chdir(workdir)
        for name, text in case["files"].items():
            with open(name, "w", encoding="utf-8", newline="") as f:
                f.write(text)
        objects = [lg.TestSettings() for _ in range(case.get("objects", 1))]
        _preset(lg, objects[0], case.get("preset", {}))
        returns = []
        for call in case["calls"]:
            settings = objects[call.get("object", 0)]
            returns.append(
                settings.FromConfig(
                    call["path"], call["model"], call["scenario"], call["conf_type"]
                )
            )
        snapshots = [_snapshot(lg, s) for s in objects]
        errors = _flush_errors(lg)
        os.chdir("/")
    return {"returns": returns, "settings": snapshots, "errors": errors}


# ---------------------------------------------------------------------------------------------
# Parent side
# ---------------------------------------------------------------------------------------------


def record(case):
    proc = subprocess.run(
        [sys.executable, __file__, "--child"],
        input=json.dumps(case),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"case {case['name']} failed:\n{proc.stderr}")
    lines = proc.stdout.splitlines()
    result = json.loads(next(line for line in reversed(lines) if line.startswith('{"returns"')))
    # Under load the official IO thread sometimes drains the queued messages before StartTest
    # has pointed the logger at the detail log; they are then printed to stderr instead, ahead
    # of the rest.
    early = []
    for line in proc.stderr.splitlines() + lines:
        if line.startswith(":::MLLOG"):
            entry = json.loads(line[line.index("{") :])
            early.append(
                {
                    "key": entry["key"],
                    "message": entry["value"],
                    "line_no": entry["metadata"]["line_no"],
                }
            )
    result["errors"] = early + result["errors"]
    return {**case, **result}


def write_output(data, path):
    """Writes one case per line, so diffs of a re-recording stay readable."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("{\n")
        for key, value in data.items():
            if key != "cases":
                f.write(f" {json.dumps(key)}: {json.dumps(value)},\n")
        f.write(' "cases": [\n')
        f.write(",\n".join("  " + json.dumps(case) for case in data["cases"]))
        f.write("\n ]\n}\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "tests" / "data" / "official_fromconfig.json"))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        case = json.loads(sys.stdin.read())
        result = run_case(case)
        sys.stdout.write("\n" + json.dumps(result) + "\n")
        return

    import mlperf_loadgen as lg

    cases = build_cases()
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        recorded = list(pool.map(record, cases))
    data = {
        "description": "TestSettings.FromConfig of the official mlcommons_loadgen wheel",
        "oracle": "mlcommons_loadgen 6.0.17",
        "generator": "tests/differential/record_fromconfig.py",
        "attributes": _attributes(lg),
        "value_encoding": "enums by name; non-finite doubles as the strings inf, -inf, nan",
        "cases": recorded,
    }
    write_output(data, args.out)
    print(f"wrote {len(recorded)} cases to {args.out}")


if __name__ == "__main__":
    main()
