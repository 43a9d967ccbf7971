"""Cost of the live progress display on Offline null-SUT throughput (issue 7: must be < 2%).

The SUT completes its one Offline query in chunks from the issue call, so a run lasts long
enough (about a second) for the display to refresh several times. Runs with and without the
display alternate; the medians are compared, of the throughput and of the process CPU time per
sample (all threads, the display's included), which a noisy machine disturbs less.

    python bench/progress_overhead.py [--samples 400000] [--chunk 64] [--repeats 5]
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import statistics
import tempfile
import time

import loadgen
import loadgen.progress as progress
from rich.console import Console


class ChunkedNullSut:
    def __init__(self, chunk: int) -> None:
        self.chunk = chunk

    def issue(self, batch: loadgen.NumpyBatch) -> None:
        ids = batch.ids
        for start in range(0, len(ids), self.chunk):
            loadgen.complete(ids[start : start + self.chunk])

    def flush(self) -> None:
        pass


class OffscreenDisplay(progress.ProgressDisplay):
    """Renders to a terminal-like buffer, as on a real terminal, without printing."""

    def __init__(self) -> None:
        super().__init__(Console(file=io.StringIO(), force_terminal=True, width=120))


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def one_run(samples: int, chunk: int, display: bool, log_dir: str) -> tuple[float, float]:
    settings = loadgen.Settings(
        scenario=loadgen.Scenario.OFFLINE,
        min_duration_ms=0,
        min_query_count=samples,
        offline_expected_qps=1,
    )
    started = time.perf_counter()
    cpu_started = cpu_s()
    result = loadgen.run(
        ChunkedNullSut(chunk),
        loadgen.InMemoryQsl(1024, 1024),
        settings,
        log_dir=log_dir,
        batch="numpy",
        progress=display,
    )
    elapsed = time.perf_counter() - started
    cpu_ns_per_sample = (cpu_s() - cpu_started) / samples * 1e9
    assert result.samples_completed == samples
    return (result.metric if result.metric > 0 else samples / elapsed), cpu_ns_per_sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    progress.ProgressDisplay = OffscreenDisplay  # type: ignore[misc]
    rates: dict[str, list[float]] = {"off": [], "on": []}
    cpu: dict[str, list[float]] = {"off": [], "on": []}
    with tempfile.TemporaryDirectory() as log_dir:
        one_run(args.samples // 10, args.chunk, False, log_dir)  # warm up
        for _ in range(args.repeats):
            for mode in ("off", "on"):
                rate, cpu_ns = one_run(args.samples, args.chunk, mode == "on", log_dir)
                rates[mode].append(rate)
                cpu[mode].append(cpu_ns)
    off, on = statistics.median(rates["off"]), statistics.median(rates["on"])
    print(
        json.dumps(
            {
                "samples_per_second_without_display": round(off),
                "samples_per_second_with_display": round(on),
                "overhead_percent": round(100 * (off - on) / off, 2),
                "cpu_ns_per_sample_without_display": round(statistics.median(cpu["off"]), 1),
                "cpu_ns_per_sample_with_display": round(statistics.median(cpu["on"]), 1),
                "cpu_overhead_percent": round(
                    100 * (statistics.median(cpu["on"]) / statistics.median(cpu["off"]) - 1), 2
                ),
                "runs": rates,
            }
        )
    )


if __name__ == "__main__":
    main()
