"""Request-level metrics of a run (docs/metrics.md): TTFT, TPOT, inter-token latency, E2E
latency, throughputs, output tokens per second per user, user-given percentiles, and goodput
against several SLO tiers at once; over the whole run, per stage and per endpoint.

The engine computes them (``results::ComputeRequestMetrics``) from the request table it keeps
for the last performance series; an endpoint SUT adds the inter-token gaps from its chunk
arrival times and one breakdown per base URL.
"""

from __future__ import annotations

import argparse
import bisect
import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from . import _core

__all__ = [
    "DEFAULT_PERCENTILES",
    "Distribution",
    "EndpointMetrics",
    "EndpointRun",
    "MetricOptions",
    "Metrics",
    "Slo",
    "TierGoodput",
    "endpoint_run",
    "format_metrics",
    "parse_percentiles",
    "parse_slo",
    "parse_slos",
]

#: Percentiles reported when none are given (in percent).
DEFAULT_PERCENTILES: tuple[float, ...] = (50.0, 90.0, 95.0, 99.0, 99.9)
#: Beyond this many values a distribution comes from a streaming histogram (bounded memory,
#: relative error at most ``HISTOGRAM_RELATIVE_ERROR``); below, from the sorted values (exact).
DEFAULT_EXACT_LIMIT = 1 << 24
HISTOGRAM_RELATIVE_ERROR: float = float(_core.HISTOGRAM_RELATIVE_ERROR)


@dataclass(frozen=True)
class Slo:
    """Latency objectives of one tier, in milliseconds; None: no limit on that figure. A
    request meets the tier when it succeeded and meets every limit that is set."""

    ttft_ms: float | None = None
    tpot_ms: float | None = None
    e2e_ms: float | None = None

    def __post_init__(self) -> None:
        for name in ("ttft_ms", "tpot_ms", "e2e_ms"):
            v = getattr(self, name)
            if v is not None and (
                isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0
            ):
                raise ValueError(f"Slo.{name} must be a positive number of ms, got {v!r}")

    def _limits_ns(self) -> tuple[int, int, int]:
        def ns(v: float | None) -> int:
            return -1 if v is None else round(v * 1e6)

        return ns(self.ttft_ms), ns(self.tpot_ms), ns(self.e2e_ms)

    def to_json(self) -> dict[str, float | None]:
        return {"ttft_ms": self.ttft_ms, "tpot_ms": self.tpot_ms, "e2e_ms": self.e2e_ms}


@dataclass(frozen=True)
class MetricOptions:
    """What :func:`loadgen.run` computes besides the official figures: ``percentiles`` in
    percent (e.g. ``(50, 90, 99, 99.9)``), ``tiers`` by name (e.g. ``{"interactive":
    Slo(ttft_ms=200, tpot_ms=50), "batch": Slo(e2e_ms=5000)}``), and ``exact_limit``."""

    percentiles: tuple[float, ...] = DEFAULT_PERCENTILES
    tiers: Mapping[str, Slo] = field(default_factory=dict)
    exact_limit: int = DEFAULT_EXACT_LIMIT

    def __post_init__(self) -> None:
        object.__setattr__(self, "percentiles", tuple(float(p) for p in self.percentiles))
        object.__setattr__(self, "tiers", dict(self.tiers))
        for p in self.percentiles:
            if not (0 < p <= 100) or math.isnan(p):
                raise ValueError(f"a percentile must be in (0, 100], got {p!r}")
        for name, slo in self.tiers.items():
            if not name or not isinstance(slo, Slo):
                raise ValueError(f"tiers maps names to Slo objects, got {name!r}: {slo!r}")
        if self.exact_limit < 0:
            raise ValueError("exact_limit must be >= 0")

    def _fractions(self) -> list[float]:
        return [p / 100 for p in self.percentiles]

    def _tiers(self) -> list[tuple[str, int, int, int]]:
        return [(name, *slo._limits_ns()) for name, slo in self.tiers.items()]


