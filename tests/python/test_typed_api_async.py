"""The typed `loadgen` API (issue 7): numpy batches, asyncio SUTs and Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import loadgen
import numpy as np
import pytest
from loadgen.demo import NullSut
from typed_api_helpers import QSL, Boom, detail_entries, quick

pytestmark = pytest.mark.usefixtures("hang_watchdog")


# --- numpy batches -------------------------------------------------------------------------


def test_numpy_batch_is_a_zero_copy_read_only_view(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []

    class Sut:
        def issue(self, batch: loadgen.NumpyBatch) -> None:
            samples = batch.samples
            seen.append(
                dict(
                    shape=samples.shape,
                    dtype=samples.dtype,
                    strides=samples.strides,
                    owndata=samples.flags.owndata,
                    writeable=samples.flags.writeable,
                    base=type(samples.base).__name__,
                    ids_base=batch.ids.base is samples,
                    indices=batch.indices.tolist(),
                    length=len(batch),
                )
            )
            with pytest.raises(ValueError, match="read-only"):
                samples[0, 0] = 0
            loadgen.complete(batch.ids)

        def flush(self) -> None:
            pass

    settings = quick(loadgen.Scenario.OFFLINE)
    result = loadgen.run(Sut(), QSL, settings, log_dir=tmp_path, batch="numpy")
    assert result.valid
    (call,) = seen
    n = result.samples_completed
    assert call["shape"] == (n, 2) and call["dtype"] == np.uint64 and call["length"] == n
    assert call["strides"] == (16, 8)
    assert not call["owndata"] and not call["writeable"]
    assert call["base"] == "PyCapsule" and call["ids_base"]
    planned = loadgen.plan(settings, QSL.total_sample_count, QSL.performance_sample_count)
    assert call["indices"] == planned["series"][0]["sample_index"][:n].tolist()


@pytest.mark.parametrize("scenario", [loadgen.Scenario.OFFLINE, loadgen.Scenario.SINGLE_STREAM])
def test_numpy_batches_kept_beyond_the_call_stay_valid(
    scenario: loadgen.Scenario, tmp_path: Path
) -> None:
    # A SUT may hand the view to a worker thread (which completes after issue returned) and
    # keep it after the test: the engine's batch lives as long as the view, and a batch kept
    # across queries is not overwritten by the next one.
    kept: list[tuple[loadgen.NumpyBatch, list[int]]] = []
    workers: list[threading.Thread] = []

    class Sut:
        def issue(self, batch: loadgen.NumpyBatch) -> None:
            kept.append((batch, batch.ids.tolist()))
            worker = threading.Thread(
                target=lambda: (time.sleep(0.001), loadgen.complete(batch.ids))
            )
            workers.append(worker)
            worker.start()

        def flush(self) -> None:
            pass

    result = loadgen.run(Sut(), QSL, quick(scenario), log_dir=tmp_path, batch="numpy")
    for worker in workers:
        worker.join()
    assert result.samples_completed == sum(len(ids) for _, ids in kept) > 0
    for batch, ids_at_issue in kept:
        assert batch.ids.tolist() == ids_at_issue


def test_numpy_batch_without_numpy_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "numpy", None)
    with pytest.raises(
        ImportError,
        match=r"^run\(\.\.\., batch='numpy'\) needs numpy: pip install 'loadgen\[numpy\]'$",
    ):
        loadgen.run(
            NullSut(), QSL, quick(loadgen.Scenario.OFFLINE), log_dir=tmp_path, batch="numpy"
        )  # type: ignore[call-overload]


def test_unknown_batch_kind(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="^batch must be 'list' or 'numpy', got 'arrow'$"):
        loadgen.run(
            NullSut(), QSL, quick(loadgen.Scenario.OFFLINE), log_dir=tmp_path, batch="arrow"
        )  # type: ignore[call-overload]


# --- asyncio SUTs --------------------------------------------------------------------------


def test_async_sut_runs_on_a_loop_thread_loadgen_manages(tmp_path: Path) -> None:
    threads: set[str] = set()

    class Sut:
        async def issue(self, batch: loadgen.SampleBatch) -> None:
            threads.add(threading.current_thread().name)
            await asyncio.sleep(0.0005)
            loadgen.complete(batch.ids)

        async def flush(self) -> None:
            threads.add("flushed")

    result = loadgen.run(Sut(), QSL, quick(loadgen.Scenario.SERVER), log_dir=tmp_path)
    # Whether Server's latency bound holds depends on the machine's load; what this test is
    # about is that every query ran on the loop thread and completed.
    assert result.errors == 0 and not result.interrupted
    assert result.samples_completed == result.queries_issued > 0
    assert threads == {"loadgen-asyncio", "flushed"}
    assert not any(t.name == "loadgen-asyncio" for t in threading.enumerate())


def test_async_sut_with_numpy_batches_gets_copies(tmp_path: Path) -> None:
    class Sut:
        async def issue(self, batch: loadgen.NumpyBatch) -> None:
            await asyncio.sleep(0)
            assert batch.samples.flags.owndata
            loadgen.complete(batch.ids)

        def flush(self) -> None:
            pass

    assert loadgen.run(
        Sut(), QSL, quick(loadgen.Scenario.OFFLINE), log_dir=tmp_path, batch="numpy"
    ).valid


def test_exception_in_a_coroutine_stops_the_run_and_is_re_raised(tmp_path: Path) -> None:
    error = Boom("coroutine failed")

    class Sut:
        calls = 0

        async def issue(self, batch: loadgen.SampleBatch) -> None:
            Sut.calls += 1
            if Sut.calls == 5:
                raise error
            loadgen.complete(batch.ids)

        def flush(self) -> None:
            pass

    started = time.monotonic()
    with pytest.raises(Boom) as info:
        loadgen.run(Sut(), QSL, quick(loadgen.Scenario.SINGLE_STREAM), log_dir=tmp_path)
    assert info.value is error
    assert time.monotonic() - started < 5
    assert Sut.calls == 5
    detail = (tmp_path / "mlperf_log_detail.txt").read_text()
    assert "Test aborted: an async issue/flush coroutine raised Boom: coroutine failed" in detail
    assert not any(t.name == "loadgen-asyncio" for t in threading.enumerate())


# --- Ctrl-C --------------------------------------------------------------------------------

CHILD = """
import json, sys, threading, time
import loadgen

