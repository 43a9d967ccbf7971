// settings stage: finding mlperf.conf, the rules file FromConfig applies under a user.conf.
#ifndef LOADGEN_SETTINGS_RULES_DISCOVERY_H_
#define LOADGEN_SETTINGS_RULES_DISCOVERY_H_

#include <string>

namespace loadgen::settings {

/// Where the mlperf.conf FromConfig applies lives. Set by the Python package at import;
/// otherwise $LOADGEN_MLPERF_CONF, then the file installed beside a shared build of the library,
/// then the source tree's copy (builds from a checkout). MlperfConfPath() returns "" when none
/// of these exists: FromConfig then uses the copy built into the library.
/// Setting an empty path restores that default. Thread-safe.
void SetMlperfConfPath(const std::string& path);
std::string MlperfConfPath();

}  // namespace loadgen::settings

#endif  // LOADGEN_SETTINGS_RULES_DISCOVERY_H_
