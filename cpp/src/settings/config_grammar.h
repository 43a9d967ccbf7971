// settings stage: the line grammar of config files, as the official parser reads it (official
// loadgen/test_settings_internal.cc, TestSettings::FromConfig: whitespace-separated words, a
// three-state machine key, '=', values; '#' starts a comment only where a key or '=' is due).
#ifndef LOADGEN_SETTINGS_CONFIG_GRAMMAR_H_
#define LOADGEN_SETTINGS_CONFIG_GRAMMAR_H_

#include <cstddef>
#include <istream>
#include <string>
#include <vector>

namespace loadgen::settings {

enum class LineError {
  kNone,
  kExpectedEquals,  // the second word is not "=": the official parser rejects the file
  kBadValue,        // a value is not a number: the official parser rejects the file
};

/// One physical line as the official parser sees it.
struct ConfigLine {
  int number = 0;  // 1-based
  std::vector<std::string> tokens;
  std::string key;
  bool has_equals = false;
  std::vector<std::string> values;
  LineError error = LineError::kNone;
  size_t error_token = 0;  // index in `tokens` of the word that caused `error`
};

/// Every line of `in`, including blank and comment lines (with no key).
std::vector<ConfigLine> ParseLines(std::istream& in);

}  // namespace loadgen::settings

#endif  // LOADGEN_SETTINGS_CONFIG_GRAMMAR_H_
