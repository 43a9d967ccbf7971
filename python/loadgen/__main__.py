"""Command line: ``loadgen demo | validate | explain | report | compare | probe | bench |
sweep``, ``search`` and ``--cmakedir``."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__, get_cmake_dir
from .load_models import LoadModel
from .settings import Scenario


def _scenario(name: str) -> Scenario:
    for s in Scenario:
        if name.lower() in (s.value.lower(), s.name.lower(), s.name.lower().replace("_", "")):
            return s
    raise argparse.ArgumentTypeError(
        f"unknown scenario {name!r}; choose from {', '.join(s.value for s in Scenario)}"
    )


def _cmd_demo(args: argparse.Namespace) -> int:
    from .decision import StopWhenDecided
    from .demo import run_demo
    from .errors import SettingsError
    from .metrics import options_from_args

    scenarios = [args.scenario] if args.scenario else list(Scenario)
    try:
        load = _load_model(args)
        results = run_demo(
            scenarios,
            args.sut,
            args.duration_ms,
            Path(args.log_dir) if args.log_dir else None,
            load=load,
            metrics=options_from_args(args),
            decide=StopWhenDecided if args.stop_when_decided else None,
        )
    except (SettingsError, ValueError) as e:
        print(f"loadgen demo: {e}", file=sys.stderr)
        return 2
    if load is not None:  # the stages ran; Server's validity rules are not the question asked
        return 0 if all(r.errors == 0 and not r.interrupted for r in results) else 1
    return 0 if all(r.valid for r in results) else 1


def _load_model(args: argparse.Namespace) -> LoadModel | None:
    """The load model the demo's load flags describe (None without them)."""
    from . import load_models as lm

    chosen = [f for f in ("concurrency", "rate", "trace") if getattr(args, f) is not None]
    if len(chosen) > 1:
        raise argparse.ArgumentTypeError("give one of --concurrency, --rate, --trace")
    if not chosen:
        return None
    duration, queries = args.load_duration_s, args.load_queries
    if args.trace is None and duration is None and queries is None:
        duration = args.duration_ms / 1000
    main: lm.SingleLoad
    if args.concurrency is not None:
        main = lm.Concurrency(args.concurrency, duration, queries)
    elif args.trace is not None:
        # The demo's synthetic QSL does not hold the trace's sample ids: samples are drawn.
        main = lm.TraceReplay(
            args.trace,
            args.time_scale,
            "sort" if args.sort_trace else "refuse",
            duration,
            queries,
            args.max_concurrency,
            use_sample_ids=False,
        )
    elif args.burstiness is None:
        main = lm.ConstantRate(args.rate, duration, queries, args.ramp_to, args.max_concurrency)
    else:
        main = lm.Gamma(
            args.rate, args.burstiness, duration, queries, args.ramp_to, args.max_concurrency
        )
    if not args.warmup_s:
        return main
    warm: lm.SingleLoad = (
        lm.Concurrency(args.concurrency, args.warmup_s)
        if args.concurrency is not None
        else lm.ConstantRate(args.rate or 1.0, args.warmup_s)
    )
    return lm.Stages([lm.Warmup(warm), lm.Stage(main, "main")])


def _cmd_validate(args: argparse.Namespace) -> int:
    from . import _core

    problems = 0
    for conf in args.conf:
        path = Path(conf)
        if not path.is_file():
            print(f"{conf}: file not found", file=sys.stderr)
            problems += 1
            continue
        for p in _core._lint_config(str(path)):
            shown = p["suggestion"] and p["suggestion"] not in p["message"]
            hint = f" (did you mean {p['suggestion']}?)" if shown else ""
            print(f"{p['file']}:{p['line']}: {p['message']}{hint}")
            problems += 1
    if problems == 0:
        print("no problems found")
    return 1 if problems else 0


