// The generator self-check's pieces: the lateness histogram's quantiles, and the rule on
// hand-made measures (docs/self-check.md).
#include <gtest/gtest.h>

#include <string>

#include "issue/issue_check.h"
#include "selfcheck/generator_check.h"

namespace loadgen {
namespace {

using issue::IssueCheck;
using issue::LatenessHistogram;

TEST(LatenessHistogram, QuantilesAreWithinAnEighthAboveTheExactValue) {
  LatenessHistogram h;
  for (int64_t v = 1; v <= 10000; ++v) h.Add(v * 1000);  // 1 us .. 10 ms
  EXPECT_EQ(h.count(), 10000u);
  for (double p : {0.5, 0.9, 0.99}) {
    const double exact = p * 10000 * 1000;
    const double got = static_cast<double>(h.Quantile(p));
    EXPECT_GE(got, exact) << p;
    EXPECT_LE(got, exact * 1.125) << p;
  }
  EXPECT_EQ(LatenessHistogram().Quantile(0.99), 0);
}

TEST(LatenessHistogram, SmallAndNegativeValuesHaveBucketsOfTheirOwn) {
  LatenessHistogram h;
  h.Add(-5);  // issued a hair early: counts as on time
  h.Add(3);
  EXPECT_EQ(h.Quantile(0.5), 0);
  EXPECT_EQ(h.Quantile(1.0), 3);
  for (int b = 0; b + 1 < LatenessHistogram::kBuckets; ++b) {
    ASSERT_LT(LatenessHistogram::UpperEdge(b), LatenessHistogram::UpperEdge(b + 1));
    ASSERT_EQ(LatenessHistogram::BucketOf(static_cast<uint64_t>(LatenessHistogram::UpperEdge(b))),
              b);
  }
}

// `count` queries scheduled every `gap_ns`, each issued `late_ns` late.
IssueCheck Issued(uint64_t count, int64_t gap_ns, int64_t late_ns) {
  IssueCheck c;
  for (uint64_t i = 0; i < count; ++i) {
    const int64_t scheduled = 1000000000 + static_cast<int64_t>(i) * gap_ns;
    c.AddLateness(scheduled, scheduled + late_ns);
  }
  c.threads = 1;
  c.thread_wall_ns = static_cast<int64_t>(count) * gap_ns;
  return c;
}

selfcheck::SeriesMeasures Measures(const IssueCheck& ic) {
  selfcheck::SeriesMeasures m;
  m.issue = &ic;
  m.start_ns = 0;
  m.end_ns = ic.thread_wall_ns;
  return m;
}

TEST(GeneratorCheck, LatenessBeyondOneGapAndTheFloorIsFlagged) {
  const IssueCheck late = Issued(1000, 2000000, 5000000);  // 2 ms gaps, 5 ms late
  const selfcheck::GeneratorCheck c = selfcheck::Evaluate(Measures(late));
  EXPECT_EQ(c.mean_interarrival_ns, 2000000);
  EXPECT_EQ(c.lateness_bound_ns, 2000000);
  EXPECT_GE(c.lateness_p99_ns, 5000000);
  EXPECT_TRUE(c.generator_limited);
  ASSERT_EQ(c.reasons.size(), 1u);
  EXPECT_EQ(c.reasons[0], "lateness");
  EXPECT_EQ(c.cause, "scheduling");  // no CPU, no time in the SUT's call recorded
}

TEST(GeneratorCheck, TheCauseNamesTheSutCallbackWhenIssueTimeWasSpentInIt) {
  IssueCheck late = Issued(1000, 2000000, 5000000);
  late.callback_ns = late.thread_wall_ns * 9 / 10;
  late.thread_cpu_ns = late.thread_wall_ns;
  EXPECT_EQ(selfcheck::Evaluate(Measures(late)).cause, "sut_issue_callback");
  late.callback_ns = 0;
  EXPECT_EQ(selfcheck::Evaluate(Measures(late)).cause, "issue_thread_cpu");
}

TEST(GeneratorCheck, LatenessWithinTheBoundOrTooFewQueriesIsNotFlagged) {
  // 1.5 ms late with 2 ms gaps: within a gap.
  EXPECT_FALSE(selfcheck::Evaluate(Measures(Issued(1000, 2000000, 1500000))).generator_limited);
  // 0.8 ms late at 100k QPS: beyond a gap but under the 1 ms floor.
  EXPECT_FALSE(selfcheck::Evaluate(Measures(Issued(1000, 10000, 800000))).generator_limited);
  // Very late, but only 10 timed queries: no verdict on lateness.
  EXPECT_FALSE(selfcheck::Evaluate(Measures(Issued(99, 2000000, 50000000))).generator_limited);
}

TEST(GeneratorCheck, ClientCpuFlagsAndConnectionWaitsOnlyNote) {
  const IssueCheck ok = Issued(1000, 2000000, 0);
  selfcheck::SeriesMeasures m = Measures(ok);
  m.has_client = true;
  m.mean_latency_ns = 10000000;
  m.client.queries = 1000;
  m.client.connection_waits = 500;
  m.client.connection_wait_total_ns = 1000 * 2000000;  // 2 ms per query: 20 % of the latency
  m.client.io_thread_cpu_ns = (m.end_ns - m.start_ns) / 2;
  selfcheck::GeneratorCheck c = selfcheck::Evaluate(m);
  EXPECT_FALSE(c.generator_limited);
  ASSERT_EQ(c.notes.size(), 1u);
  EXPECT_EQ(c.notes[0], "client_connections");
  m.client.io_thread_cpu_ns = m.end_ns - m.start_ns;
  c = selfcheck::Evaluate(m);
  EXPECT_TRUE(c.generator_limited);
  EXPECT_EQ(c.reasons[0], "client_io_cpu");
  const std::string json = selfcheck::ToJson(c);
  EXPECT_NE(json.find("\"generator_limited\":true"), std::string::npos);
  EXPECT_NE(json.find("\"reasons\":[\"client_io_cpu\"]"), std::string::npos);
}

}  // namespace
}  // namespace loadgen
