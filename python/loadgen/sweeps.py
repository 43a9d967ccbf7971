"""Sweeps (docs/sweeps.md): one run per point of a grid over offered load (Server rates or
closed-loop concurrencies) and, optionally, a user parameter that builds the SUT, each point
repeated and summarised with a confidence interval per figure.

The stages: :func:`sweep_points` lays out the grid -> :func:`run_probes` runs each point in
its own log folder on a warm SUT (the probe loop of :mod:`loadgen.probing`, shared with the
capacity search) -> :func:`point_figures` reads the figures of one run ->
:func:`summarize` gives each figure its mean and t-interval over the repeats -> ``sweep.json``.
``loadgen report SWEEP_DIR`` and ``loadgen compare SWEEP_A SWEEP_B`` read that file
(:mod:`loadgen.report.sweeps`).
"""

from __future__ import annotations

import contextlib
import json
import math
import statistics
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from .load_models import Concurrency
from .metrics import MetricOptions
from .probing import ProbeSequence
from .results import RunResult
from .selfcheck import results_section
from .settings import Scenario, Settings

__all__ = [
    "SWEEP_FILE",
    "Interval",
    "Sweep",
    "SweepPoint",
    "is_sweep_dir",
    "load_sweep",
    "point_figures",
    "run_probes",
    "summarize",
    "sweep",
    "sweep_points",
    "t_interval",
]

#: The sweep's results file, in the sweep's folder.
SWEEP_FILE = "sweep.json"
SWEEP_FORMAT = "loadgen-sweep"
SWEEP_VERSION = 1

#: The figures of one run (None where the run has no such figure). Names end in their unit.
FIGURE_NAMES = (
    "offered_load",
    "throughput_qps",
    "latency_mean_ms",
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p99_ms",
    "ttft_p50_ms",
    "ttft_p99_ms",
    "tpot_mean_ms",
    "tpot_p99_ms",
    "tokens_per_s",
    "tokens_per_s_per_user",
    "goodput_qps",
    "valid",
    "generator_limited",
    "samples_failed",
)


@dataclass(frozen=True)
class Interval:
    """A figure over a point's repeats: the mean and its two-sided t-interval (``low`` ==
    ``high`` == ``mean`` with one repeat; ``n`` counts the repeats that had the figure)."""

    mean: float
    low: float
    high: float
    n: int

    def to_json(self) -> dict[str, float | int]:
        return {"mean": self.mean, "low": self.low, "high": self.high, "n": self.n}


@dataclass(frozen=True)
class SweepPoint:
    """One point of the grid: ``load`` (a rate in QPS or a concurrency; None: the settings'
    own load) and ``param`` (the user parameter; None without one), its ``runs`` (the figures
    of each repeat, with its ``log_dir``) and their ``summary``."""

    index: int
    load: float | None
    param: Any
    runs: tuple[Mapping[str, Any], ...]
    summary: Mapping[str, Interval]

    def value(self, figure: str) -> float | None:
        interval = self.summary.get(figure)
        return None if interval is None else interval.mean


@dataclass(frozen=True)
class Sweep:
    """A finished sweep, as written to (or read from) ``log_dir / sweep.json``."""

    axis: str  # "rate", "concurrency" or "none"
    points: tuple[SweepPoint, ...]
    log_dir: Path
    repeats: int
    confidence: float
    scenario: str
    token_run: bool
    settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return self.log_dir / SWEEP_FILE

    @property
    def params(self) -> list[Any]:
        """The user parameter's values, in grid order (``[None]`` without one)."""
        seen: list[Any] = []
        for p in self.points:
            if p.param not in seen:
                seen.append(p.param)
        return seen

    def to_json(self) -> dict[str, Any]:
        return {
            "format": SWEEP_FORMAT,
            "version": SWEEP_VERSION,
            "axis": self.axis,
            "scenario": self.scenario,
            "token_run": self.token_run,
            "repeats": self.repeats,
            "confidence": self.confidence,
            "settings": dict(self.settings),
            "points": [
                {
                    "index": p.index,
                    "load": p.load,
                    "param": p.param,
                    "runs": [dict(r) for r in p.runs],
                    "summary": {k: v.to_json() for k, v in p.summary.items()},
                }
                for p in self.points
            ],
        }


