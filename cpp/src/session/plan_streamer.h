// Generates a streamed plan on a thread of its own, a bounded number of queries ahead of the
// issuer, so a long series (Server, or a load model's) starts at once and its memory grows
// with what was issued: at any moment at most kLead + kStep queries are generated and not yet
// issued.
#ifndef LOADGEN_SESSION_PLAN_STREAMER_H_
#define LOADGEN_SESSION_PLAN_STREAMER_H_

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <thread>

#include "schedule/load_models/load_plan.h"
#include "schedule/plan.h"

namespace loadgen::session {

class PlanStreamer {
 public:
  /// Queries generated per step, and how far generation may run ahead of the issuer.
  static constexpr uint64_t kStep = uint64_t{1} << 16;
  static constexpr uint64_t kLead = uint64_t{1} << 20;

  /// Generates the first step on the calling thread, then the rest on a new thread, staying
  /// at most kLead queries ahead of `issued_queries()`. `on_failure` is called (on that
  /// thread) if generation throws, so the issuer stops waiting for queries.
  PlanStreamer(schedule::QueryGenerator& generator, std::function<uint64_t()> issued_queries,
               std::function<void(const std::string&)> on_failure);
  /// The same for a load model's plan.
  PlanStreamer(schedule::LoadPlanGenerator& generator, std::function<uint64_t()> issued_queries,
               std::function<void(const std::string&)> on_failure);
  ~PlanStreamer();
  PlanStreamer(const PlanStreamer&) = delete;
  PlanStreamer& operator=(const PlanStreamer&) = delete;

  /// Lifts the throttle and waits until the plan is complete (the official generates every
  /// query, issued or not, and the next series' sequence ids follow from the count).
  /// Rethrows a generation failure.
  void Complete();
  /// Abandons the rest of the plan and joins the thread.
  void Stop();

 private:
  // A generator's steps: Generate(max) (true once complete), the published count, complete.
  struct GeneratorSteps {
    std::function<bool(uint64_t)> generate;
    std::function<uint64_t()> published;
    std::function<bool()> complete;
  };
  // Either generator's steps (they share no base class).
  template <typename Generator>
  static GeneratorSteps StepsOf(Generator& generator);

  PlanStreamer(GeneratorSteps steps, std::function<uint64_t()> issued_queries,
               std::function<void(const std::string&)> on_failure);
  void Run();

  GeneratorSteps steps_;
  std::function<uint64_t()> issued_queries_;
  std::function<void(const std::string&)> on_failure_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> unthrottled_{false};
  std::exception_ptr failure_;
  std::thread thread_;
};

}  // namespace loadgen::session

#endif  // LOADGEN_SESSION_PLAN_STREAMER_H_
