// schedule stage: a load model's plan. The queries are a SeriesPlan like any scenario's (one
// sample per query, scheduled offsets from the series start, QSL indices), so the recorder,
// the results and the logs treat them as they treat a Server series; the stages say how the
// issuer treats each range of queries.
#ifndef LOADGEN_SCHEDULE_LOAD_MODELS_LOAD_PLAN_H_
#define LOADGEN_SCHEDULE_LOAD_MODELS_LOAD_PLAN_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "schedule/load_models/load_model.h"
#include "schedule/plan.h"
#include "settings/effective_settings.h"

namespace loadgen::schedule {

/// One stage of a load plan: queries [first_query, end_query) of the series.
struct StagePlan {
  std::string name;
  ArrivalKind kind = ArrivalKind::kConstantRate;
  bool measured = true;
  uint64_t first_query = 0;
  uint64_t end_query = 0;
  /// Planned window, from the series start. A count-bounded closed loop's length is unknown
  /// (end_ns == start_ns): the stages after it start when it has issued its last query.
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  /// A closed loop bounded by a duration stops issuing at end_ns (its remaining planned
  /// queries are not issued).
  bool ends_by_time = false;
  /// Closed loop: queries in flight. Open loop: the cap that gates (0 = none).
  uint64_t concurrency = 0;
  /// kConversations: the conversations in start order and their think times, and the set
  /// they come from. The plan holds their turns in that order (the order one user issues
  /// them); with more users, the issuer writes each slot's sample when it issues it.
  std::shared_ptr<const ConversationSchedule> conversations;
  std::shared_ptr<const ConversationSet> conversation_set;
  /// Issued on completions (its queries' moments are known only while it runs).
  bool closed_loop() const {
    return kind == ArrivalKind::kConcurrency || kind == ArrivalKind::kConversations;
  }
};

struct LoadPlan {
  SeriesPlan plan;
  std::vector<StagePlan> stages;
};

/// A load model's plan generated in steps, so a long one can be issued while it is generated
/// (session::PlanStreamer keeps it a bounded number of queries ahead of the issuer, as for a
/// long Server series: docs/architecture.md). The output is the same however it is cut into
/// steps. While streaming, another thread may read the queries below published_queries() and
/// stage i's fields once started_stages() > i (its end_query and end_ns once
/// complete_stages() > i; a stage bounded by a duration has its end_ns from the start).
class LoadPlanGenerator {
 public:
  /// Validates the model and sets up the stages. Throws SettingsError.
  LoadPlanGenerator(const LoadModel& model, const settings::EffectiveSettings& effective,
                    const LoadableSet& set, SequenceState& sequence);
  ~LoadPlanGenerator();
  LoadPlanGenerator(const LoadPlanGenerator&) = delete;
  LoadPlanGenerator& operator=(const LoadPlanGenerator&) = delete;

  /// Appends up to `max_queries` queries (with their accuracy-log bits); returns true once the
  /// plan is complete (then `sequence` is advanced). Throws SettingsError (a trace sample id
  /// outside the set, a plan of no queries, ...).
  bool Generate(uint64_t max_queries);
  void Finish() { Generate(UINT64_MAX); }
  bool complete() const { return complete_.load(std::memory_order_acquire); }

  /// An upper bound of the plan's queries (what the recorder may size its arrays by).
  uint64_t query_bound() const { return bound_; }
  /// Whether the plan is long enough to stream (more than `threshold` queries) and can be
  /// (no accuracy-log sampling in performance mode, as for Server).
  bool ShouldStream(uint64_t threshold) const;
  /// Reserves the plan's arrays at query_bound() (address space only until written) and
  /// freezes them, so other threads may read published queries while this one generates.
  void PrepareForStreaming();
  /// After an abandoned generation (PlanStreamer::Stop): ends the stage being generated at
  /// the queries generated so far, and the stages after it empty, so the stage table covers
  /// exactly the generated queries.
  void Truncate();

  uint64_t published_queries() const { return published_.load(std::memory_order_acquire); }
  uint64_t started_stages() const { return started_stages_.load(std::memory_order_acquire); }
  uint64_t complete_stages() const { return complete_stages_.load(std::memory_order_acquire); }
  /// Blocks until query `q` is published, the plan is complete or `stop()`; returns the number
  /// of queries readable now.
  template <typename Stop>
  uint64_t WaitFor(uint64_t q, Stop&& stop) const;
  /// Blocks until stage `i` has started (its first_query and start are set), the plan is
  /// complete or `stop()`; returns whether it has.
  template <typename Stop>
  bool WaitForStage(uint64_t i, Stop&& stop) const;

  LoadPlan& load() { return load_; }
  const LoadPlan& load() const { return load_; }

 private:
  struct Cursor;
  void StartStage();
  void EndStage(int64_t length);
  void DrawAccuracyLogBits();
  void Publish();

  const LoadModel& model_;
  const settings::EffectiveSettings& effective_;
  SequenceState& sequence_;
  LoadPlan load_;
  std::unique_ptr<Cursor> cursor_;
  uint64_t bound_ = 0;
  bool streaming_ = false;
  std::atomic<uint64_t> published_{0};
  std::atomic<uint64_t> started_stages_{0};
  std::atomic<uint64_t> complete_stages_{0};
  std::atomic<bool> complete_{false};
};

template <typename Stop>
uint64_t LoadPlanGenerator::WaitFor(uint64_t q, Stop&& stop) const {
  for (int spin = 0;; ++spin) {
    const bool done = complete();  // first: its release follows the final count's
    const uint64_t available = published_queries();
    if (available > q || done || stop()) return available;
    if (spin < 64) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
}

template <typename Stop>
bool LoadPlanGenerator::WaitForStage(uint64_t i, Stop&& stop) const {
  for (int spin = 0;; ++spin) {
    const bool done = complete();
    if (started_stages() > i) return true;
    if (done || stop()) return false;
    if (spin < 64) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
}

/// Generates a load model's plan on the loaded set: arrival offsets from the schedule seed,
/// sample indices uniformly from the set with the sample-index seed (a trace's sample ids are
/// used as they are and must be in the set), accuracy-log bits with accuracy_log_probability.
/// Advances `sequence` by the plan's queries and samples. Deterministic: the same model,
/// settings and set give byte-identical plans. A closed loop's queries are planned at its
/// stage's start; the issuer records each one's real issue time as its scheduled time.
/// Throws SettingsError (ValidateLoadModel, trace problems, sample ids outside the set).
/// (LoadPlanGenerator, run to completion.)
LoadPlan GenerateLoadPlan(const LoadModel& model, const settings::EffectiveSettings& effective,
                          const LoadableSet& set, SequenceState& sequence);

}  // namespace loadgen::schedule

#endif  // LOADGEN_SCHEDULE_LOAD_MODELS_LOAD_PLAN_H_
