"""Callbacks, threads, the GIL and exceptions across mlperf_loadgen.StartTest (runs real tests).

Contract (docs/official-behaviour.md#api-callbacks and #api-exceptions, with our improvements):
every SUT/QSL/QDL callback runs on the thread that called StartTest, with the GIL; other Python
threads run while a test runs; a Python exception in a callback stops the test, the logs are
written, and StartTest re-raises the very same exception object; an exception in a response_cb
reaches the QuerySamplesComplete caller.
"""

from __future__ import annotations

import _thread
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import loadgen._core as core
import mlperf_loadgen as lg
import numpy
import pytest

LOG_FILES = [
    "mlperf_log_summary.txt",
    "mlperf_log_detail.txt",
    "mlperf_log_accuracy.json",
    "mlperf_log_trace.json",
]
pytestmark = pytest.mark.usefixtures("hang_watchdog")


def make_settings(
    scenario: lg.TestScenario = lg.TestScenario.SingleStream,
    mode: lg.TestMode = lg.TestMode.PerformanceOnly,
    **fields: Any,
) -> lg.TestSettings:
    settings = lg.TestSettings()
    settings.scenario = scenario
    settings.mode = mode
    settings.min_duration_ms = 0
    settings.min_query_count = 16
    for name, value in fields.items():
        setattr(settings, name, value)
    return settings


def subdir(tmp_path: Path, name: str) -> Path:
    # The engine does not create outdir, as officially.
    path = tmp_path / name
    path.mkdir()
    return path


def run(sut: int, qsl: int, settings: lg.TestSettings, outdir: Path) -> None:
    log_settings = lg.LogSettings()
    log_settings.log_output.outdir = str(outdir)
    lg.StartTestWithLogSettings(sut, qsl, settings, log_settings)


def complete(samples: Sequence[lg.QuerySample]) -> None:
    lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, 0, 0) for s in samples])


def make_qsl(total: int = 64, performance: int = 16) -> int:
    return lg.ConstructQSL(total, performance, lambda indices: None, lambda indices: None)


# Degenerate runs (e.g. an aborted one) print doubles as inf/nan, as the official LoadGen does.
NON_FINITE = re.compile(r'(?<="value": )-?(?:inf|nan)(?=, "time_ms")')


def read_detail_log(outdir: Path) -> list[dict[str, Any]]:
    text = (outdir / "mlperf_log_detail.txt").read_text()
    assert text.endswith("\n"), "the detail log ends mid-line"
    entries = []
    for line in text.splitlines():
        assert line.startswith(":::MLLOG "), line
        entries.append(json.loads(NON_FINITE.sub("null", line[len(":::MLLOG ") :])))
    return entries


def assert_logs_complete(outdir: Path) -> list[dict[str, Any]]:
    """All four files exist, every detail line is whole JSON, the accuracy log is closed JSON
    and the summary was written. Returns the detail entries."""
    for name in LOG_FILES:
        assert (outdir / name).is_file(), name
    entries = read_detail_log(outdir)
    json.loads((outdir / "mlperf_log_accuracy.json").read_text())
    assert (outdir / "mlperf_log_summary.txt").read_text().strip()
    return entries


def detail_values(entries: list[dict[str, Any]], key: str) -> list[Any]:
    return [entry["value"] for entry in entries if entry["key"] == key]


class Boom(Exception):
    """Raised by the failing callbacks; tests check StartTest re-raises this very object."""


FAILING_CALLBACKS = [
    "issue_query",
    "flush_queries",
    "load_samples_to_ram",
    "unload_samples_from_ram",
    "qdl_name",
]


@pytest.mark.parametrize("failing", FAILING_CALLBACKS)
def test_callback_exception_is_reraised_from_start_test_with_logs_written(
    tmp_path: Path, failing: str
) -> None:
    raised: list[Boom] = []
    issued: list[int] = []

    def maybe_fail(callback: str) -> None:
        if callback == failing and not raised:
            raised.append(Boom(f"boom in {callback}"))
            raise raised[0]

    def issue(samples: list[lg.QuerySample]) -> None:
        issued.append(len(samples))
        if len(issued) == 3:
            maybe_fail("issue_query")
        complete(samples)

    def name() -> str:
        maybe_fail("qdl_name")
        return "FailingQDL"

    if failing == "qdl_name":
        sut = lg.ConstructQDL(issue, lambda: maybe_fail("flush_queries"), name)
    else:
        sut = lg.ConstructSUT(issue, lambda: maybe_fail("flush_queries"))
    qsl = lg.ConstructQSL(
        64,
        16,
        lambda indices: maybe_fail("load_samples_to_ram"),
        lambda indices: maybe_fail("unload_samples_from_ram"),
    )

    with pytest.raises(Boom) as caught:
        run(sut, qsl, make_settings(), tmp_path)

    assert len(raised) == 1
    assert caught.value is raised[0]
    entries = assert_logs_complete(tmp_path)
    errors = [e for e in entries if e["metadata"]["is_error"]]
    assert any(f"boom in {failing}" in str(e["value"]) for e in errors), errors
    lg.DestroySUT(sut)
    lg.DestroyQSL(qsl)


