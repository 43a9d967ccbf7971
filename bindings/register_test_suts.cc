// loadgen._core.ServiceTimeSut: a SUT of known capacity for the capacity search's tests,
// benchmarks and `loadgen search --sut service-time`. `workers` servers serve each sample in
// exactly `service_s`, first come first served, so the capacity is workers / service_s.
//
// The queue is computed, not slept: IssueQuery gives each sample the moment its server frees
// up, and one native thread completes samples at those moments. Nothing runs in Python (no
// GIL), so the completion stamps are late only by a thread wake-up; never early.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <thread>
#include <vector>

#include "bindings.h"
#include "loadgen.h"

namespace loadgen::python {
namespace {

using Clock = std::chrono::steady_clock;

class ServiceTimeSut : public mlperf::SystemUnderTest {
 public:
  ServiceTimeSut(int workers, double service_s)
      : service_(
            std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(service_s))),
        name_("ServiceTimeSut(" + std::to_string(workers) + "x" + std::to_string(service_s * 1e3) +
              "ms)"),
        free_at_(static_cast<size_t>(workers), Clock::time_point{}),
        thread_([this] { Complete(); }) {}
  ~ServiceTimeSut() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

  const std::string& Name() override { return name_; }

  void IssueQuery(const std::vector<mlperf::QuerySample>& samples) override {
    const Clock::time_point now = Clock::now();
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const mlperf::QuerySample& s : samples) {
        // free_at_ is a min-heap of the moments each server is next free.
        std::pop_heap(free_at_.begin(), free_at_.end(), std::greater<>());
        const Clock::time_point done = std::max(now, free_at_.back()) + service_;
        free_at_.back() = done;
        std::push_heap(free_at_.begin(), free_at_.end(), std::greater<>());
        due_.push({done, s.id});
      }
    }
    cv_.notify_one();
  }

  void FlushQueries() override {}

 private:
  struct Due {
    Clock::time_point at;
    mlperf::ResponseId id;
    bool operator>(const Due& other) const { return at > other.at; }
  };

  void Complete() {
    std::vector<mlperf::QuerySampleResponse> ready;
    std::unique_lock<std::mutex> lock(mu_);
    while (!closed_) {
      if (due_.empty()) {
        cv_.wait(lock);
        continue;
      }
      const Clock::time_point at = due_.top().at;
      if (Clock::now() < at) {
        cv_.wait_until(lock, at);
        continue;
      }
      const Clock::time_point now = Clock::now();
      ready.clear();
      while (!due_.empty() && due_.top().at <= now) {
        ready.push_back({due_.top().id, 0, 0});
        due_.pop();
      }
      lock.unlock();
      mlperf::QuerySamplesComplete(ready.data(), ready.size());
      lock.lock();
    }
  }

  const Clock::duration service_;
  const std::string name_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Clock::time_point> free_at_;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> due_;
  bool closed_ = false;
  std::thread thread_;  // last: started once the rest is built
};

struct NativeServiceTimeSut {
  uintptr_t handle = 0;
  std::string name;
};

}  // namespace

void RegisterTestSuts(py::module_& m) {
  py::class_<NativeServiceTimeSut>(
      m, "ServiceTimeSut",
      "A SUT of known capacity: `workers` servers, `service_s` per sample, first come first "
      "served, completed from a native thread (no Python per sample).")
      .def(py::init([](int workers, double service_s) {
             if (workers < 1 || !(service_s > 0) || service_s > 3600) {
               throw py::value_error("ServiceTimeSut needs workers >= 1 and 0 < service_s <= 3600");
             }
             auto sut = std::make_shared<ServiceTimeSut>(workers, service_s);
             NativeServiceTimeSut object;
             object.name = sut->Name();
             object.handle = AddNativeSut(std::move(sut));
             return object;
           }),
           py::arg("workers"), py::arg("service_s"))
      .def_property_readonly(
          "handle", [](const NativeServiceTimeSut& s) { return s.handle; },
          "The SUT handle StartTest and loadgen.run accept (DestroySUT releases it).")
      .def_property_readonly("name", [](const NativeServiceTimeSut& s) { return s.name; });
}

}  // namespace loadgen::python
