"""Command line: ``python -m loadgen --cmakedir`` prints the CMake package folder."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__, get_cmake_dir


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="loadgen", description="loadgen, a drop-in MLPerf LoadGen replacement."
    )
    parser.add_argument("--version", action="version", version=f"loadgen {__version__}")
    parser.add_argument(
        "--cmakedir",
        action="store_true",
        help="print the folder to pass as -Dloadgen_DIR to CMake, then exit",
    )
    args = parser.parse_args(argv)
    if args.cmakedir:
        print(get_cmake_dir())
        return 0
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
