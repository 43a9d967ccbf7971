// schedule stage: the arrival times of an open-loop stage (constant rate, gamma, either with a
// linear ramp of the rate). Pure: the same stage and RNG state give the same offsets.
#ifndef LOADGEN_SCHEDULE_LOAD_MODELS_OPEN_LOOP_ARRIVALS_H_
#define LOADGEN_SCHEDULE_LOAD_MODELS_OPEN_LOOP_ARRIVALS_H_

#include <cstdint>
#include <vector>

#include "schedule/load_models/load_model.h"
#include "schedule/random.h"

namespace loadgen::schedule {

/// Appends the stage's arrival offsets (ns from the stage's start, non-decreasing, the first
/// at 0) to `out`, drawing gamma gaps from `schedule_rng`. Returns the stage's length: its
/// duration, or for a count-bounded stage the moment its next arrival would have come.
///
/// Every arrival process is a unit-rate process in "operational time" u (gaps of 1 for a
/// constant rate, Gamma(1/burstiness) * burstiness for gamma: mean 1, squared coefficient of
/// variation = burstiness), mapped to real time through the inverse of the cumulative rate
/// Lambda(t) = r0 t + (r1 - r0) t^2 / (2 D). A Poisson stage at a constant rate instead adds
/// the Server scenario's gaps in nanoseconds, so it gives the Server schedule of the same
/// schedule seed.
int64_t GenerateOpenLoopArrivals(const StageSpec& stage, Mt19937& schedule_rng,
                                 std::vector<int64_t>* out);

}  // namespace loadgen::schedule

#endif  // LOADGEN_SCHEDULE_LOAD_MODELS_OPEN_LOOP_ARRIVALS_H_
