"""Offline throughput through loadgen's batch API: numpy ids in, one completion call per chunk.

The SUT receives the whole Offline query as a read-only (n, 2) uint64 view (`batch="numpy"`)
and completes `batch.ids` (a strided column, read in place) in chunks, from the issuing thread
or from k worker threads. Prints one JSON line: per configuration the median samples/s over the
StartTest wall (everything: plan, issue, completion, results, logs) and as loadgen reports it
(samples / last completion).

    python bench/batch_api.py [--samples 20000000] [--chunks 0,1048576] [--threads 0,1,2] [--reps 5]

`--chunks 0` completes the whole query in one call. Configurations alternate rep by rep.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from typing import Any

import loadgen


class BatchNullSut:
    def __init__(self, chunk: int, threads: int) -> None:
        self.chunk = chunk
        self.threads = threads
        self.workers: list[threading.Thread] = []

    def _complete(self, ids: Any) -> None:
        step = self.chunk or len(ids)
        for start in range(0, len(ids), step):
            loadgen.complete(ids[start : start + step])

    def issue(self, batch: loadgen.NumpyBatch) -> None:
        ids = batch.ids
        if self.threads == 0:
            self._complete(ids)
            return
        share = -(-len(ids) // self.threads)
        self.workers = [
            threading.Thread(target=self._complete, args=(ids[i * share : (i + 1) * share],))
            for i in range(self.threads)
        ]
        for worker in self.workers:
            worker.start()

    def flush(self) -> None:
        for worker in self.workers:
            worker.join()


def one_run(samples: int, chunk: int, threads: int, log_dir: str) -> tuple[float, float]:
    settings = loadgen.Settings(
        scenario=loadgen.Scenario.OFFLINE, min_duration_ms=0, min_query_count=samples
    )
    started = time.perf_counter()
    result = loadgen.run(
        BatchNullSut(chunk, threads),
        loadgen.InMemoryQsl(1024, 1024),
        settings,
        log_dir=log_dir,
        batch="numpy",
        progress=False,
    )
    wall = time.perf_counter() - started
    assert result.samples_completed == samples, result
    return samples / wall, result.metric


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20_000_000)
    parser.add_argument("--chunks", default="0,1048576")
    parser.add_argument("--threads", default="0,1,2")
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    configs = [
        (int(c), int(t))
        for c in args.chunks.split(",")
        for t in args.threads.split(",")
        if not (int(c) == 0 and int(t) > 1)
    ]  # one call cannot be shared by threads
    walls: dict[tuple[int, int], list[float]] = {c: [] for c in configs}
    reported: dict[tuple[int, int], list[float]] = {c: [] for c in configs}
    with tempfile.TemporaryDirectory() as log_dir:
        one_run(args.samples // 20, 0, 0, log_dir)  # warm up
        for _ in range(args.reps):
            for config in configs:
                wall_rate, metric = one_run(args.samples, *config, log_dir)
                walls[config].append(wall_rate)
                reported[config].append(metric)
    print(
        json.dumps(
            {
                "samples": args.samples,
                "load_average": os.getloadavg(),
                "results": [
                    {
                        "chunk": chunk or "whole query",
                        "threads": threads,
                        "samples_per_s_wall": round(statistics.median(walls[(chunk, threads)])),
                        "samples_per_s_reported": round(
                            statistics.median(reported[(chunk, threads)])
                        ),
                    }
                    for chunk, threads in configs
                ],
            }
        )
    )


if __name__ == "__main__":
    main()
