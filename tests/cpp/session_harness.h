// What the tests that run a whole Session share: the engine state a Session borrows, a log
// folder of the test's own with its files read back, a QSL with nothing to load, a SUT that
// answers after a delay, and the settings and loadable set that plans are generated from.
// What a test is about (its settings, its SUT's behaviour, what it asserts) stays in the test.
#ifndef LOADGEN_TESTS_CPP_SESSION_HARNESS_H_
#define LOADGEN_TESTS_CPP_SESSION_HARNESS_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "schedule/load_models/load_plan.h"
#include "session/session.h"
#include "test_log_dir.h"

namespace loadgen::test_harness {

// One Session's surroundings: its log folder (named after the running test and the process, so
// tests run in parallel, or by two builds at once, never share one; removed at the end) and
// the engine state it borrows.
class SessionHarness {
 public:
  SessionHarness() { log_settings.log_output.outdir = dir.string(); }
  SessionHarness(const SessionHarness&) = delete;
  SessionHarness& operator=(const SessionHarness&) = delete;

  session::Environment Env(const schedule::LoadModel* load_model = nullptr) {
    session::Environment env{&config, &active, &threads};
    env.load_model = load_model;
    return env;
  }
  session::TestOutcome Run(mlperf::SystemUnderTest* sut, mlperf::QuerySampleLibrary* qsl,
                           const mlperf::TestSettings& settings,
                           const schedule::LoadModel* load_model = nullptr) {
    session::Session session(sut, qsl, settings, log_settings, "", Env(load_model));
    return session.Run();
  }
  // A log file's text ("" if it was not written).
  std::string Read(const std::string& file) const { return logs_.Read(file); }
  std::string Detail() const { return Read("mlperf_log_detail.txt"); }

 private:
  TestLogDir logs_;  // first: dir refers to it

 public:
  const std::filesystem::path& dir = logs_.path;
  mlperf::LogSettings log_settings;
  settings::ConfigContext config;
  record::ActiveSeries active;
  issue::IssueThreadPool threads;
};

// `total` samples, `performance` of them loadable at once, nothing to load; records the sets
// it was asked to load and how often it unloaded.
class TestQsl : public mlperf::QuerySampleLibrary {
 public:
  explicit TestQsl(size_t total = 64) : TestQsl(total, total) {}
  TestQsl(size_t total, size_t performance) : total_(total), performance_(performance) {}
  const std::string& Name() override { return name_; }
  size_t TotalSampleCount() override { return total_; }
  size_t PerformanceSampleCount() override { return performance_; }
  void LoadSamplesToRam(const std::vector<mlperf::QuerySampleIndex>& s) override {
    loads.push_back(s);
  }
  void UnloadSamplesFromRam(const std::vector<mlperf::QuerySampleIndex>&) override { ++unloads; }
  std::vector<std::vector<mlperf::QuerySampleIndex>> loads;
  int unloads = 0;

 private:
  std::string name_ = "TestQsl";
  size_t total_, performance_;
};

// A load model's run: the Server scenario (whose metrics load models report) with a target
// latency no test's SUT comes near, `qsl_samples` samples, and `stages` as the load model.
class LoadModelSessionTest : public ::testing::Test {
 protected:
  explicit LoadModelSessionTest(size_t qsl_samples = 64) : qsl_(qsl_samples) {
    settings_.scenario = mlperf::TestScenario::Server;
    settings_.server_target_latency_ns = 1'000'000'000;
  }
  session::TestOutcome Run(mlperf::SystemUnderTest* sut, std::vector<schedule::StageSpec> stages) {
    model_.stages = std::move(stages);
    return h_.Run(sut, &qsl_, settings_, &model_);
  }

  SessionHarness h_;
  mlperf::TestSettings settings_;
  schedule::LoadModel model_;
  TestQsl qsl_;
};

// Answers each sample `delay` after its issue, on one worker thread in issue order, and records
// when each sample was issued and answered and the most samples in flight at once.
class DelayedSut : public mlperf::SystemUnderTest {
 public:
  struct Event {
    size_t index;
    int64_t ns;
  };

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
      pending_.push_back({s.id, s.index, now + delay_.count() * 1000});
      issued.push_back({s.index, now});
    }
    in_flight_ += static_cast<int>(samples.size());
    max_in_flight = std::max(max_in_flight, in_flight_);
    cv_.notify_all();
  }
  void FlushQueries() override {}

  // While the test runs (the fields below are for after it).
  size_t IssuedCount() {
    std::lock_guard<std::mutex> lock(mu_);
    return issued.size();
  }
  std::vector<size_t> IssuedIndices() const {
    std::vector<size_t> indices;
    for (const Event& e : issued) indices.push_back(e.index);
    return indices;
  }

  std::vector<Event> issued;              // in issue order
  std::map<size_t, int64_t> answered_ns;  // by sample (its last answer)
  int max_in_flight = 0;

 private:
  struct Pending {
    uint64_t id;
    size_t index;
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
      // Before the completion: the issuer may issue (the next turn, a freed slot) at once.
      --in_flight_;
      answered_ns[p.index] = NowNs();
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

// Server settings with fixed seeds, one sample per query: what load plans are generated from.
inline settings::EffectiveSettings PlanSettings() {
  settings::EffectiveSettings s;
  s.scenario = mlperf::TestScenario::Server;
  s.samples_per_query = 1;
  s.schedule_rng_seed = 16159082839903944936ull;
  s.sample_index_rng_seed = 2747215439041700203ull;
  return s;
}

// Samples 0 .. n-1, all loaded.
inline schedule::LoadableSet LoadedSet(uint64_t n) {
  schedule::LoadableSet set;
  for (uint64_t i = 0; i < n; ++i) set.samples.push_back(i);
  set.dist_end = n;
  return set;
}

}  // namespace loadgen::test_harness

#endif  // LOADGEN_TESTS_CPP_SESSION_HARNESS_H_
