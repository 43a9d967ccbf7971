// Effective settings (docs/official-behaviour.md#settings-effective) and the run checks that
// replace the official crashes (#settings-checks).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "common/errors.h"
#include "settings/effective_settings.h"
#include "test_settings.h"

namespace loadgen::settings {
namespace {

using mlperf::TestMode;
using mlperf::TestScenario;
using mlperf::TestSettings;

TestSettings Requested(TestScenario scenario, TestMode mode = TestMode::PerformanceOnly) {
  TestSettings s;
  s.scenario = scenario;
  s.mode = mode;
  return s;
}

EffectiveSettings Normalized(const TestSettings& requested, uint64_t performance_count = 128,
                             uint64_t total_count = 1024, Diagnostics* diagnostics = nullptr) {
  Diagnostics ignored;
  return Normalize(requested, performance_count, total_count,
                   diagnostics != nullptr ? diagnostics : &ignored);
}

// ---------------------------------------------------------------------------------------------
// Normalize
// ---------------------------------------------------------------------------------------------

TEST(EffectiveSettingsTest, SingleStream) {
  TestSettings req = Requested(TestScenario::SingleStream);
  req.single_stream_expected_latency_ns = 1011;
  Diagnostics diagnostics;
  EffectiveSettings s = Normalized(req, 128, 1024, &diagnostics);
  EXPECT_TRUE(diagnostics.empty());
  EXPECT_EQ(s.scenario, TestScenario::SingleStream);
  EXPECT_EQ(s.mode, TestMode::PerformanceOnly);
  EXPECT_EQ(s.samples_per_query, 1u);
  EXPECT_EQ(s.target_qps, 1e9 / 1011);
  EXPECT_EQ(s.target_latency_ns, 0);
  EXPECT_EQ(s.target_latency_percentile, 0.90);
  EXPECT_EQ(s.max_async_queries, 1u);
  EXPECT_EQ(s.target_duration_ms, 10000u);
  EXPECT_EQ(s.min_duration_ms, 10000u);
  EXPECT_EQ(s.max_duration_ms, 0u);
  EXPECT_EQ(s.min_query_count, 100u);
  EXPECT_EQ(s.min_sample_count, 100u);
  EXPECT_EQ(s.performance_sample_count, 128u);
  EXPECT_EQ(s.accuracy_sample_count, 1024u);
}

TEST(EffectiveSettingsTest, MultiStream) {
  TestSettings req = Requested(TestScenario::MultiStream);
  req.multi_stream_samples_per_query = 3;
  req.min_query_count = 662;
  EffectiveSettings s = Normalized(req);
  EXPECT_EQ(s.samples_per_query, 3u);
  EXPECT_EQ(s.target_qps, 125.0);
  EXPECT_EQ(s.target_latency_percentile, 0.99);
  EXPECT_EQ(s.max_async_queries, 1u);
  EXPECT_EQ(s.target_duration_ms, 10000u);
  EXPECT_EQ(s.min_query_count, 662u);
  EXPECT_EQ(s.min_sample_count, 1986u);
}

TEST(EffectiveSettingsTest, Server) {
  TestSettings req = Requested(TestScenario::Server);
  req.server_target_qps = 600.5;
  req.server_target_latency_ns = 50000000;
  req.server_target_latency_percentile = 0.999;
  req.server_max_async_queries = 7;
  req.server_coalesce_queries = true;
  req.server_num_issue_query_threads = 3;
  req.server_find_peak_qps_decimals_of_precision = 2;
  req.server_find_peak_qps_boundary_step_size = 0.5;
  EffectiveSettings s = Normalized(req);
  EXPECT_EQ(s.target_qps, 600.5);
  EXPECT_EQ(s.target_latency_ns, 50000000);
  EXPECT_EQ(s.target_latency_percentile, 0.999);
  EXPECT_EQ(s.max_async_queries, 7u);
  EXPECT_EQ(s.samples_per_query, 1u);
  EXPECT_EQ(s.min_sample_count, 100u);
  EXPECT_TRUE(s.server_coalesce_queries);
  EXPECT_EQ(s.server_num_issue_query_threads, 3u);
  EXPECT_EQ(s.server_find_peak_qps_decimals_of_precision, 2);
  EXPECT_EQ(s.server_find_peak_qps_boundary_step_size, 0.5);
}

TEST(EffectiveSettingsTest, NegativeOrNanQpsIsLoggedAndReplacedByOne) {
  TestSettings req = Requested(TestScenario::Server);
  req.server_target_qps = -5;
  Diagnostics diagnostics;
  EXPECT_EQ(Normalized(req, 128, 1024, &diagnostics).target_qps, 1.0);
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].key, "error_invalid_test_settings");
  EXPECT_EQ(diagnostics[0].message,
            "Invalid value for server_target_qps requested. requested: -5 using: 1");
  EXPECT_EQ(diagnostics[0].severity, Severity::kError);
  EXPECT_STREQ(diagnostics[0].file, "test_settings_internal.cc");
  EXPECT_EQ(diagnostics[0].line, 85);

