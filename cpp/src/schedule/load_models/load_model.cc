#include "schedule/load_models/load_model.h"

#include <cmath>
#include <string>

#include "common/errors.h"

namespace loadgen::schedule {
namespace {

// Beyond this many expected queries a plan would not fit in memory (16 bytes per query).
constexpr double kMaxPlannedQueries = 4294967296.0;

std::string Name(const StageSpec& s, size_t i) {
  return s.name.empty() ? "stage " + std::to_string(i)
                        : "stage " + std::to_string(i) + " ('" + s.name + "')";
}

bool PositiveFinite(double x) { return x > 0 && std::isfinite(x); }

}  // namespace

void ValidateLoadModel(const LoadModel& model) {
  if (model.stages.empty()) throw SettingsError("the load model has no stages");
  for (size_t i = 0; i < model.stages.size(); ++i) {
    const StageSpec& s = model.stages[i];
    const std::string name = Name(s, i);
    auto refuse = [&](const std::string& why) { throw SettingsError(name + ": " + why); };
    if (s.duration_ns < 0) refuse("the duration is negative");
    const bool bounded = s.duration_ns > 0 || s.queries > 0;
    switch (s.kind) {
      case ArrivalKind::kConstantRate:
      case ArrivalKind::kGamma: {
        if (!bounded) refuse("give a duration (> 0) or a query count (> 0)");
        const bool ramp = s.end_rate_qps >= 0;
        if (ramp) {
          if (s.duration_ns <= 0) refuse("a ramp needs a duration (> 0)");
          if (!(s.rate_qps >= 0) || !std::isfinite(s.rate_qps) || !std::isfinite(s.end_rate_qps)) {
            refuse("a ramp's rates must be finite and >= 0");
          }
          if (s.rate_qps == 0 && s.end_rate_qps == 0) refuse("a ramp from 0 to 0 issues nothing");
        } else if (!PositiveFinite(s.rate_qps)) {
          refuse("the rate must be a positive, finite number of queries per second, got " +
                 std::to_string(s.rate_qps));
        }
        if (s.kind == ArrivalKind::kGamma && !PositiveFinite(s.burstiness)) {
          refuse("the burstiness must be a positive, finite number (1 = Poisson)");
        }
        const double peak = ramp ? std::max(s.rate_qps, s.end_rate_qps) : s.rate_qps;
        if (s.queries == 0 &&
            !(static_cast<double>(s.duration_ns) / 1e9 * peak <= kMaxPlannedQueries)) {
          refuse("the rate and duration would plan more than 2^32 queries");
        }
        break;
      }
      case ArrivalKind::kConcurrency:
        if (s.concurrency == 0) refuse("the concurrency must be at least 1");
        if (!bounded) refuse("give a duration (> 0) or a query count (> 0)");
        break;
      case ArrivalKind::kTrace:
        if (!s.trace) refuse("the trace has no arrivals");
        if (s.trace->arrival_s.empty()) refuse("the trace has no arrivals");
        if (!s.trace->sample_ids.empty() &&
            s.trace->sample_ids.size() != s.trace->arrival_s.size()) {
          refuse("the trace has " + std::to_string(s.trace->sample_ids.size()) +
                 " sample ids for " + std::to_string(s.trace->arrival_s.size()) + " arrivals");
        }
        if (!PositiveFinite(s.time_scale))
          refuse("the time scale must be a positive, finite number");
        break;
      case ArrivalKind::kConversations: {
        if (s.concurrency == 0) refuse("the number of users must be at least 1");
        if (!s.conversations || s.conversations->count() == 0) refuse("there are no conversations");
        const ConversationSet& set = *s.conversations;
        if (set.first_turn.front() != 0 || set.first_turn.back() != set.turn_samples.size()) {
          refuse("the conversations' turn offsets do not match their turns");
        }
        for (uint64_t c = 0; c < set.count(); ++c) {
          if (set.first_turn[c + 1] <= set.first_turn[c]) {
            refuse("conversation " + std::to_string(c) + " has no turns");
          }
        }
        if (s.queries > set.count()) {
          refuse(std::to_string(s.queries) + " conversations asked, but there are only " +
                 std::to_string(set.count()) + " (each runs at most once)");
        }
        if (s.think_time_ns < 0) refuse("the think time is negative");
        break;
      }
    }
  }
}

}  // namespace loadgen::schedule
