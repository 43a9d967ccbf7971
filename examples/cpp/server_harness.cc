// A native Server harness written against the official LoadGen headers only: a SUT that queues
// queries to a pool of worker threads which complete them, a QSL, settings from an optional
// user.conf. Builds unchanged against the official library or against loadgen.
//
//   server_harness [--qps Q] [--duration-ms D] [--workers N (default: cores - 1)]
//                  [--user-conf user.conf] [--model resnet50] [--outdir DIR]
#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "loadgen.h"
#include "query_sample_library.h"
#include "system_under_test.h"
#include "test_settings.h"

namespace {

class QueueSut : public mlperf::SystemUnderTest {
 public:
  explicit QueueSut(int workers) {
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { Work(); });
  }
  ~QueueSut() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  const std::string& Name() override { return name_; }
  void IssueQuery(const std::vector<mlperf::QuerySample>& samples) override {
    bool was_empty;
    {
      std::lock_guard<std::mutex> lock(mu_);
      was_empty = queue_.empty();
      for (const auto& s : samples) queue_.push_back(s);
    }
    // An awake worker drains the queue before it sleeps again, so wake one only when the
    // queue was empty: busy workers are not disturbed and most issues make no system call.
    if (was_empty) cv_.notify_one();
  }
  void FlushQueries() override {}

 private:
  void Work() {
    std::vector<mlperf::QuerySampleResponse> responses;
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return done_ || !queue_.empty(); });
      if (queue_.empty()) return;
      responses.clear();
      // Drain a batch so completion calls stay cheap under load.
      while (!queue_.empty() && responses.size() < 64) {
        responses.emplace_back(queue_.front().id, 0, 0);
        queue_.pop_front();
      }
      const bool backlog = !queue_.empty();
      lock.unlock();
      if (backlog) cv_.notify_one();  // another worker takes the next batch in parallel
      mlperf::QuerySamplesComplete(responses.data(), responses.size());
      lock.lock();
    }
  }

  std::string name_ = "QueueSUT";
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<mlperf::QuerySample> queue_;
  bool done_ = false;
  std::vector<std::thread> threads_;
};

class MemoryQsl : public mlperf::QuerySampleLibrary {
 public:
  const std::string& Name() override { return name_; }
  size_t TotalSampleCount() override { return 1024; }
  size_t PerformanceSampleCount() override { return 1024; }
  void LoadSamplesToRam(const std::vector<mlperf::QuerySampleIndex>&) override {}
  void UnloadSamplesFromRam(const std::vector<mlperf::QuerySampleIndex>&) override {}

 private:
  std::string name_ = "MemoryQSL";
};

}  // namespace

int main(int argc, char** argv) {
  double qps = 10000;
  uint64_t duration_ms = 2000;
  // One core for loadgen's issuing thread (it spins before each Server query), the rest for
  // the workers.
  int workers = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) - 1);
  std::string user_conf, model = "resnet50", outdir = ".";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--qps")
      qps = std::atof(argv[i + 1]);
    else if (flag == "--duration-ms")
      duration_ms = std::strtoull(argv[i + 1], nullptr, 10);
    else if (flag == "--workers")
      workers = std::atoi(argv[i + 1]);
    else if (flag == "--user-conf")
      user_conf = argv[i + 1];
    else if (flag == "--model")
      model = argv[i + 1];
    else if (flag == "--outdir")
      outdir = argv[i + 1];
    else {
      std::cerr << "unknown flag " << flag << "\n";
      return 2;
    }
  }

  mlperf::TestSettings settings;
  if (!user_conf.empty() && settings.FromConfig(user_conf, model, "Server") != 0) {
    std::cerr << "could not read " << user_conf << "\n";
    return 1;
  }
  settings.scenario = mlperf::TestScenario::Server;
  settings.mode = mlperf::TestMode::PerformanceOnly;
  settings.server_target_qps = qps;
  settings.server_target_latency_ns = 10000000;  // 10 ms p99, as the official repro benchmark
  settings.min_duration_ms = duration_ms;
  settings.min_query_count = 100;

  mlperf::LogSettings log_settings;
  log_settings.log_output.outdir = outdir;
  log_settings.enable_trace = false;

  QueueSut sut(workers);
  MemoryQsl qsl;
  mlperf::StartTest(&sut, &qsl, settings, log_settings);
  std::cout << "done; see " << outdir << "/mlperf_log_summary.txt\n";
  return 0;
}
