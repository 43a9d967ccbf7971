"""Clang's thread-safety analysis over every translation unit of the library and the extension.

The analysis runs in clang's front end, so each file is only parsed (-fsyntax-only): no code is
generated and nothing is linked, which keeps this check to a fraction of a build. An access to
mutex-guarded state without its mutex (annotations: cpp/src/common/thread_annotations.h) fails it.

    python tests/thread_safety_check.py BUILD_DIR [JOBS]

BUILD_DIR is a CMake build tree configured with CXX=clang++ and
CMAKE_EXPORT_COMPILE_COMMANDS=ON (tests/run_all.sh does both).
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def syntax_only(command: str) -> list[str]:
    """The compile command with its output dropped and the analysis made an error."""
    args = shlex.split(command)
    out: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg == "-o":
            skip = True
            continue
        if arg == "-c":
            continue
        out.append(arg)
    return [*out, "-fsyntax-only", "-Werror=thread-safety"]


def main() -> int:
    build = Path(sys.argv[1])
    jobs = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    entries = json.loads((build / "compile_commands.json").read_text())
    # Files generated during a build (the version data: constants, no locks) are not there yet.
    units = [e for e in entries if e["file"].endswith((".cc", ".cpp")) and Path(e["file"]).exists()]
    if not units:
        print(f"no translation units in {build}/compile_commands.json", file=sys.stderr)
        return 1

    def check(entry: dict[str, str]) -> tuple[str, int, str]:
        done = subprocess.run(
            syntax_only(entry["command"]),
            cwd=entry["directory"],
            capture_output=True,
            text=True,
            check=False,
        )
        return entry["file"], done.returncode, done.stderr

    failed = 0
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for file, code, stderr in pool.map(check, units):
            if code != 0:
                failed += 1
                print(f"FAILED {file}\n{stderr}", file=sys.stderr)
    print(f"thread-safety analysis: {len(units) - failed} of {len(units)} files clean")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
