"""Cost of the live progress display on Offline null-SUT throughput (issue 7: must be < 2%).

The SUT completes its one Offline query in chunks from the issue call, so a run lasts long
enough (about a second) for the display to refresh several times. Runs with and without the
display alternate; the medians are compared.

    python bench/progress_overhead.py [--samples 400000] [--chunk 64] [--repeats 5]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import time

from rich.console import Console

import loadgen
import loadgen.progress as progress


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


def one_run(samples: int, chunk: int, display: bool, log_dir: str) -> float:
    settings = loadgen.Settings(
        scenario=loadgen.Scenario.OFFLINE, min_duration_ms=0, min_query_count=samples,
        offline_expected_qps=1,
    )
    started = time.perf_counter()
    result = loadgen.run(ChunkedNullSut(chunk), loadgen.InMemoryQsl(1024, 1024), settings,
                         log_dir=log_dir, batch="numpy", progress=display)
    elapsed = time.perf_counter() - started
    assert result.samples_completed == samples
    return result.metric if result.metric > 0 else samples / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    progress.ProgressDisplay = OffscreenDisplay  # type: ignore[misc]
    rates: dict[str, list[float]] = {"off": [], "on": []}
    with tempfile.TemporaryDirectory() as log_dir:
        one_run(args.samples // 10, args.chunk, False, log_dir)  # warm up
        for _ in range(args.repeats):
            for mode in ("off", "on"):
                rates[mode].append(one_run(args.samples, args.chunk, mode == "on", log_dir))
    off, on = statistics.median(rates["off"]), statistics.median(rates["on"])
    print(json.dumps({
        "samples_per_second_without_display": round(off),
        "samples_per_second_with_display": round(on),
        "overhead_percent": round(100 * (off - on) / off, 2),
        "runs": rates,
    }))


if __name__ == "__main__":
    main()
