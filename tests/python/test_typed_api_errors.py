"""The typed `loadgen` API (issue 7): response-id errors, callback exceptions, abort and the stall
watchdog."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import loadgen
import numpy as np
import pytest
from loadgen.demo import NullSut, SleepSut
from typed_api_helpers import QSL, Boom, quick

pytestmark = pytest.mark.usefixtures("hang_watchdog")


# --- response ids --------------------------------------------------------------------------


def test_complete_rejects_repeated_and_bogus_ids(tmp_path: Path) -> None:
    errors: list[str] = []

    class Sut:
        def issue(self, batch: loadgen.SampleBatch) -> None:
            loadgen.complete(batch.ids)
            for bad in (list(batch.ids), [12345]):
                try:
                    loadgen.complete(bad)
                except loadgen.ResponseIdError as e:
                    errors.append(str(e))

        def flush(self) -> None:
            pass

    result = loadgen.run(Sut(), QSL, quick(loadgen.Scenario.SINGLE_STREAM), log_dir=tmp_path)
    assert errors[:2] == [
        "complete: 0 unknown, 0 stale and 1 repeated response id(s) were rejected; complete each "
        "sample once, with the id loadgen issued in this test",
        "complete: 1 unknown, 0 stale and 0 repeated response id(s) were rejected; complete each "
        "sample once, with the id loadgen issued in this test",
    ]
    assert len(errors) == 2 * result.queries_issued
    assert result.errors > 0  # every rejection is in the detail log too


def test_complete_outside_a_run_and_with_numpy_ids() -> None:
    with pytest.raises(loadgen.ResponseIdError, match="^complete: 1 unknown"):
        loadgen.complete([7])
    with pytest.raises(loadgen.ResponseIdError, match="^complete: 2 unknown"):
        loadgen.complete(np.array([7, 8], dtype=np.uint64))
    with pytest.raises(loadgen.ResponseIdError, match="^first_token: 1 unknown"):
        loadgen.first_token((9,))


def test_response_id_error_escaping_issue_stops_the_run(tmp_path: Path) -> None:
    class Sut:
        def issue(self, batch: loadgen.SampleBatch) -> None:
            loadgen.complete(batch.ids)
            loadgen.complete(batch.ids)

        def flush(self) -> None:
            pass

    with pytest.raises(loadgen.ResponseIdError, match="1 repeated"):
        loadgen.run(Sut(), QSL, quick(loadgen.Scenario.SINGLE_STREAM), log_dir=tmp_path)
    assert (tmp_path / "mlperf_log_summary.txt").is_file()


# --- callback exceptions, abort ------------------------------------------------------------


@pytest.mark.parametrize("where", ["issue", "flush", "load", "unload"])
def test_callback_exception_is_re_raised_with_logs_written(where: str, tmp_path: Path) -> None:
    error = Boom(f"failed in {where}")

    class Sut:
        def issue(self, batch: loadgen.SampleBatch) -> None:
            if where == "issue" and len(batch.ids):
                raise error
            loadgen.complete(batch.ids)

        def flush(self) -> None:
            if where == "flush":
                raise error

    class Qsl(loadgen.InMemoryQsl):
        def load(self, indices: Sequence[int]) -> None:
            if where == "load":
                raise error

        def unload(self, indices: Sequence[int]) -> None:
            if where == "unload":
                raise error

    with pytest.raises(Boom) as info:
        loadgen.run(Sut(), Qsl(100, 50), quick(loadgen.Scenario.SINGLE_STREAM), log_dir=tmp_path)
    assert info.value is error
    summary = (tmp_path / "mlperf_log_summary.txt").read_text()
    assert summary.strip()
    detail = (tmp_path / "mlperf_log_detail.txt").read_text()
    assert f"Test stopped: failed in {where}" in detail or f"failed in {where}" in detail


def test_abort_from_another_thread_gives_an_interrupted_result(tmp_path: Path) -> None:
    held: list[int] = []

    class Sut:
        def issue(self, batch: loadgen.SampleBatch) -> None:
            held.extend(batch.ids)  # never completed

        def flush(self) -> None:
            pass

    assert loadgen.abort() is False  # no test running
    timer = threading.Timer(0.2, loadgen.abort)
    timer.start()
    started = time.monotonic()
    result = loadgen.run(Sut(), QSL, quick(loadgen.Scenario.SINGLE_STREAM), log_dir=tmp_path)
    timer.join()
    assert time.monotonic() - started < 5
    assert result.interrupted and not result.valid
    assert result.interrupt_reason == "loadgen.abort() was called."
    assert len(held) == 1
    assert "Test aborted: loadgen.abort() was called." in result.detail_path.read_text()


# --- stall watchdog ------------------------------------------------------------------------


def test_stall_watchdog_names_the_outstanding_sample(tmp_path: Path) -> None:
    held: list[tuple[int, int]] = []

    class Sut:
        def issue(self, batch: loadgen.SampleBatch) -> None:
            if len(held) < 1 and sum(1 for _ in self.done) >= 20:
                held.extend(zip(batch.ids, batch.indices))
                return
            self.done.append(1)
            loadgen.complete(batch.ids)

        def flush(self) -> None:
            pass

        done: list[int] = []

    started = time.monotonic()
    with pytest.raises(loadgen.TestAborted) as info:
        loadgen.run(
            Sut(),
            QSL,
            quick(loadgen.Scenario.SINGLE_STREAM),
            log_dir=tmp_path,
            no_progress_timeout_s=0.3,
        )
    assert 0.3 <= time.monotonic() - started < 5
    ((rid, index),) = held
    assert str(info.value) == (
        "No sample completed for 0.3 s with 1 sample outstanding (no_progress_timeout): the SUT "
        f"stopped completing. Outstanding (response id: QSL index): {rid}: {index}."
    )
    assert isinstance(info.value, RuntimeError)
    assert "Test aborted: No sample completed" in (tmp_path / "mlperf_log_detail.txt").read_text()
    assert (tmp_path / "mlperf_log_summary.txt").read_text().strip()


def test_stall_watchdog_lists_ten_samples_and_the_count(tmp_path: Path) -> None:
    kept: list[tuple[int, int]] = []

    class Sut:
        def issue(self, batch: loadgen.NumpyBatch) -> None:
            kept.extend(zip(batch.ids[-15:].tolist(), batch.indices[-15:].tolist()))
            loadgen.complete(batch.ids[:-15])

        def flush(self) -> None:
            pass

    with pytest.raises(loadgen.TestAborted) as info:
        loadgen.run(
            Sut(),
            QSL,
            quick(loadgen.Scenario.OFFLINE),
            log_dir=tmp_path,
            batch="numpy",
            no_progress_timeout_s=0.2,
        )
    named = ", ".join(f"{rid}: {index}" for rid, index in kept[:10])
    assert str(info.value) == (
        "No sample completed for 0.2 s with 15 samples outstanding (no_progress_timeout): the SUT "
        f"stopped completing. Outstanding (response id: QSL index): {named} and 5 more."
    )


def test_slow_but_steady_sut_is_not_a_stall(tmp_path: Path) -> None:
    # Samples are outstanding all the time (30 ms each, one every 5 ms), but keep completing.
    sut = SleepSut(latency_s=0.03, per_sample_s=0.0)
    try:
        result = loadgen.run(
            sut,
            QSL,
            quick(loadgen.Scenario.SERVER, server_target_qps=200, min_query_count=100),
            log_dir=tmp_path,
            no_progress_timeout_s=0.2,
        )
    finally:
        sut.close()
    assert not result.interrupted and result.samples_completed == result.queries_issued


@pytest.mark.parametrize("value", [0, -1.0, math.nan, math.inf, True, "1"])
def test_no_progress_timeout_must_be_positive(value: Any, tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match="^no_progress_timeout_s must be a positive number of seconds"
    ):
        loadgen.run(
            NullSut(),
            QSL,
            quick(loadgen.Scenario.OFFLINE),
            log_dir=tmp_path,
            no_progress_timeout_s=value,
        )
