"""``loadgen bench``: one LoadGen test against a served model, from the command line.

The stages: check the endpoint (:func:`~loadgen.net.probe.preflight`, before any load) ->
settings (built-in mlperf.conf, then ``--user-conf``, then flags) -> dataset (``--dataset`` or
synthetic) -> the native endpoint SUT -> :func:`loadgen.run` (the four official logs) -> the
endpoint's counts and the HTML report next to the logs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal, get_args

from ..errors import SettingsError
from ..metrics import MetricOptions, add_metric_arguments, format_metrics, options_from_args
from ..settings import Mode, Scenario, Settings
from .datasets import (
    Dataset,
    DatasetError,
    load_conversations,
    load_jsonl,
    load_tensors,
    parse_length,
    random_tensors,
    synthetic_llm,
    trace_llm,
)
from .probe import EndpointError, Preflight, preflight
from .requests import Api

__all__ = [
    "LLM_APIS",
    "add_connection_arguments",
    "add_dataset_arguments",
    "add_settings_arguments",
    "EndpointTarget",
    "check_endpoints",
    "endpoint_target",
    "endpoint_sut_from_args",
    "make_dataset",
    "settings_from_args",
]

LLM_APIS = ("openai", "openai-chat", "triton-generate")

# Settings fields with a flag of their own elsewhere (or none).
_NOT_FLAGS = ("scenario", "mode", "provenance")


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per test setting (``--server-target-qps``, ``--min-duration-ms``, ...), plus
    ``--target-qps`` (the Server or Offline target, like user.conf's ``target_qps``) and
    ``--target-latency-ms``. A flag overrides the same setting from ``--user-conf``."""
    group = parser.add_argument_group("test settings (override --user-conf)")
    group.add_argument(
        "--target-qps",
        type=float,
        help="server_target_qps in Server, offline_expected_qps in Offline",
    )
    group.add_argument("--target-latency-ms", type=float, help="server_target_latency_ns, in ms")
    for f in dataclasses.fields(Settings):
        if f.name in _NOT_FLAGS:
            continue
        type_name = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
        kind = _FLAG_TYPES[type_name]
        group.add_argument(
            f"--{f.name.replace('_', '-')}",
            dest=f"setting_{f.name}",
            type=kind,
            metavar=type_name.upper(),
        )


def parse_scenario(name: str) -> Scenario:
    for s in Scenario:
        if name.lower() in (s.value.lower(), s.name.lower(), s.name.lower().replace("_", "")):
            return s
    raise argparse.ArgumentTypeError(
        f"unknown scenario {name!r}; choose from {', '.join(s.value for s in Scenario)}"
    )


def _boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


_FLAG_TYPES: dict[str, Callable[[str], Any]] = {"int": int, "float": float, "bool": _boolean}


def settings_from_args(args: argparse.Namespace, scenario: Scenario, conf_model: str) -> Settings:
    """The built-in mlperf.conf, then ``args.user_conf`` for (conf_model, scenario), then the
    flags. Raises ConfigError (a ValueError) or ValueError/TypeError for a bad value."""
    if args.user_conf:
        settings = Settings.from_config(args.user_conf, conf_model, scenario)
    else:
        settings = Settings(scenario=scenario)
    changes: dict[str, Any] = {
        "mode": Mode.ACCURACY if args.mode == "accuracy" else Mode.PERFORMANCE
    }
    if args.target_qps is not None:
        changes["offline_expected_qps" if scenario is Scenario.OFFLINE else "server_target_qps"] = (
            args.target_qps
        )
    if args.target_latency_ms is not None:
        changes["server_target_latency_ns"] = int(args.target_latency_ms * 1e6)
    for f in dataclasses.fields(Settings):
        value = getattr(args, f"setting_{f.name}", None)
        if value is not None:
            changes[f.name] = value
    provenance = dict(settings.provenance)
    provenance.update({name: "command line" for name in changes if name != "mode"})
    settings = settings.replace(**changes)
    settings.provenance = provenance
    return settings


