#include "schedule/load_models/open_loop_arrivals.h"

#include <cmath>
#include <limits>

#include "schedule/load_models/gamma.h"

namespace loadgen::schedule {
namespace {

constexpr int64_t kNoDuration = std::numeric_limits<int64_t>::max();

}  // namespace

OpenLoopArrivals::OpenLoopArrivals(const StageSpec& stage, Mt19937& schedule_rng)
    : stage_(stage), rng_(schedule_rng) {
  gamma_ = stage.kind == ArrivalKind::kGamma;
  const bool ramp = stage.end_rate_qps >= 0;
  poisson_ = gamma_ && !ramp && stage.burstiness == 1.0;
  duration_ns_ = stage.duration_ns > 0 ? stage.duration_ns : kNoDuration;
  max_queries_ = stage.queries > 0 ? stage.queries : UINT64_MAX;
  r0_ = stage.rate_qps;
  duration_s_ = static_cast<double>(stage.duration_ns) / 1e9;
  half_slope_ = ramp ? (stage.end_rate_qps - r0_) / (2.0 * duration_s_) : 0.0;
  u_end_ = ramp ? duration_s_ * (r0_ + stage.end_rate_qps) / 2.0
                : std::numeric_limits<double>::infinity();
  shape_ = 1.0 / stage.burstiness;
}

// The inverse of the cumulative rate: the real time of operational time u.
double OpenLoopArrivals::Seconds(double u) const {
  if (u <= 0.0) return 0.0;
  if (half_slope_ == 0.0) return u / r0_;
  // The root of half_slope t^2 + r0 t - u written so it loses no precision for either sign
  // of the slope (and r0 = 0 works).
  return 2.0 * u / (r0_ + std::sqrt(r0_ * r0_ + 4.0 * half_slope_ * u));
}

bool OpenLoopArrivals::Next(int64_t* offset_ns) {
  if (count_ >= max_queries_) return false;
  if (poisson_) {
    if (timestamp_ >= duration_ns_) return false;
    *offset_ns = timestamp_;
    ++count_;
    timestamp_ += SecondsToNs(Exponential(rng_, r0_));
    return true;
  }
  if (!(u_ < u_end_)) return false;
  const int64_t t = SecondsToNs(Seconds(u_));
  if (t >= duration_ns_) return false;
  *offset_ns = t;
  ++count_;
  // Gaps of mean 1 in operational time. A constant rate uses the arrival count itself, so
  // offsets carry no accumulated rounding.
  u_ = gamma_ ? u_ + StandardGamma(rng_, shape_) * stage_.burstiness : static_cast<double>(count_);
  return true;
}

int64_t OpenLoopArrivals::Length() const {
  if (stage_.duration_ns > 0) return stage_.duration_ns;
  if (poisson_) return timestamp_;
  return u_ < u_end_ ? SecondsToNs(Seconds(u_)) : SecondsToNs(duration_s_);
}

int64_t GenerateOpenLoopArrivals(const StageSpec& stage, Mt19937& schedule_rng,
                                 std::vector<int64_t>* out) {
  OpenLoopArrivals arrivals(stage, schedule_rng);
  int64_t offset;
  while (arrivals.Next(&offset)) out->push_back(offset);
  return arrivals.Length();
}

}  // namespace loadgen::schedule
