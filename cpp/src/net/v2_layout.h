// The KServe v2 binary-tensor layout, in which the accuracy log holds a v2 model's outputs
// whichever way they arrived (JSON, binary HTTP outputs, gRPC typed or raw contents): elements
// little-endian, row-major; a BYTES element as its 4-byte little-endian length, then its bytes.
#ifndef LOADGEN_NET_V2_LAYOUT_H_
#define LOADGEN_NET_V2_LAYOUT_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace loadgen::net {

/// One numeric element (the hosts we build for, x86-64 and aarch64, are little-endian).
template <typename T>
void AppendV2Element(T value, std::string* out) {
  static_assert(std::is_trivially_copyable_v<T>);
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out->append(bytes, sizeof(T));
}

/// One BYTES element.
inline void AppendV2BytesElement(std::string_view bytes, std::string* out) {
  AppendV2Element(static_cast<uint32_t>(bytes.size()), out);
  out->append(bytes.data(), bytes.size());
}

}  // namespace loadgen::net

#endif  // LOADGEN_NET_V2_LAYOUT_H_