def make_dataset(
    args: argparse.Namespace, api: str, found: Preflight, trace: Any = None
) -> Dataset:
    """``--dataset`` (JSONL for the LLM apis, a conversation JSONL with ``--conversations``,
    .npy/.npz for KServe v2), or synthetic samples: prompts with ``--input-len``/
    ``--output-len`` for the LLM apis (one per arrival, with its token lengths, for a `trace`
    that has them), random tensors shaped from the model's metadata for v2."""
    count = args.sample_count
    if args.dataset:
        path = Path(args.dataset)
        if path.suffix in (".npy", ".npz"):
            if api in LLM_APIS:
                raise DatasetError(
                    f"{path}: numpy tensors are for --api kserve/kserve-grpc, not {api}"
                )
            name = args.input_name or _single_input(found)
            return load_tensors(
                path,
                input_name=name,
                batch_dim=not args.no_batch_dim,
                performance_sample_count=args.performance_sample_count,
            )
        if api not in LLM_APIS:
            raise DatasetError(f"{path}: --api {api} takes .npy/.npz tensors, not JSONL")
        if getattr(args, "conversations", None) is not None:
            return load_conversations(
                path,
                max_tokens=args.max_tokens,
                performance_sample_count=args.performance_sample_count,
            )
        return load_jsonl(
            path, max_tokens=args.max_tokens, performance_sample_count=args.performance_sample_count
        )
    if getattr(args, "conversations", None) is not None:
        raise DatasetError("--conversations needs --dataset: a conversation JSONL file")
    if api in LLM_APIS:
        form: Literal["token_ids", "prompt", "messages"]
        if api == "openai-chat":
            form = "messages"
        elif api == "openai" and args.vocab_size is not None:
            form = (
                "token_ids"  # an exact input length: only when the ids fit the model's vocabulary
            )
        else:
            form = "prompt"
        # What the synthetic prompts are made of, with a trace's lengths or without.
        prompt_args = {
            "input_len": parse_length(args.input_len),
            "output_len": parse_length(args.output_len),
            "seed": args.dataset_seed,
            "vocab_size": args.vocab_size,
            "first_token_id": args.first_token_id,
            "form": form,
            "tokenizer": args.tokenizer,
        }
        if trace is not None and _lengths_make_the_dataset(args, trace):
            # One sample per arrival, with the trace's own token lengths.
            return trace_llm(trace.input_lengths, trace.output_lengths, **prompt_args)
        return synthetic_llm(
            count, performance_sample_count=args.performance_sample_count, **prompt_args
        )
    if found.metadata is None:
        raise DatasetError(
            "random tensors need the model's metadata: give --dataset (.npy/.npz), or --metadata-url "
            "with the server's HTTP base URL"
        )
    return random_tensors(
        found.metadata,
        count,
        seed=args.dataset_seed,
        dynamic_dim=args.dynamic_dim,
        performance_sample_count=args.performance_sample_count,
    )


def trace_model_from_args(args: argparse.Namespace) -> Any:
    """The --trace file as a TraceReplay model (None without --trace); the file is read here,
    so a malformed line raises SettingsError naming it before anything is sent."""
    if getattr(args, "trace", None) is None:
        return None
    from ..load_models import TraceReplay

    return TraceReplay(
        args.trace,
        args.time_scale,
        "sort" if args.sort_trace else "refuse",
        args.load_duration_s,
        None,
        args.max_concurrency,
    )


def load_model_from_args(args: argparse.Namespace, dataset: Dataset, trace: Any = None) -> Any:
    """The load model the load flags describe (None: the scenario's own schedule). `trace`:
    trace_model_from_args's model."""
    from .. import load_models as lm

    chosen = [f for f in ("conversations", "trace", "concurrency") if getattr(args, f) is not None]
    if len(chosen) > 1:
        raise ValueError("give one of --conversations, --trace, --concurrency")
    if args.conversations is not None:
        return lm.Conversations(
            args.conversations,
            think_time_s=args.think_time_s,
            think_time=args.think_time,
            count=args.conversation_count,
            duration_s=args.load_duration_s,
            conversations=getattr(dataset, "conversations", None),
        )
    if args.concurrency is not None:
        queries = None if args.load_duration_s else len(dataset)
        return lm.Concurrency(args.concurrency, args.load_duration_s, queries)
    if trace is not None and _lengths_make_the_dataset(args, trace.trace):
        return dataclasses.replace(trace, sample_per_entry=True)
    return trace


