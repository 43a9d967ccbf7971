// settings stage: requested TestSettings + QSL counts -> the effective settings of one test.
#ifndef LOADGEN_SETTINGS_EFFECTIVE_SETTINGS_H_
#define LOADGEN_SETTINGS_EFFECTIVE_SETTINGS_H_

#include <cstdint>

#include "common/diagnostic.h"
#include "test_settings.h"

namespace loadgen::settings {

/// The official TestSettingsInternal (loadgen/test_settings_internal.h), field for field, plus
/// the few requested fields that later stages read directly.
struct EffectiveSettings {
  mlperf::TestScenario scenario = mlperf::TestScenario::SingleStream;
  mlperf::TestMode mode = mlperf::TestMode::PerformanceOnly;
  uint64_t samples_per_query = 1;
  double target_qps = 1;
  int64_t target_latency_ns = 0;
  double target_latency_percentile = 0;
  uint64_t max_async_queries = 0;
  uint64_t target_duration_ms = 0;
  uint64_t min_duration_ms = 0;
  uint64_t max_duration_ms = 0;
  uint64_t min_query_count = 0;
  uint64_t max_query_count = 0;
  uint64_t min_sample_count = 0;
  uint64_t qsl_rng_seed = 0;
  uint64_t sample_index_rng_seed = 0;
  uint64_t schedule_rng_seed = 0;
  uint64_t accuracy_log_rng_seed = 0;
  double accuracy_log_probability = 0;
  uint64_t accuracy_log_sampling_target = 0;
  bool print_timestamps = false;
  bool performance_issue_unique = false;
  bool performance_issue_same = false;
  uint64_t performance_issue_same_index = 0;
  uint64_t performance_sample_count = 0;
  uint64_t accuracy_sample_count = 0;
  bool sample_concatenate_permutation = false;
  bool use_token_latencies = false;
  int64_t server_ttft_latency = 0;
  int64_t server_tpot_latency = 0;
  bool infer_token_latencies = false;
  int64_t token_latency_scaling_factor = 0;

  // Read straight from the requested settings by the issuer and FindPeak.
  bool server_coalesce_queries = false;
  uint64_t server_num_issue_query_threads = 0;
  int server_find_peak_qps_decimals_of_precision = 1;
  double server_find_peak_qps_boundary_step_size = 1;
};

/// Computes the effective settings exactly as the official LoadGen does, appending its
/// `error_invalid_test_settings` messages to `diagnostics` (they do not stop the run).
/// `qsl_performance_count`/`qsl_total_count` are what the QSL reports.
EffectiveSettings Normalize(const mlperf::TestSettings& requested, uint64_t qsl_performance_count,
                            uint64_t qsl_total_count, Diagnostics* diagnostics);

/// Rejects settings for which the official LoadGen crashes, divides by zero or never ends
/// (no samples, zero generated queries, negative/NaN/inf QPS, same_index out of range, ...).
/// Throws loadgen::SettingsError with a message saying what to change.
void ValidateForRun(const EffectiveSettings& effective, const mlperf::TestSettings& requested,
                    uint64_t qsl_performance_count, uint64_t qsl_total_count);

}  // namespace loadgen::settings

#endif  // LOADGEN_SETTINGS_EFFECTIVE_SETTINGS_H_