@dataclass(frozen=True)
class Distribution:
    """One figure over requests (over token gaps for ITL). ``percentiles`` maps each requested
    percentile (in percent) to its value, by the official rule (the element at index
    trunc(n * p) of the sorted values, no interpolation). ``count`` 0: not available.
    ``approximate``: from the streaming histogram (more values than ``exact_limit``)."""

    count: int
    min: float
    max: float
    mean: float
    percentiles: Mapping[float, float]
    approximate: bool = False

    @classmethod
    def _from_core(cls, d: _core.Distribution) -> Distribution:
        return cls(
            count=d.count,
            min=d.min,
            max=d.max,
            mean=d.mean,
            percentiles={round(p * 100, 6): v for p, v in d.percentiles},
            approximate=d.approximate,
        )


@dataclass(frozen=True)
class TierGoodput:
    """Goodput against one tier: ``met`` requests met every objective; ``share`` = met /
    requests (failed included); ``rate_per_s`` = met / the metrics' duration."""

    name: str
    slo: Slo
    met: int
    share: float
    rate_per_s: float


@dataclass(frozen=True)
class Metrics:
    """The request-level metrics of docs/metrics.md over a set of requests. Latencies in ns
    (``*_ns``); throughputs per second over ``duration_s`` (first scheduled moment to last
    completion). ``input_tokens`` and ``total_token_throughput`` are None unless every
    successful request's input length was known."""

    requests: int
    failed: int
    duration_s: float
    output_tokens: int
    input_tokens: int | None
    request_throughput: float
    output_token_throughput: float
    total_token_throughput: float | None
    e2e_ns: Distribution
    ttft_ns: Distribution
    tpot_ns: Distribution
    itl_ns: Distribution
    output_tokens_per_s_per_user: Distribution
    goodput: Mapping[str, TierGoodput]

    @classmethod
    def _from_core(cls, m: _core.RequestMetrics, options: MetricOptions) -> Metrics:
        return cls(
            requests=m.requests,
            failed=m.failed,
            duration_s=m.duration_s,
            output_tokens=m.output_tokens,
            input_tokens=m.input_tokens if m.input_tokens_known else None,
            request_throughput=m.request_throughput,
            output_token_throughput=m.output_token_throughput,
            total_token_throughput=m.total_token_throughput if m.input_tokens_known else None,
            e2e_ns=Distribution._from_core(m.e2e_ns),
            ttft_ns=Distribution._from_core(m.ttft_ns),
            tpot_ns=Distribution._from_core(m.tpot_ns),
            itl_ns=Distribution._from_core(m.itl_ns),
            output_tokens_per_s_per_user=Distribution._from_core(m.output_tokens_per_s_per_user),
            goodput={
                g.name: TierGoodput(g.name, options.tiers[g.name], g.met, g.share, g.rate_per_s)
                for g in m.goodput
            },
        )


@dataclass(frozen=True)
class EndpointMetrics:
    """One base URL of an endpoint SUT: the run's requests it answered (``completed``, failed
    included; ``failed``), the connections it opened and requests it retried over the SUT's
    life, and the :class:`Metrics` of its requests: the engine's rows of the samples it answered,
    timed from their scheduled moments like the run's metrics."""

    index: int
    url: str
    completed: int
    failed: int
    connections_opened: int
    retries: int
    metrics: Metrics


# --- parsing the CLI's spellings --------------------------------------------------------------

_SLO_KEYS = {"ttft_ms", "tpot_ms", "e2e_ms"}


def parse_percentiles(text: str) -> tuple[float, ...]:
    """``"50,90,99,99.9"`` -> (50.0, 90.0, 99.0, 99.9); raises ValueError naming the bad item."""
    out = []
    for item in text.split(","):
        item = item.strip()
        try:
            p = float(item)
        except ValueError:
            raise ValueError(f"--percentiles: {item!r} is not a number") from None
        if not (0 < p <= 100):
            raise ValueError(f"--percentiles: {item} is not in (0, 100]")
        out.append(p)
    if not out:
        raise ValueError("--percentiles: no percentile given")
    return tuple(out)


