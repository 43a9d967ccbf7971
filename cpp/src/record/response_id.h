// record stage: response ids are handles, not pointers. An id carries the series tag in its top
// 24 bits and the sample's position in the series (+1, so 0 is never valid) in the low 40 bits.
// Decoding checks both, so a bogus, stale or foreign id is detected without touching memory.
#ifndef LOADGEN_RECORD_RESPONSE_ID_H_
#define LOADGEN_RECORD_RESPONSE_ID_H_

#include <cstdint>

namespace loadgen::record {

constexpr int kLocalBits = 40;
constexpr uint64_t kLocalMask = (uint64_t{1} << kLocalBits) - 1;
constexpr uint64_t kMaxSeriesSamples = kLocalMask - 1;
constexpr uint32_t kTagMask = (1u << 24) - 1;

inline uint64_t EncodeResponseId(uint32_t series_tag, uint64_t local) {
  return (uint64_t{series_tag & kTagMask} << kLocalBits) | (local + 1);
}

inline uint32_t ResponseIdTag(uint64_t id) { return static_cast<uint32_t>(id >> kLocalBits); }

/// Position in the series, or UINT64_MAX for an id whose low bits are 0.
inline uint64_t ResponseIdLocal(uint64_t id) {
  uint64_t low = id & kLocalMask;
  return low == 0 ? UINT64_MAX : low - 1;
}

}  // namespace loadgen::record

#endif  // LOADGEN_RECORD_RESPONSE_ID_H_