def _lengths_make_the_dataset(args: argparse.Namespace, trace: Any) -> bool:
    return not args.dataset and bool(trace.input_lengths or trace.output_lengths)


def _single_input(found: Preflight) -> str | None:
    inputs = (found.metadata or {}).get("inputs") or []
    return str(inputs[0]["name"]) if len(inputs) == 1 else None


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "more_urls",
        nargs="*",
        metavar="URL",
        help="more replicas of the same model; requests are balanced over all URLs",
    )
    parser.add_argument(
        "--scenario",
        type=parse_scenario,
        default=Scenario.SERVER,
        help="SingleStream, MultiStream, Server (default) or Offline",
    )
    parser.add_argument("--mode", choices=("performance", "accuracy"), default="performance")
    parser.add_argument("--user-conf", help="a user.conf; flags override its values")
    parser.add_argument(
        "--conf-model", help="the model name the user.conf keys use (default: --model)"
    )
    parser.add_argument(
        "--log-dir", required=True, help="where the logs, the report and endpoint.json go"
    )
    parser.add_argument("--no-report", action="store_true", help="skip the HTML report")
    add_metric_arguments(parser)
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a live display on stderr (default: when stderr is a terminal)",
    )
    parser.add_argument(
        "--stop-when-decided",
        action="store_true",
        help="end the Server run once its latency bounds are each shown met, or one missed "
        "(docs/search.md); the result is then INVALID: outside the submission rules",
    )
    add_connection_arguments(parser)
    add_dataset_arguments(parser)
    add_load_model_arguments(parser)
    add_settings_arguments(parser)


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """How the client talks to the endpoint (bench, sweep, search)."""
    conn = parser.add_argument_group("connections")
    conn.add_argument(
        "--balance", choices=("round-robin", "least-outstanding"), default="round-robin"
    )
    conn.add_argument("--max-connections", type=int, default=64, help="per endpoint URL")
    conn.add_argument(
        "--no-write-on-issue",
        dest="write_on_issue",
        action="store_false",
        help="let the client's I/O thread write every request, instead of IssueQuery writing a "
        "one-sample query itself on an idle connection (docs/net.md, 'Write on issue')",
    )
    conn.add_argument(
        "--no-stream", action="store_true", help="ask for whole responses, not SSE streams"
    )
    conn.add_argument(
        "--request-timeout-s",
        type=float,
        default=0.0,
        help="fail a request not finished after this long (0: no limit)",
    )
    conn.add_argument(
        "--first-byte-timeout-s",
        type=float,
        default=0.0,
        help="fail a request with no answer after this long (0: no limit)",
    )
    conn.add_argument(
        "--binary-tensors",
        action="store_true",
        help="kserve: send tensors with the binary-tensor extension instead of JSON",
    )
    conn.add_argument(
        "--first-token",
        choices=("any", "content"),
        default="any",
        help="content: the first token is the first non-reasoning chunk",
    )
    conn.add_argument(
        "--metadata-url",
        help="kserve-grpc: the server's HTTP base URL, to read the model's metadata",
    )


