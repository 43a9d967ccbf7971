// schedule stage: template definitions for random.h. Include random.h, not this file.
#ifndef LOADGEN_SCHEDULE_RANDOM_INL_H_
#define LOADGEN_SCHEDULE_RANDOM_INL_H_

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace loadgen::schedule {

double Canonical(Mt19937& g) {
  // Two draws, the first being the low word; the sum is rounded to double before scaling.
  const double low = static_cast<double>(g());
  const double high = static_cast<double>(g()) * 0x1p32;
  // Multiplying by 2^-64 is exact, so it equals libstdc++'s division by 2^64.
  const double result = (low + high) * 0x1p-64;
  // The largest double below 1 (1 - 2^-53), which libstdc++ returns when the sum rounds up to 1.
  return result < 1.0 ? result : 0x1.fffffffffffffp-1;
}

template <typename T>
void Shuffle(T* data, size_t n, Mt19937& g) {
  using std::swap;
  if (n == 0) return;
  const uint64_t count = n;
  // libstdc++ takes one draw for two swaps when count * count fits in the engine's range.
  if (UINT64_C(0xFFFFFFFF) / count >= count) {
    uint64_t i = 1;
    if (count % 2 == 0) {
      swap(data[1], data[UniformInt(g, 0, 1)]);
      i = 2;
    }
    while (i < count) {
      const uint64_t range = i + 1;
      const uint64_t x = UniformInt(g, 0, range * (range + 1) - 1);
      swap(data[i], data[x / (range + 1)]);
      swap(data[i + 1], data[x % (range + 1)]);
      i += 2;
    }
    return;
  }
  for (uint64_t i = 1; i < count; ++i) swap(data[i], data[UniformInt(g, 0, i)]);
}

template <typename T>
void Shuffle(std::vector<T>& v, Mt19937& g) {
  Shuffle(v.data(), v.size(), g);
}

}  // namespace loadgen::schedule

#endif  // LOADGEN_SCHEDULE_RANDOM_INL_H_
