// logging stage: number and string formats of the official logs
// (docs/official-behaviour.md#logging-formats).
#ifndef LOADGEN_LOGGING_FORMAT_H_
#define LOADGEN_LOGGING_FORMAT_H_

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace loadgen::logging {

/// iostream default formatting: %g with 6 significant digits ("1e+06", "0.9", "inf").
std::string FormatG6(double value);
/// Fixed with `decimals` decimals ("92.35").
std::string FormatFixed(double value, int decimals);
/// A JSON string literal with proper escaping (identical to the official output for plain text).
std::string JsonQuote(std::string_view text);
/// "ms.uuuuuu": integer ns / 1e6 with exactly six decimals (negative offsets wrap as unsigned,
/// as the official LoadGen prints them).
std::string FormatTimeMs(int64_t ns_since_origin);
/// Uppercase hex of the bytes.
std::string HexUpper(const uint8_t* data, size_t size);
void AppendHexUpper(std::string& out, const uint8_t* data, size_t size);

/// JsonQuote(text) appended to `out`.
void AppendJsonQuoted(std::string& out, std::string_view text);

/// Appends one record of many small pieces to `out` with a single capacity check: space for
/// `max_bytes` is made up front, pieces are copied through a raw pointer, and the destructor
/// trims `out` to what was written. Writing more than `max_bytes` is undefined, so callers size
/// it from the pieces' upper bounds (kMaxUintChars per integer, 6 per JSON-escaped byte + 2).
/// Allocates: only when `out` lacks the capacity.
class SpanAppender {
 public:
  static constexpr size_t kMaxUintChars = 20;  // 18446744073709551615
  static constexpr size_t kMaxIntChars = 20;   // -9223372036854775808

  SpanAppender(std::string& out, size_t max_bytes) : out_(out) {
    const size_t start = out.size();
    out.resize(start + max_bytes);
    cursor_ = out.data() + start;
  }
  SpanAppender(const SpanAppender&) = delete;
  SpanAppender& operator=(const SpanAppender&) = delete;
  ~SpanAppender() { out_.resize(static_cast<size_t>(cursor_ - out_.data())); }

  template <size_t N>
  void Literal(const char (&text)[N]) {
    std::memcpy(cursor_, text, N - 1);
    cursor_ += N - 1;
  }
  void Char(char c) { *cursor_++ = c; }
  void Uint(uint64_t value) {
    cursor_ = std::to_chars(cursor_, cursor_ + kMaxUintChars, value).ptr;
  }
  void Int(int64_t value) { cursor_ = std::to_chars(cursor_, cursor_ + kMaxIntChars, value).ptr; }
  /// Two uppercase hex digits per byte (2 * size chars).
  void HexUpper(const uint8_t* data, size_t size);
  /// A JSON string literal, as JsonQuote (at most 6 * text.size() + 2 chars).
  void JsonQuoted(std::string_view text);

 private:
  std::string& out_;
  char* cursor_;
};

}  // namespace loadgen::logging

#endif  // LOADGEN_LOGGING_FORMAT_H_