  req.server_target_qps = std::nan("");
  diagnostics.clear();
  EXPECT_EQ(Normalized(req, 128, 1024, &diagnostics).target_qps, 1.0);
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].message,
            "Invalid value for server_target_qps requested. requested: nan using: 1");

  TestSettings offline = Requested(TestScenario::Offline);
  offline.offline_expected_qps = -1234567.25;
  diagnostics.clear();
  EXPECT_EQ(Normalized(offline, 128, 1024, &diagnostics).target_qps, 1.0);
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].message,
            "Invalid value for offline_expected_qps requested. requested: -1.23457e+06 using: 1");
  EXPECT_EQ(diagnostics[0].line, 111);
}

TEST(EffectiveSettingsTest, OfflineSizing) {
  TestSettings req = Requested(TestScenario::Offline);
  req.offline_expected_qps = 77;
  req.min_duration_ms = 1000;
  req.min_query_count = 1;
  EffectiveSettings s = Normalized(req);
  EXPECT_EQ(s.samples_per_query, 84u);  // trunc(1.1 · 1 s · 77)
  EXPECT_EQ(s.min_query_count, 1u);
  EXPECT_EQ(s.target_duration_ms, 0u);
  EXPECT_EQ(s.min_duration_ms, 1000u);
  EXPECT_EQ(s.min_sample_count, 84u);
  EXPECT_EQ(s.target_latency_percentile, 0.99);
  EXPECT_EQ(s.max_async_queries, 1u);
  EXPECT_EQ(s.target_latency_ns, 0);

  // (1.1 × (ms / 1000)) × qps, left to right: other orders give 1551 and 780.
  req.offline_expected_qps = 10000;
  req.min_duration_ms = 141;
  EXPECT_EQ(Normalized(req).samples_per_query, 1550u);
  req.min_duration_ms = 71;
  EXPECT_EQ(Normalized(req).samples_per_query, 781u);

  // min_query_count wins when larger (resnet50 rules: 24576 vs trunc(660.0000000000001)).
  req.offline_expected_qps = 1;
  req.min_duration_ms = 600000;
  req.min_query_count = 24576;
  EXPECT_EQ(Normalized(req).samples_per_query, 24576u);

  // performance_issue_unique: one query of the performance sample count.
  req.performance_issue_unique = true;
  req.performance_sample_count_override = 500;
  EffectiveSettings unique = Normalized(req);
  EXPECT_EQ(unique.samples_per_query, 500u);
  EXPECT_EQ(unique.min_sample_count, 500u);
}