def parse_slo(text: str) -> tuple[str, Slo]:
    """``"interactive:ttft_ms=200,tpot_ms=50"`` -> ("interactive", Slo(200, 50)). Keys:
    ttft_ms, tpot_ms, e2e_ms; raises ValueError naming what is wrong."""
    name, sep, rest = text.partition(":")
    name = name.strip()
    if not sep or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(
            f"--slo {text!r}: expected NAME:KEY=MS[,KEY=MS...], e.g. interactive:ttft_ms=200,tpot_ms=50"
        )
    limits: dict[str, float] = {}
    for item in rest.split(","):
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or key not in _SLO_KEYS:
            raise ValueError(f"--slo {text!r}: {item!r} is not one of {sorted(_SLO_KEYS)}=MS")
        if key in limits:
            raise ValueError(f"--slo {text!r}: {key} given twice")
        try:
            limits[key] = float(value)
        except ValueError:
            raise ValueError(f"--slo {text!r}: {value!r} is not a number") from None
    return name, Slo(**limits)


def parse_slos(texts: Iterable[str]) -> dict[str, Slo]:
    """Several ``--slo`` options; a tier named twice is refused."""
    tiers: dict[str, Slo] = {}
    for text in texts:
        name, slo = parse_slo(text)
        if name in tiers:
            raise ValueError(f"--slo: tier {name!r} given twice")
        tiers[name] = slo
    return tiers


def add_metric_arguments(parser: argparse.ArgumentParser) -> None:
    """--percentiles and --slo (loadgen demo, loadgen bench; docs/cli.md)."""
    group = parser.add_argument_group("metrics (docs/metrics.md)")
    group.add_argument(
        "--percentiles",
        type=parse_percentiles,
        metavar="P,P,...",
        help="percentiles of every distribution, in percent (default 50,90,95,99,99.9)",
    )
    group.add_argument(
        "--slo",
        action="append",
        default=[],
        metavar="NAME:KEY=MS[,KEY=MS]",
        help="an SLO tier for goodput, e.g. interactive:ttft_ms=200,tpot_ms=50 "
        "(keys ttft_ms, tpot_ms, e2e_ms); repeat for several tiers",
    )


def options_from_args(args: argparse.Namespace) -> MetricOptions:
    """The MetricOptions of --percentiles and --slo; ValueError for a bad --slo."""
    return MetricOptions(
        percentiles=args.percentiles or DEFAULT_PERCENTILES, tiers=parse_slos(args.slo)
    )


def _ms(d: Distribution, p: float) -> str:
    v = d.percentiles.get(p)
    return "-" if v is None or d.count == 0 else f"{v / 1e6:.3f}"


def format_metrics(m: Metrics) -> str:
    """A few lines: throughputs, the distributions at each percentile (ms), goodput per tier."""
    head = (
        f"requests {m.requests} ({m.failed} failed) in {m.duration_s:.3f} s: "
        f"{m.request_throughput:.2f} req/s"
    )
    if m.output_tokens:
        head += f", {m.output_token_throughput:.1f} output tokens/s"
    if m.total_token_throughput is not None:
        head += f", {m.total_token_throughput:.1f} total tokens/s"
    lines = [head]
    percentiles = list(m.e2e_ns.percentiles)
    header = "  ".join(f"p{p:g}".rjust(9) for p in percentiles)
    lines.append(f"{'ms':<6}{header}")
    for label, d in (
        ("e2e", m.e2e_ns),
        ("ttft", m.ttft_ns),
        ("tpot", m.tpot_ns),
        ("itl", m.itl_ns),
    ):
        if d.count:
            lines.append(f"{label:<6}" + "  ".join(_ms(d, p).rjust(9) for p in percentiles))
    for name, g in m.goodput.items():
        note = ""
        if (g.slo.ttft_ms is not None or g.slo.tpot_ms is not None) and not m.ttft_ns.count:
            note = " (no first token recorded: TTFT/TPOT limits need use_token_latencies)"
        lines.append(
            f"goodput {name}: {g.met}/{m.requests} requests ({g.share * 100:.1f} %), "
            f"{g.rate_per_s:.2f} req/s{note}"
        )
    return "\n".join(lines)


