/// \file test_settings.h
/// \brief Test and log settings (official names, fields and defaults of LoadGen 6.0.17).
#ifndef MLPERF_LOADGEN_TEST_SETTINGS_H_
#define MLPERF_LOADGEN_TEST_SETTINGS_H_

#include <cstdint>
#include <string>

#include "loadgen/export.h"

namespace mlperf {

enum class TestScenario { SingleStream = 0, MultiStream = 1, Server = 2, Offline = 3 };

enum class TestMode {
  SubmissionRun = 0,
  AccuracyOnly = 1,
  PerformanceOnly = 2,
  FindPeakPerformance = 3,
};

/// What the user asks for. loadgen derives the effective settings from these and the QSL counts
/// when a test starts; see docs/settings.md for each field.
struct LOADGEN_EXPORT TestSettings {
  TestScenario scenario = TestScenario::SingleStream;
  TestMode mode = TestMode::PerformanceOnly;

  double single_stream_expected_latency_ns = 1000000;
  double single_stream_target_latency_percentile = 0.90;

  double multi_stream_expected_latency_ns = 8000000;
  double multi_stream_target_latency_percentile = 0.99;
  uint64_t multi_stream_samples_per_query = 8;

  double server_target_qps = 1;
  uint64_t server_target_latency_ns = 100000000;
  double server_target_latency_percentile = 0.99;
  bool server_coalesce_queries = false;
  int server_find_peak_qps_decimals_of_precision = 1;
  double server_find_peak_qps_boundary_step_size = 1;
  /// 0 means unlimited.
  uint64_t server_max_async_queries = 0;
  /// Number of threads that will call RegisterIssueQueryThread to issue Server queries.
  uint64_t server_num_issue_query_threads = 0;

  double offline_expected_qps = 1;
  bool sample_concatenate_permutation = false;

  uint64_t min_duration_ms = 10000;
  uint64_t max_duration_ms = 0;  ///< 0 means unlimited.
  uint64_t min_query_count = 100;
  uint64_t max_query_count = 0;  ///< 0 means unlimited.

  uint64_t qsl_rng_seed = 0;
  uint64_t sample_index_rng_seed = 0;
  uint64_t schedule_rng_seed = 0;
  uint64_t accuracy_log_rng_seed = 0;
  double accuracy_log_probability = 0.0;
  uint64_t accuracy_log_sampling_target = 0;

  bool test05 = false;
  uint64_t test05_qsl_rng_seed = 0;
  uint64_t test05_sample_index_rng_seed = 0;
  uint64_t test05_schedule_rng_seed = 0;

  bool print_timestamps = false;
  bool performance_issue_unique = false;
  bool performance_issue_same = false;
  uint64_t performance_issue_same_index = 0;
  uint64_t performance_sample_count_override = 0;
  uint64_t accuracy_sample_count_override = 0;

  bool use_token_latencies = false;
  uint64_t server_ttft_latency = 100000000;
  uint64_t server_tpot_latency = 100000000;
  bool infer_token_latencies = false;
  /// Defaults to 0 (the official header leaves it uninitialised).
  uint64_t token_latency_scaling_factor = 0;

  /// Applies a config file. conf_type 1 (user.conf) applies the rules file mlperf.conf first on
  /// the first call in the process; 0 applies only mlperf.conf; any other value applies only
  /// `path`. mlperf.conf is $LOADGEN_MLPERF_CONF if set, else the file installed beside a shared
  /// library build, else (a build from a checkout) the checkout's copy, else the copy built into
  /// the library. Returns 0, -ENOENT (file cannot be opened) or -EINVAL (syntax error; nothing
  /// from that file is applied). Problems are reported in the next test's detail log.
  int FromConfig(const std::string& path, const std::string& model, const std::string& scenario,
                 int conf_type = 1);
};

enum class LoggingMode { AsyncPoll = 0, EndOfTestOnly = 1, Synchronous = 2 };

struct LogOutputSettings {
  std::string outdir = ".";
  std::string prefix = "mlperf_log_";
  std::string suffix = "";
  bool prefix_with_datetime = false;
  bool copy_detail_to_stdout = false;
  bool copy_summary_to_stdout = false;
};

struct LogSettings {
  LogOutputSettings log_output;
  LoggingMode log_mode = LoggingMode::AsyncPoll;
  /// Accepted for compatibility; loadgen's writer thread chooses its own cadence.
  uint64_t log_mode_async_poll_interval_ms = 1000;
  bool enable_trace = true;
};

}  // namespace mlperf

#endif  // MLPERF_LOADGEN_TEST_SETTINGS_H_