TEST(EffectiveSettingsTest, SingleStreamEqualIssueRoundsUpToWholePasses) {
  TestSettings req = Requested(TestScenario::SingleStream);
  req.sample_concatenate_permutation = true;
  req.min_duration_ms = 0;
  req.min_query_count = 10;
  // docs/official-behaviour.md#schedule-test-vectors, TV7.
  EXPECT_EQ(Normalized(req, 6, 30).min_query_count, 12u);

  req.min_duration_ms = 100;  // 2 × 0.1 s × 1000 qps = 200 expected
  req.min_query_count = 20;
  EffectiveSettings s = Normalized(req, 16, 1024);
  EXPECT_EQ(s.min_query_count, 208u);
  EXPECT_EQ(s.min_sample_count, 208u);

  // An exact multiple still gets a whole extra pass.
  req.min_duration_ms = 0;
  req.min_query_count = 60;
  EXPECT_EQ(Normalized(req, 30, 1024).min_query_count, 90u);

  // The QSL's count, not the override.
  req.performance_sample_count_override = 7;
  EffectiveSettings overridden = Normalized(req, 30, 1024);
  EXPECT_EQ(overridden.min_query_count, 90u);
  EXPECT_EQ(overridden.performance_sample_count, 7u);

  // Other scenarios are not rounded here.
  TestSettings server = Requested(TestScenario::Server);
  server.sample_concatenate_permutation = true;
  server.min_query_count = 60;
  EXPECT_EQ(Normalized(server, 30, 1024).min_query_count, 60u);
}

TEST(EffectiveSettingsTest, SampleCountsAndStraightCopies) {
  TestSettings req = Requested(TestScenario::Server, TestMode::SubmissionRun);
  req.performance_sample_count_override = 64;
  req.accuracy_sample_count_override = 5000;
  req.max_duration_ms = 5;
  req.max_query_count = 6;
  req.qsl_rng_seed = 1;
  req.sample_index_rng_seed = 2;
  req.schedule_rng_seed = 3;
  req.accuracy_log_rng_seed = 4;
  req.accuracy_log_probability = 0.25;
  req.accuracy_log_sampling_target = 9;
  req.print_timestamps = true;
  req.use_token_latencies = true;
  req.server_ttft_latency = 11;
  req.server_tpot_latency = 12;
  req.infer_token_latencies = true;
  req.token_latency_scaling_factor = 69;
  req.sample_concatenate_permutation = true;
  EffectiveSettings s = Normalized(req, 128, 1024);
  EXPECT_EQ(s.mode, TestMode::SubmissionRun);
  EXPECT_EQ(s.performance_sample_count, 64u);
  EXPECT_EQ(s.accuracy_sample_count, 5000u);  // capped only when the sets are built
  EXPECT_EQ(s.max_duration_ms, 5u);
  EXPECT_EQ(s.max_query_count, 6u);
  EXPECT_EQ(s.qsl_rng_seed, 1u);
  EXPECT_EQ(s.sample_index_rng_seed, 2u);
  EXPECT_EQ(s.schedule_rng_seed, 3u);
  EXPECT_EQ(s.accuracy_log_rng_seed, 4u);
  EXPECT_EQ(s.accuracy_log_probability, 0.25);
  EXPECT_EQ(s.accuracy_log_sampling_target, 9u);
  EXPECT_TRUE(s.print_timestamps);
  EXPECT_TRUE(s.use_token_latencies);
  EXPECT_EQ(s.server_ttft_latency, 11);
  EXPECT_EQ(s.server_tpot_latency, 12);
  EXPECT_TRUE(s.infer_token_latencies);
  EXPECT_EQ(s.token_latency_scaling_factor, 69);
  EXPECT_TRUE(s.sample_concatenate_permutation);
}

