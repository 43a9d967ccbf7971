"""``loadgen sweep``: a sweep (docs/sweeps.md) from the command line, against a served model
(the options of ``loadgen bench``) or a built-in demo SUT (``loadgen sweep demo``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Mapping

from .metrics import options_from_args
from .selfcheck import EXIT_GENERATOR_LIMITED
from .sweeps import Sweep, sweep

__all__ = ["add_sweep_parser", "sweep_exit_status"]


def _numbers(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas: {text!r}") from e
    if not values:
        raise argparse.ArgumentTypeError("no values")
    return values


def _add_grid_arguments(parser: argparse.ArgumentParser) -> None:
    grid = parser.add_argument_group("the grid")
    axis = grid.add_mutually_exclusive_group(required=True)
    axis.add_argument(
        "--rates", type=_numbers, metavar="Q1,Q2,...", help="Server runs at these target QPS"
    )
    axis.add_argument(
        "--concurrencies",
        type=_numbers,
        metavar="N1,N2,...",
        help="closed-loop runs with N queries in flight",
    )
    grid.add_argument("--repeats", type=int, default=1, help="runs per point (default 1)")
    grid.add_argument(
        "--confidence",
        type=float,
        choices=(0.9, 0.95, 0.99),
        default=0.95,
        help="level of the t-intervals over repeats",
    )


def add_sweep_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from .net.bench import add_bench_arguments
    from .net.cli import add_endpoint_arguments

    parser = sub.add_parser(
        "sweep",
        help="run a grid of loads (rates or concurrencies), each point in its own folder, "
        "and write sweep.json and a report",
        description="Run one test per load of a grid against a served model (URL, with the "
        "options of `loadgen bench`) or against a built-in SUT (`loadgen sweep demo ...`). "
        "Exit status: 0 if every run is VALID, 1 if one is not, 3 if the generator limited "
        "one (docs/self-check.md), 2 if the sweep could not start.",
    )
    add_endpoint_arguments(parser)
    add_bench_arguments(parser)
    _add_grid_arguments(parser)
    parser.add_argument(
        "--demo-sut",
        choices=("null", "sleep"),
        default="sleep",
        help="with URL 'demo': the built-in SUT (loadgen demo --sut)",
    )
    parser.set_defaults(func=_cmd_sweep)


def sweep_exit_status(result: Sweep) -> int:
    """3 if the generator limited any run, else 0 if every run is VALID, else 1."""
    runs = [r for p in result.points for r in p.runs]
    if any(r.get("generator_limited") for r in runs):
        return EXIT_GENERATOR_LIMITED
    return 0 if all(r.get("valid") for r in runs) else 1


def _cmd_sweep(args: argparse.Namespace) -> int:
    try:
        options_from_args(args)
    except ValueError as e:
        return _fail(str(e))
    if args.repeats < 1:
        return _fail("--repeats must be at least 1")
    if args.url == "demo":
        return _sweep_demo(args)
    from .net.cli import request_headers
    from .net.probe import EndpointError

    try:
        headers = request_headers(args)
    except EndpointError as e:
        return _fail(str(e))
    return _sweep_endpoint(args, headers)


def _grid(args: argparse.Namespace) -> dict[str, Any]:
    if args.rates is not None:
        return {"rates": args.rates}
    return {"concurrencies": [int(c) for c in args.concurrencies]}


def _finish(args: argparse.Namespace, result: Sweep) -> int:
    from .report.sweeps import describe_point

    for p in result.points:
        print(describe_point(p, result.axis))
    print(f"sweep results: {result.path}")
    if not args.no_report:
        try:
            from .report.sweeps import write_sweep_report

            written = write_sweep_report(result, result.log_dir / "report.html")
            print(f"report: {written[0]}")
        except Exception as e:  # a missing matplotlib (the report extra) leaves the sweep intact
            print(f"no report: {e}", file=sys.stderr)
    return sweep_exit_status(result)


def _on_run(figures: Mapping[str, Any]) -> None:
    load = figures.get("offered_load")
    flag = " GENERATOR-LIMITED" if figures.get("generator_limited") else ""
    verdict = "VALID" if figures.get("valid") else "INVALID"
    tput = figures.get("throughput_qps")
    tput_text = f"{tput:.2f} samples/s" if isinstance(tput, float) else "-"
    print(
        f"  {figures.get('log_dir')}: load {load if load is not None else '-'}: "
        f"{tput_text}, {verdict}{flag}",
        file=sys.stderr,
    )


def _sweep_demo(args: argparse.Namespace) -> int:
    from .demo import SUTS
    from .net.bench import settings_from_args
    from .settings import Scenario
    from .sut import InMemoryQsl

    scenario = Scenario.SERVER  # rates and concurrencies both run as Server
    try:
        settings = settings_from_args(args, scenario, "demo")
    except (ValueError, TypeError) as e:
        return _fail(str(e))
    qsl = InMemoryQsl(total_sample_count=1024, performance_sample_count=1024)
    # A fresh SUT for the sweep (params=[None]: built once, closed at its end).
    return _run_sweep(args, lambda _param: SUTS[args.demo_sut](), qsl, settings, params=[None])


def _sweep_endpoint(args: argparse.Namespace, headers: Mapping[str, str]) -> int:
    from .net.bench import TargetError, endpoint_target
    from .net.endpoint import endpoint_qsl
    from .settings import Scenario

    urls = [args.url, *args.more_urls]
    try:
        # Rates and concurrencies both run as Server.
        target = endpoint_target(args, urls, headers, Scenario.SERVER)
    except TargetError as e:
        return _fail(str(e))
    qsl = endpoint_qsl(target.dataset)
    print(
        f"sweep {', '.join(urls)} (api {args.api}, model {target.found.model}) -> {args.log_dir}",
        file=sys.stderr,
    )
    try:
        with target.sut:  # one warm client for every point
            return _run_sweep(args, target.sut, qsl, target.settings)
    finally:
        qsl.close()


def _run_sweep(args: argparse.Namespace, sut: Any, qsl: Any, settings: Any, **extra: Any) -> int:
    """The sweep the grid flags describe, its lines as runs end, then its results and report."""
    try:
        result = sweep(
            sut,
            qsl,
            settings,
            log_dir=Path(args.log_dir),
            repeats=args.repeats,
            confidence=args.confidence,
            progress=args.progress,
            on_result=_on_run,
            metrics=options_from_args(args),
            **_grid(args),
            **extra,
        )
    except ValueError as e:
        return _fail(str(e))
    return _finish(args, result)


def _fail(message: str) -> int:
    print(f"loadgen sweep: {message}", file=sys.stderr)
    return 2
