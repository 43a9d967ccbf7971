"""loadgen.run(): one test from typed settings to a RunResult, with a clean Ctrl-C."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import math
import os
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Callable, Coroutine, Literal, Sequence, TypedDict, Union, overload

from . import _core, results_file
from ._interrupt import SigintWatch
from .decision import DecisionPolicy
from .errors import ResponseIdError, SettingsError
from .load_models import LoadModel, stage_dicts, with_qsl_conversations
from .metrics import MetricOptions, endpoint_run
from .progress import display_for_run
from .results import RunResult, build_result
from .settings import LogOptions, Mode, PathLike, Scenario, Settings
from .sut import (
    AsyncSystemUnderTest,
    ChecksSettings,
    NumpyBatch,
    NumpySystemUnderTest,
    QuerySampleLibrary,
    SystemUnderTest,
)

__all__ = [
    "SAMPLE_FAILURE_REASONS",
    "PlannedSeries",
    "PlannedTest",
    "abort",
    "complete",
    "fail",
    "first_token",
    "plan",
    "run",
]

BatchKind = Literal["list", "numpy"]
AnySut = Union[SystemUnderTest, NumpySystemUnderTest, AsyncSystemUnderTest]


class _ListBatch:
    __slots__ = ("ids", "indices")

    def __init__(self, ids: list[int], indices: list[int]) -> None:
        self.ids = ids
        self.indices = indices

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return f"SampleBatch({len(self)} samples)"


@overload
def run(
    sut: SystemUnderTest | AsyncSystemUnderTest,
    qsl: QuerySampleLibrary,
    settings: Settings,
    *,
    log_dir: PathLike = ...,
    log: LogOptions | None = ...,
    audit_config: PathLike | None = ...,
    batch: Literal["list"] = ...,
    no_progress_timeout_s: float | None = ...,
    progress: bool | None = ...,
    load: LoadModel | None = ...,
    metrics: MetricOptions | None = ...,
    decide: DecisionPolicy | None = ...,
) -> RunResult: ...


@overload
def run(
    sut: NumpySystemUnderTest | AsyncSystemUnderTest,
    qsl: QuerySampleLibrary,
    settings: Settings,
    *,
    log_dir: PathLike = ...,
    log: LogOptions | None = ...,
    audit_config: PathLike | None = ...,
    batch: Literal["numpy"],
    no_progress_timeout_s: float | None = ...,
    progress: bool | None = ...,
    load: LoadModel | None = ...,
    metrics: MetricOptions | None = ...,
    decide: DecisionPolicy | None = ...,
) -> RunResult: ...


def run(
    sut: AnySut,
    qsl: QuerySampleLibrary,
    settings: Settings,
    *,
    log_dir: PathLike = ".",
    log: LogOptions | None = None,
    audit_config: PathLike | None = None,
    batch: BatchKind = "list",
    no_progress_timeout_s: float | None = None,
    progress: bool | None = None,
    load: LoadModel | None = None,
    metrics: MetricOptions | None = None,
    decide: DecisionPolicy | None = None,
) -> RunResult:
    """Runs one test and returns its result; the official log files are written to ``log_dir``.

    An exception raised by a callback (``issue``, ``flush``, the QSL's ``load``/``unload``, or an
    ``async def issue`` coroutine) stops the test; the logs recorded so far are written and the
    exception propagates. The first Ctrl-C stops issuing and lets outstanding samples finish
    (the result is marked interrupted); a second one stops at once. One test runs at a time per
    process: while one runs, ``run`` raises :class:`TestAlreadyRunningError` at once.

    ``batch="numpy"``: ``issue`` gets a :class:`NumpyBatch` of zero-copy numpy views (needs numpy).
    ``no_progress_timeout_s``: if no sample completes for this long while samples are
    outstanding, the test stops and :class:`TestAborted` names the outstanding samples.
    ``progress``: a live display on stderr (needs the ``progress`` extra, i.e. rich); by default
    on when stderr is a terminal.
    ``audit_config``: a compliance audit.config to apply (none by default, unlike the official
    StartTest, which reads ./audit.config).
    ``load``: a load model (:class:`Concurrency`, :class:`ConstantRate`, :class:`Gamma`,
    :class:`TraceReplay`, :class:`Conversations`, :class:`Stages`; docs/load-models.md; a
    :class:`Conversations` without conversations takes the QSL's) issued in place of the Server
    schedule; ``settings.scenario`` must be ``Scenario.SERVER`` (its metrics are reported, over
    the measured stages) and ``result.stages`` has each stage's results. A stage list that
    cannot run raises :class:`SettingsError` before any load.
    ``metrics``: the percentiles and SLO tiers of ``result.metrics`` (docs/metrics.md); the
    result is also written to loadgen_results.json beside the logs (``result.results_path``).
    ``decide``: a decision policy, called with a :class:`LiveSnapshot` of the performance series
    every ``decide.interval_s`` on a thread of its own (off the issue and completion paths);
    when it returns a reason, the series ends as at its planned end (issued samples complete,
    logs written, not interrupted) and ``result.decided_early`` holds the reason
    (docs/search.md). Such a run usually misses the minimum duration and query count: its
    official result is INVALID, outside the submission rules.
    """
    settings.validate()
    if isinstance(sut, ChecksSettings):  # e.g. an EndpointSut whose answers arrive whole
        sut.check_settings(settings)
    if load is not None:  # conversations the QSL knows (loadgen.Conversations)
        load = with_qsl_conversations(load, getattr(qsl, "conversations", None))
    stages = _load_stages(settings, load)
    if batch not in ("list", "numpy"):
        raise ValueError(f"batch must be 'list' or 'numpy', got {batch!r}")
    if no_progress_timeout_s is not None and (
        isinstance(no_progress_timeout_s, bool)
        or not isinstance(no_progress_timeout_s, (int, float))
        or not math.isfinite(no_progress_timeout_s)
        or no_progress_timeout_s <= 0
    ):
        raise ValueError(
            f"no_progress_timeout_s must be a positive number of seconds, got {no_progress_timeout_s!r}"
        )
    if batch == "numpy":
        try:
            import numpy  # noqa: F401
        except ImportError as e:
            raise ImportError(
                "run(..., batch='numpy') needs numpy: pip install 'loadgen[numpy]'"
            ) from e
    metric_options = metrics or MetricOptions()
    log_options = log or LogOptions(outdir=log_dir)
    Path(log_options.outdir).mkdir(parents=True, exist_ok=True)

    failures: list[BaseException] = []
    # A native SUT (loadgen.net.EndpointSut) is passed by handle: no Python call per query.
    native_handle: int | None = getattr(sut, "_native_sut_handle", None)
    loop = (
        _EventLoopThread(failures)
        if native_handle is None
        and (inspect.iscoroutinefunction(sut.issue) or inspect.iscoroutinefunction(sut.flush))
        else None
    )
    issue: Any = native_handle if native_handle is not None else _issue_adapter(sut, batch, loop)
    flush: Any = None if native_handle is not None else _flush_adapter(sut, loop)
    # An endpoint SUT's records accumulate over its life: this run's are those after these.
    endpoint: Any = sut if native_handle is not None and hasattr(sut, "records") else None
    records_before = int(endpoint.stats()["completed"]) if endpoint is not None else 0
    qsl_handle = _core.ConstructQSL(
        qsl.total_sample_count, qsl.performance_sample_count, qsl.load, qsl.unload
    )
    try:
        with SigintWatch(), display_for_run(progress), _Decider(decide):
            outcome = _core._run_test(
                issue,
                flush,
                qsl_handle,
                settings.to_core(),
                log_options.to_core(),
                "" if audit_config is None else os.fspath(audit_config),
                batch,
                no_progress_timeout_s or 0.0,
                getattr(sut, "name", type(sut).__name__),
                stages,
            )
    except BaseException:
        if failures:
            raise failures[0] from None
        raise
    finally:
        _core.DestroyQSL(qsl_handle)
        cancel_all = getattr(sut, "cancel_all", None) if native_handle is not None else None
        if cancel_all is not None:
            # Requests of samples the run abandoned (interrupted, aborted) are not left running.
            cancel_all()
        if loop is not None:
            loop.close()
    if failures:
        raise failures[0]
    extra = (
        endpoint_run(endpoint, records_before, outcome, metric_options)
        if endpoint is not None  # an EndpointSut: chunk times, URLs, input lengths
        else None
    )
    result = build_result(
        settings.scenario,
        settings.mode,
        outcome,
        settings.use_token_latencies,
        metric_options,
        extra,
    )
    path = results_file.write(result, Path(log_options.outdir))
    return dataclasses.replace(result, results_path=path)


class _Decider:
    """Runs a decision policy on the performance series' live snapshots until it returns a
    reason, then ends the series (_core._end_series_decided). Only series that start after it
    does are looked at."""

    def __init__(self, policy: DecisionPolicy | None) -> None:
        self._policy = policy
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen_before = 0

    def __enter__(self) -> _Decider:
        if self._policy is not None:
            first = _core._live_snapshot()
            self._seen_before = int(first.series) if first is not None else 0
            self._thread = threading.Thread(target=self._loop, name="loadgen-decide", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        policy = self._policy
        assert policy is not None
        while not self._stop.wait(policy.interval_s):
            snap = _core._live_snapshot()
            if (
                snap is None
                or not snap.running
                or snap.accuracy
                or snap.series <= self._seen_before
            ):
                continue
            reason = policy(snap)
            if reason and _core._end_series_decided(reason):
                return


def _issue_adapter(
    sut: AnySut, batch: BatchKind, loop: _EventLoopThread | None
) -> Callable[..., None]:
    target: Callable[[Any], Any] = sut.issue
    if loop is not None and inspect.iscoroutinefunction(target):
        # The coroutine outlives the call, so it gets copies rather than views of the batch.
        if batch == "numpy":
            return lambda samples: loop.submit(target(NumpyBatch(samples.copy())))
        return lambda ids, indices: loop.submit(target(_ListBatch(ids, indices)))
    if batch == "numpy":
        return lambda samples: target(NumpyBatch(samples))
    return lambda ids, indices: target(_ListBatch(ids, indices))


def _flush_adapter(sut: AnySut, loop: _EventLoopThread | None) -> Callable[[], None]:
    target: Callable[[], Any] = sut.flush
    if loop is not None and inspect.iscoroutinefunction(target):
        return lambda: loop.submit(target())

    def flush() -> None:
        target()

    return flush


class _EventLoopThread:
    """An asyncio loop on a daemon thread for the length of one run. A coroutine that raises
    stops the test; run() re-raises the first such exception."""

    def __init__(self, failures: list[BaseException]) -> None:
        self._failures = failures
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="loadgen-asyncio", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()
        # Cancel what is still pending (samples abandoned by an aborted run).
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        if pending:
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        self._loop.close()

    def submit(self, coro: Coroutine[Any, Any, Any]) -> None:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        future.add_done_callback(self._check)

    def _check(self, future: Future[Any]) -> None:
        if future.cancelled():
            return
        error = future.exception()
        if error is None:
            return
        if not self._failures:
            self._failures.append(error)
        _core._abort(f"an async issue/flush coroutine raised {type(error).__name__}: {error}")

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


def complete(ids: Sequence[int] | Any, n_tokens: Sequence[int] | Any | None = None) -> None:
    """Completes samples by id (a list or a numpy array of uint64), in one call.

    Raises ResponseIdError if any id is unknown, stale or already completed (the others are
    recorded, and every rejection is also logged in the detail log).
    """
    if isinstance(ids, (list, tuple)):
        status = _core._complete_id_list(ids, n_tokens)
    else:
        status = _core.complete_sample_ids(ids, n_tokens)
    _check(status, "complete")


def first_token(ids: Sequence[int] | Any) -> None:
    """Records the first token of samples by id (token-latency runs)."""
    if isinstance(ids, (list, tuple)):
        status = _core._first_token_id_list(ids)
    else:
        status = _core.complete_first_token_ids(ids)
    _check(status, "first_token")


def fail(ids: Sequence[int] | Any, reason: str = "error") -> None:
    """Completes samples by id as failed: the SUT could not produce their responses.

    A failed sample completes (nothing waits for it) with its latency to the failure and no
    output; the run counts it by ``reason`` (one of ``SAMPLE_FAILURE_REASONS``: "error",
    "http_5xx", "timeout_total", "cancelled", ...) in :attr:`RunResult.failed_by_reason` and
    the detail log, and a run with any failed sample is not valid. Raises ValueError for an
    unknown reason and ResponseIdError as :func:`complete` does.
    """
    _check(_core._fail_id_list(ids, reason), "fail")


#: The reasons :func:`fail` accepts.
SAMPLE_FAILURE_REASONS: tuple[str, ...] = _core.SAMPLE_FAILURE_REASONS


def _check(status: _core.CompletionStatus, what: str) -> None:
    unknown, stale, duplicate = status.unknown, status.stale, status.duplicate
    if unknown or stale or duplicate:
        raise ResponseIdError(
            f"{what}: {unknown} unknown, {stale} stale and {duplicate} repeated response id(s) "
            "were rejected; complete each sample once, with the id loadgen issued in this test"
        )


def abort() -> bool:
    """Stops the running test from any thread (run() returns a result marked interrupted).
    Returns False if no test is running."""
    return _core._abort("loadgen.abort() was called.")


def _load_stages(settings: Settings, load: LoadModel | None) -> list[dict[str, Any]] | None:
    """The engine's stage list for `load`, checked before any load is issued."""
    if load is None:
        return None
    stages = stage_dicts(load)
    if settings.scenario is not Scenario.SERVER:
        raise SettingsError(
            "a load model runs in the Server scenario's place (and reports its metrics): "
            "use Settings(scenario=Scenario.SERVER, ...)"
        )
    if settings.mode is Mode.FIND_PEAK:
        raise SettingsError(
            "FindPeakPerformance searches the Server rate itself; it takes no load model"
        )
    _core._validate_load_model(stages)
    return stages


class PlannedSeries(TypedDict):
    """One series of :func:`plan`: the loaded set and the queries, in issue order."""

    mode: Literal["AccuracyOnly", "PerformanceOnly"]
    loaded: list[int]  # the QSL indices loaded for the series
    samples_per_query: int
    first_sample_seq: int
    first_query_seq: int
    sample_index: Any  # uint32 QSL indices, query-major (numpy array, else array.array)
    scheduled_delta_ns: Any  # int64 scheduled time of each query from the series start
    accuracy_logged: list[int]  # performance series: samples whose responses are logged
    generated_duration_ns: int


class PlannedTest(TypedDict):
    """What :func:`plan` returns: the series in order, and how the settings were normalized."""

    series: list[PlannedSeries]
    diagnostics: list[str]
    effective_samples_per_query: int
    effective_min_query_count: int
    effective_target_qps: float
    effective_performance_sample_count: int
    effective_accuracy_sample_count: int


@overload
def plan(
    settings: Settings, total_sample_count: int, performance_sample_count: int, *, load: None = ...
) -> PlannedTest: ...


@overload
def plan(
    settings: Settings, total_sample_count: int, performance_sample_count: int, *, load: LoadModel
) -> dict[str, Any]: ...


def plan(
    settings: Settings,
    total_sample_count: int,
    performance_sample_count: int,
    *,
    load: LoadModel | None = None,
) -> PlannedTest | dict[str, Any]:
    """The loadable sets and the queries (sample indices, scheduled times) the test would issue,
    computed without running it. Returns numpy arrays when numpy is installed.

    With ``load``: the performance series of that load model: ``loaded``, ``sample_index``,
    ``scheduled_delta_ns`` (a closed loop's queries at their stage's start; they are issued
    as slots free up) and ``stages`` (each stage's query range and planned window)."""
    stages = _load_stages(settings, load)
    if stages is not None:
        raw_load = dict(
            _core._load_plan(
                settings.to_core(), stages, total_sample_count, performance_sample_count
            )
        )
        raw_load["sample_index"] = _as_array(raw_load["sample_index"], "I", "uint32")
        raw_load["scheduled_delta_ns"] = _as_array(raw_load["scheduled_delta_ns"], "q", "int64")
        return raw_load
    core = _core._plan(settings.to_core(), total_sample_count, performance_sample_count)
    return PlannedTest(
        series=[_planned_series(s) for s in core.series],
        diagnostics=list(core.diagnostics),
        effective_samples_per_query=core.effective_samples_per_query,
        effective_min_query_count=core.effective_min_query_count,
        effective_target_qps=core.effective_target_qps,
        effective_performance_sample_count=core.effective_performance_sample_count,
        effective_accuracy_sample_count=core.effective_accuracy_sample_count,
    )


def _planned_series(series: _core.PlannedSeries) -> PlannedSeries:
    return PlannedSeries(
        mode=series.mode,
        loaded=series.loaded,
        samples_per_query=series.samples_per_query,
        first_sample_seq=series.first_sample_seq,
        first_query_seq=series.first_query_seq,
        sample_index=_as_array(series.sample_index, "I", "uint32"),
        scheduled_delta_ns=_as_array(series.scheduled_delta_ns, "q", "int64"),
        accuracy_logged=series.accuracy_logged,
        generated_duration_ns=series.generated_duration_ns,
    )


def _as_array(data: bytes, typecode: str, dtype: str) -> Any:
    try:
        import numpy as np
    except ImportError:  # numpy is optional: fall back to the standard library
        import array

        values = array.array(typecode)
        values.frombytes(data)
        return values
    return np.frombuffer(data, dtype=dtype)
