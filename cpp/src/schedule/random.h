// schedule stage: the random-number algorithms of libstdc++ that the official LoadGen uses,
// written out so every compiler and standard library gives the same numbers
// (docs/official-behaviour.md#schedule-random).
#ifndef LOADGEN_SCHEDULE_RANDOM_H_
#define LOADGEN_SCHEDULE_RANDOM_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace loadgen::schedule {

/// 32-bit Mersenne Twister, bit-identical to std::mt19937. Seeded with seed mod 2^32.
class Mt19937 {
 public:
  explicit Mt19937(uint64_t seed = 5489u) { Seed(seed); }
  void Seed(uint64_t seed);

  // Inline: the plan draws tens of millions of values.
  uint32_t operator()() {
    if (index_ >= kStateSize) Twist();
    uint32_t y = state_[index_++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9D2C5680u;
    y ^= (y << 15) & 0xEFC60000u;
    return y ^ (y >> 18);
  }

 private:
  static constexpr int kStateSize = 624;

  void Twist();
  uint32_t state_[kStateSize];
  int index_ = kStateSize;
};

/// libstdc++ uniform_int_distribution on [a, b] with a 32-bit engine (Lemire's method).
uint64_t UniformInt(Mt19937& g, uint64_t a, uint64_t b);

/// libstdc++ std::shuffle (paired draws for n <= 65535).
template <typename T>
void Shuffle(std::vector<T>& v, Mt19937& g);

/// The same shuffle on the n elements starting at `data`.
template <typename T>
void Shuffle(T* data, size_t n, Mt19937& g);

/// libstdc++ generate_canonical<double, 53>. Inline: drawn twice per generated sample.
inline double Canonical(Mt19937& g);

/// libstdc++ exponential_distribution<double>(lambda).
double Exponential(Mt19937& g, double lambda);

/// duration_cast<nanoseconds>(duration<double>(seconds)): truncation toward zero.
int64_t SecondsToNs(double seconds);

}  // namespace loadgen::schedule

#include "schedule/random_inl.h"

#endif  // LOADGEN_SCHEDULE_RANDOM_H_
