"""``loadgen search``: the capacity search (:func:`loadgen.search`) from the command line."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from .settings import Settings

__all__ = ["add_search_parser"]


def add_search_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from .net.bench import add_connection_arguments, add_dataset_arguments, add_settings_arguments
    from .net.cli import add_endpoint_arguments
    from .search import LoadKind

    p = sub.add_parser(
        "search",
        help="find the highest load that meets latency objectives (docs/search.md)",
        description="Find the highest load at which every objective holds: the load grows "
        "geometrically until a probe fails, then bisection narrows the bracket. Each probe "
        "stops as soon as the evidence decides it. Prints the probes and the answer with its "
        "bracket; each probe's logs are in LOG_DIR/probe-NN-<load>. With URL the probes "
        "load that served model (the connection, dataset and settings options of `loadgen "
        "bench`); without, the built-in SUT of --sut.",
    )
    add_endpoint_arguments(p, url_optional=True)
    p.add_argument(
        "--sut",
        default="service-time",
        choices=["service-time"],
        help="without URL: service-time, WORKERS servers of SERVICE_MS each (capacity "
        "WORKERS/SERVICE_MS; a SUT of known capacity, for trying the search)",
    )
    p.add_argument("--workers", type=int, default=4, help="service-time: parallel servers")
    p.add_argument("--service-ms", type=float, default=10.0, help="service-time: ms per sample")
    p.add_argument(
        "--load",
        default=LoadKind.SERVER_QPS.value,
        choices=[k.value for k in LoadKind],
        help="what varies: Server QPS (Poisson), constant-rate QPS, concurrency, MultiStream "
        "samples per query, or Offline samples/s due within the latency bound",
    )
    p.add_argument(
        "--objective",
        action="append",
        required=True,
        metavar="'pNN METRIC <= VALUE'",
        help="an objective, e.g. 'p99 latency <= 50ms', 'p90 ttft <= 2s', 'p99 tpot <= 80ms', "
        "or goodput: 'goodput >= 0.9 ttft<=200ms,tpot<=50ms' (the share of requests meeting "
        "every limit; limits on ttft, tpot, e2e) (repeat for several; all must hold)",
    )
    p.add_argument("--start", type=float, required=True, help="the first load probed")
    p.add_argument("--min-load", type=float, help="stop shrinking below this load")
    p.add_argument("--max-load", type=float, help="never probe above this load")
    p.add_argument("--growth", type=float, default=2.0, help="bracketing factor per probe")
    p.add_argument(
        "--resolution",
        type=float,
        default=0.05,
        help="stop when lowest failing / highest passing <= 1 + RESOLUTION",
    )
    p.add_argument(
        "--probe-duration-s",
        type=float,
        default=10.0,
        help="a probe's planned length; a decided probe ends sooner",
    )
    p.add_argument(
        "--error",
        type=float,
        default=0.01,
        help="the chance a decided probe's verdict is wrong, at most",
    )
    p.add_argument(
        "--pass-margin",
        type=float,
        default=0.5,
        help="a probe passes early only with its percentiles shown under this fraction of the "
        "bounds (others run to their end)",
    )
    p.add_argument(
        "--no-early-decision",
        action="store_true",
        help="run every probe to its planned length (verdict by point estimates)",
    )
    p.add_argument(
        "--no-confirm",
        action="store_true",
        help="do not probe an answer that passed early again for its full length",
    )
    p.add_argument("--max-probes", type=int, default=30)
    p.add_argument("--log-dir", help="where the probes' logs go (default: a temporary folder)")
    p.add_argument("--user-conf", help="with URL: a user.conf for the probes' base settings")
    p.add_argument("--conf-model", help="the model name the user.conf keys use (default: --model)")
    add_connection_arguments(p)
    add_dataset_arguments(p)
    add_settings_arguments(p)
    p.set_defaults(func=_cmd_search, mode="performance")


def _cmd_search(args: argparse.Namespace) -> int:
    from .search import parse_objective
    from .search_sut import ServiceTimeSut
    from .sut import InMemoryQsl

    try:
        objectives = [parse_objective(o) for o in args.objective]
    except ValueError as e:
        return _fail(str(e))
    log_dir = Path(args.log_dir or tempfile.mkdtemp(prefix="loadgen-search-"))
    if args.url is not None:
        return _search_endpoint(args, objectives, log_dir)
    sut = ServiceTimeSut(args.workers, args.service_ms / 1e3)
    qsl = InMemoryQsl(total_sample_count=1024, performance_sample_count=1024)
    print(
        f"search {args.load} from {args.start:g} with {sut.name} "
        f"(capacity {sut.capacity:g} samples/s) -> {log_dir}",
        file=sys.stderr,
    )
    with sut:
        return _search_and_print(args, sut, qsl, objectives, log_dir, None)


def _search_endpoint(args: argparse.Namespace, objectives: Sequence[Any], log_dir: Path) -> int:
    """The probes against the served model at URL: checked before any load, one warm client
    for every probe."""
    from .net.bench import TargetError, endpoint_target
    from .net.cli import request_headers
    from .net.endpoint import endpoint_qsl
    from .settings import Scenario

    try:
        # The probes' base settings: the search sets the scenario, load and duration of each.
        target = endpoint_target(args, [args.url], request_headers(args), Scenario.SERVER)
    except TargetError as e:
        return _fail(str(e))
    qsl = endpoint_qsl(target.dataset)
    print(
        f"search {args.load} from {args.start:g} against {args.url} (api {args.api}, model "
        f"{target.found.model}) -> {log_dir}",
        file=sys.stderr,
    )
    try:
        with target.sut:
            return _search_and_print(args, target.sut, qsl, objectives, log_dir, target.settings)
    finally:
        qsl.close()


def _search_and_print(
    args: argparse.Namespace,
    sut: Any,
    qsl: Any,
    objectives: Sequence[Any],
    log_dir: Path,
    settings: Settings | None,
) -> int:
    from .search import search

    try:
        result = search(
            sut,
            qsl,
            objectives,
            settings=settings,
            load=args.load,
            start=args.start,
            min_load=args.min_load,
            max_load=args.max_load,
            growth=args.growth,
            resolution=args.resolution,
            probe_duration_s=args.probe_duration_s,
            error=args.error,
            decide_early=not args.no_early_decision,
            confirm=not args.no_confirm,
            pass_margin=args.pass_margin,
            max_probes=args.max_probes,
            log_dir=log_dir,
        )
    except ValueError as e:
        return _fail(str(e))
    print(result.table())
    print(result.verdict)
    print(f"total queries: {result.total_queries}")
    return 0 if result.answer is not None else 1


def _fail(message: str) -> int:
    print(f"loadgen search: {message}", file=sys.stderr)
    return 2
