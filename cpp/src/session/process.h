// session: the process-wide services behind the official free functions.
#ifndef LOADGEN_SESSION_PROCESS_H_
#define LOADGEN_SESSION_PROCESS_H_

#include <chrono>
#include <string>

#include "issue/issue_threads.h"
#include "live/live_board.h"
#include "record/active_series.h"
#include "session/session.h"

namespace loadgen::session {

record::ActiveSeries& GetProcessActiveSeries();
issue::IssueThreadPool& GetProcessIssueThreads();
live::LiveBoard& GetProcessLiveBoard();

/// mlperf::StartTest with the test's outcome (used by the typed API and the C API).
/// `no_progress_timeout`: see Environment.
TestOutcome RunProcessTest(mlperf::SystemUnderTest* sut, mlperf::QuerySampleLibrary* qsl,
                           const mlperf::TestSettings& settings,
                           const mlperf::LogSettings& log_settings,
                           const std::string& audit_config_filename,
                           std::chrono::nanoseconds no_progress_timeout = {});

/// Aborts the running test, if any; returns whether one was running.
bool AbortRunningTest(const std::string& reason, bool is_error = false, bool graceful = false);

}  // namespace loadgen::session

#endif  // LOADGEN_SESSION_PROCESS_H_
