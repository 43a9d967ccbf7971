// Load models run end to end in a Session (no Python): the closed loop holds its concurrency,
// a capped arrival rate gates (and measures the wait) instead of ending the run, warm-up
// stages are issued but left out of the metrics, and the issued samples are the plan's.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "common/errors.h"
#include "schedule/load_models/load_plan.h"
#include "session_harness.h"

namespace loadgen::session {
namespace {

using schedule::ArrivalKind;
using schedule::StageSpec;
using test_harness::DelayedSut;

using LoadSessionTest = test_harness::LoadModelSessionTest;

StageSpec Closed(uint64_t n, uint64_t queries) {
  StageSpec s;
  s.kind = ArrivalKind::kConcurrency;
  s.concurrency = n;
  s.queries = queries;
  return s;
}

StageSpec Constant(double qps, int64_t duration_ns) {
  StageSpec s;
  s.kind = ArrivalKind::kConstantRate;
  s.rate_qps = qps;
  s.duration_ns = duration_ns;
  return s;
}

TEST_F(LoadSessionTest, AClosedLoopHoldsItsConcurrency) {
  DelayedSut sut(&h_.active, std::chrono::microseconds(2000));
  const TestOutcome out = Run(&sut, {Closed(4, 120)});
  EXPECT_EQ(sut.issued.size(), 120u);
  EXPECT_EQ(sut.max_in_flight, 4);  // reached, never exceeded
  ASSERT_EQ(out.stages.size(), 1u);
  EXPECT_EQ(out.stages[0].queries_issued, 120u);
  EXPECT_EQ(out.stages[0].samples_completed, 120u);
  // Four in flight at 2 ms each: about 2000 queries per second (one at a time could not pass
  // 500); the latency is the SUT's 2 ms from the issue, not a growing queue.
  EXPECT_GT(out.stages[0].issued_qps, 600);
  EXPECT_LT(out.stages[0].latency_percentiles_ns[0].second, 20'000'000);
  ASSERT_TRUE(out.performance.has_value());
  EXPECT_EQ(out.performance->queries_issued, 120u);
  EXPECT_EQ(out.errors, 0u);
}

TEST_F(LoadSessionTest, ACappedRateGatesAndMeasuresTheWait) {
  // 2000 qps asked, but 2 in flight at 5 ms serve only 400 qps: queries wait for a slot.
  DelayedSut sut(&h_.active, std::chrono::microseconds(5000));
  StageSpec s = Constant(2000, 100'000'000);
  s.concurrency = 2;
  const TestOutcome out = Run(&sut, {s});
  EXPECT_EQ(sut.issued.size(), 200u);  // all issued: the cap gates, it does not end the run
  EXPECT_LE(sut.max_in_flight, 2);
  ASSERT_EQ(out.stages.size(), 1u);
  EXPECT_GT(out.stages[0].gated_queries, 100u);
  EXPECT_GT(out.stages[0].gate_wait_max_ns, 100'000'000);
  // Latency counts from the scheduled moment, so the queue shows in it.
  EXPECT_GT(out.stages[0].latency_max_ns, out.stages[0].gate_wait_max_ns);
  EXPECT_EQ(out.errors, 0u);
}

TEST_F(LoadSessionTest, WarmUpIsIssuedButNotMeasuredAndIsMarkedInTheLog) {
  DelayedSut sut(&h_.active, std::chrono::microseconds(100));
  StageSpec warm = Constant(1000, 20'000'000);
  warm.measured = false;
  warm.name = "warm-up";
  StageSpec main = Constant(1000, 30'000'000);
  main.name = "main";
  const TestOutcome out = Run(&sut, {warm, main});
  EXPECT_EQ(sut.issued.size(), 50u);
  ASSERT_TRUE(out.performance.has_value());
  EXPECT_EQ(out.performance->queries_issued, 30u);
  EXPECT_EQ(out.performance->sample_count, 30u);
  ASSERT_EQ(out.stages.size(), 2u);
  EXPECT_FALSE(out.stages[0].measured);
  EXPECT_EQ(out.stages[0].queries_issued, 20u);
  const std::string detail = h_.Detail();
  EXPECT_NE(
      detail.find("\"key\": \"loadgen_load_stage\", \"value\": {\"index\":0,\"name\":\"warm-up\","
                  "\"kind\":\"constant_rate\",\"measured\":false,\"first_sample_seq\":0,"
                  "\"sample_count\":20,"),
      std::string::npos);
  EXPECT_NE(detail.find("\"key\": \"result_query_count\", \"value\": 30,"), std::string::npos);
}

TEST_F(LoadSessionTest, IssuesThePlansSamplesAtThePlansMoments) {
  DelayedSut sut(&h_.active, std::chrono::microseconds(100));
  const TestOutcome out = Run(&sut, {Constant(500, 100'000'000)});
  ASSERT_EQ(sut.issued.size(), 50u);
  // The plan generated again from the loaded set and the seeds: the issued samples exactly.
  schedule::LoadableSet set;
  set.samples.assign(qsl_.loads.back().begin(), qsl_.loads.back().end());
  set.dist_end = set.samples.size();
  settings::EffectiveSettings e;
  e.schedule_rng_seed = settings_.schedule_rng_seed;
  e.sample_index_rng_seed = settings_.sample_index_rng_seed;
  schedule::SequenceState sequence;
  const schedule::LoadPlan plan = schedule::GenerateLoadPlan(model_, e, set, sequence);
  EXPECT_EQ(std::vector<size_t>(plan.plan.sample_index.begin(), plan.plan.sample_index.end()),
            sut.IssuedIndices());
  // At the plan's moments (2 ms apart), measured from the first issue: none is issued early
  // (the issuer sleeps until each moment; slack for a late first issue), and the last comes
  // when planned (slack for a stall on a busy 2-core machine).
  for (size_t i = 0; i < sut.issued.size(); ++i) {
    EXPECT_GE(sut.issued[i].ns - sut.issued[0].ns, plan.plan.scheduled_delta_ns[i] - 30'000'000)
        << i;
  }
  const int64_t span = sut.issued.back().ns - sut.issued.front().ns;
  EXPECT_GE(span, plan.plan.scheduled_delta_ns[49] - 30'000'000);
  EXPECT_LE(span, plan.plan.scheduled_delta_ns[49] + 100'000'000);
  EXPECT_EQ(out.errors, 0u);
}

TEST_F(LoadSessionTest, RefusesALoadModelOutsideTheServerScenario) {
  DelayedSut sut(&h_.active, std::chrono::microseconds(100));
  settings_.scenario = mlperf::TestScenario::SingleStream;
  EXPECT_THROW(Run(&sut, {Constant(500, 10'000'000)}), SettingsError);
}

}  // namespace
}  // namespace loadgen::session