# --- the grid --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Planned:
    index: int
    load: float | None
    param: Any
    param_index: int
    repeat: int
    log_dir: Path


def sweep_points(
    axis: str,
    loads: Sequence[float | None],
    params: Sequence[Any],
    repeats: int,
    log_dir: Path,
) -> list[_Planned]:
    """The runs in order: for each parameter value, each load, each repeat. Folders:
    ``point-003-rate-40`` (``-param-<value>`` when there is a parameter), ``repeat-1``..."""
    planned: list[_Planned] = []
    index = 0
    for param_index, param in enumerate(params):
        for load in loads:
            name = f"point-{index:03d}"
            if load is not None:
                name += f"-{axis}-{load:g}"
            if param is not None:
                name += f"-param-{_slug(param)}"
            for repeat in range(repeats):
                folder = log_dir / name
                if repeats > 1:
                    folder = folder / f"repeat-{repeat + 1}"
                planned.append(_Planned(index, load, param, param_index, repeat, folder))
            index += 1
    return planned


def _slug(value: Any) -> str:
    text = str(value)
    return "".join(c if c.isalnum() or c in ".-_" else "_" for c in text)[:40] or "_"


# --- the probe loop --------------------------------------------------------------------------

#: Runs one point: (SUT, planned point) -> its RunResult. The default runs :func:`loadgen.run`
#: with the point's settings and folder (:func:`_default_runner`).
PointRunner = Callable[[Any, "_Planned"], RunResult]


def run_probes(
    planned: Sequence[_Planned],
    make_sut: Callable[[Any], Any],
    run_one: PointRunner,
    on_result: Callable[[_Planned, RunResult], None] | None = None,
) -> list[tuple[_Planned, RunResult]]:
    """Runs the points in order, each in its own folder, keeping one SUT warm for all the
    points of a parameter value (built by ``make_sut(param)``; closed after them when it is a
    context manager or has ``close()``): a :class:`loadgen.probing.ProbeSequence` per SUT,
    the capacity search's probe loop."""
    done: list[tuple[_Planned, RunResult]] = []
    groups: dict[int, list[_Planned]] = {}
    for p in planned:
        groups.setdefault(p.param_index, []).append(p)
    for group in groups.values():
        with _warm_sut(make_sut(group[0].param)) as sut:
            probes = ProbeSequence(group[0].log_dir.parent)
            for p in group:
                probe = probes.record(p.log_dir.name, p.log_dir, partial(_run_in, run_one, sut, p))
                done.append((p, probe.result))
                if on_result is not None:
                    on_result(p, probe.result)
    return done


def _run_in(run_one: PointRunner, sut: Any, point: _Planned, _folder: Path) -> RunResult:
    """One point in its folder (the planned one, made by the probe sequence)."""
    return run_one(sut, point)


@contextlib.contextmanager
def _warm_sut(sut: Any) -> Iterator[Any]:
    if hasattr(sut, "__enter__") and hasattr(sut, "__exit__"):
        with sut as entered:
            yield entered if entered is not None else sut
        return
    try:
        yield sut
    finally:
        close = getattr(sut, "close", None)
        if callable(close):
            close()


# --- figures of one run ----------------------------------------------------------------------


