"""A complete harness on the typed API: a SUT, a QSL, one SingleStream test, its headline."""

import sys
import tempfile
import time

import loadgen


class SleepySut:
    """Answers each sample after 1 ms; a real SUT would run its model on batch.indices."""

    def issue(self, batch: loadgen.SampleBatch) -> None:
        time.sleep(0.001)
        loadgen.complete(batch.ids)

    def flush(self) -> None:
        pass


qsl = loadgen.InMemoryQsl(total_sample_count=1024, performance_sample_count=256)
settings = loadgen.Settings(scenario=loadgen.Scenario.SINGLE_STREAM, min_duration_ms=1000)
log_dir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="loadgen-")
result = loadgen.run(SleepySut(), qsl, settings, log_dir=log_dir)
print(f"{result.metric_name}: {result.metric}")
print("result:", "VALID" if result.valid else f"INVALID {result.failed_constraints}")
assert result.latency is not None  # set by every performance run
print(f"p90 latency: {result.latency.percentiles_ns[0.9]} ns")
print(f"logs: {result.log_dir}")
