// settings stage: the key table, the one description of every config-file key LoadGen reads.
// FromConfig applies it in order (the official application order, official
// loadgen/test_settings_internal.cc, TestSettings::FromConfig); the linter, ExplainConfig and
// every list of key names are derived from it.
#ifndef LOADGEN_SETTINGS_CONFIG_KEYS_H_
#define LOADGEN_SETTINGS_CONFIG_KEYS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "test_settings.h"

namespace loadgen::settings {

enum class ValueKind {
  kUint64,       // strtoull(base 0) × integer multiplier
  kInt32,        // as kUint64, then truncated to a 32-bit int and widened again
  kDouble,       // strtod × multiplier
  kFlagIsOne,    // true only for the integer value 1
  kFlagNonZero,  // true for any non-zero integer value
  kMode,         // 0..3 -> TestMode, anything else is an error
};

enum class KeyScope { kAnyFile, kMlperfConfOnly };

// Some keys are read only if a flag is already set when the key's turn comes.
enum class KeyGate { kAlways, kUseTokenLatencies, kInferTokenLatencies };

inline constexpr double kMsToNs = 1000 * 1000;  // keys in ms, members in ns
inline constexpr double kPercent = 0.01;        // keys in percent, members a fraction

struct KnownKey {
  const char* name;
  const char* fixed_scenario;  // nullptr: the scenario passed to FromConfig
  ValueKind kind;
  double multiplier;
  KeyScope scope;
  KeyGate gate;
  // The TestSettings member the key sets (one of the three pointers, none for kMode) and its
  // name ("mode" for kMode).
  const char* member;
  uint64_t mlperf::TestSettings::*u64_field;
  double mlperf::TestSettings::*double_field;
  bool mlperf::TestSettings::*flag_field;
  const char* unit;  // shown in linter messages, may be empty
};

/// Every key, in the official application order. A name appears once per scenario it is read
/// under (e.g. target_qps for Server and for Offline).
const std::vector<KnownKey>& KnownKeys();

/// The distinct key names, in table order.
std::vector<std::string> KnownKeyNames();

/// The scenario names a key may carry: ScenarioName of every TestScenario.
std::vector<std::string> ConfigScenarioNames();

inline bool IsIntegerKind(ValueKind kind) { return kind != ValueKind::kDouble; }

/// A value text as the official parser reads it for an integer key: strtoull base 0, truncated
/// before scaling.
uint64_t IntegerValue(const std::string& text, double multiplier);
/// A value text as the official parser reads it for a real key.
double DoubleValue(const std::string& text, double multiplier);
/// The official parser stores max_async_queries in an int: the value as that int, widened back.
uint64_t TruncateToInt32(uint64_t value);

}  // namespace loadgen::settings

#endif  // LOADGEN_SETTINGS_CONFIG_KEYS_H_