def point_figures(result: RunResult, offered_load: float | None) -> dict[str, float | None]:
    """The figures of one run, in the units their names say. ``goodput_qps`` comes from the
    result's ``goodput`` when the engine reports one (None otherwise)."""
    lat = result.latency
    ttft = result.first_token_latency
    tpot = result.time_per_output_token

    def ms(ns: float | None) -> float | None:
        return None if ns is None else ns / 1e6

    def pct(stats: Any, p: float) -> float | None:
        return None if stats is None else ms(stats.percentiles_ns.get(p))

    tokens_per_s = result.tokens_per_second if result.token_count else None
    per_user = 1e9 / tpot.mean_ns if tpot is not None and tpot.mean_ns > 0 else None
    check = result.generator
    return {
        "offered_load": offered_load,
        "throughput_qps": _throughput(result),
        "latency_mean_ms": ms(lat.mean_ns) if lat else None,
        "latency_p50_ms": pct(lat, 0.5),
        "latency_p90_ms": pct(lat, 0.9),
        "latency_p99_ms": pct(lat, 0.99),
        "ttft_p50_ms": pct(ttft, 0.5),
        "ttft_p99_ms": pct(ttft, 0.99),
        "tpot_mean_ms": ms(tpot.mean_ns) if tpot else None,
        "tpot_p99_ms": pct(tpot, 0.99),
        "tokens_per_s": tokens_per_s,
        "tokens_per_s_per_user": per_user,
        "goodput_qps": _goodput(result),
        "valid": 1.0 if result.valid else 0.0,
        "generator_limited": None if check is None else (1.0 if check.generator_limited else 0.0),
        "samples_failed": float(result.samples_failed),
    }


def _throughput(result: RunResult) -> float | None:
    """Completed samples per second over the measured window."""
    measured = [s for s in result.stages if s.measured]
    if measured:
        total_s = sum(s.duration_s for s in measured)
        return sum(s.samples_completed for s in measured) / total_s if total_s > 0 else None
    if result.metric_name in ("completed_samples_per_second", "samples_per_second"):
        return result.metric
    if result.token_count and result.tokens_per_second > 0:  # token runs: the same window
        return result.samples_completed * result.tokens_per_second / result.token_count
    return None


def _goodput(result: RunResult) -> float | None:
    """Goodput in requests per second against the run's first SLO tier (``--slo``, or
    ``MetricOptions.tiers`` in its order); None without tiers. Every tier's figures are in each
    point's loadgen_results.json."""
    if result.metrics is None or not result.metrics.goodput:
        return None
    first = next(iter(result.metrics.goodput.values()))
    return first.rate_per_s


# --- statistics ------------------------------------------------------------------------------

# Two-sided t quantiles t_{1 - a/2, df} for df = 1..30 at the three usual levels.
_T_TABLE = {
    0.90: (6.314, 2.920, 2.353, 2.132, 2.015, 1.943, 1.895, 1.860, 1.833, 1.812, 1.796, 1.782,
           1.771, 1.761, 1.753, 1.746, 1.740, 1.734, 1.729, 1.725, 1.721, 1.717, 1.714, 1.711,
           1.708, 1.706, 1.703, 1.701, 1.699, 1.697),
    0.95: (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
           2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
           2.060, 2.056, 2.052, 2.048, 2.045, 2.042),
    0.99: (63.657, 9.925, 5.841, 4.604, 4.032, 3.707, 3.499, 3.355, 3.250, 3.169, 3.106, 3.055,
           3.012, 2.977, 2.947, 2.921, 2.898, 2.878, 2.861, 2.845, 2.831, 2.819, 2.807, 2.797,
           2.787, 2.779, 2.771, 2.763, 2.756, 2.750),
}  # fmt: skip
_Z = {0.90: 1.645, 0.95: 1.960, 0.99: 2.576}


def t_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """The mean and its Student-t interval (normal quantile past 30 degrees of freedom)."""
    if confidence not in _T_TABLE:
        raise ValueError(f"confidence must be one of {sorted(_T_TABLE)}, got {confidence}")
    n = len(values)
    if n == 0:
        raise ValueError("no values")
    mean = statistics.fmean(values)
    if n == 1:
        return Interval(mean, mean, mean, 1)
    df = n - 1
    t = _T_TABLE[confidence][df - 1] if df <= 30 else _Z[confidence]
    half = t * statistics.stdev(values) / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n)


