// logging stage: the requested_* and effective_* entries of the detail log, which record the
// settings a test was asked for and the settings it ran with (as the official LoadGen's
// TestSettingsInternal::LogEffectiveSettings and LogRequestedTestSettings, in
// test_settings_internal.cc, in the same order and with the same value types).
#ifndef LOADGEN_LOGGING_SETTINGS_LOG_H_
#define LOADGEN_LOGGING_SETTINGS_LOG_H_

#include <cstdint>

#include "logging/detail_log.h"
#include "settings/effective_settings.h"
#include "test_settings.h"

namespace loadgen::logging {

/// "SingleStream", "MultiStream", "Server", "Offline" (as in the detail log and config files).
const char* ScenarioName(mlperf::TestScenario scenario);
/// "SubmissionRun", "AccuracyOnly", "PerformanceOnly", "FindPeakPerformance".
const char* ModeName(mlperf::TestMode mode);

/// Writes the requested_* entries (only those of the requested scenario), then the
/// effective_* entries, all stamped `time_ns`.
void LogSettings(DetailLog& log, const mlperf::TestSettings& requested,
                 const settings::EffectiveSettings& effective, int64_t time_ns);

}  // namespace loadgen::logging

#endif  // LOADGEN_LOGGING_SETTINGS_LOG_H_
