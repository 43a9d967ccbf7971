// Metrics, validity and recommendations of the results stage (official loadgen/results.cc,
// PerformanceSummary; docs/official-behaviour.md#results), and the summary text written from them.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "results/performance_summary.h"
#include "results/summary.h"

namespace loadgen::results {
namespace {

using mlperf::TestScenario;

settings::EffectiveSettings BaseSettings(TestScenario scenario) {
  settings::EffectiveSettings s;
  s.scenario = scenario;
  s.mode = mlperf::TestMode::PerformanceOnly;
  s.min_duration_ms = 1000;
  s.min_query_count = 100;
  s.min_sample_count = 100;
  s.target_latency_percentile = scenario == TestScenario::SingleStream ? 0.9 : 0.99;
  return s;
}

// 1..n ns in a scrambled order (Summarize must sort).
std::vector<int64_t> Scrambled(int64_t n, int64_t scale = 1) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = ((i * 37) % n + 1) * scale;
  return v;
}

PerformanceResult Result(std::vector<int64_t> latencies, double seconds) {
  PerformanceResult r;
  r.queries_issued = latencies.size();
  r.sample_latencies = std::move(latencies);
  r.final_query_scheduled_time_s = seconds;
  r.final_query_issued_time_s = seconds;
  r.final_query_all_samples_done_time_s = seconds;
  r.max_latency_s = seconds;
  return r;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(ResultsPercentile, TruncatesTheDoubleProduct) {
  EXPECT_EQ(PercentileIndex(165, 0.9), 148u);  // 148.5
  EXPECT_EQ(PercentileIndex(100, 0.29), 28u);  // 28.999999999999996, not rounded to 29
  EXPECT_EQ(PercentileIndex(10, 0.999), 9u);
  EXPECT_EQ(PercentileIndex(1000, 0.999), 999u);
}

TEST(ResultsPercentile, OutOfRangeIsClampedToTheLastElement) {
  EXPECT_EQ(PercentileIndex(100, 1.0), 99u);
  EXPECT_EQ(PercentileIndex(100, 2.0), 99u);
  EXPECT_EQ(PercentileIndex(100, -1.0), 0u);
  EXPECT_EQ(PercentileIndex(100, std::nan("")), 0u);
  EXPECT_EQ(PercentileIndex(0, 0.5), 0u);
}

TEST(ResultsSingleStream, StatisticsAndThroughput) {
  settings::EffectiveSettings st = BaseSettings(TestScenario::SingleStream);
  const PerformanceSummary s = Summarize(st, Result(Scrambled(200, 1000), 2.0));
  EXPECT_EQ(s.sample_latency.min, 1000);
  EXPECT_EQ(s.sample_latency.max, 200000);
  EXPECT_EQ(s.sample_latency.mean, 100500);
  EXPECT_EQ(s.sample_latency.at_target, 181000);         // sorted[180]
  EXPECT_EQ(s.sample_latency.at_percentile[0], 101000);  // sorted[100]
  EXPECT_EQ(s.sample_latency.at_percentile[5], 200000);  // sorted[trunc(199.8)]
  EXPECT_DOUBLE_EQ(s.qps_with_loadgen_overhead, 199 / 2.0);
  EXPECT_DOUBLE_EQ(s.qps_without_loadgen_overhead, 1 / (100500 / 1e9));
  EXPECT_TRUE(s.min_duration_met);
  EXPECT_TRUE(s.min_queries_met);
  EXPECT_TRUE(s.early_stopping_met);
  EXPECT_TRUE(s.valid());
  EXPECT_EQ(s.early_stopping_latency_ss, 191000);  // n=200 discards 9: sorted[190]
  EXPECT_EQ(s.early_stopping_latency_ms, 0);       // fewer than 662 queries
}

TEST(ResultsSingleStream, MeanIsIntegerDivision) {
  const PerformanceSummary s =
      Summarize(BaseSettings(TestScenario::SingleStream), Result({1, 2}, 1.0));
  EXPECT_EQ(s.sample_latency.mean, 1);
}

TEST(ResultsSingleStream, PercentileOfOneUsesTheLastElement) {
  settings::EffectiveSettings st = BaseSettings(TestScenario::SingleStream);
  st.target_latency_percentile = 1.0;
  const PerformanceSummary s = Summarize(st, Result(Scrambled(100), 2.0));
  EXPECT_EQ(s.sample_latency.at_target, 100);
  EXPECT_FALSE(s.early_stopping_met);
}

TEST(ResultsSingleStream, ShortRunIsInvalidWithRecommendations) {
  settings::EffectiveSettings st = BaseSettings(TestScenario::SingleStream);
  const PerformanceSummary s = Summarize(st, Result(Scrambled(10), 0.5));
  EXPECT_FALSE(s.min_duration_met);
  EXPECT_FALSE(s.min_queries_met);
  EXPECT_FALSE(s.early_stopping_met);
  // Every recommendation is data of the summary (the typed API reports the same texts).
  EXPECT_EQ(s.min_queries_recommendation,
            "The test exited early, before enough queries were issued.");
  EXPECT_EQ(s.InvalidReason(),
            "Decrease the expected latency so the loadgen pre-generates more queries. "
            "The test exited early, before enough queries were issued.");
  const std::string text = RenderSummary(s, "SUT");
  EXPECT_TRUE(Contains(text,
                       "Recommendations:\n"
                       " * Decrease the expected latency so the loadgen pre-generates more "
                       "queries.\n"
                       " * The test exited early, before enough queries were issued.\n"
                       "   See the detailed log for why this may have occurred.\n"
                       "Early Stopping Result:\n"
                       " * Only processed 10 queries.\n"));
}

TEST(ResultsSingleStream, MinQueriesAlsoNeedsTheSampleCount) {
  settings::EffectiveSettings st = BaseSettings(TestScenario::SingleStream);
  st.min_query_count = 10;
  st.min_sample_count = 11;
  const PerformanceSummary s = Summarize(st, Result(Scrambled(10), 5.0));
  EXPECT_FALSE(s.min_queries_met);
  st.min_sample_count = 10;
  EXPECT_EQ(Summarize(st, Result(Scrambled(10), 5.0)).min_queries_recommendation, "");
}

TEST(ResultsSingleStream, OnlyEarlyStoppingFailedGivesAnEmptyReason) {
  settings::EffectiveSettings st = BaseSettings(TestScenario::SingleStream);
  st.min_query_count = 10;
  st.min_sample_count = 10;
  const PerformanceSummary s = Summarize(st, Result(Scrambled(50), 5.0));
  EXPECT_FALSE(s.valid());
  EXPECT_EQ(s.InvalidReason(), "");
  EXPECT_TRUE(Contains(RenderSummary(s, "SUT"), "Recommendations:\nEarly Stopping Result:\n"));
}

TEST(ResultsMultiStream, UsesPerQueryLatencies) {
  settings::EffectiveSettings st = BaseSettings(TestScenario::MultiStream);
  st.samples_per_query = 2;
  st.min_query_count = 662;
  st.min_sample_count = 1324;
  PerformanceResult r = Result(Scrambled(1324), 1.0);
  r.queries_issued = 662;
  r.query_latencies = Scrambled(662, 10);
  const PerformanceSummary s = Summarize(st, r);
  EXPECT_EQ(s.query_latency.min, 10);
  EXPECT_EQ(s.query_latency.max, 6620);
  EXPECT_EQ(s.query_latency.mean, 3315);         // 10 * 663 / 2 = 3315
  EXPECT_EQ(s.query_latency.at_target, 6560);    // sorted[trunc(655.38)]
  EXPECT_EQ(s.early_stopping_latency_ms, 6620);  // 662 queries discard 0: sorted[661]
  EXPECT_EQ(s.sample_latency.max, 1324);
  EXPECT_TRUE(s.valid());
  const std::string text = RenderSummary(s, "SUT");
  EXPECT_TRUE(Contains(text, "99.0th percentile latency (ns) : 6560\n"));
  EXPECT_TRUE(Contains(text, "Per-query latency:  \nMin latency (ns)                : 10\n"));
}

TEST(ResultsServer, OverlatencyAndStrictConstraint) {
  settings::EffectiveSettings st = BaseSettings(TestScenario::Server);
  st.target_latency_ns = 99;
  // 1..100: sorted[99] = 100 is the 99th percentile; one sample above 99.
  PerformanceSummary s = Summarize(st, Result(Scrambled(100), 2.0));
  EXPECT_EQ(s.overlatency_query_count, 1u);
  EXPECT_FALSE(s.perf_constraints_met);
  EXPECT_EQ(s.perf_constraints_recommendation, "Reduce target QPS to improve latency.");
  EXPECT_DOUBLE_EQ(s.completed_samples_per_sec, 99 / 2.0);
  st.target_latency_ns = 100;  // equal passes
  s = Summarize(st, Result(Scrambled(100), 2.0));
  EXPECT_TRUE(s.perf_constraints_met);
  EXPECT_EQ(s.overlatency_query_count, 0u);
}

TEST(ResultsServer, ThroughputAndDurationUseTheirOwnTimes) {
  settings::EffectiveSettings st = BaseSettings(TestScenario::Server);
  st.target_latency_ns = 1000000;
  PerformanceResult r = Result(Scrambled(500), 0);
  r.final_query_scheduled_time_s = 0.999;
  r.final_query_issued_time_s = 2;
  r.final_query_all_samples_done_time_s = 1.25;
  const PerformanceSummary s = Summarize(st, r);
  EXPECT_DOUBLE_EQ(s.scheduled_samples_per_sec, 499 / 0.999);
  EXPECT_DOUBLE_EQ(s.completed_samples_per_sec, 499 / 1.25);
  EXPECT_FALSE(s.min_duration_met);  // the schedule, not wall time
  EXPECT_EQ(s.InvalidReason(),
            "Increase the target QPS so the loadgen pre-generates more queries. ");
  EXPECT_TRUE(s.early_stopping_met);
}

TEST(ResultsOffline, SamplesPerSecondAndDuration) {
  settings::EffectiveSettings st = BaseSettings(TestScenario::Offline);
  st.min_query_count = 1;
  st.min_sample_count = 110;
  PerformanceResult r = Result(Scrambled(110, 1000000), 0);
  r.queries_issued = 1;
  r.max_latency_s = 0.11;
  const PerformanceSummary s = Summarize(st, r);
  EXPECT_DOUBLE_EQ(s.samples_per_second, 110 / 0.11);
  EXPECT_FALSE(s.min_duration_met);
  EXPECT_TRUE(s.early_stopping_met);
  EXPECT_EQ(s.early_stopping_text, "");
  EXPECT_EQ(s.InvalidReason(),
            "Increase expected QPS so the loadgen pre-generates a larger (coalesced) query. ");
  EXPECT_TRUE(Contains(RenderSummary(s, "SUT"), "Samples per second: 1000\n"));
}

TEST(ResultsTokens, ThroughputQuirksAndShortVectors) {
  settings::EffectiveSettings st = BaseSettings(TestScenario::SingleStream);
  st.use_token_latencies = true;
  st.server_ttft_latency = 1000000;
  st.server_tpot_latency = 1000000;
  PerformanceResult r = Result(Scrambled(100, 1000), 2.0);
  r.final_query_all_samples_done_time_s = 4.0;
  r.tokens_per_sample.assign(100, 10);
  r.tokens_per_sample[0] = INT64_MIN;  // an unset slot does not count
  r.ttft_latencies = Scrambled(100, 10);
  r.tpot_latencies = Scrambled(50, 3);  // shorter: divisor and indices still use N = 100
  const PerformanceSummary s = Summarize(st, r);
  EXPECT_EQ(s.token_count, 990);
  EXPECT_DOUBLE_EQ(s.token_throughput_with_loadgen_overhead, 990 / 2.0);
  EXPECT_DOUBLE_EQ(s.token_throughput_per_ns, 990 / (50500.0 * 100));  // tokens per ns
  EXPECT_NEAR(s.token_throughput_without_loadgen_overhead, 990 / (50500e-9 * 100), 1e-9);
  EXPECT_DOUBLE_EQ(s.completed_tokens_per_second, 990 / 4.0);
  EXPECT_EQ(s.first_token_latency.mean, 505);
  EXPECT_EQ(s.first_token_latency.at_target, 910);
  EXPECT_EQ(s.time_per_output_token.mean, 1275 * 3 / 100);   // sum(1..50)*3 / 100
  EXPECT_EQ(s.time_per_output_token.at_percentile[0], 150);  // index 50 -> last element
}

TEST(ResultsTokens, TpotFailureSkipsTtftEarlyStopping) {
  settings::EffectiveSettings st = BaseSettings(TestScenario::SingleStream);
  st.use_token_latencies = true;
  PerformanceResult r = Result(Scrambled(55), 1.0);
  r.tokens_per_sample.assign(55, 2);
  r.ttft_latencies = Scrambled(55);
  r.tpot_latencies = Scrambled(55);
  const PerformanceSummary s = Summarize(st, r);
  EXPECT_FALSE(s.early_stopping_met);
  EXPECT_EQ(s.early_stopping_ttft_text, "");
  EXPECT_EQ(s.early_stopping_tpot_text,
            " * Only processed 55 queries.\n * Need to process at least 64 queries for early "
            "stopping.");
  EXPECT_TRUE(Contains(RenderSummary(s, "SUT"),
                       "TTFT Early Stopping Result:\n\nTPOT Early Stopping Result:\n * Only "));
}

TEST(ResultsTokens, SingleStreamKeepsTheTtftEstimateLast) {
  settings::EffectiveSettings st = BaseSettings(TestScenario::SingleStream);
  st.use_token_latencies = true;
  PerformanceResult r = Result(Scrambled(100), 3.0);
  r.tokens_per_sample.assign(100, 2);
  r.ttft_latencies = Scrambled(100, 7);
  r.tpot_latencies = Scrambled(100, 5);
  const PerformanceSummary s = Summarize(st, r);
  EXPECT_TRUE(s.early_stopping_met);
  EXPECT_TRUE(Contains(s.early_stopping_tpot_text, "estimate: 490\n"));
  EXPECT_TRUE(Contains(s.early_stopping_ttft_text, "estimate: 686\n"));
  EXPECT_EQ(s.early_stopping_latency_ss, 686);  // TTFT ran last
}

TEST(ResultsTokens, ServerChecksTtftAndTpotNotTheLatency) {
  settings::EffectiveSettings st = BaseSettings(TestScenario::Server);
  st.use_token_latencies = true;
  st.target_latency_ns = 0;  // as mlperf.conf sets it for token runs; not checked
  st.server_ttft_latency = 50;
  st.server_tpot_latency = 50;
  PerformanceResult r = Result(Scrambled(500), 2.0);
  r.tokens_per_sample.assign(500, 3);
  r.ttft_latencies = Scrambled(500);
  r.tpot_latencies = Scrambled(500);
  PerformanceSummary s = Summarize(st, r);
  EXPECT_FALSE(s.perf_constraints_met);
  EXPECT_EQ(s.perf_constraints_recommendation,
            "TTFT constrain not met: Reduce target QPS to improve latency.\n"
            " * TPOT constrain not met: Reduce target QPS to improve latency.");
  EXPECT_EQ(s.InvalidReason().substr(0, 70),
            "TTFT constrain not met: Reduce target QPS to improve latency.  * TPOT ");
  EXPECT_TRUE(Contains(s.early_stopping_tpot_text, "Run unsuccessful"));
  EXPECT_EQ(s.early_stopping_ttft_text, "");

  st.server_ttft_latency = 1000;
  s = Summarize(st, r);
  EXPECT_EQ(s.perf_constraints_recommendation,
            "TPOT constrain not met: Reduce target QPS to improve latency.");
  st.server_tpot_latency = 1000;
  s = Summarize(st, r);
  EXPECT_TRUE(s.perf_constraints_met);
  EXPECT_TRUE(s.early_stopping_met);
  EXPECT_EQ(s.early_stopping_ttft_text, " * Run successful.");
}

TEST(ResultsTokens, OfflineHasNoFirstTokenStatistics) {
  settings::EffectiveSettings st = BaseSettings(TestScenario::Offline);
  st.use_token_latencies = true;
  st.min_query_count = 1;
  PerformanceResult r = Result(Scrambled(110), 0);
  r.queries_issued = 1;
  r.max_latency_s = 2.0;
  r.tokens_per_sample.assign(110, 21);
  const PerformanceSummary s = Summarize(st, r);
  EXPECT_DOUBLE_EQ(s.tokens_per_second, 2310 / 2.0);
  EXPECT_EQ(s.first_token_latency.max, 0);
  EXPECT_TRUE(s.early_stopping_met);
  EXPECT_EQ(s.early_stopping_tpot_text, "");
}

TEST(ResultsTokens, InferredTokens) {
  settings::EffectiveSettings st = BaseSettings(TestScenario::Server);
  st.infer_token_latencies = true;
  st.token_latency_scaling_factor = 21;
  PerformanceResult r = Result(Scrambled(100), 2.0);
  r.final_query_all_samples_done_time_s = 1.1;
  EXPECT_DOUBLE_EQ(Summarize(st, r).inferred_tokens_per_second, 99 * 21 / 1.1);

  st = BaseSettings(TestScenario::Offline);
  st.infer_token_latencies = true;
  st.token_latency_scaling_factor = 21;
  r.max_latency_s = 9.5;
  const PerformanceSummary s = Summarize(st, r);
  EXPECT_DOUBLE_EQ(s.inferred_tokens_per_second, 100 * 21 / 9.5);
  EXPECT_TRUE(Contains(RenderSummary(s, "SUT"), "Tokens per second (inferred): 221.053\n"));

  st = BaseSettings(TestScenario::SingleStream);
  st.infer_token_latencies = true;
  st.token_latency_scaling_factor = 21;
  EXPECT_EQ(Summarize(st, r).inferred_tokens_per_second, 0);
}

TEST(ResultsDegenerate, NoSamplesAndZeroDurationsDoNotCrash) {
  for (TestScenario scenario : {TestScenario::SingleStream, TestScenario::MultiStream,
                                TestScenario::Server, TestScenario::Offline}) {
    settings::EffectiveSettings st = BaseSettings(scenario);
    st.use_token_latencies = true;
    st.infer_token_latencies = true;
    st.token_latency_scaling_factor = 3;
    PerformanceResult r;
    r.queries_issued = 700;  // more than the (missing) latencies
    const PerformanceSummary s = Summarize(st, r);
    EXPECT_EQ(s.sample_latency.mean, 0);
    EXPECT_FALSE(s.valid());
    EXPECT_FALSE(RenderSummary(s, "SUT").empty());
  }
  settings::EffectiveSettings st = BaseSettings(TestScenario::SingleStream);
  const PerformanceSummary s = Summarize(st, Result({5}, 0));
  EXPECT_TRUE(std::isnan(s.qps_with_loadgen_overhead));  // 0 / 0
  EXPECT_TRUE(Contains(RenderSummary(s, "SUT"), "QPS w/ loadgen overhead         : "));
  const PerformanceSummary z = Summarize(st, Result({0, 0}, 0));
  EXPECT_TRUE(std::isinf(z.qps_with_loadgen_overhead));
  EXPECT_TRUE(std::isinf(z.qps_without_loadgen_overhead));
  EXPECT_TRUE(Contains(RenderSummary(z, "SUT"), "QPS w/o loadgen overhead        : inf\n"));
}

TEST(ResultsSummaryText, ParametersAndWarning) {
  settings::EffectiveSettings st = BaseSettings(TestScenario::SingleStream);
  st.target_qps = 487.80487804878;
  st.accuracy_log_probability = 0.1;
  st.print_timestamps = true;
  st.qsl_rng_seed = 18446744073709551615u;
  st.sample_concatenate_permutation = true;
  const std::string text = RenderSummary(Summarize(st, Result(Scrambled(100), 2.0)), "SUT");
  EXPECT_TRUE(Contains(text, "target_qps : 487.805\ntarget_latency (ns): 0\n"));
  EXPECT_TRUE(Contains(text, "qsl_rng_seed : 18446744073709551615\n"));
  EXPECT_TRUE(Contains(text, "accuracy_log_probability : 0.1\n"));
  EXPECT_TRUE(Contains(text, "print_timestamps : 1\n"));
  const std::string warning =
      "WARNING: sample_concatenate_permutation was set to true. \n"
      "Generated samples per query might be different as the one in the setting.\n"
      "Check the generated_samples_per_query line in the detailed log for the real\n"
      "samples_per_query value\n\n";
  ASSERT_GE(text.size(), warning.size());
  EXPECT_EQ(text.substr(text.size() - warning.size()), warning);
}

TEST(ResultsSummaryText, Trailer) {
  EXPECT_EQ(RenderSummaryTrailer(0, 0),
            "No warnings encountered during test.\n\nNo errors encountered during test.\n");
  EXPECT_EQ(RenderSummaryTrailer(1, 1),
            "1 warning encountered. See detailed log.\n\n1 ERROR encountered. See detailed log.\n");
  EXPECT_EQ(RenderSummaryTrailer(2, 55),
            "2 warnings encountered. See detailed log.\n\n55 ERRORS encountered. See detailed "
            "log.\n");
  EXPECT_EQ(RenderAccuracyOnlySummary(0, 0).size(), 74u);
}

}  // namespace
}  // namespace loadgen::results
