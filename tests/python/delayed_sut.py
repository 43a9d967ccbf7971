"""An in-process SUT that answers after a fixed latency and records what it saw (the load
model and conversation tests), and a load run with it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import loadgen


class DelayedSut:
    """Answers each sample `latency_s` after its issue, on a worker thread in issue order
    (inside `issue` when 0: no other Python thread then competes for the GIL and delays the
    issue), and records when each sample was issued and answered and the most samples in flight
    at once."""

    def __init__(self, latency_s: float = 0.0) -> None:
        self.latency_s = latency_s
        self.issued: list[tuple[int, float]] = []  # (sample, time), in issue order
        self.answered: dict[int, float] = {}  # by sample: its last answer
        self.in_flight = 0
        self.max_in_flight = 0
        self._cv = threading.Condition()
        self._queue: list[tuple[float, int, int]] = []  # (due, id, sample)
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def indices(self) -> list[int]:
        """The issued samples, in issue order."""
        return [sample for sample, _ in self.issued]

    @property
    def issue_s(self) -> list[float]:
        """When each sample was issued (time.monotonic()), in issue order."""
        return [at for _, at in self.issued]

    def issue(self, batch: loadgen.SampleBatch) -> None:
        now = time.monotonic()
        with self._cv:
            for i, index in zip(batch.ids, batch.indices):
                self.issued.append((index, now))
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                self._queue.append((now + self.latency_s, i, index))
            if self.latency_s > 0:
                self._cv.notify()
                return
            answered = time.monotonic()
            ids = []
            for _, i, index in self._queue:
                ids.append(i)
                self.answered[index] = answered
            self._queue.clear()
            self.in_flight -= len(ids)
        loadgen.complete(ids)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify()
        self._thread.join()

    def _serve(self) -> None:
        while True:
            with self._cv:
                while not self._queue and not self._stop:
                    self._cv.wait()
                if self._stop:
                    return
                due, i, index = self._queue.pop(0)
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            with self._cv:
                self.in_flight -= 1
                self.answered[index] = time.monotonic()  # before the completion
            loadgen.complete([i])


def run_with_delayed_sut(
    settings: loadgen.Settings,
    qsl: loadgen.InMemoryQsl,
    load: loadgen.LoadModel,
    tmp_path: Path,
    latency_s: float = 0.0,
) -> tuple[loadgen.RunResult, DelayedSut]:
    """Runs `load` against a :class:`DelayedSut` (closed afterwards) and returns both."""
    sut = DelayedSut(latency_s)
    try:
        result = loadgen.run(sut, qsl, settings, log_dir=tmp_path, load=load, progress=False)
    finally:
        sut.close()
    return result, sut