# --- computing ----------------------------------------------------------------------------------


def _itl_of(chunk_times: Sequence[Sequence[int]]) -> list[int]:
    """The gaps between consecutive chunk arrivals of each request."""
    gaps: list[int] = []
    for times in chunk_times:
        gaps.extend(b - a for a, b in zip(times, times[1:]))
    return gaps


def _select(records: Mapping[str, list[Any]], keep: Sequence[int]) -> dict[str, list[Any]]:
    return {k: [v[i] for i in keep] for k, v in records.items()}


def endpoint_metrics(
    records: Mapping[str, list[Any]],
    stats: Mapping[str, Any],
    urls: Sequence[str],
    input_tokens: Sequence[int],
    options: MetricOptions,
    outcome: _core.TestOutcome | None = None,
) -> tuple[EndpointMetrics, ...]:
    """One :class:`EndpointMetrics` per base URL over ``records`` (an EndpointSut's records,
    the requests to count). A request's input length is its record's ``prompt_tokens`` (the
    server's usage) when known, else ``input_tokens`` (per QSL sample index, -1: unknown).

    With ``outcome`` (its request table), each URL's metrics are the engine's rows of the
    samples that URL answered (matched by response id): timed from the scheduled moment, like
    the run's. Without it, from the records' own times (IssueQuery onwards)."""
    per_endpoint = stats.get("endpoints", [])
    by_rows = outcome is not None and "response_id" in records
    inputs = input_tokens_of(input_tokens, records) if by_rows else []
    out = []
    for index, url in enumerate(urls):
        rows = [i for i, e in enumerate(records["endpoint"]) if e == index]
        itl = _itl_of([records["chunk_times_ns"][i] for i in rows])
        if outcome is not None and by_rows:
            m = _core._request_metrics(
                outcome,
                options._fractions(),
                options._tiers(),
                -1,
                itl,
                inputs,
                options.exact_limit,
                [records["response_id"][i] for i in rows],
            )
            out.append(_endpoint_of(index, url, len(rows), per_endpoint, m, options))
            continue
        issued = [records["issued_ns"][i] for i in rows]
        first = [records["first_token_ns"][i] for i in rows]
        e2e = [records["done_ns"][i] - t for i, t in zip(rows, issued)]
        ttft = [f - t if f > 0 else -1 for f, t in zip(first, issued)]
        sample = [records["sample_index"][i] for i in rows]
        prompt = records.get("prompt_tokens") or [-1] * len(records["endpoint"])
        # The server's own count of a request's input first (its usage), else the sample's.
        row_inputs = [
            prompt[i] if prompt[i] >= 0 else input_tokens[s] if 0 <= s < len(input_tokens) else -1
            for i, s in zip(rows, sample)
        ]
        m = _core._column_metrics(
            issued,
            e2e,
            ttft,
            [records["tokens"][i] for i in rows],
            row_inputs,
            [records["failure"][i] is not None for i in rows],
            itl,
            options._fractions(),
            options._tiers(),
            options.exact_limit,
        )
        out.append(_endpoint_of(index, url, len(rows), per_endpoint, m, options))
    return tuple(out)


def _endpoint_of(
    index: int,
    url: str,
    completed: int,
    per_endpoint: Sequence[Mapping[str, Any]],
    m: _core.RequestMetrics,
    options: MetricOptions,
) -> EndpointMetrics:
    counts: Mapping[str, Any] = per_endpoint[index] if index < len(per_endpoint) else {}
    return EndpointMetrics(
        index=index,
        url=url,
        completed=completed,
        failed=m.failed,
        connections_opened=int(counts.get("connections_opened", 0)),
        retries=int(counts.get("retries", 0)),
        metrics=Metrics._from_core(m, options),
    )


