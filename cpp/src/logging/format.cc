#include "logging/format.h"

#include <cinttypes>
#include <cstdio>

namespace loadgen::logging {

std::string FormatG6(double value) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%g", value);
  return buf;
}

std::string FormatFixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, value);
  return buf;
}

std::string JsonQuote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
  return out;
}

std::string FormatTimeMs(int64_t ns_since_origin) {
  uint64_t ns = static_cast<uint64_t>(ns_since_origin);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%" PRIu64 ".%06" PRIu64, ns / 1000000u, ns % 1000000u);
  return buf;
}

void AppendHexUpper(std::string& out, const uint8_t* data, size_t size) {
  static const char kDigits[] = "0123456789ABCDEF";
  size_t pos = out.size();
  out.resize(pos + 2 * size);
  for (size_t i = 0; i < size; ++i) {
    out[pos + 2 * i] = kDigits[data[i] >> 4];
    out[pos + 2 * i + 1] = kDigits[data[i] & 15];
  }
}

std::string HexUpper(const uint8_t* data, size_t size) {
  std::string out;
  AppendHexUpper(out, data, size);
  return out;
}

}  // namespace loadgen::logging
