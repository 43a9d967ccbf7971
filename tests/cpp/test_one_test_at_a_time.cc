// The process runs one test at a time (session/process.h, TestSlot): a second StartTest while
// one runs is refused at once with loadgen::TestAlreadyRunningError, opens no log and calls
// neither its SUT nor its QSL; the running test finishes normally, and later tests run as usual.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bindings/c_api.h"
#include "loadgen.h"
#include "loadgen/errors.h"

namespace {

namespace fs = std::filesystem;

class CountingQsl : public mlperf::QuerySampleLibrary {
 public:
  const std::string& Name() override {
    ++calls;
    return name_;
  }
  size_t TotalSampleCount() override {
    ++calls;
    return 8;
  }
  size_t PerformanceSampleCount() override {
    ++calls;
    return 8;
  }
  void LoadSamplesToRam(const std::vector<mlperf::QuerySampleIndex>&) override { ++calls; }
  void UnloadSamplesFromRam(const std::vector<mlperf::QuerySampleIndex>&) override { ++calls; }
  int calls = 0;

 private:
  std::string name_ = "CountingQSL";
};

// Completes each query inline through the official free function. `on_issue` runs first, on
// the issuing thread (the test's StartTest thread).
class CompletingSut : public mlperf::SystemUnderTest {
 public:
  const std::string& Name() override {
    ++calls;
    return name_;
  }
  void IssueQuery(const std::vector<mlperf::QuerySample>& samples) override {
    ++calls;
    if (on_issue) on_issue();
    std::vector<mlperf::QuerySampleResponse> responses;
    for (const mlperf::QuerySample& s : samples) responses.emplace_back(s.id, 0, 0);
    mlperf::QuerySamplesComplete(responses.data(), responses.size());
  }
  void FlushQueries() override {}
  std::function<void()> on_issue;
  int calls = 0;

 private:
  std::string name_ = "CompletingSUT";
};

// A one-shot gate: Open() lets every Wait() through.
class Latch {
 public:
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool Wait(std::chrono::seconds timeout = std::chrono::seconds(60)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

class OneTestAtATime : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("lg_one_test_" +
             std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(root_);
    settings_.scenario = mlperf::TestScenario::SingleStream;
    settings_.mode = mlperf::TestMode::PerformanceOnly;
    settings_.min_query_count = 64;  // the fewest for which early stopping can pass
    settings_.min_duration_ms = 0;
  }
  void TearDown() override { fs::remove_all(root_); }

  mlperf::LogSettings LogsIn(const std::string& name) {
    fs::create_directories(root_ / name);
    mlperf::LogSettings logs;
    logs.log_output.outdir = (root_ / name).string();
    return logs;
  }
  bool IsEmpty(const std::string& name) { return fs::is_empty(root_ / name); }
  std::string Summary(const std::string& name) {
    std::ifstream f(root_ / name / "mlperf_log_summary.txt");
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

  fs::path root_;
  mlperf::TestSettings settings_;
};

TEST_F(OneTestAtATime, StartTestFromAnotherThreadIsRefusedWhileATestRuns) {
  Latch issuing, release;
  CountingQsl qsl;
  CompletingSut sut;
  bool first_issue = true;
  sut.on_issue = [&] {
    if (!first_issue) return;
    first_issue = false;
    issuing.Open();
    release.Wait();
  };
  const mlperf::LogSettings first_logs = LogsIn("first");
  std::thread first([&] { mlperf::StartTest(&sut, &qsl, settings_, first_logs, ""); });
  ASSERT_TRUE(issuing.Wait());

  CountingQsl second_qsl;
  CompletingSut second_sut;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    mlperf::StartTest(&second_sut, &second_qsl, settings_, LogsIn("second"), "");
    ADD_FAILURE() << "the second StartTest was not refused";
  } catch (const loadgen::TestAlreadyRunningError& e) {
    EXPECT_NE(std::string(e.what()).find("already running"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  EXPECT_TRUE(IsEmpty("second")) << "the refused test opened a log";
  EXPECT_EQ(second_sut.calls, 0);
  EXPECT_EQ(second_qsl.calls, 0);

  release.Open();
  first.join();
  const std::string summary = Summary("first");
  EXPECT_NE(summary.find("Result is : VALID"), std::string::npos) << summary;
  EXPECT_NE(summary.find("No errors encountered during test."), std::string::npos) << summary;

  // The slot is free again: tests run one after another as before.
  sut.on_issue = nullptr;
  for (int i = 0; i < 3; ++i) {
    const std::string dir = "after" + std::to_string(i);
    mlperf::StartTest(&sut, &qsl, settings_, LogsIn(dir), "");
    EXPECT_NE(Summary(dir).find("No errors encountered during test."), std::string::npos);
  }
}

TEST_F(OneTestAtATime, StartTestFromInsideIssueQueryIsRefused) {
  CountingQsl qsl;
  CompletingSut sut;
  int refused = 0;
  int c_api_refused = 0;
  const mlperf::LogSettings nested_logs = LogsIn("nested");
  sut.on_issue = [&] {
    CountingQsl nested_qsl;
    CompletingSut nested_sut;
    try {
      mlperf::StartTest(&nested_sut, &nested_qsl, settings_, nested_logs, "");
    } catch (const loadgen::TestAlreadyRunningError&) {
      ++refused;
    }
    // The C API's StartTest goes through the same slot.
    void* c_qsl = mlperf::c::ConstructQSL(0, "q", 1, 8, 8, nullptr, nullptr);
    void* c_sut = mlperf::c::ConstructSUT(
        0, "s", 1, [](mlperf::c::ClientData, const mlperf::QuerySample*, size_t) {}, nullptr);
    try {
      mlperf::c::StartTest(c_sut, c_qsl, settings_, "");
    } catch (const loadgen::TestAlreadyRunningError&) {
      ++c_api_refused;
    }
    mlperf::c::DestroySUT(c_sut);
    mlperf::c::DestroyQSL(c_qsl);
  };
  mlperf::StartTest(&sut, &qsl, settings_, LogsIn("outer"), "");
  EXPECT_EQ(refused, 64);
  EXPECT_EQ(c_api_refused, 64);
  EXPECT_TRUE(IsEmpty("nested"));
  const std::string summary = Summary("outer");
  EXPECT_NE(summary.find("Result is : VALID"), std::string::npos) << summary;
  EXPECT_NE(summary.find("No errors encountered during test."), std::string::npos) << summary;
}

}  // namespace