TEST(EffectiveSettingsTest, SameIndexAndUniqueSameAreLogged) {
  TestSettings req = Requested(TestScenario::SingleStream);
  req.performance_issue_unique = true;
  req.performance_issue_same = true;
  req.performance_issue_same_index = 500;
  Diagnostics diagnostics;
  EffectiveSettings s = Normalized(req, 128, 1024, &diagnostics);
  EXPECT_TRUE(s.performance_issue_unique);
  EXPECT_TRUE(s.performance_issue_same);
  EXPECT_EQ(s.performance_issue_same_index, 500u);
  ASSERT_EQ(diagnostics.size(), 2u);
  EXPECT_EQ(diagnostics[0].message,
            "Sample Idx to be repeated in performance_issue_same mode cannot be greater than "
            "loaded performance_sample_count. performance_issue_same_index: 500 "
            "performance_sample_count: 128");
  EXPECT_EQ(diagnostics[0].line, 194);
  EXPECT_EQ(diagnostics[1].message,
            "Performance_issue_unique and performance_issue_same, both cannot be true at the "
            "same time. performance_issue_unique: 1 performance_issue_same: 1");
  EXPECT_EQ(diagnostics[1].line, 215);
  EXPECT_EQ(diagnostics[1].key, "error_invalid_test_settings");

  req.performance_issue_unique = false;
  req.performance_issue_same_index = 127;
  diagnostics.clear();
  Normalized(req, 128, 1024, &diagnostics);
  EXPECT_TRUE(diagnostics.empty());
}

// ---------------------------------------------------------------------------------------------
// ValidateForRun
// ---------------------------------------------------------------------------------------------

// Normalizes and validates; returns the SettingsError message, or "" when the run may go ahead.
std::string Check(const TestSettings& req, uint64_t performance_count = 128,
                  uint64_t total_count = 1024) {
  Diagnostics diagnostics;
  EffectiveSettings s = Normalize(req, performance_count, total_count, &diagnostics);
  try {
    ValidateForRun(s, req, performance_count, total_count);
  } catch (const SettingsError& e) {
    EXPECT_NE(std::string(e.what()), "");
    return e.what();
  }
  return "";
}

bool Mentions(const std::string& message, const std::string& word) {
  return message.find(word) != std::string::npos;
}

TEST(ValidateForRunTest, DefaultsAndOfficialRulesPass) {
  for (TestScenario scenario : {TestScenario::SingleStream, TestScenario::MultiStream,
                                TestScenario::Server, TestScenario::Offline}) {
    for (TestMode mode : {TestMode::SubmissionRun, TestMode::AccuracyOnly,
                          TestMode::PerformanceOnly, TestMode::FindPeakPerformance}) {
      EXPECT_EQ(Check(Requested(scenario, mode)), "")
          << static_cast<int>(scenario) << "/" << static_cast<int>(mode);
    }
  }
}

TEST(ValidateForRunTest, NoSamples) {
  TestSettings req = Requested(TestScenario::SingleStream);
  EXPECT_TRUE(Mentions(Check(req, 0, 1024), "performance_sample_count_override"));
  EXPECT_TRUE(Mentions(Check(req, 128, 0), "TotalSampleCount() = 0"));
  req.performance_sample_count_override = 5;
  EXPECT_EQ(Check(req, 0, 1024), "");

  // Accuracy runs only need samples to exist: performance count 0 makes one set of all.
  TestSettings accuracy = Requested(TestScenario::SingleStream, TestMode::AccuracyOnly);
  EXPECT_EQ(Check(accuracy, 0, 1024), "");
  EXPECT_TRUE(Mentions(Check(accuracy, 0, 0), "TotalSampleCount() = 0"));
  // FindPeakPerformance outside Server runs nothing, so nothing is checked.
  EXPECT_EQ(Check(Requested(TestScenario::SingleStream, TestMode::FindPeakPerformance), 0, 0), "");
}

