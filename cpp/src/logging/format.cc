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

namespace {

constexpr char kHexDigits[] = "0123456789ABCDEF";

// Writes the JSON string literal of `text` at `out`; returns the end.
char* WriteJsonQuoted(char* out, std::string_view text) {
  *out++ = '"';
  for (unsigned char c : text) {
    char escape = 0;
    switch (c) {
      case '"':
        escape = '"';
        break;
      case '\\':
        escape = '\\';
        break;
      case '\b':
        escape = 'b';
        break;
      case '\f':
        escape = 'f';
        break;
      case '\n':
        escape = 'n';
        break;
      case '\r':
        escape = 'r';
        break;
      case '\t':
        escape = 't';
        break;
      default:
        break;
    }
    if (escape != 0) {
      *out++ = '\\';
      *out++ = escape;
    } else if (c < 0x20) {
      const char u[6] = {'\\',
                         'u',
                         '0',
                         '0',
                         kHexDigits[c >> 4],
                         static_cast<char>(kHexDigits[c & 15] | 0x20)};  // lowercase, as %04x
      std::memcpy(out, u, 6);
      out += 6;
    } else {
      *out++ = static_cast<char>(c);
    }
  }
  *out++ = '"';
  return out;
}

// "000102...FF": the two hex digits of every byte value, so each byte is one 2-byte copy.
struct HexPairs {
  char digits[512];
  constexpr HexPairs() : digits() {
    for (int i = 0; i < 256; ++i) {
      digits[2 * i] = kHexDigits[i >> 4];
      digits[2 * i + 1] = kHexDigits[i & 15];
    }
  }
};
constexpr HexPairs kHexPairs;

char* WriteHexUpper(char* out, const uint8_t* data, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    std::memcpy(out + 2 * i, &kHexPairs.digits[2 * data[i]], 2);
  }
  return out + 2 * size;
}

}  // namespace

std::string JsonQuote(std::string_view text) {
  std::string out;
  AppendJsonQuoted(out, text);
  return out;
}

void AppendJsonQuoted(std::string& out, std::string_view text) {
  // Exact size first, so a returned string carries no slack.
  size_t size = 2;
  for (unsigned char c : text) {
    const bool short_escape =
        c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t';
    size += short_escape ? 2 : c < 0x20 ? 6 : 1;
  }
  SpanAppender span(out, size);
  span.JsonQuoted(text);
}

void SpanAppender::JsonQuoted(std::string_view text) { cursor_ = WriteJsonQuoted(cursor_, text); }

void SpanAppender::HexUpper(const uint8_t* data, size_t size) {
  cursor_ = WriteHexUpper(cursor_, data, size);
}

std::string FormatTimeMs(int64_t ns_since_origin) {
  uint64_t ns = static_cast<uint64_t>(ns_since_origin);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%" PRIu64 ".%06" PRIu64, ns / 1000000u, ns % 1000000u);
  return buf;
}

void AppendHexUpper(std::string& out, const uint8_t* data, size_t size) {
  SpanAppender span(out, 2 * size);
  span.HexUpper(data, size);
}

std::string HexUpper(const uint8_t* data, size_t size) {
  std::string out;
  AppendHexUpper(out, data, size);
  return out;
}

}  // namespace loadgen::logging
