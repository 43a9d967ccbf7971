"""A process runs one test at a time: a second test while one runs is refused at once with
loadgen.TestAlreadyRunningError (typed run() and the drop-in StartTest alike), before any log
is opened; the running test is undisturbed, and tests run one after another work as before."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import loadgen
import mlperf_loadgen as lg
import pytest

pytestmark = pytest.mark.usefixtures("hang_watchdog")

QSL = loadgen.InMemoryQsl(64, 64)
SETTINGS = loadgen.Settings(
    scenario=loadgen.Scenario.SINGLE_STREAM, min_duration_ms=0, min_query_count=64
)


class GatedSut:
    """Completes inline; its first issue signals `issuing` and waits for `release`."""

    def __init__(self) -> None:
        self.issuing = threading.Event()
        self.release = threading.Event()

    def issue(self, batch: loadgen.SampleBatch) -> None:
        if not self.issuing.is_set():
            self.issuing.set()
            assert self.release.wait(20)
        loadgen.complete(batch.ids)

    def flush(self) -> None:
        pass


class CountingSut:
    def __init__(self) -> None:
        self.calls = 0

    def issue(self, batch: loadgen.SampleBatch) -> None:
        self.calls += 1
        loadgen.complete(batch.ids)

    def flush(self) -> None:
        pass


def test_error_type_is_exported() -> None:
    assert issubclass(loadgen.TestAlreadyRunningError, RuntimeError)
    assert loadgen.errors.TestAlreadyRunningError is loadgen.TestAlreadyRunningError
    assert "TestAlreadyRunningError" in loadgen.__all__


def test_typed_run_from_a_second_thread_is_refused(tmp_path: Path) -> None:
    gated = GatedSut()
    first: dict[str, Any] = {}

    def run_first() -> None:
        try:
            first["result"] = loadgen.run(gated, QSL, SETTINGS, log_dir=tmp_path / "first")
        except BaseException as e:  # reported by the main thread
            first["error"] = e

    thread = threading.Thread(target=run_first)
    thread.start()
    try:
        assert gated.issuing.wait(20), first.get("error")
        second_sut = CountingSut()
        second_dir = tmp_path / "second"
        t0 = time.monotonic()
        with pytest.raises(loadgen.TestAlreadyRunningError, match="already running"):
            loadgen.run(second_sut, QSL, SETTINGS, log_dir=second_dir)
        assert time.monotonic() - t0 < 1.0
        assert second_sut.calls == 0
        assert list(second_dir.iterdir()) == []  # run() made the directory, opened no log
    finally:
        gated.release.set()
        thread.join(30)
    assert "error" not in first, first.get("error")
    result = first["result"]
    assert result.valid and result.errors == 0, result.summary

    # The slot is free again: three tests one after another, as before.
    for i in range(3):
        again = loadgen.run(CountingSut(), QSL, SETTINGS, log_dir=tmp_path / f"after{i}")
        assert again.valid and again.errors == 0


def compat_handles(issue: Any) -> tuple[int, int]:
    sut = lg.ConstructSUT(issue, lambda: None)
    qsl = lg.ConstructQSL(64, 64, lambda indices: None, lambda indices: None)
    return sut, qsl


def compat_settings() -> lg.TestSettings:
    s = lg.TestSettings()
    s.scenario = lg.TestScenario.SingleStream
    s.mode = lg.TestMode.PerformanceOnly
    s.min_duration_ms = 0
    s.min_query_count = 64
    return s


def start_test(sut: int, qsl: int, outdir: Path) -> None:
    lg.StartTestWithLogSettings(sut, qsl, compat_settings(), compat_logs(outdir), "")


def compat_logs(outdir: Path) -> lg.LogSettings:
    outdir.mkdir(parents=True, exist_ok=True)
    logs = lg.LogSettings()
    logs.log_output.outdir = str(outdir)
    return logs


def complete_all(samples: Any) -> None:
    lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, 0, 0) for s in samples])


def test_compat_start_test_from_a_second_thread_is_refused(tmp_path: Path) -> None:
    issuing, release = threading.Event(), threading.Event()

    def gated_issue(samples: Any) -> None:
        if not issuing.is_set():
            issuing.set()
            assert release.wait(20)
        complete_all(samples)

    sut, qsl = compat_handles(gated_issue)
    failures: list[BaseException] = []

    def run_first() -> None:
        try:
            start_test(sut, qsl, tmp_path / "first")
        except BaseException as e:
            failures.append(e)

    thread = threading.Thread(target=run_first)
    thread.start()
    try:
        assert issuing.wait(20)
        second_calls: list[int] = []
        sut2, qsl2 = compat_handles(lambda samples: second_calls.append(len(samples)))
        with pytest.raises(loadgen.TestAlreadyRunningError, match="already running"):
            start_test(sut2, qsl2, tmp_path / "second")
        assert second_calls == []
        assert list((tmp_path / "second").iterdir()) == []
        lg.DestroySUT(sut2)
        lg.DestroyQSL(qsl2)
    finally:
        release.set()
        thread.join(30)
    assert failures == []
    summary = (tmp_path / "first" / "mlperf_log_summary.txt").read_text()
    assert "Result is : VALID" in summary and "No errors encountered during test." in summary

    for i in range(3):
        start_test(sut, qsl, tmp_path / f"after{i}")
        summary_i = (tmp_path / f"after{i}" / "mlperf_log_summary.txt").read_text()
        assert "Result is : VALID" in summary_i
    lg.DestroySUT(sut)
    lg.DestroyQSL(qsl)


def test_compat_start_test_from_inside_issue_query_is_refused(tmp_path: Path) -> None:
    refusals: list[str] = []
    nested_dir = tmp_path / "nested"

    def nested_issue(samples: Any) -> None:
        sut2, qsl2 = compat_handles(complete_all)
        try:
            start_test(sut2, qsl2, nested_dir)
        except loadgen.TestAlreadyRunningError as e:
            refusals.append(str(e))
        finally:
            lg.DestroySUT(sut2)
            lg.DestroyQSL(qsl2)
        complete_all(samples)

    sut, qsl = compat_handles(nested_issue)
    start_test(sut, qsl, tmp_path / "outer")
    lg.DestroySUT(sut)
    lg.DestroyQSL(qsl)
    assert len(refusals) == 64 and "already running" in refusals[0]
    assert list(nested_dir.iterdir()) == []
    summary = (tmp_path / "outer" / "mlperf_log_summary.txt").read_text()
    assert "Result is : VALID" in summary and "No errors encountered during test." in summary
