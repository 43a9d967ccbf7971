// results/request_metrics.h and results/log_histogram.h: every metric of docs/metrics.md from
// request rows whose figures are known, and the histogram's documented error bound.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "common/clock.h"
#include "results/log_histogram.h"
#include "results/request_metrics.h"
#include "session_harness.h"

namespace loadgen::results {
namespace {

RequestRow Row(int64_t scheduled, int64_t e2e, int64_t ttft, int32_t tokens) {
  RequestRow r;
  r.scheduled_ns = scheduled;
  r.e2e_ns = e2e;
  r.ttft_ns = ttft;
  r.output_tokens = tokens;
  return r;
}

double At(const Distribution& d, double p) {
  for (const auto& [q, v] : d.percentiles) {
    if (q == p) return v;
  }
  ADD_FAILURE() << "no percentile " << p;
  return -1;
}

TEST(RequestMetrics, ComputesEveryFigureOfKnownRequests) {
  // Four requests, 1 s apart, each 11 tokens: TTFT 100/200/300/400 ms, then 10 ms per token.
  std::vector<RequestRow> rows;
  for (int i = 0; i < 4; ++i) {
    const int64_t ttft = (i + 1) * 100'000'000;
    rows.push_back(Row(i * 1'000'000'000LL, ttft + 10 * 10'000'000, ttft, 11));
    rows.back().input_tokens = 5;
  }
  MetricOptions o;
  o.percentiles = {0.5, 1.0};
  o.tiers = {{"interactive", 250'000'000, 10'000'000, -1}, {"batch", -1, -1, 450'000'000}};
  const RequestMetrics m = ComputeRequestMetrics(rows, {}, o);
  EXPECT_EQ(m.requests, 4u);
  EXPECT_EQ(m.failed, 0u);
  // From the first scheduled moment (0) to the last completion (3 s + 0.5 s).
  EXPECT_DOUBLE_EQ(m.duration_s, 3.5);
  EXPECT_DOUBLE_EQ(m.request_throughput, 4 / 3.5);
  EXPECT_EQ(m.output_tokens, 44u);
  EXPECT_DOUBLE_EQ(m.output_token_throughput, 44 / 3.5);
  EXPECT_TRUE(m.input_tokens_known);
  EXPECT_DOUBLE_EQ(m.total_token_throughput, 64 / 3.5);
  EXPECT_EQ(m.ttft_ns.count, 4u);
  EXPECT_EQ(At(m.ttft_ns, 0.5), 300'000'000);  // element trunc(4 * 0.5) = 2
  EXPECT_EQ(At(m.ttft_ns, 1.0), 400'000'000);
  EXPECT_DOUBLE_EQ(m.ttft_ns.mean, 250'000'000);
  EXPECT_EQ(m.tpot_ns.min, 10'000'000);
  EXPECT_EQ(m.tpot_ns.max, 10'000'000);
  EXPECT_EQ(m.e2e_ns.min, 200'000'000);
  EXPECT_EQ(m.e2e_ns.max, 500'000'000);
  // 11 tokens in 0.2 s .. 0.5 s.
  EXPECT_DOUBLE_EQ(m.output_tokens_per_s_per_user.max, 55);
  EXPECT_DOUBLE_EQ(m.output_tokens_per_s_per_user.min, 22);
  EXPECT_EQ(m.itl_ns.count, 0u);
  ASSERT_EQ(m.goodput.size(), 2u);
  EXPECT_EQ(m.goodput[0].name, "interactive");
  EXPECT_EQ(m.goodput[0].met, 2u);  // TTFT 100 and 200 ms
  EXPECT_DOUBLE_EQ(m.goodput[0].share, 0.5);
  EXPECT_DOUBLE_EQ(m.goodput[0].rate_per_s, 2 / 3.5);
  EXPECT_EQ(m.goodput[1].met, 3u);  // E2E 200, 300, 400 ms
}

TEST(RequestMetrics, FailedRequestsCountButNeverMeetAnObjective) {
  std::vector<RequestRow> rows = {Row(0, 1'000, 500, 3), Row(0, 2'000, -1, -1)};
  rows[1].failed = true;
  MetricOptions o;
  o.tiers = {{"any", -1, -1, -1}};
  const RequestMetrics m = ComputeRequestMetrics(rows, {}, o);
  EXPECT_EQ(m.requests, 2u);
  EXPECT_EQ(m.failed, 1u);
  EXPECT_EQ(m.e2e_ns.count, 1u);  // the failure's time is not a service latency
  EXPECT_EQ(m.goodput[0].met, 1u);
  EXPECT_FALSE(m.input_tokens_known);
  EXPECT_EQ(m.total_token_throughput, 0);
}

TEST(RequestMetrics, AnObjectiveOnAFigureTheRequestLacksIsNotMet) {
  // No first token recorded (a run without token latencies): a TTFT limit cannot be met.
  const std::vector<RequestRow> rows = {Row(0, 1'000, -1, -1)};
  MetricOptions o;
  o.tiers = {{"ttft", 1'000'000, -1, -1}, {"tpot", -1, 1'000'000, -1}, {"e2e", -1, -1, 5'000}};
  const RequestMetrics m = ComputeRequestMetrics(rows, {}, o);
  EXPECT_EQ(m.goodput[0].met, 0u);
  EXPECT_EQ(m.goodput[1].met, 0u);
  EXPECT_EQ(m.goodput[2].met, 1u);
}

TEST(RequestMetrics, SelectsMeasuredRowsOrOneStage) {
  std::vector<RequestRow> rows = {Row(0, 10, -1, -1), Row(1, 20, -1, -1), Row(2, 30, -1, -1)};
  rows[0].stage = 0;
  rows[0].measured = false;  // warm-up
  rows[1].stage = 1;
  rows[2].stage = 1;
  const RequestMetrics all = ComputeRequestMetrics(rows, {}, {});
  EXPECT_EQ(all.requests, 2u);
  EXPECT_EQ(all.e2e_ns.min, 20);
  const RequestMetrics warm = ComputeRequestMetrics(rows, {}, {}, 0);
  EXPECT_EQ(warm.requests, 1u);
  EXPECT_EQ(warm.e2e_ns.max, 10);
}

TEST(RequestMetrics, InterTokenLatenciesAreADistribution) {
  MetricOptions o;
  o.percentiles = {0.5, 0.9};
  std::vector<int64_t> itl;
  for (int64_t i = 1; i <= 10; ++i) itl.push_back(i * 1000);
  const RequestMetrics m = ComputeRequestMetrics({Row(0, 1, -1, -1)}, itl, o);
  EXPECT_EQ(m.itl_ns.count, 10u);
  EXPECT_EQ(At(m.itl_ns, 0.5), 6000);
  EXPECT_EQ(At(m.itl_ns, 0.9), 10000);
  EXPECT_FALSE(m.itl_ns.approximate);
}

TEST(RequestMetrics, PastTheExactLimitPercentilesComeFromTheHistogramWithinItsBound) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(16, 1);  // about 9 ms, spread over decades
  std::vector<int64_t> values(20000);
  for (int64_t& v : values) v = static_cast<int64_t>(dist(rng));
  MetricOptions exact;
  exact.percentiles = {0.5, 0.9, 0.99, 0.999};
  MetricOptions sketch = exact;
  sketch.exact_limit = 1000;
  const Distribution e = Distribute(values, exact);
  const Distribution s = Distribute(values, sketch);
  EXPECT_FALSE(e.approximate);
  EXPECT_TRUE(s.approximate);
  EXPECT_EQ(s.min, e.min);
  EXPECT_EQ(s.max, e.max);
  EXPECT_NEAR(s.mean, e.mean, e.mean * 1e-9);
  for (size_t i = 0; i < e.percentiles.size(); ++i) {
    const double want = e.percentiles[i].second;
    EXPECT_LE(std::abs(s.percentiles[i].second - want), want * LogHistogram::kRelativeError)
        << e.percentiles[i].first;
  }
}

TEST(LogHistogram, BucketsTileTheValuesWithinTheRelativeWidth) {
  const std::vector<int64_t> values = {
      0, 1, 127, 128, 129, 255, 256, 1000, 123456789, (int64_t{1} << 40) + 12345, INT64_MAX};
  for (int64_t v : values) {
    const size_t b = LogHistogram::BucketOf(v);
    const int64_t lo = LogHistogram::LowerBound(b);
    const int64_t w = LogHistogram::Width(b);
    EXPECT_LE(lo, v);
    EXPECT_LT(v - lo, w);
    EXPECT_LE(static_cast<double>(w), std::max<double>(1, lo * (2 * LogHistogram::kRelativeError)))
        << v;
  }
  // Consecutive buckets meet.
  for (size_t b = 0; b + 1 < 5000; ++b) {
    EXPECT_EQ(LogHistogram::LowerBound(b) + LogHistogram::Width(b),
              LogHistogram::LowerBound(b + 1));
  }
}

TEST(LogHistogram, SmallValuesAreExactAndMergingAddsCounts) {
  LogHistogram a, b;
  for (int64_t v = 0; v < 100; ++v) (v % 2 ? a : b).Record(v);
  a.Merge(b);
  EXPECT_EQ(a.count(), 100u);
  EXPECT_EQ(a.ValueAt(0.5), 50);
  EXPECT_EQ(a.ValueAt(1.0), 99);
  EXPECT_EQ(a.min(), 0);
  EXPECT_DOUBLE_EQ(a.mean(), 49.5);
}

TEST(RequestMetrics, RefusesPercentilesOutsideTheRangeAndUnnamedTiers) {
  MetricOptions o;
  o.percentiles = {0};
  EXPECT_THROW(ComputeRequestMetrics({}, {}, o), std::invalid_argument);
  o.percentiles = {1.5};
  EXPECT_THROW(ComputeRequestMetrics({}, {}, o), std::invalid_argument);
  o.percentiles = {0.5};
  o.tiers = {{"", 1, -1, -1}};
  EXPECT_THROW(ComputeRequestMetrics({}, {}, o), std::invalid_argument);
}

// --- The session's request table -----------------------------------------------------------

// Answers inline: the first token, then index % 5 + 2 tokens. Records what it was given.
class InlineTokenSut : public mlperf::SystemUnderTest {
 public:
  explicit InlineTokenSut(record::ActiveSeries* active) : active_(active) {}
  const std::string& Name() override { return name_; }
  void IssueQuery(const std::vector<mlperf::QuerySample>& samples) override {
    for (const mlperf::QuerySample& s : samples) {
      indices.push_back(s.index);
      ids.push_back(s.id);
      const uint64_t id = s.id;
      const int64_t tokens = static_cast<int64_t>(s.index % 5 + 2);
      active_->FirstTokenIds(&id, 1);
      active_->CompleteIds(&id, 1, &tokens);
    }
  }
  void FlushQueries() override {}
  std::vector<size_t> indices;
  std::vector<uint64_t> ids;

 private:
  record::ActiveSeries* active_;
  std::string name_ = "InlineTokenSut";
};

TEST(RequestTable, TheSessionKeepsOneRowPerCompletedSampleWithItsStageAndTokens) {
  test_harness::SessionHarness h;
  mlperf::TestSettings settings;
  settings.scenario = mlperf::TestScenario::Server;
  settings.server_target_latency_ns = 1'000'000'000;
  settings.use_token_latencies = true;
  schedule::LoadModel model;
  schedule::StageSpec warm;
  warm.kind = schedule::ArrivalKind::kConstantRate;
  warm.rate_qps = 1000;
  warm.queries = 20;
  warm.measured = false;
  schedule::StageSpec main;
  main.kind = schedule::ArrivalKind::kConcurrency;
  main.concurrency = 1;
  main.queries = 30;
  model.stages = {warm, main};
  session::Environment env = h.Env(&model);
  env.keep_requests = true;
  InlineTokenSut sut(&h.active);
  test_harness::TestQsl qsl;
  const int64_t before = NowNs();
  session::TestOutcome out;
  {
    session::Session s(&sut, &qsl, settings, h.log_settings, "", env);
    out = s.Run();
  }
  ASSERT_EQ(out.requests.size(), 50u);
  EXPECT_GE(out.requests_origin_ns, before);
  ASSERT_EQ(out.stages.size(), 2u);
  EXPECT_GE(out.stages[1].first_issue_ns, out.requests_origin_ns + out.requests[20].scheduled_ns);
  ASSERT_EQ(sut.indices.size(), 50u);
  // Each row's response id is the one the SUT was given for that sample.
  EXPECT_EQ(out.request_ids, sut.ids);
  for (size_t i = 0; i < out.requests.size(); ++i) {
    const RequestRow& r = out.requests[i];
    EXPECT_EQ(r.sample_index, sut.indices[i]);  // sequence order is issue order here
    EXPECT_EQ(r.stage, i < 20 ? 0 : 1);
    EXPECT_EQ(r.measured, i >= 20);
    EXPECT_EQ(r.output_tokens, static_cast<int32_t>(sut.indices[i] % 5 + 2));
    EXPECT_GE(r.ttft_ns, 0);
    EXPECT_LE(r.ttft_ns, r.e2e_ns);
    EXPECT_FALSE(r.failed);
    EXPECT_EQ(r.input_tokens, -1);
  }
  const RequestMetrics m = ComputeRequestMetrics(out.requests, {}, {});
  EXPECT_EQ(m.requests, 30u);  // the warm-up is left out
  uint64_t tokens = 0;
  for (size_t i = 20; i < 50; ++i) tokens += sut.indices[i] % 5 + 2;
  EXPECT_EQ(m.output_tokens, tokens);
  ASSERT_TRUE(out.performance.has_value());
  EXPECT_EQ(static_cast<uint64_t>(out.performance->token_count), tokens);
  EXPECT_EQ(m.e2e_ns.percentiles[0].second,
            static_cast<double>(out.performance->sample_latency.at_percentile[0]));
}

}  // namespace
}  // namespace loadgen::results
