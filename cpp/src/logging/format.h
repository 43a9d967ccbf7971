// logging stage: number and string formats of the official logs (surface.md §5).
#ifndef LOADGEN_LOGGING_FORMAT_H_
#define LOADGEN_LOGGING_FORMAT_H_

#include <cstdint>
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

}  // namespace loadgen::logging

#endif  // LOADGEN_LOGGING_FORMAT_H_
