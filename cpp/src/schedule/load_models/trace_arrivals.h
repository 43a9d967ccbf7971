// schedule stage: the arrival offsets of a trace-replay stage: the trace's timestamps relative
// to its first arrival, times the time scale, checked for order (refused or sorted, as asked).
#ifndef LOADGEN_SCHEDULE_LOAD_MODELS_TRACE_ARRIVALS_H_
#define LOADGEN_SCHEDULE_LOAD_MODELS_TRACE_ARRIVALS_H_

#include <cstdint>
#include <vector>

#include "schedule/load_models/load_model.h"

namespace loadgen::schedule {

/// One arrival of a replayed trace.
struct TraceArrival {
  int64_t offset_ns;
  uint64_t entry;  // index into the trace's arrays (its sample id, its line)
};

/// The stage's arrivals in time order, cut at its duration or query count. Throws
/// SettingsError naming the line where a timestamp goes backwards (unless the stage sorts),
/// or is not finite.
std::vector<TraceArrival> TraceReplayArrivals(const StageSpec& stage);

}  // namespace loadgen::schedule

#endif  // LOADGEN_SCHEDULE_LOAD_MODELS_TRACE_ARRIVALS_H_