TEST(ValidateForRunTest, ZeroGeneratedQueries) {
  for (TestScenario scenario :
       {TestScenario::SingleStream, TestScenario::MultiStream, TestScenario::Server}) {
    TestSettings req = Requested(scenario);
    req.min_query_count = 0;
    req.min_duration_ms = 0;
    EXPECT_TRUE(Mentions(Check(req), "no queries would be generated")) << int(scenario);
    req.min_query_count = 1;
    EXPECT_EQ(Check(req), "");
    // Accuracy runs size themselves from the sets.
    req.min_query_count = 0;
    req.mode = TestMode::AccuracyOnly;
    EXPECT_EQ(Check(req), "");
  }

  TestSettings offline = Requested(TestScenario::Offline);
  offline.min_query_count = 0;
  offline.min_duration_ms = 0;
  EXPECT_TRUE(Mentions(Check(offline), "0 samples"));
  offline.min_duration_ms = 1000;  // 1.1 × 1 s × 1 qps = 1 sample
  EXPECT_EQ(Check(offline), "");
  offline.offline_expected_qps = 0;
  EXPECT_TRUE(Mentions(Check(offline), "0 samples"));

  TestSettings unique = Requested(TestScenario::Offline);
  unique.performance_issue_unique = true;
  unique.performance_sample_count_override = 2000;
  EXPECT_TRUE(Mentions(Check(unique, 128, 1024), "performance_issue_unique"));
  unique.performance_sample_count_override = 1024;
  EXPECT_EQ(Check(unique, 128, 1024), "");
}

TEST(ValidateForRunTest, RatesThatNeverEnd) {
  TestSettings server = Requested(TestScenario::Server);
  server.server_target_qps = 0;
  EXPECT_TRUE(Mentions(Check(server), "server_target_qps"));
  server.server_target_qps = HUGE_VAL;
  EXPECT_TRUE(Mentions(Check(server), "server_target_qps"));
  server.mode = TestMode::AccuracyOnly;  // accuracy runs follow the schedule too
  EXPECT_TRUE(Mentions(Check(server), "server_target_qps"));
  // Negative and NaN are logged and replaced by 1, as in the official LoadGen.
  server.server_target_qps = -5;
  EXPECT_EQ(Check(server), "");
  server.server_target_qps = std::nan("");
  EXPECT_EQ(Check(server), "");

  TestSettings offline = Requested(TestScenario::Offline);
  offline.offline_expected_qps = HUGE_VAL;
  EXPECT_TRUE(Mentions(Check(offline), "offline_expected_qps"));

  for (double latency : {0.0, -1.0, 0.5, std::nan(""), HUGE_VAL}) {
    TestSettings single = Requested(TestScenario::SingleStream);
    single.single_stream_expected_latency_ns = latency;
    EXPECT_TRUE(Mentions(Check(single), "single_stream_expected_latency_ns")) << latency;
    TestSettings multi = Requested(TestScenario::MultiStream);
    multi.multi_stream_expected_latency_ns = latency;
    EXPECT_TRUE(Mentions(Check(multi), "multi_stream_expected_latency_ns")) << latency;
  }
  // Without a duration horizon the official LoadGen copes with a zero latency.
  TestSettings no_horizon = Requested(TestScenario::SingleStream);
  no_horizon.single_stream_expected_latency_ns = 0;
  no_horizon.min_duration_ms = 0;
  EXPECT_EQ(Check(no_horizon), "");
  no_horizon.mode = TestMode::AccuracyOnly;
  no_horizon.min_duration_ms = 10000;
  EXPECT_EQ(Check(no_horizon), "");
}

TEST(ValidateForRunTest, SameIndexOutsideTheLoadedSet) {
  TestSettings req = Requested(TestScenario::SingleStream);
  req.performance_issue_same = true;
  req.performance_issue_same_index = 128;
  EXPECT_TRUE(Mentions(Check(req, 128, 1024), "performance_issue_same_index (128)"));
  req.performance_issue_same_index = 127;
  EXPECT_EQ(Check(req, 128, 1024), "");
  // The loaded set is capped by the QSL total.
  req.performance_sample_count_override = 2000;
  req.performance_issue_same_index = 1500;
  EXPECT_TRUE(Mentions(Check(req, 128, 1024), "performance_issue_same_index"));

  // unique takes precedence over same, except in Offline.
  req.performance_issue_unique = true;
  EXPECT_EQ(Check(req, 128, 1024), "");
  req.scenario = TestScenario::Offline;
  req.performance_sample_count_override = 1024;
  EXPECT_TRUE(Mentions(Check(req, 128, 1024), "performance_issue_same_index"));

  // Accuracy sets: 1000 samples in sets of 128, the last one holds 104.
  TestSettings accuracy = Requested(TestScenario::SingleStream, TestMode::AccuracyOnly);
  accuracy.performance_issue_same = true;
  accuracy.performance_issue_same_index = 110;
  EXPECT_TRUE(Mentions(Check(accuracy, 128, 1000), "the smallest has 104"));
  accuracy.performance_issue_same_index = 103;
  EXPECT_EQ(Check(accuracy, 128, 1000), "");
}

