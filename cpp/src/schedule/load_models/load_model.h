// schedule stage, load models beyond the four MLPerf scenarios (docs/load-models.md): what a
// user asks for. A load model is a list of stages; each stage is an arrival process (constant
// rate, gamma, a trace, or a closed loop of N in flight), bounded by a duration or a query
// count, measured or not (warm-up, cool-down). GenerateLoadPlan (load_plan.h) turns it into
// the same SeriesPlan the engine issues from.
#ifndef LOADGEN_SCHEDULE_LOAD_MODELS_LOAD_MODEL_H_
#define LOADGEN_SCHEDULE_LOAD_MODELS_LOAD_MODEL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "schedule/load_models/conversations.h"

namespace loadgen::schedule {

enum class ArrivalKind {
  kConstantRate,   // evenly spaced arrivals (a linear ramp when end_rate_qps is set)
  kGamma,          // gamma inter-arrival gaps of mean 1/rate; burstiness 1 is Poisson
  kConcurrency,    // closed loop: `concurrency` queries in flight, the next one when one ends
  kTrace,          // arrival times read from a file (the Python layer parses it)
  kConversations,  // multi-turn: `concurrency` users, each turn due at the previous answer
                   // plus a think time (conversations.h)
};

/// Arrival times of a trace, in file order (seconds, any origin), and optionally the QSL
/// sample index of each arrival. `line` gives each arrival's line in the file, for messages.
struct TraceArrivals {
  std::vector<double> arrival_s;
  std::vector<uint64_t> sample_ids;  // empty, or one per arrival
  std::vector<uint64_t> line;        // empty, or one per arrival
};

struct StageSpec {
  std::string name;
  ArrivalKind kind = ArrivalKind::kConstantRate;
  double rate_qps = 0;       // open loop: the rate; with end_rate_qps, the ramp's first rate
  double end_rate_qps = -1;  // a linear ramp's rate at the stage's end (< 0: no ramp)
  double burstiness = 1;     // kGamma: the squared coefficient of variation of the gaps
  /// kConcurrency: the number in flight. Open loop: a cap that gates (a query waits for a
  /// free slot; 0 = no cap).
  uint64_t concurrency = 0;
  /// The stage's bound: a duration, a query count, or both (the first reached ends it). A
  /// trace may have neither (the whole trace). A closed loop bounded by duration alone gets
  /// kClosedLoopQueryBudget queries.
  int64_t duration_ns = 0;
  uint64_t queries = 0;
  bool measured = true;  // false: warm-up or cool-down, issued but excluded from the metrics
  // kTrace only.
  std::shared_ptr<const TraceArrivals> trace;
  double time_scale = 1;    // offsets are multiplied by this (0.5 replays twice as fast)
  bool sort_trace = false;  // timestamps that go backwards: sorted, or refused (false)
  // kConversations only: `concurrency` is the number of users, `queries` the number of
  // conversations to run (0: each of the set once), `duration_ns` an optional time limit.
  std::shared_ptr<const ConversationSet> conversations;
  int64_t think_time_ns = 0;       // before each turn after the first
  bool exponential_think = false;  // think times exponentially distributed, of that mean
};

/// Queries planned for a closed-loop stage bounded only by a duration.
inline constexpr uint64_t kClosedLoopQueryBudget = uint64_t{1} << 20;

struct LoadModel {
  std::vector<StageSpec> stages;
};

/// Throws SettingsError naming the stage for a load model that cannot run (no stages, a zero
/// or negative duration, a negative or zero rate, a ramp without a duration, ...).
void ValidateLoadModel(const LoadModel& model);

}  // namespace loadgen::schedule

#endif  // LOADGEN_SCHEDULE_LOAD_MODELS_LOAD_MODEL_H_