def test_a_second_test_runs_normally_after_a_failed_one(tmp_path: Path) -> None:
    def fail(samples: list[lg.QuerySample]) -> None:
        raise Boom("first test fails")

    qsl = make_qsl()
    with pytest.raises(Boom):
        run(lg.ConstructSUT(fail, lambda: None), qsl, make_settings(), subdir(tmp_path, "first"))
    issued: list[int] = []

    def issue(samples: list[lg.QuerySample]) -> None:
        issued.append(len(samples))
        complete(samples)

    run(lg.ConstructSUT(issue, lambda: None), qsl, make_settings(), subdir(tmp_path, "second"))
    assert sum(issued) >= 16
    assert_logs_complete(tmp_path / "second")


def test_none_callback_fails_with_a_clear_error_when_called(tmp_path: Path) -> None:
    sut = lg.ConstructSUT(None, lambda: None)
    with pytest.raises(TypeError, match=r"issue_query callback \(arg0\) of ConstructSUT is None"):
        run(sut, make_qsl(), make_settings(), tmp_path)
    assert_logs_complete(tmp_path)


def test_qdl_name_must_return_str(tmp_path: Path) -> None:
    sut = lg.ConstructQDL(complete, lambda: None, lambda: 42)
    with pytest.raises(TypeError, match="name callback .* must return str, not int"):
        run(sut, make_qsl(), make_settings(), tmp_path)


def test_callbacks_run_on_the_start_test_thread(tmp_path: Path) -> None:
    threads: dict[str, set[int]] = {}
    name_calls: list[int] = []

    def record(callback: str) -> None:
        threads.setdefault(callback, set()).add(threading.get_ident())

    def issue(samples: list[lg.QuerySample]) -> None:
        record("issue")
        complete(samples)

    def name() -> str:
        record("name")
        name_calls.append(1)
        return "Threaded QDL"

    sut = lg.ConstructQDL(issue, lambda: record("flush"), name)
    qsl = lg.ConstructQSL(64, 16, lambda i: record("load"), lambda i: record("unload"))
    failures: list[BaseException] = []

    def start() -> None:
        try:
            run(sut, qsl, make_settings(), tmp_path)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            failures.append(error)

    starter = threading.Thread(target=start)
    starter.start()
    starter.join()
    assert not failures
    assert set(threads) == {"issue", "flush", "load", "unload", "name"}
    assert all(idents == {starter.ident} for idents in threads.values()), threads
    # Once for sut_name at the start and once per performance summary.
    assert len(name_calls) >= 2
    assert detail_values(assert_logs_complete(tmp_path), "sut_name") == ["Threaded QDL"]


def test_sut_and_qsl_names(tmp_path: Path) -> None:
    fast_sut = lg.ConstructFastSUT(lambda ids, idx: core.complete_sample_ids(ids), lambda: None)
    run(fast_sut, make_qsl(), make_settings(), subdir(tmp_path, "first"))
    entries = assert_logs_complete(tmp_path / "first")
    assert detail_values(entries, "sut_name") == ["PyFastSUT"]
    assert detail_values(entries, "qsl_name") == ["PyQSL"]
    run(
        lg.ConstructSUT(complete, lambda: None),
        make_qsl(),
        make_settings(),
        subdir(tmp_path, "second"),
    )
    assert detail_values(assert_logs_complete(tmp_path / "second"), "sut_name") == ["PySUT"]


def test_other_python_threads_run_during_start_test(tmp_path: Path) -> None:
    ticks = 0
    stop = threading.Event()

    def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    # The SUT answers from a Python worker thread; that alone deadlocks if StartTest keeps the GIL.
    def issue(samples: list[lg.QuerySample]) -> None:
        def answer() -> None:
            time.sleep(0.003)
            complete(samples)

        threading.Thread(target=answer).start()

    background = threading.Thread(target=ticker)
    background.start()
    try:
        before = ticks
        run(
            lg.ConstructSUT(issue, lambda: None),
            make_qsl(),
            make_settings(min_query_count=30),
            tmp_path,
        )
        during = ticks - before
    finally:
        stop.set()
        background.join()
    assert during >= 10


