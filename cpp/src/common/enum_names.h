// The one spelling of each public enum's values, shared by the detail and summary logs, the
// config-file grammar (its scenario field) and the Python bindings.
#ifndef LOADGEN_COMMON_ENUM_NAMES_H_
#define LOADGEN_COMMON_ENUM_NAMES_H_

#include "test_settings.h"

namespace loadgen {

/// Every scenario, in declaration order (the order messages list them in).
inline constexpr mlperf::TestScenario kAllScenarios[] = {
    mlperf::TestScenario::SingleStream, mlperf::TestScenario::MultiStream,
    mlperf::TestScenario::Server, mlperf::TestScenario::Offline};

/// Every mode, in declaration order (its numeric value is its config-file `mode` value).
inline constexpr mlperf::TestMode kAllModes[] = {
    mlperf::TestMode::SubmissionRun, mlperf::TestMode::AccuracyOnly,
    mlperf::TestMode::PerformanceOnly, mlperf::TestMode::FindPeakPerformance};

/// "SingleStream", "MultiStream", "Server" or "Offline": the enumerator's name, which is also
/// how config-file keys, the logs' `*_scenario` entries and the summary's "Scenario :" line spell
/// it (the official new logging format's ToString, loadgen/test_settings_internal.cc).
/// A value outside the enum (a cast integer) gives "InvalidScenario", as the official does.
const char* ScenarioName(mlperf::TestScenario scenario);

/// "SubmissionRun", "AccuracyOnly", "PerformanceOnly" or "FindPeakPerformance", spelled as
/// ScenarioName spells scenarios. A value outside the enum gives "InvalidMode".
const char* ModeName(mlperf::TestMode mode);

}  // namespace loadgen

#endif  // LOADGEN_COMMON_ENUM_NAMES_H_
