#include "schedule/load_models/open_loop_arrivals.h"

#include <cmath>
#include <limits>

#include "schedule/load_models/gamma.h"

namespace loadgen::schedule {
namespace {

constexpr int64_t kNoDuration = std::numeric_limits<int64_t>::max();

// The cumulative rate of a stage whose rate goes linearly from r0 to r1 over D seconds, and
// its inverse (real time of operational time u).
struct RateCurve {
  double r0, half_slope;  // Lambda(t) = r0 t + half_slope t^2
  double Seconds(double u) const {
    if (u <= 0.0) return 0.0;
    if (half_slope == 0.0) return u / r0;
    // The root of half_slope t^2 + r0 t - u written so it loses no precision for either sign
    // of the slope (and r0 = 0 works).
    return 2.0 * u / (r0 + std::sqrt(r0 * r0 + 4.0 * half_slope * u));
  }
};

}  // namespace

int64_t GenerateOpenLoopArrivals(const StageSpec& stage, Mt19937& schedule_rng,
                                 std::vector<int64_t>* out) {
  const bool gamma = stage.kind == ArrivalKind::kGamma;
  const bool ramp = stage.end_rate_qps >= 0;
  const int64_t duration_ns = stage.duration_ns > 0 ? stage.duration_ns : kNoDuration;
  const uint64_t max_queries = stage.queries > 0 ? stage.queries : UINT64_MAX;
  const double r0 = stage.rate_qps;
  uint64_t count = 0;

  if (gamma && !ramp && stage.burstiness == 1.0) {
    // Poisson at a constant rate: the Server scenario's loop (plan.cc), gap by gap in ns.
    int64_t timestamp = 0;
    while (timestamp < duration_ns && count < max_queries) {
      out->push_back(timestamp);
      ++count;
      timestamp += SecondsToNs(Exponential(schedule_rng, r0));
    }
    return stage.duration_ns > 0 ? stage.duration_ns : timestamp;
  }

  const double duration_s = static_cast<double>(stage.duration_ns) / 1e9;
  RateCurve curve{r0, ramp ? (stage.end_rate_qps - r0) / (2.0 * duration_s) : 0.0};
  // Operational time at the stage's end (a ramp's arrivals stop there; its rate may reach 0).
  const double u_end =
      ramp ? duration_s * (r0 + stage.end_rate_qps) / 2.0 : std::numeric_limits<double>::infinity();
  const double shape = 1.0 / stage.burstiness;
  double u = 0.0;
  while (count < max_queries && u < u_end) {
    const int64_t t = SecondsToNs(curve.Seconds(u));
    if (t >= duration_ns) break;
    out->push_back(t);
    ++count;
    // Gaps of mean 1 in operational time. A constant rate uses the arrival count itself, so
    // offsets carry no accumulated rounding.
    u = gamma ? u + StandardGamma(schedule_rng, shape) * stage.burstiness
              : static_cast<double>(count);
  }
  if (stage.duration_ns > 0) return stage.duration_ns;
  return u < u_end ? SecondsToNs(curve.Seconds(u)) : SecondsToNs(duration_s);
}

}  // namespace loadgen::schedule
