// The libstdc++ algorithms behind std::mt19937, uniform_int_distribution, generate_canonical and
// exponential_distribution, written out so that every compiler gives GCC's numbers
// (docs/official-behaviour.md#schedule-random).
#include "schedule/random.h"

#include <cmath>
#include <cstdint>
#include <limits>

namespace loadgen::schedule {
namespace {

constexpr int kShift = 397;
constexpr uint32_t kMatrixA = 0x9908B0DFu;
constexpr uint32_t kUpperMask = 0x80000000u;
constexpr uint32_t kLowerMask = 0x7FFFFFFFu;
constexpr uint64_t kEngineRange = 0xFFFFFFFFu;  // max() - min() of the 32-bit engine

uint32_t MixBits(uint32_t upper_from, uint32_t lower_from, uint32_t xor_with) {
  const uint32_t y = (upper_from & kUpperMask) | (lower_from & kLowerMask);
  return xor_with ^ (y >> 1) ^ ((y & 1u) ? kMatrixA : 0u);
}

// Lemire's nearly divisionless method with 64-bit products, for ranges of at most 2^32 values.
uint64_t Lemire(Mt19937& g, uint32_t range) {
  uint64_t product = uint64_t{g()} * range;
  uint32_t low = static_cast<uint32_t>(product);
  if (low < range) {
    const uint32_t threshold = static_cast<uint32_t>(-range) % range;
    while (low < threshold) {
      product = uint64_t{g()} * range;
      low = static_cast<uint32_t>(product);
    }
  }
  return product >> 32;
}

// An offset in [0, span] as libstdc++ draws it.
uint64_t UniformOffset(Mt19937& g, uint64_t span) {
  if (span < kEngineRange) return Lemire(g, static_cast<uint32_t>(span + 1));
  if (span == kEngineRange) return g();
  // Wider than the engine: combine a recursive high part with one more draw, rejecting overflow.
  constexpr uint64_t kEngineValues = kEngineRange + 1;
  uint64_t result;
  uint64_t high;
  do {
    high = kEngineValues * UniformOffset(g, span / kEngineValues);
    result = high + g();
  } while (result > span || result < high);
  return result;
}

}  // namespace

void Mt19937::Seed(uint64_t seed) {
  state_[0] = static_cast<uint32_t>(seed);
  for (int i = 1; i < kStateSize; ++i) {
    const uint32_t prev = state_[i - 1];
    state_[i] = 1812433253u * (prev ^ (prev >> 30)) + static_cast<uint32_t>(i);
  }
  index_ = kStateSize;
}

void Mt19937::Twist() {
  int k = 0;
  for (; k < kStateSize - kShift; ++k) {
    state_[k] = MixBits(state_[k], state_[k + 1], state_[k + kShift]);
  }
  for (; k < kStateSize - 1; ++k) {
    state_[k] = MixBits(state_[k], state_[k + 1], state_[k + kShift - kStateSize]);
  }
  state_[kStateSize - 1] = MixBits(state_[kStateSize - 1], state_[0], state_[kShift - 1]);
  index_ = 0;
}

uint64_t UniformInt(Mt19937& g, uint64_t a, uint64_t b) { return a + UniformOffset(g, b - a); }

double Exponential(Mt19937& g, double lambda) { return -std::log(1.0 - Canonical(g)) / lambda; }

int64_t SecondsToNs(double seconds) {
  const double ns = seconds * 1e9;
  // Out of range (or NaN) is undefined in C++; x86-64, where the official wheel runs, gives
  // INT64_MIN, so give that everywhere.
  constexpr double kLimit = 9223372036854775808.0;  // 2^63
  if (!(ns > -kLimit && ns < kLimit)) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(ns);
}

}  // namespace loadgen::schedule
