// The one clock loadgen measures with. steady_clock, unlike the official wall clock, does not
// jump with NTP adjustments during a run.
#ifndef LOADGEN_COMMON_CLOCK_H_
#define LOADGEN_COMMON_CLOCK_H_

#include <chrono>
#include <cstdint>

namespace loadgen {

using Clock = std::chrono::steady_clock;

inline int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

}  // namespace loadgen

#endif  // LOADGEN_COMMON_CLOCK_H_
