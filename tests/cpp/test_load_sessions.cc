// Load models run end to end in a Session (no Python): the closed loop holds its concurrency,
// a capped arrival rate gates (and measures the wait) instead of ending the run, warm-up
// stages are issued but left out of the metrics, and the issued samples are the plan's.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/errors.h"
#include "schedule/load_models/load_plan.h"
#include "session/session.h"

namespace loadgen::session {
namespace {

namespace fs = std::filesystem;
using schedule::ArrivalKind;
using schedule::StageSpec;

class Qsl : public mlperf::QuerySampleLibrary {
 public:
  const std::string& Name() override { return name_; }
  size_t TotalSampleCount() override { return 64; }
  size_t PerformanceSampleCount() override { return 64; }
  void LoadSamplesToRam(const std::vector<mlperf::QuerySampleIndex>& s) override { loaded = s; }
  std::vector<mlperf::QuerySampleIndex> loaded;
  void UnloadSamplesFromRam(const std::vector<mlperf::QuerySampleIndex>&) override {}

 private:
  std::string name_ = "Qsl";
};

// Completes each sample `delay` after its issue, on a worker thread; records the samples in
// issue order, their issue times, and the largest number in flight.
class DelayedSut : public mlperf::SystemUnderTest {
 public:
  DelayedSut(record::ActiveSeries* active, std::chrono::microseconds delay)
      : active_(active), delay_(delay), worker_([this] { Serve(); }) {}
  ~DelayedSut() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }
  const std::string& Name() override { return name_; }
  void IssueQuery(const std::vector<mlperf::QuerySample>& samples) override {
    const int64_t now = NowNs();
    std::lock_guard<std::mutex> lock(mu_);
    for (const mlperf::QuerySample& s : samples) {
      pending_.push_back({s.id, now + delay_.count() * 1000});
      indices.push_back(s.index);
      issue_ns.push_back(now);
    }
    in_flight_ += static_cast<int>(samples.size());
    max_in_flight = std::max(max_in_flight, in_flight_);
    cv_.notify_all();
  }
  void FlushQueries() override {}
  std::vector<size_t> indices;
  std::vector<int64_t> issue_ns;
  int max_in_flight = 0;

 private:
  struct Pending {
    uint64_t id;
    int64_t due_ns;
  };
  void Serve() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return stop_ || !pending_.empty(); });
      if (stop_) return;
      const Pending p = pending_.front();
      lock.unlock();
      while (NowNs() < p.due_ns) std::this_thread::sleep_for(std::chrono::microseconds(100));
      lock.lock();
      pending_.pop_front();
      --in_flight_;  // before the completion: the issuer may issue at once
      lock.unlock();
      mlperf::QuerySampleResponse r{p.id, 0, 0};
      active_->Complete(&r, 1, {});
      lock.lock();
    }
  }

  record::ActiveSeries* active_;
  std::chrono::microseconds delay_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> pending_;
  int in_flight_ = 0;
  bool stop_ = false;
  std::string name_ = "DelayedSut";
  std::thread worker_;
};

class LoadSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() /
        ("lg_load_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    log_settings_.log_output.outdir = dir_.string();
    settings_.scenario = mlperf::TestScenario::Server;
    settings_.server_target_latency_ns = 1'000'000'000;
  }
  void TearDown() override { fs::remove_all(dir_); }

  TestOutcome Run(mlperf::SystemUnderTest* sut, std::vector<StageSpec> stages) {
    model_.stages = std::move(stages);
    Environment env{&config_, &active_, &threads_};
    env.load_model = &model_;
    Session session(sut, &qsl_, settings_, log_settings_, "", env);
    return session.Run();
  }
  std::string Detail() {
    std::ifstream f(dir_ / "mlperf_log_detail.txt");
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

  fs::path dir_;
  mlperf::LogSettings log_settings_;
  mlperf::TestSettings settings_;
  settings::ConfigContext config_;
  record::ActiveSeries active_;
  issue::IssueThreadPool threads_;
  schedule::LoadModel model_;
  Qsl qsl_;
};

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
  DelayedSut sut(&active_, std::chrono::microseconds(2000));
  const TestOutcome out = Run(&sut, {Closed(4, 120)});
  EXPECT_EQ(sut.indices.size(), 120u);
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
  DelayedSut sut(&active_, std::chrono::microseconds(5000));
  StageSpec s = Constant(2000, 100'000'000);
  s.concurrency = 2;
  const TestOutcome out = Run(&sut, {s});
  EXPECT_EQ(sut.indices.size(), 200u);  // all issued: the cap gates, it does not end the run
  EXPECT_LE(sut.max_in_flight, 2);
  ASSERT_EQ(out.stages.size(), 1u);
  EXPECT_GT(out.stages[0].gated_queries, 100u);
  EXPECT_GT(out.stages[0].gate_wait_max_ns, 100'000'000);
  // Latency counts from the scheduled moment, so the queue shows in it.
  EXPECT_GT(out.stages[0].latency_max_ns, out.stages[0].gate_wait_max_ns);
  EXPECT_EQ(out.errors, 0u);
}

