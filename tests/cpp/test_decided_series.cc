// A series ended by a decision policy (Session::EndSeriesDecided): it ends as at its planned
// end (not aborted), the issued samples complete, and the reason is logged and returned.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "common/enum_names.h"
#include "session/session.h"

namespace loadgen::session {
namespace {

namespace fs = std::filesystem;

struct Env {
  settings::ConfigContext config;
  record::ActiveSeries active;
  issue::IssueThreadPool threads;
  Environment Get() { return Environment{&config, &active, &threads}; }
};

class Qsl : public mlperf::QuerySampleLibrary {
 public:
  const std::string& Name() override { return name_; }
  size_t TotalSampleCount() override { return 64; }
  size_t PerformanceSampleCount() override { return 64; }
  void LoadSamplesToRam(const std::vector<mlperf::QuerySampleIndex>&) override {}
  void UnloadSamplesFromRam(const std::vector<mlperf::QuerySampleIndex>&) override {}

 private:
  std::string name_ = "Qsl";
};

// Completes each sample on a worker thread 1 ms after it was issued (so some are outstanding
// when the series is ended), counting the queries it was given.
class DelayedSut : public mlperf::SystemUnderTest {
 public:
  explicit DelayedSut(record::ActiveSeries* active) : active_(active) {}
  ~DelayedSut() override {
    for (std::thread& t : workers_) t.join();
  }
  const std::string& Name() override { return name_; }
  void IssueQuery(const std::vector<mlperf::QuerySample>& samples) override {
    queries.fetch_add(1);
    std::vector<mlperf::QuerySampleResponse> responses;
    for (const mlperf::QuerySample& s : samples) responses.push_back({s.id, 0, 0});
    workers_.emplace_back([this, responses]() mutable {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      active_->Complete(responses.data(), responses.size(), {});
    });
  }
  void FlushQueries() override {}
  std::atomic<uint64_t> queries{0};

 private:
  record::ActiveSeries* active_;
  std::string name_ = "DelayedSut";
  std::vector<std::thread> workers_;
};

class DecidedSeriesTest : public ::testing::TestWithParam<mlperf::TestScenario> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lg_decided_" + std::to_string(static_cast<int>(GetParam())) + "_" +
            std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    log_settings_.log_output.outdir = dir_.string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Read(const char* name) {
    std::ifstream f(dir_ / name);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  fs::path dir_;
  mlperf::LogSettings log_settings_;
  Env env_;
};

TEST_P(DecidedSeriesTest, EndsTheSeriesEarlyAsANormalEnd) {
  Qsl qsl;
  DelayedSut sut(&env_.active);
  mlperf::TestSettings s;
  s.scenario = GetParam();
  s.mode = mlperf::TestMode::PerformanceOnly;
  s.server_target_qps = 2000;
  s.min_duration_ms = 60000;  // a minute planned: the decision must end it
  s.min_query_count = 1;
  s.single_stream_expected_latency_ns = 1000000;
  Session session(&sut, &qsl, s, log_settings_, "", env_.Get());
  EXPECT_FALSE(session.EndSeriesDecided("before the series"));  // nothing to end yet
  std::thread decider([&] {
    while (sut.queries.load() < 50) std::this_thread::sleep_for(std::chrono::milliseconds(1));
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
  const uint64_t issued = sut.queries.load();
  EXPECT_GE(issued, 50u);
  // Every issued sample completed and was counted: an end, not an abandoned series.
  EXPECT_EQ(out.performance->sample_count, issued);
  const std::string detail = Read("mlperf_log_detail.txt");
  EXPECT_NE(detail.find("\"key\": \"loadgen_series_decided\", \"value\": {\"reason\":\"enough "
                        "evidence\",\"queries_issued\":" +
                        std::to_string(issued) + "}"),
            std::string::npos)
      << detail;
  EXPECT_EQ(detail.find("Test aborted"), std::string::npos);
  EXPECT_NE(Read("mlperf_log_summary.txt").find("Result is : INVALID"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Scenarios, DecidedSeriesTest,
                         ::testing::Values(mlperf::TestScenario::SingleStream,
                                           mlperf::TestScenario::Server),
                         [](const ::testing::TestParamInfo<mlperf::TestScenario>& info) {
                           return std::string(ScenarioName(info.param));
                         });

}  // namespace
}  // namespace loadgen::session
