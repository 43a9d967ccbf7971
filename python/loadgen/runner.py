"""loadgen.run(): one test from typed settings to a RunResult, with a clean Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
from pathlib import Path
from typing import Any, Iterator, Sequence

from . import _core
from .errors import ResponseIdError
from .results import RunResult, build_result
from .settings import LogOptions, PathLike, Settings
from .sut import QuerySampleLibrary, SystemUnderTest

__all__ = ["abort", "complete", "first_token", "plan", "run"]


class _ListBatch:
    __slots__ = ("ids", "indices")

    def __init__(self, ids: list[int], indices: list[int]) -> None:
        self.ids = ids
        self.indices = indices

    def __len__(self) -> int:
        return len(self.ids)


def run(
    sut: SystemUnderTest,
    qsl: QuerySampleLibrary,
    settings: Settings,
    *,
    log_dir: PathLike = ".",
    log: LogOptions | None = None,
    audit_config: PathLike | None = None,
) -> RunResult:
    """Runs one test and returns its result; the official log files are written to ``log_dir``.

    An exception raised by a callback stops the test; the logs recorded so far are written and
    the exception propagates. The first Ctrl-C stops issuing and lets outstanding samples finish
    (the result is marked interrupted); a second one stops at once.
    ``audit_config``: a compliance audit.config to apply (none by default, unlike the official
    StartTest, which reads ./audit.config).
    """
    settings.validate()
    log_options = log or LogOptions(outdir=log_dir)
    Path(log_options.outdir).mkdir(parents=True, exist_ok=True)

    def issue(ids: list[int], indices: list[int]) -> None:
        sut.issue(_ListBatch(ids, indices))

    sut_handle = _core.ConstructFastSUT(issue, sut.flush)
    qsl_handle = _core.ConstructQSL(
        qsl.total_sample_count, qsl.performance_sample_count, qsl.load, qsl.unload
    )
    try:
        with _interrupts_abort_the_test():
            outcome = _core._run_test(
                sut_handle,
                qsl_handle,
                settings.to_core(),
                log_options.to_core(),
                "" if audit_config is None else os.fspath(audit_config),
            )
    finally:
        _core.DestroyFastSUT(sut_handle)
        _core.DestroyQSL(qsl_handle)
    return build_result(settings.scenario, settings.mode, outcome, settings.use_token_latencies)


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


def _check(status: Any, what: str) -> None:
    unknown, stale, duplicate = status.unknown, status.stale, status.duplicate
    if unknown or stale or duplicate:
        raise ResponseIdError(
            f"{what}: {unknown} unknown, {stale} stale and {duplicate} repeated response id(s) "
            "were rejected; complete each sample once, with the id loadgen issued in this test"
        )


def abort() -> bool:
    """Stops the running test from any thread. Returns False if no test is running."""
    return _core._abort("loadgen.abort() was called.")


def plan(settings: Settings, total_sample_count: int, performance_sample_count: int) -> dict[str, Any]:
    """The loadable sets and the queries (sample indices, scheduled times) the test would issue,
    computed without running it. Returns numpy arrays when numpy is installed."""
    raw = _core._plan(settings.to_core(), total_sample_count, performance_sample_count)
    for series in raw["series"]:
        series["sample_index"] = _as_array(series["sample_index"], "I", "uint32")
        series["scheduled_delta_ns"] = _as_array(series["scheduled_delta_ns"], "q", "int64")
    return dict(raw)


def _as_array(data: bytes, typecode: str, dtype: str) -> Any:
    try:
        import numpy as np
    except ImportError:  # numpy is optional: fall back to the standard library
        import array

        values = array.array(typecode)
        values.frombytes(data)
        return values
    return np.frombuffer(data, dtype=dtype)


@contextlib.contextmanager
def _interrupts_abort_the_test() -> Iterator[None]:
    """While the engine runs with the GIL released, Python's own SIGINT handling would only
    fire inside a callback. Instead the signal's wakeup fd wakes a watcher thread, which stops
    the test: gracefully the first time, at once the second time."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    reader, writer = socket.socketpair()
    reader.setblocking(True)
    writer.setblocking(False)
    presses = 0
    done = threading.Event()

    def on_sigint(signum: int, frame: Any) -> None:
        # Runs on the main thread only when it executes Python code (a callback): the watcher
        # has already acted on this press.
        pass

    def watch() -> None:
        nonlocal presses
        while not done.is_set():
            try:
                data = reader.recv(64)
            except OSError:
                return
            if not data or done.is_set():
                return
            for byte in data:
                if byte == signal.SIGINT:
                    presses += 1
                    _core._interrupt(presses > 1)

    old_handler = signal.signal(signal.SIGINT, on_sigint)
    old_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    watcher = threading.Thread(target=watch, name="loadgen-sigint", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        signal.set_wakeup_fd(old_fd)
        signal.signal(signal.SIGINT, old_handler)
        with contextlib.suppress(OSError):
            writer.send(b"\0")
        watcher.join(timeout=1)
        reader.close()
        writer.close()
