// settings stage: reading a config file into key -> value and applying the key table to
// TestSettings, with the diagnostics the official FromConfig reports.
#ifndef LOADGEN_SETTINGS_CONFIG_APPLY_H_
#define LOADGEN_SETTINGS_CONFIG_APPLY_H_

#include <map>
#include <string>
#include <vector>

#include "common/diagnostic.h"
#include "settings/config_file.h"
#include "test_settings.h"

namespace loadgen::settings {

/// An error_invalid_config message, reported with the official build's file and line
/// (test_settings_internal.cc, `official_line`) as its metadata.
Diagnostic ConfigDiagnostic(std::string message, int official_line);

/// The value of the last line that set a key, and that line's number.
struct KeyValue {
  std::string value;
  int line = 0;
};
using KeyValues = std::map<std::string, KeyValue>;

/// Reads a config file into key -> value, reporting into `ctx` what the official parser
/// reports. conf_type 0 with an empty `source` reads the copy of mlperf.conf built into the
/// library. Returns 0, -ENOENT (cannot open) or -EINVAL (a line the official parser rejects).
int ReadKeyValues(const std::string& source, int conf_type, KeyValues& kv, ConfigContext& ctx);

/// Applies the known keys in the official order. `applied`, if given, receives each key that
/// set a field, with `source` as its file.
void ApplyKeys(mlperf::TestSettings& settings, const KeyValues& kv, const std::string& model,
               const std::string& scenario, int conf_type, ConfigContext& ctx,
               const std::string& source = "", std::vector<AppliedKey>* applied = nullptr);

}  // namespace loadgen::settings

#endif  // LOADGEN_SETTINGS_CONFIG_APPLY_H_