def add_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    """The samples sent (bench, sweep, search): --dataset, or synthetic prompts or tensors."""
    data = parser.add_argument_group("dataset")
    data.add_argument(
        "--dataset", help="prompts (.jsonl) or tensors (.npy/.npz); default: synthetic"
    )
    data.add_argument(
        "--max-tokens", type=int, help="output length of JSONL samples that give none"
    )
    data.add_argument(
        "--sample-count", type=int, default=1024, help="synthetic samples (default 1024)"
    )
    data.add_argument(
        "--performance-sample-count", type=int, help="samples loaded at once (default: all)"
    )
    data.add_argument("--dataset-seed", type=int, default=0, help="seed of the synthetic samples")
    data.add_argument(
        "--input-len", default="128", help="N, uniform:LOW:HIGH or normal:MEAN:SD[:LOW[:HIGH]]"
    )
    data.add_argument("--output-len", default="128", help="as --input-len")
    data.add_argument(
        "--vocab-size",
        type=int,
        help="openai: send token-id prompts (exact input length) with ids below this",
    )
    data.add_argument(
        "--first-token-id", type=int, default=0, help="lowest token id of synthetic prompts"
    )
    data.add_argument(
        "--tokenizer", help="a Hugging Face tokenizer available locally (exact text lengths)"
    )
    data.add_argument(
        "--ignore-eos", action="store_true", help="ask the server to generate max_tokens tokens"
    )
    data.add_argument(
        "--input-name", help="the input a .npy file feeds (default: the model's only input)"
    )
    data.add_argument(
        "--no-batch-dim",
        action="store_true",
        help="tensors: send each sample without a leading batch dimension of 1",
    )
    data.add_argument(
        "--dynamic-dim", type=int, default=16, help="random tensors: the size of -1 dimensions"
    )


def add_load_model_arguments(parser: argparse.ArgumentParser) -> None:
    load = parser.add_argument_group(
        "load models (instead of the scenario's schedule; docs/load-models.md)"
    )
    load.add_argument(
        "--conversations",
        type=int,
        metavar="USERS",
        help="multi-turn conversations from --dataset (a conversation JSONL), USERS at once",
    )
    load.add_argument(
        "--think-time-s", type=float, default=0.0, help="conversations: think time before a turn"
    )
    load.add_argument(
        "--think-time",
        choices=("constant", "exponential"),
        default="constant",
        help="conversations: think times constant, or exponential of that mean",
    )
    load.add_argument(
        "--conversation-count", type=int, help="conversations to run (default: each once)"
    )
    load.add_argument(
        "--trace",
        help="replay a trace's arrivals (CSV/JSONL); its token lengths make the prompts "
        "unless --dataset is given",
    )
    load.add_argument("--time-scale", type=float, default=1.0, help="trace: 0.5 = twice as fast")
    load.add_argument(
        "--sort-trace", action="store_true", help="trace: sort timestamps that go backwards"
    )
    load.add_argument("--concurrency", type=int, help="a closed loop of N requests in flight")
    load.add_argument("--max-concurrency", type=int, help="trace: a cap that gates arrivals")
    load.add_argument("--load-duration-s", type=float, help="the load model's duration")


def check_endpoints(
    args: argparse.Namespace, urls: Sequence[str], headers: Mapping[str, str]
) -> Preflight:
    """Checks every URL before any load (the same model on each replica) and reads the model's
    metadata from ``--metadata-url`` when the first URL gave none. Raises EndpointError."""
    found = preflight(urls[0], args.api, args.model, headers=headers, timeout_s=args.timeout_s)
    for url in urls[1:]:  # every replica must serve the same model
        preflight(url, args.api, found.model, headers=headers, timeout_s=args.timeout_s)
    if getattr(args, "metadata_url", None) and found.metadata is None:
        found = Preflight(
            found.model,
            preflight(
                args.metadata_url,
                "kserve",
                found.model,
                headers=headers,
                timeout_s=args.timeout_s,
            ).metadata,
        )
    return found


def endpoint_sut_from_args(
    args: argparse.Namespace,
    urls: Sequence[str],
    headers: Mapping[str, str],
    found: Preflight,
    dataset: Dataset,
) -> Any:
    """The endpoint SUT the connection flags describe: the native client, or grpcio's asyncio
    client for kserve-grpc (docs/net.md, gRPC). Raises ValueError, RuntimeError, OSError or
    ImportError when no client can be built (a URL the client rejects)."""
    from .endpoint import Endpoint, EndpointSut

    endpoint = Endpoint(
        list(urls),
        api=args.api,
        model=found.model,
        stream=not args.no_stream,
        balance=args.balance,
        headers=dict(headers),
        ignore_eos=args.ignore_eos,
        binary_tensors=args.binary_tensors,
        first_token=args.first_token,
        first_byte_timeout_s=args.first_byte_timeout_s or None,
        total_timeout_s=args.request_timeout_s or None,
        max_connections=args.max_connections,
        write_on_issue=args.write_on_issue,
    )
    if args.api == "kserve-grpc":
        from .grpc_endpoint import grpc_endpoint_sut

        return grpc_endpoint_sut(endpoint, dataset, timeout_s=args.timeout_s)
    return EndpointSut(endpoint, dataset, check=False)  # preflight checked every URL


