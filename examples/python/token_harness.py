"""A token-streaming (LLM-style) harness: first_token() when a sample's first token is out,
complete() with its token count at the end; loadgen reports TTFT and TPOT."""

import sys
import tempfile
import time

import loadgen


class StreamingSut:
    """Prefill is instant, then 16 more tokens take 2 ms; a real SUT streams from its model."""

    def issue(self, batch: loadgen.SampleBatch) -> None:
        loadgen.first_token(batch.ids)
        time.sleep(0.002)
        loadgen.complete(batch.ids, n_tokens=[17] * len(batch))

    def flush(self) -> None:
        pass


settings = loadgen.Settings(
    scenario=loadgen.Scenario.SINGLE_STREAM, use_token_latencies=True, min_duration_ms=1000
)
log_dir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="loadgen-")
result = loadgen.run(StreamingSut(), loadgen.InMemoryQsl(1024, 256), settings, log_dir=log_dir)

print(f"{result.metric_name}: {result.metric}")
print("result:", "VALID" if result.valid else f"INVALID {result.failed_constraints}")
ttft, tpot = result.first_token_latency, result.time_per_output_token
assert ttft is not None and tpot is not None  # set by token runs outside Offline
print(f"p90 TTFT: {ttft.percentiles_ns[0.9]} ns, p90 TPOT: {tpot.percentiles_ns[0.9]} ns")
print(f"tokens: {result.token_count}")
print(f"logs: {result.log_dir}")
