// session: the process-wide services behind the official free functions.
#ifndef LOADGEN_SESSION_PROCESS_H_
#define LOADGEN_SESSION_PROCESS_H_

#include <string>

#include "issue/issue_threads.h"
#include "record/active_series.h"
#include "session/test_session.h"

namespace loadgen::session {

record::ActiveSeries& GetProcessActiveSeries();
issue::IssueThreadPool& GetProcessIssueThreads();

/// mlperf::StartTest with the test's outcome (used by the typed API and the C API).
TestOutcome RunProcessTest(mlperf::SystemUnderTest* sut, mlperf::QuerySampleLibrary* qsl,
                           const mlperf::TestSettings& settings,
                           const mlperf::LogSettings& log_settings,
                           const std::string& audit_config_filename);

/// Aborts the running test, if any; returns whether one was running.
bool AbortRunningTest(const std::string& reason, bool is_error = false, bool graceful = false);

}  // namespace loadgen::session

#endif  // LOADGEN_SESSION_PROCESS_H_
