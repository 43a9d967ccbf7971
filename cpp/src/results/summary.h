// results stage: metrics, validity and early stopping of one performance series, and their
// rendering in mlperf_log_summary.txt and the detail log's results block (engine.md §11,
// surface.md §5.2.1, §5.3, §7).
#ifndef LOADGEN_RESULTS_SUMMARY_H_
#define LOADGEN_RESULTS_SUMMARY_H_

#include <array>
#include <cstdint>
#include <string>

#include "logging/detail_log.h"
#include "results/performance_result.h"
#include "settings/effective_settings.h"

namespace loadgen::results {

/// The fixed percentiles every report lists (labels "50.00" ... "99.90").
inline constexpr std::array<double, 6> kReportedPercentiles = {0.50, 0.90, 0.95,
                                                               0.97, 0.99, 0.999};

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
  LatencyStats query_latency;          // MultiStream only
  LatencyStats first_token_latency;    // token runs, non-Offline
  LatencyStats time_per_output_token;  // token runs, non-Offline
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

  int64_t early_stopping_latency_ss = 0;
  int64_t early_stopping_latency_ms = 0;
  std::string early_stopping_text;       // non-token runs
  std::string early_stopping_ttft_text;  // token runs; empty if TPOT failed first
  std::string early_stopping_tpot_text;  // token runs

  bool min_duration_met = false;
  bool min_queries_met = false;
  bool perf_constraints_met = true;  // Server only; what FindPeakPerformance searches on
  bool early_stopping_met = true;
  std::string perf_constraints_recommendation;  // empty when met
  std::string min_duration_recommendation;      // empty when met

  bool valid() const {
    return min_duration_met && min_queries_met && perf_constraints_met && early_stopping_met;
  }
  /// result_invalid_reason: the failed checks' recommendations (none for early stopping),
  /// newlines replaced by spaces.
  std::string InvalidReason() const;
};

/// Computes every metric and decision of engine.md §11.1-§11.5. Never divides an integer by
/// zero; floating divisions by zero give inf/nan as in the official LoadGen.
PerformanceSummary Summarize(const settings::EffectiveSettings& settings,
                             PerformanceResult result);

/// The mlperf_log_summary.txt text from the first banner to the end of "Test Parameters Used"
/// (including its trailing empty line). The logging stage appends RenderSummaryTrailer.
std::string RenderSummary(const PerformanceSummary& summary, const std::string& sut_name);

/// The warning/error count lines that end every summary file.
std::string RenderSummaryTrailer(uint64_t warnings, uint64_t errors);

/// The whole summary file of a test without a performance result (AccuracyOnly, FindPeak on a
/// non-Server scenario): an empty line, then the trailer.
std::string RenderAccuracyOnlySummary(uint64_t warnings, uint64_t errors);

/// Writes the results block (surface.md §5.2.1 items 1-11, one timestamp, file "results.cc").
/// The caller writes num_errors after it.
void LogDetailResults(logging::DetailLog& log, const PerformanceSummary& summary);

}  // namespace loadgen::results

#endif  // LOADGEN_RESULTS_SUMMARY_H_