hold = sys.argv[2] == "hold"

class Sut:
    # Completes each query 20 ms after it is issued; with "hold", never after the first 5.
    # Says "running" at the 8th query (so with "hold", samples are outstanding).
    def __init__(self):
        self.count = 0
    def issue(self, batch):
        self.count += 1
        if self.count == 8:
            print("running", flush=True)
        if hold and self.count > 5:
            return
        ids = list(batch.ids)
        threading.Timer(0.02, loadgen.complete, [ids]).start()
    def flush(self):
        pass

settings = loadgen.Settings(scenario=loadgen.Scenario.SERVER, server_target_qps=200,
                            min_duration_ms=60000, min_query_count=10)
r = loadgen.run(Sut(), loadgen.InMemoryQsl(100, 100), settings, log_dir=sys.argv[1],
                progress=False)
print(json.dumps(dict(interrupted=r.interrupted, reason=r.interrupt_reason, valid=r.valid,
                      issued=r.queries_issued, completed=r.samples_completed)), flush=True)
"""


def start_child(tmp_path: Path, mode: str) -> subprocess.Popen[str]:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    child = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "logs"), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "running"
    return child


def finish_child(child: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = child.communicate(timeout=20)
    assert child.returncode == 0, err
    return dict(json.loads(out.strip().splitlines()[-1]))


def assert_logs_complete(folder: Path) -> None:
    summary = (folder / "mlperf_log_summary.txt").read_text()
    assert "Result is : INVALID" in summary
    detail = folder / "mlperf_log_detail.txt"
    entries = detail_entries(detail)  # every line parses
    assert entries["result_validity"] == "INVALID"
    assert json.loads((folder / "mlperf_log_accuracy.json").read_text()) == []


FIRST_PRESS = (
    "Interrupted (Ctrl-C): issuing stopped; outstanding samples had up to 10 s to complete."
)


def test_first_ctrl_c_stops_issuing_and_drains(tmp_path: Path) -> None:
    child = start_child(tmp_path, "complete")
    started = time.monotonic()
    child.send_signal(signal.SIGINT)
    result = finish_child(child)
    assert time.monotonic() - started < 5
    assert result["interrupted"] and not result["valid"]
    assert result["reason"] == FIRST_PRESS
    assert result["completed"] == result["issued"] >= 5  # every issued sample finished
    assert_logs_complete(tmp_path / "logs")


def test_second_ctrl_c_stops_at_once(tmp_path: Path) -> None:
    child = start_child(tmp_path, "hold")
    child.send_signal(signal.SIGINT)
    time.sleep(0.3)  # the first press waits for samples that never complete
    assert child.poll() is None
    started = time.monotonic()
    child.send_signal(signal.SIGINT)
    result = finish_child(child)
    assert time.monotonic() - started < 3
    assert result["interrupted"]
    assert result["reason"] == FIRST_PRESS + " Then: Ctrl-C again: stopped at once."
    assert result["completed"] < result["issued"]
    assert_logs_complete(tmp_path / "logs")
    assert "Interrupted" in (tmp_path / "logs" / "mlperf_log_detail.txt").read_text()
