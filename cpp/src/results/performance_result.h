// results stage input: what one performance series measured (filled by the session from the
// recorder; the official keeps the same vectors in loadgen/results.h, PerformanceResult;
// docs/official-behaviour.md#issue-series-end).
#ifndef LOADGEN_RESULTS_PERFORMANCE_RESULT_H_
#define LOADGEN_RESULTS_PERFORMANCE_RESULT_H_

#include <array>
#include <cstdint>
#include <vector>

#include "loadgen/failure.h"

namespace loadgen::results {

struct PerformanceResult {
  /// Per-sample latency (ns) in sequence order, one per completed sample.
  std::vector<int64_t> sample_latencies;
  /// MultiStream only: per-query latency (all samples done - scheduled), issued queries.
  std::vector<int64_t> query_latencies;
  uint64_t queries_issued = 0;
  double max_latency_s = 0;                        // largest sample latency
  double final_query_scheduled_time_s = 0;         // generated delta of the last issued query
  double final_query_issued_time_s = 0;            // its issue time - series start
  double final_query_all_samples_done_time_s = 0;  // its completion time - series start
  /// Token runs (use_token_latencies): first-token latency, time per output token and token
  /// count per sample, same order as sample_latencies. ttft/tpot empty in Offline.
  std::vector<int64_t> ttft_latencies;
  std::vector<int64_t> tpot_latencies;
  std::vector<int64_t> tokens_per_sample;
  /// Samples completed as failed (loadgen/failure.h), by reason; they are also in the vectors
  /// above, with their latency to the failure and 0 tokens.
  std::array<uint64_t, kSampleFailureCount> failed_by_reason{};
  uint64_t failed_samples = 0;
};

}  // namespace loadgen::results

#endif  // LOADGEN_RESULTS_PERFORMANCE_RESULT_H_