@dataclass(frozen=True)
class EndpointTarget:
    """What a command that loads a served model builds before any load (sweep, search)."""

    found: Preflight
    settings: Settings
    dataset: Dataset
    sut: Any


class TargetError(Exception):
    """The served model cannot be loaded as the flags say; the message, for the user, says why
    (nothing was sent)."""


def endpoint_target(
    args: argparse.Namespace, urls: Sequence[str], headers: Mapping[str, str], scenario: Scenario
) -> EndpointTarget:
    """Checks the endpoints (:func:`check_endpoints`), then builds the settings, the dataset and
    the endpoint SUT from the flags. Raises TargetError: the endpoint check failed, or a
    setting, the dataset or a client option is bad."""
    try:
        found = check_endpoints(args, urls, headers)
    except EndpointError as e:
        raise TargetError(f"{e} (nothing was sent)") from e
    try:
        settings = settings_from_args(args, scenario, args.conf_model or found.model)
        dataset = make_dataset(args, args.api, found)
        sut = endpoint_sut_from_args(args, urls, headers, found, dataset)
    except (ValueError, TypeError, RuntimeError, OSError, ImportError) as e:
        raise TargetError(str(e)) from e
    return EndpointTarget(found, settings, dataset, sut)


def run_bench(args: argparse.Namespace, headers: Mapping[str, str]) -> int:
    urls: Sequence[str] = [args.url, *args.more_urls]
    scenario: Scenario = args.scenario
    if args.api not in (*get_args(Api), "kserve-grpc"):
        return _fail(
            f"--api {args.api} is not supported by the native client yet "
            f"(supported: {', '.join(get_args(Api))}); `loadgen probe` can check the endpoint"
        )
    try:
        found = check_endpoints(args, urls, headers)
    except EndpointError as e:
        return _fail(f"{e} (nothing was sent: the test did not start)")
    try:
        settings = settings_from_args(args, scenario, args.conf_model or found.model)
        metric_options = options_from_args(args)
        trace = trace_model_from_args(args)
        dataset = make_dataset(args, args.api, found, trace.trace if trace else None)
        load = load_model_from_args(args, dataset, trace)
    except (ValueError, TypeError) as e:  # ConfigError, DatasetError, SettingsError: ValueErrors
        return _fail(str(e))
    whole = _whole_answers(args)
    if settings.use_token_latencies and whole:
        # Else every sample would log an error (a latency recorded before its first token).
        return _fail(
            f"token latencies need streamed answers, and {whole} arrives whole: "
            "drop use_token_latencies (nothing was sent: the test did not start)"
        )
    log_dir = Path(args.log_dir)
    print(
        f"bench {', '.join(urls)} (api {args.api}, model {found.model}): {scenario.value}, "
        f"{len(dataset)} samples -> {log_dir}",
        file=sys.stderr,
    )
    return _run(args, urls, headers, found, settings, dataset, log_dir, metric_options, load)


