// schedule stage: the arrival times of an open-loop stage (constant rate, gamma, either with a
// linear ramp of the rate). Pure: the same stage and RNG state give the same offsets.
#ifndef LOADGEN_SCHEDULE_LOAD_MODELS_OPEN_LOOP_ARRIVALS_H_
#define LOADGEN_SCHEDULE_LOAD_MODELS_OPEN_LOOP_ARRIVALS_H_

#include <cstdint>
#include <vector>

#include "schedule/load_models/load_model.h"
#include "schedule/random.h"

namespace loadgen::schedule {

/// The arrivals of one open-loop stage, one at a time, so a long stage can be generated in
/// steps (load_plan_generator.h). Every arrival process is a unit-rate process in
/// "operational time" u (gaps of 1 for a constant rate, Gamma(1/burstiness) * burstiness for
/// gamma: mean 1, squared coefficient of variation = burstiness), mapped to real time through
/// the inverse of the cumulative rate Lambda(t) = r0 t + (r1 - r0) t^2 / (2 D). A Poisson
/// stage at a constant rate instead adds the Server scenario's gaps in nanoseconds, so it
/// gives the Server schedule of the same schedule seed.
class OpenLoopArrivals {
 public:
  /// `stage` and `schedule_rng` must outlive this object.
  OpenLoopArrivals(const StageSpec& stage, Mt19937& schedule_rng);
  /// The next offset (ns from the stage's start, non-decreasing, the first at 0); false once
  /// the stage has no more arrivals.
  bool Next(int64_t* offset_ns);
  /// The stage's length, once Next returned false: its duration, or for a count-bounded
  /// stage the moment its next arrival would have come.
  int64_t Length() const;

 private:
  const StageSpec& stage_;
  Mt19937& rng_;
  bool poisson_;  // Poisson at a constant rate: the Server scenario's loop, gap by gap in ns
  bool gamma_;
  int64_t duration_ns_;
  uint64_t max_queries_;
  uint64_t count_ = 0;
  int64_t timestamp_ = 0;  // poisson_: the next arrival
  double duration_s_;
  double r0_, half_slope_;  // Lambda(t) = r0 t + half_slope t^2
  double u_end_;            // operational time at the stage's end (a ramp's rate may reach 0)
  double shape_;
  double u_ = 0.0;
  double Seconds(double u) const;
};

/// Appends all of the stage's arrival offsets to `out` (OpenLoopArrivals::Next until done)
/// and returns its length (OpenLoopArrivals::Length).
int64_t GenerateOpenLoopArrivals(const StageSpec& stage, Mt19937& schedule_rng,
                                 std::vector<int64_t>* out);

}  // namespace loadgen::schedule

#endif  // LOADGEN_SCHEDULE_LOAD_MODELS_OPEN_LOOP_ARRIVALS_H_