def test_query_samples_complete_from_worker_threads(tmp_path: Path) -> None:
    workers: list[threading.Thread] = []
    statuses: list[core.CompletionStatus] = []

    def issue(samples: list[lg.QuerySample]) -> None:
        chunks = [samples[i::4] for i in range(4)]

        def answer(chunk: list[lg.QuerySample], official: bool) -> None:
            for start in range(0, len(chunk), 16):
                batch = [lg.QuerySampleResponse(s.id, 0, 0) for s in chunk[start : start + 16]]
                if official:
                    lg.QuerySamplesComplete(batch)
                else:
                    statuses.append(core.complete_samples(tuple(batch)))

        for number, chunk in enumerate(chunks):
            worker = threading.Thread(target=answer, args=(chunk, number % 2 == 0))
            workers.append(worker)
            worker.start()

    settings = make_settings(lg.TestScenario.Offline, min_query_count=512)
    run(lg.ConstructSUT(issue, lambda: None), make_qsl(64, 64), settings, tmp_path)
    for worker in workers:
        worker.join()
    assert sum(s.accepted for s in statuses) == 256
    assert all(s.rejected == 0 for s in statuses)
    assert_logs_complete(tmp_path)


def test_complete_sample_ids_with_numpy_and_lists(tmp_path: Path) -> None:
    statuses: list[core.CompletionStatus] = []

    def issue(ids: list[int], indices: list[int]) -> None:
        half = len(ids) // 2
        statuses.append(core.complete_sample_ids(numpy.asarray(ids[:half], dtype=numpy.uint64)))
        statuses.append(core.complete_sample_ids(ids[half:]))

    settings = make_settings(lg.TestScenario.Offline, min_query_count=100)
    run(lg.ConstructFastSUT(issue, lambda: None), make_qsl(), settings, tmp_path)
    assert [s.accepted for s in statuses] == [50, 50]
    assert all(s.rejected == 0 for s in statuses)


def test_complete_sample_ids_reads_strided_views_in_place(tmp_path: Path) -> None:
    # A column of an (n, 2) batch array is strided: completed without a contiguous copy, in
    # chunks, with every id counted once (5000 ids: more than one chunk).
    statuses: list[core.CompletionStatus] = []

    def issue(ids: list[int], indices: list[int]) -> None:
        batch = numpy.zeros((len(ids), 2), dtype=numpy.uint64)
        batch[:, 0] = ids
        batch[:, 1] = indices
        column = batch[:, 0]
        assert not column.flags.c_contiguous
        tokens = numpy.full((len(ids), 2), 3, dtype=numpy.int64)[:, 1]
        statuses.append(core.complete_sample_ids(column, tokens))
        statuses.append(core.complete_first_token_ids(column[::-2]))  # after completion
        statuses.append(core.complete_sample_ids(column[::-1]))  # every id again

    settings = make_settings(lg.TestScenario.Offline, min_query_count=5000)
    run(lg.ConstructFastSUT(issue, lambda: None), make_qsl(), settings, tmp_path)
    assert statuses[0].accepted == 5000 and statuses[0].rejected == 0
    assert statuses[2].accepted == 0 and statuses[2].duplicate == 5000


def test_token_completions(tmp_path: Path) -> None:
    statuses: list[core.CompletionStatus] = []

    def issue(samples: list[lg.QuerySample]) -> None:
        responses = [lg.QuerySampleResponse(s.id, 0, 0, 5) for s in samples]
        statuses.append(core.complete_first_tokens(responses))
        statuses.append(core.complete_samples(responses))

    settings = make_settings(use_token_latencies=True)
    run(lg.ConstructSUT(issue, lambda: None), make_qsl(), settings, tmp_path)
    assert all(s.accepted == 1 and s.rejected == 0 for s in statuses)
    assert_logs_complete(tmp_path)


def test_token_completions_by_id(tmp_path: Path) -> None:
    statuses: list[core.CompletionStatus] = []

    def issue(ids: list[int], indices: list[int]) -> None:
        statuses.append(core.complete_first_token_ids(ids))
        tokens = numpy.full(len(ids), 7, dtype=numpy.int64)
        statuses.append(core.complete_sample_ids(numpy.asarray(ids, dtype=numpy.uint64), tokens))

    settings = make_settings(use_token_latencies=True)
    run(lg.ConstructFastSUT(issue, lambda: None), make_qsl(), settings, tmp_path)
    assert len(statuses) >= 32
    assert all(s.accepted == 1 and s.rejected == 0 for s in statuses)