TEST(ValidateForRunTest, TargetPercentile) {
  TestSettings req = Requested(TestScenario::Server);
  for (double p : {1.0, 1.5, -0.1, std::nan("")}) {
    req.server_target_latency_percentile = p;
    EXPECT_TRUE(Mentions(Check(req), "percentile")) << p;
  }
  req.server_target_latency_percentile = 0;  // the official reports the minimum; no overrun
  EXPECT_EQ(Check(req), "");
  req.server_target_latency_percentile = 0.999;
  EXPECT_EQ(Check(req), "");
  TestSettings accuracy = Requested(TestScenario::SingleStream, TestMode::AccuracyOnly);
  accuracy.single_stream_target_latency_percentile = 1.0;
  EXPECT_EQ(Check(accuracy), "");
}

TEST(ValidateForRunTest, MultiStreamSamplesPerQuery) {
  TestSettings req = Requested(TestScenario::MultiStream);
  req.multi_stream_samples_per_query = 0;
  EXPECT_TRUE(Mentions(Check(req), "multi_stream_samples_per_query is 0"));
  req.multi_stream_samples_per_query = 129;
  EXPECT_TRUE(Mentions(Check(req, 128, 1024), "larger than the 128"));
  req.multi_stream_samples_per_query = 128;
  EXPECT_EQ(Check(req, 128, 1024), "");

  TestSettings accuracy = Requested(TestScenario::MultiStream, TestMode::AccuracyOnly);
  accuracy.multi_stream_samples_per_query = 4;
  EXPECT_TRUE(Mentions(Check(accuracy, 4, 9), "only 1 samples"));  // sets 4, 4, 1
  accuracy.multi_stream_samples_per_query = 3;
  EXPECT_EQ(Check(accuracy, 4, 10), "");  // sets 4, 4, 2: padding needs 2
  accuracy.multi_stream_samples_per_query = 0;
  EXPECT_TRUE(Mentions(Check(accuracy, 4, 10), "multi_stream_samples_per_query is 0"));
}

TEST(ValidateForRunTest, EqualIssueNeedsTheQslPerformanceCount) {
  TestSettings req = Requested(TestScenario::SingleStream, TestMode::AccuracyOnly);
  req.sample_concatenate_permutation = true;
  req.performance_sample_count_override = 10;
  EXPECT_TRUE(Mentions(Check(req, 0, 1024), "PerformanceSampleCount()"));
  EXPECT_EQ(Check(req, 1, 1024), "");
}

TEST(ValidateForRunTest, FindPeakParameters) {
  TestSettings req = Requested(TestScenario::Server, TestMode::FindPeakPerformance);
  for (int decimals : {-1, 256}) {
    req.server_find_peak_qps_decimals_of_precision = decimals;
    EXPECT_TRUE(Mentions(Check(req), "server_find_peak_qps_decimals_of_precision")) << decimals;
  }
  req.server_find_peak_qps_decimals_of_precision = 255;
  EXPECT_EQ(Check(req), "");
  for (double step : {0.0, -1.0, std::nan(""), HUGE_VAL}) {
    req.server_find_peak_qps_boundary_step_size = step;
    EXPECT_TRUE(Mentions(Check(req), "server_find_peak_qps_boundary_step_size")) << step;
  }
  // Not used outside FindPeakPerformance on Server.
  req.mode = TestMode::PerformanceOnly;
  EXPECT_EQ(Check(req), "");
}

}  // namespace
}  // namespace loadgen::settings