def summarize(runs: Sequence[Mapping[str, Any]], confidence: float) -> dict[str, Interval]:
    """Each figure's interval over the runs that have it. Every figure is a rate, a latency,
    a count or a share, so an interval's lower end is cut at 0."""
    out: dict[str, Interval] = {}
    for name in FIGURE_NAMES:
        values = [float(r[name]) for r in runs if r.get(name) is not None]
        if values:
            iv = t_interval(values, confidence)
            out[name] = Interval(iv.mean, max(iv.low, 0.0), iv.high, iv.n)
    return out


# --- the entry point -------------------------------------------------------------------------


def sweep(
    sut: Any,
    qsl: Any,
    settings: Settings,
    *,
    log_dir: str | Path,
    rates: Sequence[float] | None = None,
    concurrencies: Sequence[int] | None = None,
    params: Sequence[Any] | None = None,
    repeats: int = 1,
    confidence: float = 0.95,
    progress: bool | None = False,
    run_probe: PointRunner | None = None,
    on_result: Callable[[Mapping[str, Any]], None] | None = None,
    metrics: MetricOptions | None = None,
) -> Sweep:
    """Runs one test per grid point and writes ``log_dir/sweep.json``.

    ``rates``: Server runs at each ``server_target_qps`` (Poisson arrivals). ``concurrencies``:
    closed-loop runs with N queries in flight for ``settings.min_duration_ms``
    (:class:`loadgen.Concurrency`). At most one of the two; neither: every point runs the
    settings as given. ``params``: ``sut`` is then a callable building the SUT for one value
    (``sut(param)``), called once per value; without ``params`` ``sut`` is the SUT itself.
    ``repeats`` > 1 runs each point that often and gives each figure a t-interval at
    ``confidence`` (0.90, 0.95 or 0.99). ``run_probe(sut, point)`` replaces how one point runs
    (default: :func:`loadgen.run` with the point's settings and folder). ``on_result`` is called
    with each run's figures as they come. ``metrics``: the percentiles and SLO tiers each run
    computes (goodput against the first tier is a sweep figure)."""
    if rates is not None and concurrencies is not None:
        raise ValueError("give rates or concurrencies, not both")
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    if confidence not in _T_TABLE:
        raise ValueError(f"confidence must be one of {sorted(_T_TABLE)}, got {confidence}")
    axis = "rate" if rates is not None else "concurrency" if concurrencies is not None else "none"
    loads: list[float | None] = (
        [float(r) for r in rates]
        if rates is not None
        else [float(c) for c in concurrencies]
        if concurrencies is not None
        else [None]
    )
    for load in loads:
        if load is not None and (not math.isfinite(load) or load <= 0):
            raise ValueError(f"every {axis} must be positive, got {load:g}")
    if axis == "concurrency" and any(load is not None and load != int(load) for load in loads):
        raise ValueError("concurrencies must be whole numbers")
    if not loads:
        raise ValueError(f"no {axis} given")
    if axis != "none" and settings.scenario is not Scenario.SERVER:
        # Rates are Server's; a concurrency is a load model, which reports Server's metrics.
        settings = settings.replace(scenario=Scenario.SERVER)
    if params is not None:
        if not callable(sut):
            raise TypeError("with params, sut must be a callable that builds the SUT: sut(param)")
        make_sut: Callable[[Any], Any] = sut
        param_values: list[Any] = list(params)
    else:
        the_sut = sut

        def make_sut(_param: Any) -> Any:
            return _Unclosed(the_sut)  # the caller's SUT: not ours to close

        param_values = [None]

    root = Path(log_dir)
    root.mkdir(parents=True, exist_ok=True)
    planned = sweep_points(axis, loads, param_values, repeats, root)
    runner = run_probe or _default_runner(qsl, settings, axis, progress, metrics)
    figures_by_run: dict[int, dict[str, Any]] = {}

    def record(p: _Planned, result: RunResult) -> None:
        figures: dict[str, Any] = dict(point_figures(result, p.load))
        figures["repeat"] = p.repeat + 1
        figures["log_dir"] = str(p.log_dir.relative_to(root))
        figures["generator"] = results_section(result.generator)
        figures_by_run[id(p)] = figures
        if on_result is not None:
            on_result(figures)

    done = run_probes(planned, make_sut, runner, record)
    points: list[SweepPoint] = []
    for p, _ in done:
        if p.repeat != 0:
            continue
        runs = tuple(figures_by_run[id(q)] for q, _ in done if q.index == p.index)
        points.append(SweepPoint(p.index, p.load, p.param, runs, summarize(runs, confidence)))
    first = done[0][1] if done else None
    result = Sweep(
        axis=axis,
        points=tuple(points),
        log_dir=root,
        repeats=repeats,
        confidence=confidence,
        scenario=settings.scenario.value,
        token_run=bool(first and first.time_per_output_token is not None),
        settings={"min_duration_ms": settings.min_duration_ms, "scenario": settings.scenario.value},
    )
    result.path.write_text(json.dumps(result.to_json(), indent=1, default=str) + "\n")
    return result


