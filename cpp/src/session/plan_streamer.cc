#include "session/plan_streamer.h"

#include <chrono>
#include <utility>

namespace loadgen::session {

template <typename Generator>
PlanStreamer::GeneratorSteps PlanStreamer::StepsOf(Generator& generator) {
  return {[&generator](uint64_t n) { return generator.Generate(n); },
          [&generator] { return generator.published_queries(); },
          [&generator] { return generator.complete(); }};
}

PlanStreamer::PlanStreamer(schedule::QueryGenerator& generator,
                           std::function<uint64_t()> issued_queries,
                           std::function<void(const std::string&)> on_failure)
    : PlanStreamer(StepsOf(generator), std::move(issued_queries), std::move(on_failure)) {}

PlanStreamer::PlanStreamer(schedule::LoadPlanGenerator& generator,
                           std::function<uint64_t()> issued_queries,
                           std::function<void(const std::string&)> on_failure)
    : PlanStreamer(StepsOf(generator), std::move(issued_queries), std::move(on_failure)) {}

PlanStreamer::PlanStreamer(GeneratorSteps steps, std::function<uint64_t()> issued_queries,
                           std::function<void(const std::string&)> on_failure)
    : steps_(std::move(steps)),
      issued_queries_(std::move(issued_queries)),
      on_failure_(std::move(on_failure)) {
  steps_.generate(kStep);
  if (!steps_.complete()) thread_ = std::thread([this] { Run(); });
}

PlanStreamer::~PlanStreamer() { Stop(); }

void PlanStreamer::Run() {
  try {
    while (!stop_.load(std::memory_order_relaxed)) {
      const bool throttled = !unthrottled_.load(std::memory_order_relaxed) &&
                             steps_.published() > issued_queries_() + kLead;
      if (throttled) {
        // The lead is a second or more of queries: polling costs nothing measurable.
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      if (steps_.generate(kStep)) return;
    }
  } catch (const std::exception& e) {
    failure_ = std::current_exception();
    on_failure_(std::string("generating the queries failed: ") + e.what());
  }
}

void PlanStreamer::Complete() {
  unthrottled_.store(true);
  if (thread_.joinable()) thread_.join();
  if (failure_) std::rethrow_exception(std::exchange(failure_, nullptr));
}

void PlanStreamer::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

}  // namespace loadgen::session