@dataclass(frozen=True)
class EndpointRun:
    """What an endpoint SUT's records add to a run's metrics: the inter-token gaps of the
    measured requests and of each stage's, one breakdown per URL (measured requests), and the
    input length per QSL index."""

    itl_ns: list[int]
    stage_itl_ns: list[list[int]]
    endpoints: tuple[EndpointMetrics, ...]
    input_tokens: Sequence[int]


def input_tokens_of(prompt_lengths: Sequence[int], records: Mapping[str, list[Any]]) -> list[int]:
    """The input length per QSL sample index: the server's ``usage.prompt_tokens`` from the
    records where it reported one (its own count, chat template included), else
    ``prompt_lengths`` (token-id prompts; -1: unknown). A sample's prompt is the same each
    time it is sent, so any of its records gives the count; the largest index seen sizes the
    list."""
    out = list(prompt_lengths)
    for s, n in zip(records["sample_index"], records.get("prompt_tokens") or ()):
        if n < 0:
            continue
        if s >= len(out):
            out.extend([-1] * (s + 1 - len(out)))
        out[s] = n
    return out


def endpoint_run(
    sut: Any, records_before: int, outcome: _core.TestOutcome, options: MetricOptions
) -> EndpointRun:
    """Splits an EndpointSut's records after the first `records_before` (earlier runs') like
    the engine's request table: requests issued before the performance series started (an
    accuracy series) are left out, and a load model's requests go to the stage whose first
    issue precedes theirs; only measured stages count for the run and the URLs."""
    records = sut.records()
    records = {k: v[records_before:] for k, v in records.items()}
    origin = _core._requests_origin_ns(outcome) if _core._request_count(outcome) else 0
    stages = list(outcome.stages)
    # Stages issue one after another: a request belongs to the last stage started before it.
    started = [(s.first_issue_ns, k) for k, s in enumerate(stages) if s.first_issue_ns > 0]
    starts = [t for t, _ in started]
    stage_itl: list[list[int]] = [[] for _ in stages]
    measured: list[int] = []
    itl: list[int] = []
    for i, (issued, times) in enumerate(zip(records["issued_ns"], records["chunk_times_ns"])):
        if issued < origin:
            continue
        gaps = _itl_of([times])
        if started:
            at = bisect.bisect_right(starts, issued) - 1
            if at < 0:
                continue
            stage = started[at][1]
            stage_itl[stage] += gaps
            if not stages[stage].measured:
                continue
        measured.append(i)
        itl += gaps
    inputs = input_tokens_of(getattr(sut, "input_token_counts", ()), records)
    endpoints = endpoint_metrics(
        _select(records, measured),
        sut.stats(),
        tuple(sut.endpoint.base_urls()),
        inputs,
        options,
        outcome if _core._request_count(outcome) else None,
    )
    return EndpointRun(itl, stage_itl, endpoints, inputs)


def outcome_metrics(
    outcome: _core.TestOutcome,
    options: MetricOptions,
    stage: int = -1,
    itl_ns: Sequence[int] = (),
    input_tokens: Sequence[int] = (),
) -> Metrics | None:
    """The metrics of the outcome's measured requests (``stage`` -1) or of one stage's; None
    when the test had no performance series. ``input_tokens``: the input length per QSL
    index (-1: unknown), when the SUT knows them."""
    if _core._request_count(outcome) == 0 and outcome.performance is None:
        return None
    m = _core._request_metrics(
        outcome,
        options._fractions(),
        options._tiers(),
        stage,
        list(itl_ns),
        list(input_tokens),
        options.exact_limit,
    )
    return Metrics._from_core(m, options)