def test_completing_with_a_vector_query_sample_response(tmp_path: Path) -> None:
    def issue(samples: list[lg.QuerySample]) -> None:
        responses = lg.VectorQuerySampleResponse()
        for sample in samples:
            responses.append(lg.QuerySampleResponse(sample.id, 0, 0))
        lg.QuerySamplesComplete(responses)

    settings = make_settings(lg.TestScenario.Offline, min_query_count=64)
    run(lg.ConstructSUT(issue, lambda: None), make_qsl(), settings, tmp_path)
    assert_logs_complete(tmp_path)


def test_rejected_ids_are_counted_and_warned_about(tmp_path: Path) -> None:
    statuses: list[core.CompletionStatus] = []

    def issue(samples: list[lg.QuerySample]) -> None:
        responses = [lg.QuerySampleResponse(s.id, 0, 0) for s in samples]
        statuses.append(core.complete_samples(responses))
        statuses.append(core.complete_samples(responses))
        with pytest.warns(RuntimeWarning, match=r"ignored 1 of 1 responses: 1 unknown"):
            lg.QuerySamplesComplete([lg.QuerySampleResponse(0, 0, 0)])

    run(
        lg.ConstructSUT(issue, lambda: None), make_qsl(), make_settings(min_query_count=4), tmp_path
    )
    assert statuses[0] == core.CompletionStatus(accepted=1)
    assert statuses[1] == core.CompletionStatus(duplicate=1)
    errors = [e for e in assert_logs_complete(tmp_path) if e["metadata"]["is_error"]]
    assert errors


def test_completing_outside_a_test_warns() -> None:
    with pytest.warns(RuntimeWarning, match=r"QuerySamplesComplete ignored 2 of 2 responses"):
        lg.QuerySamplesComplete([lg.QuerySampleResponse(12345, 0, 0)] * 2)
    with pytest.warns(RuntimeWarning, match=r"FirstTokenComplete ignored 1 of 1"):
        lg.FirstTokenComplete([lg.QuerySampleResponse(12345, 0, 0)])
    assert core.complete_samples([lg.QuerySampleResponse(7, 0, 0)]).unknown == 1


def test_response_cb_exception_reaches_the_completing_caller(tmp_path: Path) -> None:
    payload = numpy.arange(4, dtype=numpy.int32)
    raised: list[KeyError] = []
    caught: list[KeyError] = []

    def response_cb(response: lg.QuerySampleResponse) -> None:
        raised.append(KeyError(f"cb {response.id}"))
        raise raised[-1]

    def issue(samples: list[lg.QuerySample]) -> None:
        address, size = payload.ctypes.data, payload.nbytes
        responses = [lg.QuerySampleResponse(s.id, address, size) for s in samples]
        try:
            lg.QuerySamplesComplete(responses, response_cb)
        except KeyError as error:
            caught.append(error)

    settings = make_settings(mode=lg.TestMode.AccuracyOnly)
    run(lg.ConstructSUT(issue, lambda: None), make_qsl(8, 8), settings, tmp_path)
    assert len(caught) == 8
    assert all(c is r for c, r in zip(caught, raised))
    # The batch was still recorded: the test finished and logged every sample.
    assert len(json.loads((tmp_path / "mlperf_log_accuracy.json").read_text())) == 8


def test_response_cb_runs_on_the_completing_thread_and_can_redirect_data(tmp_path: Path) -> None:
    device = numpy.zeros(2, dtype=numpy.int32)
    host = numpy.array([0x01020304, 0x0A0B0C0D], dtype=numpy.int32)
    cb_threads: set[int] = set()
    completing_threads: set[int] = set()
    workers: list[threading.Thread] = []

    def response_cb(response: lg.QuerySampleResponse) -> None:
        cb_threads.add(threading.get_ident())
        response.data = host.ctypes.data
        response.size = host.nbytes

    def issue(samples: list[lg.QuerySample]) -> None:
        def answer() -> None:
            completing_threads.add(threading.get_ident())
            lg.QuerySamplesComplete(
                [lg.QuerySampleResponse(s.id, device.ctypes.data, device.nbytes) for s in samples],
                response_cb,
            )

        worker = threading.Thread(target=answer)
        workers.append(worker)
        worker.start()

    settings = make_settings(mode=lg.TestMode.AccuracyOnly)
    run(lg.ConstructSUT(issue, lambda: None), make_qsl(4, 4), settings, tmp_path)
    for worker in workers:
        worker.join()
    assert cb_threads and cb_threads <= completing_threads
    entries = json.loads((tmp_path / "mlperf_log_accuracy.json").read_text())
    assert len(entries) == 4
    assert all(bytes.fromhex(entry["data"]) == host.tobytes() for entry in entries)


