// logging stage: the requested_* and effective_* entries of the detail log, which record the
// settings a test was asked for and the settings it ran with: the same keys, order and value
// types as the official LoadGen's LogRequestedTestSettings and
// TestSettingsInternal::LogEffectiveSettings (loadgen/test_settings_internal.cc).
#ifndef LOADGEN_LOGGING_SETTINGS_LOG_H_
#define LOADGEN_LOGGING_SETTINGS_LOG_H_

#include <cstdint>

#include "logging/detail_log.h"
#include "settings/effective_settings.h"
#include "test_settings.h"

namespace loadgen::logging {

/// Writes the requested_* entries (only those of the requested scenario), then the
/// effective_* entries, all stamped `time_ns`.
void LogSettings(DetailLog& log, const mlperf::TestSettings& requested,
                 const settings::EffectiveSettings& effective, int64_t time_ns);

}  // namespace loadgen::logging

#endif  // LOADGEN_LOGGING_SETTINGS_LOG_H_