def _cmd_explain(args: argparse.Namespace) -> int:
    from dataclasses import fields

    from .errors import ConfigError
    from .settings import Settings

    try:
        settings = Settings.from_config(
            args.conf, args.model, args.scenario, strict=not args.lenient
        )
    except ConfigError as e:
        print(str(e), file=sys.stderr)
        return 1
    defaults = Settings(scenario=args.scenario)
    for f in fields(Settings):
        if f.name == "provenance":
            continue
        value = getattr(settings, f.name)
        source = settings.provenance.get(
            f.name, "default" if value == getattr(defaults, f.name) else ""
        )
        shown = value.value if hasattr(value, "value") else value
        print(f"{f.name:45} {shown!s:>24}   {source}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import ReportError, load_run, write_report
    from .report.sweeps import read_sweep, write_sweep_report
    from .sweeps import is_sweep_dir

    output = Path(args.output) if args.output else None
    try:
        if is_sweep_dir(args.logdir):
            sweep = read_sweep(args.logdir)
            written = write_sweep_report(sweep, output or sweep.log_dir / "report.html")
        else:
            location = Path(args.logdir)
            folder = location.parent if location.is_file() else location
            written = write_report(load_run(location), output or folder / "report.html")
    except ReportError as e:
        print(f"loadgen report: {e}", file=sys.stderr)
        return 2
    print(f"wrote {written[0]}")
    for path in written[1:]:
        print(f"  and {path}")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from .report import ReportError, compare_rows, format_compare, load_run, write_compare_html
    from .report.sweeps import compare_sweep_rows, read_sweep, write_sweep_compare_html
    from .sweeps import is_sweep_dir

    sweeps = is_sweep_dir(args.dir_a), is_sweep_dir(args.dir_b)
    if any(sweeps) and not all(sweeps):
        print("loadgen compare: compare two sweeps or two runs, not one of each", file=sys.stderr)
        return 2
    try:
        if all(sweeps):
            sweep_a, sweep_b = read_sweep(args.dir_a), read_sweep(args.dir_b)
            table = format_compare(compare_sweep_rows(sweep_a, sweep_b), "A", "B", width=40)
            write_html = functools.partial(write_sweep_compare_html, sweep_a, sweep_b)
        else:
            run_a, run_b = load_run(args.dir_a), load_run(args.dir_b)
            table = format_compare(compare_rows(run_a, run_b), "A", "B")
            write_html = functools.partial(write_compare_html, run_a, run_b)
        sys.stdout.write(table)
        print(f"A = {args.dir_a}\nB = {args.dir_b}")
        if args.html:
            print(f"wrote {write_html('A', 'B', args.html)}")
    except ReportError as e:
        print(f"loadgen compare: {e}", file=sys.stderr)
        return 2
    return 0


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
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser(
        "demo", help="run scenarios against a built-in SUT and print the summaries"
    )
    demo.add_argument("--scenario", type=_scenario, help="one scenario (default: all four)")
    demo.add_argument(
        "--sut",
        default="sleep",
        choices=["null", "sleep", "matmul"],
        help="built-in SUT: null (completes at once), sleep (fixed latency), matmul (numpy)",
    )
    demo.add_argument("--duration-ms", type=int, default=1000, help="minimum duration of each run")
    demo.add_argument("--log-dir", help="where to write the logs (default: a temporary folder)")
    load = demo.add_argument_group(
        "load model",
        "issue a load model instead of the scenarios (one Server run; docs/load-models.md)",
    )
    load.add_argument(
        "--concurrency", type=int, metavar="N", help="closed loop: N queries in flight"
    )
    load.add_argument(
        "--rate", type=float, metavar="QPS", help="open loop: evenly spaced arrivals at QPS"
    )
    load.add_argument(
        "--burstiness",
        type=float,
        metavar="B",
        help="with --rate: gamma arrivals, squared CV of the gaps B (1 = Poisson)",
    )
    load.add_argument(
        "--ramp-to", type=float, metavar="QPS", help="with --rate: ramp linearly to QPS"
    )
    load.add_argument(
        "--trace",
        metavar="PATH",
        help="replay the arrival times of a CSV/JSONL trace (its sample ids, if any, are not used)",
    )
    load.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="with --trace: multiply its times (0.5 = twice as fast)",
    )
    load.add_argument(
        "--sort-trace", action="store_true", help="with --trace: sort timestamps that go backwards"
    )
    load.add_argument(
        "--max-concurrency",
        type=int,
        metavar="N",
        help="with --rate/--trace: at most N in flight; later queries wait for a slot",
    )
    load.add_argument(
        "--load-duration-s",
        type=float,
        metavar="S",
        help="the load's duration (default: --duration-ms)",
    )
    load.add_argument("--load-queries", type=int, metavar="N", help="the load's query count")
    load.add_argument(
        "--warmup-s", type=float, metavar="S", help="a warm-up stage first, left out of the metrics"
    )
    from .metrics import add_metric_arguments

    add_metric_arguments(demo)
    demo.add_argument(
        "--stop-when-decided",
        action="store_true",
        help="end a Server run once its latency bound is shown met, or missed (docs/search.md); "
        "the result is then INVALID: outside the submission rules",
    )
    demo.set_defaults(func=_cmd_demo)
    validate = sub.add_parser(
        "validate", help="check config files strictly, with file:line messages"
    )
    validate.add_argument("conf", nargs="+", help="user.conf / audit.config files")
    validate.set_defaults(func=_cmd_validate)
    explain = sub.add_parser(
        "explain", help="print the effective settings and where each came from"
    )
    explain.add_argument("conf", help="a user.conf")
    explain.add_argument("--model", required=True)
    explain.add_argument("--scenario", type=_scenario, required=True)
    explain.add_argument(
        "--lenient", action="store_true", help="accept what the official parser accepts"
    )
    explain.set_defaults(func=_cmd_explain)
    report = sub.add_parser(
        "report",
        help="write an HTML report with figures from a run's logs (loadgen's or the official LoadGen's)",
    )
    report.add_argument("logdir", help="the folder with the run's log files, or its detail log")
    report.add_argument(
        "-o",
        "--output",
        help="the HTML file (default: LOGDIR/report.html); the PNG figures and the per-sample "
        "CSV/JSON exports are written next to it",
    )
    report.set_defaults(func=_cmd_report)
    compare = sub.add_parser("compare", help="compare the metrics of two runs side by side")
    compare.add_argument("dir_a", help="the first run's log folder (or detail log)")
    compare.add_argument("dir_b", help="the second run's log folder (or detail log)")
    compare.add_argument(
        "--html", help="also write an HTML page with the table and overlaid latency CDFs"
    )
    compare.set_defaults(func=_cmd_compare)
    from .net.cli import add_bench_parser, add_probe_parser

    add_probe_parser(sub)
    add_bench_parser(sub)
    from .sweep_cli import add_sweep_parser

    add_sweep_parser(sub)
    from .search_cli import add_search_parser

    add_search_parser(sub)
    args = parser.parse_args(argv)
    if args.cmakedir:
        print(get_cmake_dir())
        return 0
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
