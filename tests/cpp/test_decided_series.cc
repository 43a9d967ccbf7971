// A series ended by a decision policy (Session::EndSeriesDecided): it ends as at its planned
// end (not aborted), the issued samples complete, and the reason is logged and returned.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "common/enum_names.h"
#include "session_harness.h"

namespace loadgen::session {
namespace {

using test_harness::DelayedSut;
using test_harness::TestQsl;

class DecidedSeriesTest : public ::testing::TestWithParam<mlperf::TestScenario> {
 protected:
  test_harness::SessionHarness h_;
};

TEST_P(DecidedSeriesTest, EndsTheSeriesEarlyAsANormalEnd) {
  TestQsl qsl;
  // 1 ms per sample: some are outstanding when the series is ended.
  DelayedSut sut(&h_.active, std::chrono::milliseconds(1));
  mlperf::TestSettings s;
  s.scenario = GetParam();
  s.mode = mlperf::TestMode::PerformanceOnly;
  s.server_target_qps = 2000;
  s.min_duration_ms = 60000;  // a minute planned: the decision must end it
  s.min_query_count = 1;
  s.single_stream_expected_latency_ns = 1000000;
  Session session(&sut, &qsl, s, h_.log_settings, "", h_.Env());
  EXPECT_FALSE(session.EndSeriesDecided("before the series"));  // nothing to end yet
  std::thread decider([&] {
    while (sut.IssuedCount() < 50) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    while (!session.EndSeriesDecided("enough evidence")) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    session.EndSeriesDecided("a second reason is ignored");
  });
  const auto start = std::chrono::steady_clock::now();
  TestOutcome out = session.Run();
  decider.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  EXPECT_FALSE(out.aborted);
  EXPECT_EQ(out.decided_reason, "enough evidence");
  ASSERT_TRUE(out.performance.has_value());
  const uint64_t issued = sut.issued.size();
  EXPECT_GE(issued, 50u);
  // Every issued sample completed and was counted: an end, not an abandoned series.
  EXPECT_EQ(out.performance->sample_count, issued);
  const std::string detail = h_.Detail();
  EXPECT_NE(detail.find("\"key\": \"loadgen_series_decided\", \"value\": {\"reason\":\"enough "
                        "evidence\",\"queries_issued\":" +
                        std::to_string(issued) + "}"),
            std::string::npos)
      << detail;
  EXPECT_EQ(detail.find("Test aborted"), std::string::npos);
  EXPECT_NE(h_.Read("mlperf_log_summary.txt").find("Result is : INVALID"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Scenarios, DecidedSeriesTest,
                         ::testing::Values(mlperf::TestScenario::SingleStream,
                                           mlperf::TestScenario::Server),
                         [](const ::testing::TestParamInfo<mlperf::TestScenario>& info) {
                           return std::string(ScenarioName(info.param));
                         });

}  // namespace
}  // namespace loadgen::session