def _run(
    args: argparse.Namespace,
    urls: Sequence[str],
    headers: Mapping[str, str],
    found: Preflight,
    settings: Settings,
    dataset: Dataset,
    log_dir: Path,
    metric_options: MetricOptions | None = None,
    load: Any = None,
) -> int:
    from ..decision import StopWhenDecided
    from ..runner import run
    from .endpoint import endpoint_qsl

    try:
        sut = endpoint_sut_from_args(args, urls, headers, found, dataset)
    except (
        ValueError,
        RuntimeError,
        OSError,
        ImportError,
    ) as e:  # a URL the client rejects, no client built
        return _fail(f"{e} (the test did not start)")
    try:  # what only the SUT knows: a gRPC model that is not decoupled answers whole
        sut.check_settings(settings)
    except SettingsError as e:
        sut.close()
        return _fail(str(e))
    log_dir.mkdir(parents=True, exist_ok=True)
    qsl = endpoint_qsl(dataset)
    with sut:
        decide = StopWhenDecided() if args.stop_when_decided else None
        try:
            result = run(
                sut,
                qsl,
                settings,
                log_dir=log_dir,
                progress=args.progress,
                metrics=metric_options,
                decide=decide,
                load=load,
            )
        except ValueError as e:  # SettingsError: a load model that cannot run, before any load
            qsl.close()
            return _fail(f"{e} (the test did not start)")
        if sut.outstanding:  # an interrupted run left requests in flight: count them as failed
            sut.cancel_all()
        stats = sut.stats()
    qsl.close()
    (log_dir / "endpoint.json").write_text(json.dumps(stats, indent=2) + "\n")
    sys.stdout.write(result.summary)
    for stage in result.stages:
        sys.stdout.write(format_stage(stage))
    sys.stdout.write(format_endpoint_stats(stats, urls))
    if result.metrics is not None:
        sys.stdout.write(format_metrics(result.metrics) + "\n")
    if not args.no_report:
        _write_report(log_dir)
    from ..selfcheck import describe, exit_status

    if result.generator is not None:
        sys.stdout.write("\n".join(describe(result.generator)) + "\n")
    return exit_status(result)  # 3: the generator limited the run (docs/self-check.md)


def format_stage(stage: Any) -> str:
    """One line per load-model stage (and its conversations)."""
    line = (
        f"stage {stage.name or stage.kind}: {stage.queries_issued} issued, "
        f"{stage.samples_completed} completed, p99 {stage.latency_percentiles_ns.get(0.99, 0) / 1e6:.1f} ms"
    )
    if stage.kind == "conversations":
        line += (
            f", conversations {stage.conversations_completed}/{stage.conversations_started} "
            f"completed of {stage.conversations_planned}"
        )
    return line + "\n"


def format_endpoint_stats(stats: Mapping[str, Any], urls: Sequence[str]) -> str:
    """The client's counts: requests, failures by reason, per endpoint, token count sources."""
    lines = [
        f"requests: {stats.get('issued', 0)} issued, {stats.get('completed', 0)} completed, "
        f"{stats.get('failed', 0)} failed",
        f"token counts: {stats.get('tokens_from_usage', 0)} from usage, "
        f"{stats.get('tokens_from_chunks', 0)} from counted chunks",
    ]
    reasons = {k: v for k, v in (stats.get("failures_by_reason") or {}).items() if v}
    if reasons:
        lines.append("failures: " + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())))
        if stats.get("last_failure"):
            lines.append(f"last failure: {stats['last_failure']}")
    for url, counts in zip(urls, stats.get("endpoints") or ()):
        lines.append(
            f"  {url}: {counts.get('issued', 0)} issued, {counts.get('failed', 0)} failed, "
            f"{counts.get('connections_opened', 0)} connections"
        )
    return "\n".join(lines) + "\n"


def _write_report(log_dir: Path) -> None:
    try:
        from ..report import ReportError, load_run, write_report
    except ImportError as e:  # the report needs matplotlib (the `report` extra)
        print(f"no report: {e}", file=sys.stderr)
        return
    try:
        written = write_report(load_run(log_dir), log_dir / "report.html")
    except ReportError as e:
        print(f"no report: {e}", file=sys.stderr)
        return
    print(f"report: {written[0]}")


def _whole_answers(args: argparse.Namespace) -> str | None:
    """What answers whole, with no first token to time: KServe v2 infer over HTTP, or an OpenAI
    api with --no-stream; None when the answers stream (gRPC streams for decoupled models)."""
    if args.api == "kserve":
        return "a KServe v2 infer answer (--api kserve)"
    if args.api in ("openai", "openai-chat") and args.no_stream:
        return "an answer asked with --no-stream"
    return None


def _fail(message: str) -> int:
    print(f"loadgen bench: {message}", file=sys.stderr)
    return 2