class _Unclosed:
    """The caller's SUT, handed through the probe loop without being closed at its end."""

    def __init__(self, sut: Any) -> None:
        self.sut = sut

    def __enter__(self) -> Any:
        return self.sut

    def __exit__(self, *exc: object) -> None:
        return None


def _default_runner(
    qsl: Any,
    settings: Settings,
    axis: str,
    progress: bool | None,
    metrics: MetricOptions | None = None,
) -> PointRunner:
    from .runner import run as run_test

    run = partial(run_test, metrics=metrics)

    def run_one(sut: Any, p: _Planned) -> RunResult:
        if axis == "rate":
            assert p.load is not None
            return run(
                sut,
                qsl,
                settings.replace(server_target_qps=p.load),
                log_dir=p.log_dir,
                progress=progress,
            )
        if axis == "concurrency":
            assert p.load is not None
            load = Concurrency(int(p.load), duration_s=settings.min_duration_ms / 1000)
            return run(sut, qsl, settings, log_dir=p.log_dir, load=load, progress=progress)
        return run(sut, qsl, settings, log_dir=p.log_dir, progress=progress)

    return run_one


def load_sweep(location: str | Path) -> Sweep:
    """Reads a sweep's ``sweep.json`` (the file or its folder). Raises ValueError if it is not
    one."""
    path = Path(location)
    if path.is_dir():
        path = path / SWEEP_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a sweep results file ({e})") from e
    if not isinstance(data, dict) or data.get("format") != SWEEP_FORMAT:
        raise ValueError(f"{path}: not a sweep results file")
    if data.get("version", 0) > SWEEP_VERSION:
        raise ValueError(
            f"{path}: sweep format version {data['version']} is newer than this loadgen"
        )
    points = tuple(
        SweepPoint(
            index=int(p["index"]),
            load=p.get("load"),
            param=p.get("param"),
            runs=tuple(p.get("runs", ())),
            summary={k: Interval(**v) for k, v in p.get("summary", {}).items()},
        )
        for p in data["points"]
    )
    return Sweep(
        axis=data["axis"],
        points=points,
        log_dir=path.parent,
        repeats=int(data.get("repeats", 1)),
        confidence=float(data.get("confidence", 0.95)),
        scenario=str(data.get("scenario", "")),
        token_run=bool(data.get("token_run", False)),
        settings=data.get("settings", {}),
    )


def is_sweep_dir(location: str | Path) -> bool:
    path = Path(location)
    return (path / SWEEP_FILE).is_file() if path.is_dir() else path.name == SWEEP_FILE
