// results stage, computing: the metrics, validity checks and early-stopping estimates of one
// performance series, as plain data. Writing them (mlperf_log_summary.txt, the detail log's
// results block) is results/summary.h; the typed Python API reads the same data. The official
// counterpart is loadgen/results.cc, PerformanceSummary::ProcessLatencies,
// ProcessTokenLatencies, EarlyStopping and PerfConstraintsMet (see docs/log-format.md for the
// keys).
#ifndef LOADGEN_RESULTS_PERFORMANCE_SUMMARY_H_
#define LOADGEN_RESULTS_PERFORMANCE_SUMMARY_H_

#include <array>
#include <cstdint>
#include <string>

#include "results/performance_result.h"
#include "settings/effective_settings.h"

namespace loadgen::results {

/// The fixed percentiles every report lists (labels "50.00" ... "99.90").
inline constexpr std::array<double, 6> kReportedPercentiles = {0.50, 0.90, 0.95, 0.97, 0.99, 0.999};

/// Index of the percentile `p` in `count` sorted values: trunc(count * p), as the official
/// LoadGen takes it, but the last element where that is out of range (p >= 1).
size_t PercentileIndex(size_t count, double p);

/// Order statistics of one latency vector (ns). All 0 when there is no data.
struct LatencyStats {
  int64_t min = 0;
  int64_t max = 0;
  int64_t mean = 0;       // integer division of the int64 sum
  int64_t at_target = 0;  // at the scenario's target percentile
  std::array<int64_t, kReportedPercentiles.size()> at_percentile{};
};

/// Everything the summary file and the detail results block report for one series.
struct PerformanceSummary {
  settings::EffectiveSettings settings;

  uint64_t sample_count = 0;  // N, completed samples
  uint64_t queries_issued = 0;
  double max_latency_s = 0;
  double final_query_scheduled_time_s = 0;
  double final_query_issued_time_s = 0;
  double final_query_all_samples_done_time_s = 0;

  LatencyStats sample_latency;
  LatencyStats query_latency;            // MultiStream only
  LatencyStats first_token_latency;      // token runs, non-Offline
  LatencyStats time_per_output_token;    // token runs, non-Offline
  uint64_t overlatency_query_count = 0;  // Server: samples over target_latency_ns
  int64_t token_count = 0;

  double qps_with_loadgen_overhead = 0;     // SingleStream
  double qps_without_loadgen_overhead = 0;  // SingleStream
  double scheduled_samples_per_sec = 0;     // Server
  double completed_samples_per_sec = 0;     // Server
  double samples_per_second = 0;            // Offline
  // Token runs.
  double token_throughput_with_loadgen_overhead = 0;     // tokens / final issue time
  double token_throughput_per_ns = 0;                    // the official's ns-based quirk
  double token_throughput_without_loadgen_overhead = 0;  // tokens per s of mean latency
  double completed_tokens_per_second = 0;                // non-Offline
  double tokens_per_second = 0;                          // Offline
  // infer_token_latencies: Server completed, Offline per second.
  double inferred_tokens_per_second = 0;

  // The early-stopping latency estimates (ns): at the target percentile (SingleStream), and at
  // MultiStream's percentile (MultiStream, and SingleStream's 99th-percentile estimate).
  int64_t early_stopping_latency_ss = 0;
  int64_t early_stopping_latency_ms = 0;
  std::string early_stopping_text;       // non-token runs
  std::string early_stopping_ttft_text;  // token runs; empty if TPOT failed first
  std::string early_stopping_tpot_text;  // token runs

  bool min_duration_met = false;
  bool min_queries_met = false;
  bool perf_constraints_met = true;  // Server only; what FindPeakPerformance searches on
  bool early_stopping_met = true;
  /// Samples the SUT completed as failed (loadgen/failure.h): any makes the result INVALID.
  uint64_t failed_samples = 0;
  std::array<uint64_t, kSampleFailureCount> failed_by_reason{};
  // What to change when a check failed (empty when it passed); may contain newlines.
  std::string perf_constraints_recommendation;
  std::string min_duration_recommendation;
  std::string min_queries_recommendation;
  std::string failed_samples_recommendation;

  bool valid() const {
    return min_duration_met && min_queries_met && perf_constraints_met && early_stopping_met &&
           failed_samples == 0;
  }
  /// result_invalid_reason: the failed checks' recommendations (none for early stopping; the
  /// failed samples' last), newlines replaced by spaces.
  std::string InvalidReason() const;
};

/// Computes every metric and decision of one series from what it measured. Never divides an
/// integer by zero; floating divisions by zero give inf/nan as in the official LoadGen.
PerformanceSummary Summarize(const settings::EffectiveSettings& settings, PerformanceResult result);

/// "http_5xx: 2, cancelled: 1": the reasons with a count, in SampleFailure order.
std::string FailureCountsText(const std::array<uint64_t, kSampleFailureCount>& counts);
/// {"http_5xx":2,"cancelled":1}: the same as a JSON object (the detail log's value).
std::string FailureCountsJson(const std::array<uint64_t, kSampleFailureCount>& counts);

/// `text` with each newline replaced by a space (the detail log's one-line form).
std::string NewlinesToSpaces(std::string text);

}  // namespace loadgen::results

#endif  // LOADGEN_RESULTS_PERFORMANCE_SUMMARY_H_
