// settings stage: requested TestSettings -> effective settings (as the official
// TestSettingsInternal constructor derives them, loadgen/test_settings_internal.cc) and the
// checks that keep loadgen from running settings the official LoadGen crashes or hangs on.
#include "settings/effective_settings.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "common/enum_names.h"
#include "common/errors.h"
#include "logging/format.h"

namespace loadgen::settings {
namespace {

using mlperf::TestMode;
using mlperf::TestScenario;

// Reported as metadata of the official build.
constexpr const char* kDiagnosticFile = "test_settings_internal.cc";
constexpr int kLineServerQps = 85;
constexpr int kLineOfflineQps = 111;
constexpr int kLineSameIndex = 194;
constexpr int kLineUniqueAndSame = 215;

Diagnostic SettingsDiagnostic(std::string message, int official_line) {
  return Diagnostic{Severity::kError, "error_invalid_test_settings", std::move(message),
                    kDiagnosticFile, official_line};
}

// double -> uint64 truncation; values the conversion cannot represent (negative, NaN, too large)
// saturate instead of being undefined. ValidateForRun rejects the settings that produce them.
uint64_t TruncToU64(double value) {
  if (!(value > 0)) return 0;
  if (value >= 18446744073709551616.0) return std::numeric_limits<uint64_t>::max();
  return static_cast<uint64_t>(value);
}

// duration<double> seconds -> nanoseconds, truncated toward zero, as the official query schedule
// converts its periods (loadgen/loadgen.cc, ScheduleDistribution).
int64_t SecondsToNs(double seconds) {
  double ns = seconds * 1e9;
  if (std::isnan(ns)) return 0;
  if (ns >= 9223372036854775807.0) return std::numeric_limits<int64_t>::max();
  if (ns <= -9223372036854775808.0) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(ns);
}

std::string Num(uint64_t value) { return std::to_string(value); }

// The requested fields the effective settings carry over unchanged, and the defaults the
// scenario-specific steps start from.
EffectiveSettings CopyRequested(const mlperf::TestSettings& requested) {
  EffectiveSettings s;
  s.scenario = requested.scenario;
  s.mode = requested.mode;
  s.min_duration_ms = requested.min_duration_ms;
  s.max_duration_ms = requested.max_duration_ms;
  s.min_query_count = requested.min_query_count;
  s.max_query_count = requested.max_query_count;
  s.qsl_rng_seed = requested.qsl_rng_seed;
  s.sample_index_rng_seed = requested.sample_index_rng_seed;
  s.schedule_rng_seed = requested.schedule_rng_seed;
  s.accuracy_log_rng_seed = requested.accuracy_log_rng_seed;
  s.accuracy_log_probability = requested.accuracy_log_probability;
  s.accuracy_log_sampling_target = requested.accuracy_log_sampling_target;
  s.print_timestamps = requested.print_timestamps;
  s.performance_issue_unique = requested.performance_issue_unique;
  s.performance_issue_same = requested.performance_issue_same;
  s.performance_issue_same_index = requested.performance_issue_same_index;
  s.use_token_latencies = requested.use_token_latencies;
  s.server_ttft_latency = static_cast<int64_t>(requested.server_ttft_latency);
  s.server_tpot_latency = static_cast<int64_t>(requested.server_tpot_latency);
  s.infer_token_latencies = requested.infer_token_latencies;
  s.token_latency_scaling_factor = static_cast<int64_t>(requested.token_latency_scaling_factor);
  s.server_coalesce_queries = requested.server_coalesce_queries;
  s.server_num_issue_query_threads = requested.server_num_issue_query_threads;
  s.server_find_peak_qps_decimals_of_precision =
      requested.server_find_peak_qps_decimals_of_precision;
  s.server_find_peak_qps_boundary_step_size = requested.server_find_peak_qps_boundary_step_size;

  s.samples_per_query = 1;
  s.target_qps = 1;
  s.max_async_queries = 0;
  s.target_latency_ns = 0;
  s.target_duration_ms = requested.min_duration_ms;
  s.min_sample_count = 0;

  return s;
}

// Target QPS, latency and percentile and the outstanding-query bound of the scenario.
void ApplyScenarioTargets(const mlperf::TestSettings& requested, EffectiveSettings& s,
                          Diagnostics* diagnostics) {
  switch (requested.scenario) {
    case TestScenario::SingleStream:
      s.target_qps = 1e9 / requested.single_stream_expected_latency_ns;
      s.max_async_queries = 1;
      s.target_latency_percentile = requested.single_stream_target_latency_percentile;
      break;
    case TestScenario::MultiStream:
      s.target_qps = 1e9 / requested.multi_stream_expected_latency_ns;
      s.max_async_queries = 1;
      s.target_latency_percentile = requested.multi_stream_target_latency_percentile;
      break;
    case TestScenario::Server:
      // NaN fails the test too and falls back to 1, as in the official LoadGen.
      if (requested.server_target_qps >= 0) {
        s.target_qps = requested.server_target_qps;
      } else {
        diagnostics->push_back(
            SettingsDiagnostic("Invalid value for server_target_qps requested. requested: " +
                                   logging::FormatG6(requested.server_target_qps) +
                                   " using: " + logging::FormatG6(s.target_qps),
                               kLineServerQps));
      }
      s.target_latency_ns = static_cast<int64_t>(requested.server_target_latency_ns);
      s.target_latency_percentile = requested.server_target_latency_percentile;
      s.max_async_queries = requested.server_max_async_queries;
      break;
    case TestScenario::Offline:
      s.target_latency_percentile = 0.99;
      if (requested.offline_expected_qps >= 0) {
        s.target_qps = requested.offline_expected_qps;
      } else {
        diagnostics->push_back(
            SettingsDiagnostic("Invalid value for offline_expected_qps requested. requested: " +
                                   logging::FormatG6(requested.offline_expected_qps) +
                                   " using: " + logging::FormatG6(s.target_qps),
                               kLineOfflineQps));
      }
      s.max_async_queries = 1;
      break;
  }
}

// Samples per query and the minimum query and sample counts.
void SizeQueries(const mlperf::TestSettings& requested, uint64_t qsl_performance_count,
                 EffectiveSettings& s) {
  if (requested.scenario == TestScenario::MultiStream) {
    s.samples_per_query = requested.multi_stream_samples_per_query;
  }

  if (requested.scenario == TestScenario::Offline) {
    // One query holding 110 % of min_duration at the expected QPS, or min_query_count samples.
    // Evaluated left to right in double, as the official LoadGen does.
    uint64_t target_sample_count =
        TruncToU64(1.1 * (static_cast<double>(s.target_duration_ms) / 1000.0) * s.target_qps);
    s.samples_per_query = s.performance_issue_unique
                              ? s.performance_sample_count
                              : std::max<uint64_t>(s.min_query_count, target_sample_count);
    s.min_query_count = 1;
    s.target_duration_ms = 0;
  }

  // Equal issue for SingleStream: a whole number of passes over the QSL's performance set (its
  // reported count, not the override), always adding one more pass. A count of 0 would divide
  // by zero in the official LoadGen; ValidateForRun rejects it.
  if (requested.scenario == TestScenario::SingleStream && s.sample_concatenate_permutation &&
      qsl_performance_count != 0) {
    uint64_t expected =
        TruncToU64(2.0 * (static_cast<double>(s.target_duration_ms) / 1000.0) * s.target_qps);
    uint64_t m = std::max(s.min_query_count, expected);
    s.min_query_count = m + qsl_performance_count - (m % qsl_performance_count);
  }

  s.min_sample_count = s.min_query_count * s.samples_per_query;
}

// The official LoadGen logs these two conflicts and runs anyway.
void ReportConflictingIssueModes(const EffectiveSettings& s, Diagnostics* diagnostics) {
  if (s.performance_issue_same && s.performance_issue_same_index >= s.performance_sample_count) {
    diagnostics->push_back(SettingsDiagnostic(
        "Sample Idx to be repeated in performance_issue_same mode cannot be greater than "
        "loaded performance_sample_count. performance_issue_same_index: " +
            Num(s.performance_issue_same_index) +
            " performance_sample_count: " + Num(s.performance_sample_count),
        kLineSameIndex));
  }
  if (s.performance_issue_unique && s.performance_issue_same) {
    diagnostics->push_back(SettingsDiagnostic(
        "Performance_issue_unique and performance_issue_same, both cannot be true at the same "
        "time. performance_issue_unique: 1 performance_issue_same: 1",
        kLineUniqueAndSame));
  }
}

[[noreturn]] void Fail(const std::string& message) { throw SettingsError(message); }

// What a run loads and which series it runs, as the checks below need them.
struct RunShape {
  bool runs_performance = false;
  bool runs_accuracy = false;
  uint64_t perf_set = 0;               // samples loaded for the performance series
  uint64_t accuracy_universe = 0;      // samples the accuracy sets cover
  uint64_t accuracy_smallest_set = 0;  // the smallest accuracy set
  std::string scenario_name;
};

RunShape ShapeOf(const EffectiveSettings& effective, uint64_t qsl_total_count) {
  RunShape shape;
  const TestScenario scenario = effective.scenario;
  const TestMode mode = effective.mode;
  shape.scenario_name = ScenarioName(scenario);
  // FindPeakPerformance outside Server only logs an error and runs nothing.
  shape.runs_performance =
      mode == TestMode::SubmissionRun || mode == TestMode::PerformanceOnly ||
      (mode == TestMode::FindPeakPerformance && scenario == TestScenario::Server);
  shape.runs_accuracy = mode == TestMode::SubmissionRun || mode == TestMode::AccuracyOnly;

  // Sizes of the sets the run loads (official loadgen/loadgen.cc, GenerateLoadableSets).
  shape.perf_set = std::min(effective.performance_sample_count, qsl_total_count);
  shape.accuracy_universe = std::min(effective.accuracy_sample_count, qsl_total_count);
  // Accuracy sets are chunks of performance_sample_count (one set of everything when it is 0);
  // the last chunk may be smaller.
  shape.accuracy_smallest_set = shape.accuracy_universe;
  const uint64_t chunk = effective.performance_sample_count;
  if (chunk != 0 && chunk < shape.accuracy_universe) {
    const uint64_t rest = shape.accuracy_universe % chunk;
    shape.accuracy_smallest_set = rest != 0 ? rest : chunk;
  }
  return shape;
}

void CheckSampleCounts(const EffectiveSettings& effective, const mlperf::TestSettings& requested,
                       const RunShape& shape, uint64_t qsl_performance_count,
                       uint64_t qsl_total_count) {
  const TestScenario scenario = effective.scenario;
  if (scenario == TestScenario::SingleStream && requested.sample_concatenate_permutation &&
      qsl_performance_count == 0) {
    Fail(
        "sample_concatenate_permutation (equal issue) in SingleStream needs the QSL's "
        "PerformanceSampleCount() to be > 0, but it reports 0 (the official LoadGen divides "
        "by zero): make the QSL report its performance sample count");
  }

  if (shape.runs_performance) {
    if (qsl_total_count == 0) {
      Fail(
          "the QSL reports TotalSampleCount() = 0: a performance run needs at least one "
          "sample");
    }
    if (effective.performance_sample_count == 0) {
      Fail(
          "performance_sample_count is 0 (the QSL reports PerformanceSampleCount() = 0 and "
          "performance_sample_count_override is 0): set performance_sample_count_override "
          "or make the QSL report how many samples fit in memory");
    }
  }
  if (shape.runs_accuracy && shape.accuracy_universe == 0) {
    Fail("the QSL reports TotalSampleCount() = 0: an accuracy run needs at least one sample");
  }
}

// Negative (and NaN) Server/Offline QPS are replaced by 1 with a logged error, as in the
// official LoadGen; the values checked here are the ones it cannot run with.
void CheckRates(const EffectiveSettings& effective, const mlperf::TestSettings& requested,
                const RunShape& shape) {
  const TestScenario scenario = effective.scenario;
  if (scenario == TestScenario::Server) {
    if (requested.server_target_qps == 0) {
      Fail(
          "server_target_qps is 0: the Poisson schedule would have infinite gaps; set "
          "server_target_qps to the expected queries per second (> 0)");
    }
    if (std::isinf(requested.server_target_qps)) {
      Fail(
          "server_target_qps is infinite: the schedule would never advance; set a finite "
          "queries-per-second value");
    }
  }
  if (scenario == TestScenario::Offline && std::isinf(requested.offline_expected_qps)) {
    Fail(
        "offline_expected_qps is infinite: the Offline query size cannot be computed; set a "
        "finite queries-per-second value");
  }
  if (shape.runs_performance &&
      (scenario == TestScenario::SingleStream || scenario == TestScenario::MultiStream)) {
    const bool single = scenario == TestScenario::SingleStream;
    const double latency = single ? requested.single_stream_expected_latency_ns
                                  : requested.multi_stream_expected_latency_ns;
    const std::string name =
        single ? "single_stream_expected_latency_ns" : "multi_stream_expected_latency_ns";
    const bool has_horizon =
        effective.target_duration_ms > 0 && !effective.performance_issue_unique;
    if (std::isnan(latency) || std::isinf(latency)) {
      Fail(name + " is " + logging::FormatG6(latency) +
           ": set it to the expected latency of one query in nanoseconds (> 0)");
    }
    if (has_horizon && SecondsToNs(1.0 / effective.target_qps) <= 0) {
      Fail(name + " is " + logging::FormatG6(latency) +
           ": with min_duration_ms > 0 queries are generated every expected latency, so a "
           "value below 1 ns never reaches the duration; set it to the expected latency of "
           "one query in nanoseconds (>= 1)");
    }
  }
}

void CheckMultiStream(const EffectiveSettings& effective, const RunShape& shape) {
  const TestScenario scenario = effective.scenario;
  if (scenario != TestScenario::MultiStream) return;
  const uint64_t spq = effective.samples_per_query;
  if (spq == 0) {
    Fail(
        "multi_stream_samples_per_query is 0: every MultiStream query needs at least one "
        "sample");
  }
  if (shape.runs_performance && spq > shape.perf_set) {
    Fail("multi_stream_samples_per_query (" + Num(spq) + ") is larger than the " +
         Num(shape.perf_set) +
         " samples loaded for the performance run: lower samples_per_query or raise "
         "performance_sample_count_override");
  }
  if (shape.runs_accuracy && shape.accuracy_smallest_set + 1 < spq) {
    Fail("an accuracy set has only " + Num(shape.accuracy_smallest_set) +
         " samples, fewer than multi_stream_samples_per_query - 1 (" + Num(spq - 1) +
         "), so the MultiStream padding would read past it: raise "
         "performance_sample_count_override or adjust accuracy_sample_count_override");
  }
}

void CheckQueriesGenerated(const EffectiveSettings& effective, const RunShape& shape,
                           uint64_t qsl_total_count) {
  const TestScenario scenario = effective.scenario;
  if (!shape.runs_performance) return;
  const bool unique = effective.performance_issue_unique;
  const uint64_t spq = effective.samples_per_query;
  uint64_t generated;
  if (scenario == TestScenario::Offline) {
    if (spq == 0) {
      Fail(
          "the Offline query would have 0 samples (min_query_count is 0 and "
          "min_duration_ms x offline_expected_qps gives 0): set min_query_count >= 1");
    }
    generated = unique ? shape.perf_set / spq : 1;
  } else if (unique) {
    const uint64_t loaded = shape.perf_set + (scenario == TestScenario::MultiStream ? spq - 1 : 0);
    generated = loaded / spq;
  } else {
    generated = (effective.min_query_count > 0 || effective.target_duration_ms > 0) ? 1 : 0;
  }
  if (generated != 0) return;
  if (scenario == TestScenario::Offline) {
    Fail("performance_issue_unique in Offline issues performance_sample_count (" +
         Num(effective.performance_sample_count) + ") distinct samples, but the QSL has only " +
         Num(qsl_total_count) +
         ": lower performance_sample_count_override to at most TotalSampleCount()");
  }
  Fail("no queries would be generated: min_query_count and min_duration_ms are both 0 in " +
       shape.scenario_name + "; set min_query_count >= 1 or min_duration_ms > 0");
}

void CheckSameIndex(const EffectiveSettings& effective, const RunShape& shape) {
  const TestScenario scenario = effective.scenario;
  const bool uses_same = effective.performance_issue_same &&
                         (!effective.performance_issue_unique || scenario == TestScenario::Offline);
  if (!uses_same) return;
  const uint64_t index = effective.performance_issue_same_index;
  if (shape.runs_performance && index >= shape.perf_set) {
    Fail("performance_issue_same_index (" + Num(index) + ") must be smaller than the " +
         Num(shape.perf_set) + " loaded performance samples: lower performance_issue_same_index");
  }
  if (shape.runs_accuracy && index >= shape.accuracy_smallest_set) {
    Fail("performance_issue_same_index (" + Num(index) + ") must be smaller than every " +
         "accuracy set (the smallest has " + Num(shape.accuracy_smallest_set) +
         " samples): lower performance_issue_same_index or turn performance_issue_same off "
         "for accuracy runs");
  }
}

void CheckPercentileAndFindPeak(const EffectiveSettings& effective, const RunShape& shape) {
  const TestScenario scenario = effective.scenario;
  const TestMode mode = effective.mode;
  if (shape.runs_performance) {
    const double p = effective.target_latency_percentile;
    if (!(p >= 0 && p < 1)) {
      Fail("the " + shape.scenario_name + " target latency percentile is " + logging::FormatG6(p) +
           ": it must be in [0, 1) (0.99 for the 99th percentile); percentiles >= 1 index past "
           "the end of the latencies");
    }
  }

  if (mode == TestMode::FindPeakPerformance && scenario == TestScenario::Server) {
    const int decimals = effective.server_find_peak_qps_decimals_of_precision;
    if (decimals < 0 || decimals > 255) {
      Fail("server_find_peak_qps_decimals_of_precision is " + std::to_string(decimals) +
           ": it must be between 0 and 255 (the official LoadGen stores it in 8 bits)");
    }
    const double step = effective.server_find_peak_qps_boundary_step_size;
    if (!(step > 0) || std::isinf(step)) {
      Fail("server_find_peak_qps_boundary_step_size is " + logging::FormatG6(step) +
           ": it must be a finite value > 0 (each boundary step multiplies the QPS by "
           "1 + step)");
    }
  }
}

}  // namespace

EffectiveSettings Normalize(const mlperf::TestSettings& requested, uint64_t qsl_performance_count,
                            uint64_t qsl_total_count, Diagnostics* diagnostics) {
  EffectiveSettings s = CopyRequested(requested);
  ApplyScenarioTargets(requested, s, diagnostics);
  s.performance_sample_count = requested.performance_sample_count_override == 0
                                   ? qsl_performance_count
                                   : requested.performance_sample_count_override;
  s.accuracy_sample_count = requested.accuracy_sample_count_override == 0
                                ? qsl_total_count
                                : requested.accuracy_sample_count_override;
  s.sample_concatenate_permutation = requested.sample_concatenate_permutation;

  SizeQueries(requested, qsl_performance_count, s);
  ReportConflictingIssueModes(s, diagnostics);
  return s;
}

void ValidateForRun(const EffectiveSettings& effective, const mlperf::TestSettings& requested,
                    uint64_t qsl_performance_count, uint64_t qsl_total_count) {
  const RunShape shape = ShapeOf(effective, qsl_total_count);
  CheckSampleCounts(effective, requested, shape, qsl_performance_count, qsl_total_count);
  CheckRates(effective, requested, shape);
  CheckMultiStream(effective, shape);
  CheckQueriesGenerated(effective, shape, qsl_total_count);
  CheckSameIndex(effective, shape);
  CheckPercentileAndFindPeak(effective, shape);
}

}  // namespace loadgen::settings