TEST_F(LoadSessionTest, WarmUpIsIssuedButNotMeasuredAndIsMarkedInTheLog) {
  DelayedSut sut(&active_, std::chrono::microseconds(100));
  StageSpec warm = Constant(1000, 20'000'000);
  warm.measured = false;
  warm.name = "warm-up";
  StageSpec main = Constant(1000, 30'000'000);
  main.name = "main";
  const TestOutcome out = Run(&sut, {warm, main});
  EXPECT_EQ(sut.indices.size(), 50u);
  ASSERT_TRUE(out.performance.has_value());
  EXPECT_EQ(out.performance->queries_issued, 30u);
  EXPECT_EQ(out.performance->sample_count, 30u);
  ASSERT_EQ(out.stages.size(), 2u);
  EXPECT_FALSE(out.stages[0].measured);
  EXPECT_EQ(out.stages[0].queries_issued, 20u);
  const std::string detail = Detail();
  EXPECT_NE(
      detail.find("\"key\": \"loadgen_load_stage\", \"value\": {\"index\":0,\"name\":\"warm-up\","
                  "\"kind\":\"constant_rate\",\"measured\":false,\"first_sample_seq\":0,"
                  "\"sample_count\":20,"),
      std::string::npos);
  EXPECT_NE(detail.find("\"key\": \"result_query_count\", \"value\": 30,"), std::string::npos);
}

TEST_F(LoadSessionTest, IssuesThePlansSamplesAtThePlansMoments) {
  DelayedSut sut(&active_, std::chrono::microseconds(100));
  const TestOutcome out = Run(&sut, {Constant(500, 100'000'000)});
  ASSERT_EQ(sut.issue_ns.size(), 50u);
  // The plan generated again from the loaded set and the seeds: the issued samples exactly.
  schedule::LoadableSet set;
  set.samples.assign(qsl_.loaded.begin(), qsl_.loaded.end());
  set.dist_end = set.samples.size();
  settings::EffectiveSettings e;
  e.schedule_rng_seed = settings_.schedule_rng_seed;
  e.sample_index_rng_seed = settings_.sample_index_rng_seed;
  schedule::SequenceState sequence;
  const schedule::LoadPlan plan = schedule::GenerateLoadPlan(model_, e, set, sequence);
  EXPECT_EQ(std::vector<size_t>(plan.plan.sample_index.begin(), plan.plan.sample_index.end()),
            sut.indices);
  // At the plan's moments (2 ms apart), measured from the first issue: none is issued early
  // (the issuer sleeps until each moment; slack for a late first issue), and the last comes
  // when planned (slack for a stall on a busy 2-core machine).
  for (size_t i = 0; i < sut.issue_ns.size(); ++i) {
    EXPECT_GE(sut.issue_ns[i] - sut.issue_ns[0], plan.plan.scheduled_delta_ns[i] - 30'000'000) << i;
  }
  const int64_t span = sut.issue_ns.back() - sut.issue_ns.front();
  EXPECT_GE(span, plan.plan.scheduled_delta_ns[49] - 30'000'000);
  EXPECT_LE(span, plan.plan.scheduled_delta_ns[49] + 100'000'000);
  EXPECT_EQ(out.errors, 0u);
}

TEST_F(LoadSessionTest, RefusesALoadModelOutsideTheServerScenario) {
  DelayedSut sut(&active_, std::chrono::microseconds(100));
  settings_.scenario = mlperf::TestScenario::SingleStream;
  EXPECT_THROW(Run(&sut, {Constant(500, 10'000'000)}), SettingsError);
}

}  // namespace
}  // namespace loadgen::session
