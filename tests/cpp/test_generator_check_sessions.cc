// The generator self-check end to end with native SUTs (docs/self-check.md): a SUT whose
// IssueQuery holds the issuing thread past the schedule is flagged with the SUT's call as the
// cause; a SUT that answers at once at a modest rate is not. The verdict is in TestOutcome and
// the detail log.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/clock.h"
#include "session_harness.h"

namespace loadgen::session {
namespace {

// Spins `hold_ns` inside IssueQuery (0: none), then completes the samples inline.
class SpinningSut : public mlperf::SystemUnderTest {
 public:
  SpinningSut(record::ActiveSeries* active, int64_t hold_ns) : active_(active), hold_ns_(hold_ns) {}
  const std::string& Name() override { return name_; }
  void IssueQuery(const std::vector<mlperf::QuerySample>& samples) override {
    const int64_t until = NowNs() + hold_ns_;
    while (NowNs() < until) {
    }
    responses_.clear();
    for (const auto& s : samples) responses_.emplace_back(s.id, 0, 0);
    active_->Complete(responses_.data(), responses_.size(), {});
  }
  void FlushQueries() override {}

 private:
  record::ActiveSeries* active_;
  int64_t hold_ns_;
  std::string name_ = "SpinningSut";
  std::vector<mlperf::QuerySampleResponse> responses_;
};

class GeneratorCheckSession : public ::testing::Test {
 protected:
  TestOutcome RunServer(int64_t hold_ns, double qps, uint64_t queries) {
    test_harness::TestQsl qsl;
    SpinningSut sut(&h_.active, hold_ns);
    mlperf::TestSettings s;
    s.scenario = mlperf::TestScenario::Server;
    s.server_target_qps = qps;
    s.server_target_latency_ns = 10000000000;
    s.min_duration_ms = 0;
    s.min_query_count = queries;
    return h_.Run(&sut, &qsl, s);
  }

  test_harness::SessionHarness h_;
};

TEST_F(GeneratorCheckSession, AnIssueCallbackSlowerThanTheScheduleIsFlagged) {
  // 2 ms in IssueQuery at 1000 QPS (1 ms mean gap): at most 500 QPS can be issued.
  const TestOutcome out = RunServer(2000000, 1000, 200);
  ASSERT_TRUE(out.generator.has_value());
  const selfcheck::GeneratorCheck& c = *out.generator;
  EXPECT_GE(c.timed_queries, 200u);
  EXPECT_GT(c.mean_interarrival_ns, 500000);
  EXPECT_LT(c.mean_interarrival_ns, 2000000);
  EXPECT_EQ(c.lateness_bound_ns, std::max<int64_t>(1000000, c.mean_interarrival_ns));
  EXPECT_GT(c.lateness_p99_ns, c.lateness_bound_ns);
  EXPECT_GT(c.lateness_max_ns, 100000000);  // 200 x 2 ms against a 0.2 s schedule
  EXPECT_GT(c.issue_callback_share, 0.8);
  EXPECT_TRUE(c.generator_limited);
  EXPECT_EQ(c.cause, "sut_issue_callback");
  EXPECT_FALSE(c.has_client);
  EXPECT_NE(h_.Detail().find("\"key\": \"loadgen_generator_check\", \"value\": "
                             "{\"generator_limited\":true,\"reasons\":[\"lateness\"]"),
            std::string::npos);
}

TEST_F(GeneratorCheckSession, AFastSutAtAModestRateIsNot) {
  // 30 QPS: a 33 ms mean gap. 100 QPS (10 ms) was flagged, rightly, on a 2-core machine
  // running ctest -j2 beside other builds, where wake-ups came 10 ms late.
  const TestOutcome out = RunServer(0, 30, 110);
  ASSERT_TRUE(out.generator.has_value());
  const selfcheck::GeneratorCheck& c = *out.generator;
  EXPECT_GE(c.timed_queries, 110u);
  EXPECT_LT(c.issue_callback_share, 0.5);
  EXPECT_LE(c.max_outstanding, 1u);  // completed inside IssueQuery
  // Neither the fast SUT nor the issue thread is ever blamed. A machine so overloaded that
  // the issuing thread waited a whole mean gap for a CPU (seen at a load average of 9 on 2
  // cores) is rightly flagged, with the cause "scheduling"; otherwise the run is not flagged.
  if (c.generator_limited) {
    EXPECT_EQ(c.cause, "scheduling");
    EXPECT_GT(c.lateness_p99_ns, c.lateness_bound_ns);
  } else {
    EXPECT_LE(c.lateness_p99_ns, c.lateness_bound_ns);
    EXPECT_TRUE(c.reasons.empty());
    EXPECT_NE(h_.Detail().find("{\"generator_limited\":false,"), std::string::npos);
  }
}

}  // namespace
}  // namespace loadgen::session
