"""``loadgen probe`` and ``loadgen bench``: the command-line side of the network benchmarks."""

from __future__ import annotations

import argparse
import os
import sys

from .probe import APIS, EndpointError


def add_endpoint_arguments(parser: argparse.ArgumentParser, *, url_optional: bool = False) -> None:
    """Options shared by probe, bench, sweep and search: where the endpoint is and how to talk
    to it. ``url_optional``: the command has a built-in SUT to use without a URL."""
    parser.add_argument(
        "url",
        nargs="?" if url_optional else None,
        help="the endpoint's base URL, e.g. http://127.0.0.1:8080 (host:port for gRPC)",
    )
    parser.add_argument(
        "--api",
        choices=APIS,
        default="openai",
        help="protocol: openai (/v1/completions), openai-chat (/v1/chat/completions), "
        "kserve (v2 REST), kserve-grpc (v2 gRPC), triton-generate (generate_stream)",
    )
    parser.add_argument(
        "--model", help="model name (default for OpenAI: the first one /v1/models lists)"
    )
    parser.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="an extra request header (repeatable)",
    )
    parser.add_argument(
        "--api-key-env",
        metavar="VAR",
        help="send 'Authorization: Bearer $VAR'; the key itself is never printed or logged",
    )
    parser.add_argument(
        "--timeout-s", type=float, default=10.0, help="per-request timeout of the checks"
    )


def request_headers(args: argparse.Namespace) -> dict[str, str]:
    headers: dict[str, str] = {}
    for item in args.header:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise EndpointError(f"bad --header {item!r}: expected 'NAME: VALUE'")
        headers[name.strip()] = value.strip()
    if args.api_key_env:
        key = os.environ.get(args.api_key_env)
        if not key:
            raise EndpointError(
                f"--api-key-env {args.api_key_env}: that environment variable is not set"
            )
        headers["Authorization"] = f"Bearer {key}"
    return headers


def add_probe_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    probe = sub.add_parser(
        "probe",
        help="check an endpoint: reachable, model listed, one request, streaming, token counting",
    )
    add_endpoint_arguments(probe)
    probe.add_argument(
        "--max-tokens", type=int, default=8, help="output length of the test requests"
    )
    probe.set_defaults(func=_cmd_probe)


def _cmd_probe(args: argparse.Namespace) -> int:
    from .probe import probe

    try:
        headers = request_headers(args)
    except EndpointError as e:
        print(f"loadgen probe: {e}", file=sys.stderr)
        return 2
    report = probe(
        args.url,
        args.api,
        args.model,
        headers=headers,
        timeout_s=args.timeout_s,
        max_tokens=args.max_tokens,
    )
    sys.stdout.write(report.format())
    return 0 if report.ok else 1


def add_bench_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from .bench import add_bench_arguments

    bench = sub.add_parser(
        "bench",
        help="run a LoadGen test against an endpoint: the four official logs and a report",
        description="Run one LoadGen test against a served model. Every test setting can be given "
        "as a flag or through --user-conf (flags win).",
    )
    add_endpoint_arguments(bench)
    add_bench_arguments(bench)
    bench.set_defaults(func=_cmd_bench)


def _cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run_bench

    try:
        headers = request_headers(args)
    except EndpointError as e:
        print(f"loadgen bench: {e}", file=sys.stderr)
        return 2
    return run_bench(args, headers)
