"""Built-in SUTs and the `loadgen demo` command: every scenario against a real SUT, with the
summary printed."""

from __future__ import annotations

import heapq
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Sequence

from .decision import DecisionPolicy
from .load_models import LoadModel
from .metrics import MetricOptions, format_metrics
from .results import RunResult
from .runner import complete, run
from .settings import Mode, Scenario, Settings
from .sut import InMemoryQsl, SampleBatch, SystemUnderTest

__all__ = ["NullSut", "SleepSut", "MatmulSut", "demo_settings", "run_demo", "SUTS"]


class NullSut:
    """Completes every sample inside ``issue``: measures loadgen's own overhead."""

    def issue(self, batch: SampleBatch) -> None:
        complete(batch.ids)

    def flush(self) -> None:
        pass


class _WorkerSut:
    """Runs ``work(indices)`` on one worker thread per batch and completes the batch."""

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._queue: list[tuple[float, int, list[int], list[int]]] = []
        self._counter = 0
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name=type(self).__name__, daemon=True)
        self._thread.start()

    def _due(self, batch_size: int) -> float:
        return 0.0

    def _work(self, indices: Sequence[int]) -> None:
        pass

    def issue(self, batch: SampleBatch) -> None:
        item = (
            time.monotonic() + self._due(len(batch)),
            self._counter,
            list(batch.ids),
            list(batch.indices),
        )
        with self._cv:
            self._counter += 1
            heapq.heappush(self._queue, item)
            self._cv.notify()

    def flush(self) -> None:
        pass

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify()
        self._thread.join()

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not self._queue and not self._closed:
                    self._cv.wait()
                if self._closed and not self._queue:
                    return
                due = self._queue[0][0]
                now = time.monotonic()
                if due > now:
                    self._cv.wait(due - now)
                    continue
                _, _, ids, indices = heapq.heappop(self._queue)
            self._work(indices)
            complete(ids)


class SleepSut(_WorkerSut):
    """Completes each query `latency_s + per_sample_s * samples` after it was issued: a server
    with a fixed latency that batches (so an Offline query takes time in proportion to its size)."""

    def __init__(self, latency_s: float = 0.002, per_sample_s: float = 0.0002) -> None:
        self._latency_s = latency_s
        self._per_sample_s = per_sample_s
        super().__init__()

    def _due(self, batch_size: int) -> float:
        return self._latency_s + self._per_sample_s * batch_size


class MatmulSut(_WorkerSut):
    """A small numpy model: one 128x128 matrix product per sample."""

    def __init__(self, size: int = 128) -> None:
        try:
            import numpy as np
        except ImportError as e:  # pragma: no cover - numpy is an optional extra
            raise RuntimeError("the matmul SUT needs numpy: pip install 'loadgen[numpy]'") from e
        rng = np.random.default_rng(0)
        self._np = np
        self._weights = rng.standard_normal((size, size)).astype(np.float32)
        self._inputs = rng.standard_normal((64, size)).astype(np.float32)
        super().__init__()

    def _work(self, indices: Sequence[int]) -> None:
        x = self._inputs[[i % len(self._inputs) for i in indices]]
        self._np.maximum(x @ self._weights, 0.0)


SUTS: dict[str, Callable[[], SystemUnderTest]] = {
    "null": NullSut,
    "sleep": SleepSut,
    "matmul": MatmulSut,
}


def demo_settings(scenario: Scenario, duration_ms: int) -> Settings:
    """Short runs that are still valid (early stopping has enough queries) on a laptop."""
    s = Settings(scenario=scenario, mode=Mode.PERFORMANCE, min_duration_ms=duration_ms)
    if scenario is Scenario.SINGLE_STREAM:
        return s.replace(min_query_count=100, single_stream_expected_latency_ns=100_000)
    if scenario is Scenario.MULTI_STREAM:
        return s.replace(min_query_count=662, multi_stream_expected_latency_ns=200_000)
    if scenario is Scenario.SERVER:
        return s.replace(
            server_target_qps=1000, server_target_latency_ns=50_000_000, min_query_count=500
        )
    return s.replace(offline_expected_qps=5000, min_query_count=1)


def run_demo(
    scenarios: Sequence[Scenario],
    sut_name: str = "sleep",
    duration_ms: int = 1000,
    log_dir: Path | None = None,
    echo: Callable[[str], None] = print,
    load: LoadModel | None = None,
    metrics: MetricOptions | None = None,
    decide: Callable[[], DecisionPolicy] | None = None,
) -> list[RunResult]:
    """Runs each scenario against a built-in SUT and prints its summary. With ``load``, one
    Server run issuing that load model instead, with its per-stage results. ``decide`` makes
    each run's decision policy (a fresh one per run: a policy keeps its verdict), e.g.
    :class:`loadgen.decision.StopWhenDecided` for ``--stop-when-decided``."""
    if sut_name not in SUTS:
        raise ValueError(f"unknown SUT {sut_name!r}; choose one of {', '.join(SUTS)}")
    root = Path(log_dir) if log_dir else Path(tempfile.mkdtemp(prefix="loadgen-demo-"))
    qsl = InMemoryQsl(1024, 256)
    results = []
    if load is not None:
        scenarios = [Scenario.SERVER]
    for scenario in scenarios:
        sut = SUTS[sut_name]()
        try:
            result = run(
                sut,
                qsl,
                demo_settings(scenario, duration_ms),
                log_dir=root / scenario.value,
                load=load,
                metrics=metrics,
                decide=decide() if decide is not None else None,
            )
        finally:
            close = getattr(sut, "close", None)
            if close:
                close()
        echo(f"=== {scenario.value} against the {sut_name} SUT (logs in {result.log_dir})")
        echo(result.summary)
        if result.decided_early:
            echo(f"ended early: {result.decided_early} (outside the submission rules)")
        for i, st in enumerate(result.stages):
            p99 = st.latency_percentiles_ns.get(0.99, 0) / 1e6
            gate = (
                f", {st.gated_queries} gated (max wait {st.gate_wait_max_ns / 1e6:.3f} ms)"
                if st.gated_queries
                else ""
            )
            echo(
                f"stage {i} {st.name or st.kind}{'' if st.measured else ' (not measured)'}: "
                f"{st.queries_issued} queries, {st.issued_qps:.1f} issued/s, p99 {p99:.3f} ms{gate}"
            )
        if result.metrics is not None:
            echo(format_metrics(result.metrics))
        results.append(result)
    return results