def test_destroying_handles_during_a_test_is_safe(tmp_path: Path) -> None:
    calls: list[str] = []
    handles: dict[str, int] = {}

    def issue(samples: list[lg.QuerySample]) -> None:
        if "sut" in handles:
            lg.DestroySUT(handles.pop("sut"))
            lg.DestroyQSL(handles.pop("qsl"))
        calls.append("issue")
        complete(samples)

    handles["sut"] = lg.ConstructSUT(issue, lambda: calls.append("flush"))
    handles["qsl"] = lg.ConstructQSL(
        64, 16, lambda i: calls.append("load"), lambda i: calls.append("unload")
    )
    run(handles["sut"], handles["qsl"], make_settings(), tmp_path)
    assert calls[0] == "load" and calls[-2:] == ["flush", "unload"]
    assert calls.count("issue") >= 16


def test_abort_test_from_another_thread_ends_start_test(tmp_path: Path) -> None:
    held: list[lg.QuerySample] = []  # never completed

    timer = threading.Timer(0.2, core.AbortTest)
    timer.start()
    started = time.monotonic()
    run(lg.ConstructSUT(held.extend, lambda: None), make_qsl(), make_settings(), tmp_path)
    timer.join()
    assert time.monotonic() - started < 10
    assert held
    assert_logs_complete(tmp_path)


def test_keyboard_interrupt_during_a_test_stops_it(tmp_path: Path) -> None:
    timers: list[threading.Timer] = []

    def issue(samples: list[lg.QuerySample]) -> None:
        if not timers:
            # The interrupt arrives while the main thread is inside StartTest; Python raises it
            # in the next callback.
            timers.append(threading.Timer(0.05, _thread.interrupt_main))
            timers[0].start()
        time.sleep(0.001)
        complete(samples)

    with pytest.raises(KeyboardInterrupt):
        run(
            lg.ConstructSUT(issue, lambda: None),
            make_qsl(),
            make_settings(min_query_count=3000),
            tmp_path,
        )
    timers[0].join()
    assert_logs_complete(tmp_path)


IDLE_SUT_CHILD = """
import sys
import mlperf_loadgen as lg
settings = lg.TestSettings()
settings.scenario = lg.TestScenario.Offline
settings.min_duration_ms = 0
settings.min_query_count = 1
log_settings = lg.LogSettings()
log_settings.log_output.outdir = sys.argv[1]
sut = lg.ConstructSUT(lambda samples: print("issued", flush=True), lambda: None)  # never completes
qsl = lg.ConstructQSL(64, 64, lambda indices: None, lambda indices: None)
try:
    lg.StartTestWithLogSettings(sut, qsl, settings, log_settings)
except KeyboardInterrupt:
    print("KeyboardInterrupt", flush=True)
"""


def test_sigint_ends_a_compat_test_whose_sut_is_idle(tmp_path: Path) -> None:
    # The official module hangs here: Python handles SIGINT only when a callback runs.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    child = subprocess.Popen(
        [sys.executable, "-c", IDLE_SUT_CHILD, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "issued"
    child.send_signal(signal.SIGINT)
    time.sleep(0.3)
    child.send_signal(signal.SIGINT)  # the second press does not wait for the drain
    out, err = child.communicate(timeout=20)
    assert child.returncode == 0, err
    assert out.strip() == "KeyboardInterrupt"
    assert_logs_complete(tmp_path)
    detail = (tmp_path / "mlperf_log_detail.txt").read_text()
    assert "Interrupted (Ctrl-C)" in detail and "Ctrl-C again: stopped at once." in detail
    assert "Result is : INVALID" in (tmp_path / "mlperf_log_summary.txt").read_text()


def test_registered_issue_thread_issues_server_queries(tmp_path: Path) -> None:
    issuing_threads: set[int] = set()

    def issue(samples: list[lg.QuerySample]) -> None:
        issuing_threads.add(threading.get_ident())
        complete(samples)

    issuer = threading.Thread(target=core.RegisterIssueQueryThread, daemon=True)
    issuer.start()
    settings = make_settings(
        lg.TestScenario.Server,
        server_target_qps=2000.0,
        min_duration_ms=20,
        min_query_count=20,
        server_num_issue_query_threads=1,
    )
    run(lg.ConstructSUT(issue, lambda: None), make_qsl(), settings, tmp_path)
    issuer.join(timeout=10)
    assert not issuer.is_alive(), "RegisterIssueQueryThread did not return after the test"
    assert issuing_threads == {issuer.ident}
