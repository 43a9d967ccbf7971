// schedule stage: a load model's plan. The queries are a SeriesPlan like any scenario's (one
// sample per query, scheduled offsets from the series start, QSL indices), so the recorder,
// the results and the logs treat them as they treat a Server series; the stages say how the
// issuer treats each range of queries.
#ifndef LOADGEN_SCHEDULE_LOAD_MODELS_LOAD_PLAN_H_
#define LOADGEN_SCHEDULE_LOAD_MODELS_LOAD_PLAN_H_

#include <cstdint>
#include <memory>
#include <string>
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

/// Generates a load model's plan on the loaded set: arrival offsets from the schedule seed,
/// sample indices uniformly from the set with the sample-index seed (a trace's sample ids are
/// used as they are and must be in the set), accuracy-log bits with accuracy_log_probability.
/// Advances `sequence` by the plan's queries and samples. Deterministic: the same model,
/// settings and set give byte-identical plans. A closed loop's queries are planned at its
/// stage's start; the issuer records each one's real issue time as its scheduled time.
/// Throws SettingsError (ValidateLoadModel, trace problems, sample ids outside the set).
LoadPlan GenerateLoadPlan(const LoadModel& model, const settings::EffectiveSettings& effective,
                          const LoadableSet& set, SequenceState& sequence);

}  // namespace loadgen::schedule

#endif  // LOADGEN_SCHEDULE_LOAD_MODELS_LOAD_PLAN_H_
