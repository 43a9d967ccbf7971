// session: the process-wide state behind the official free functions, which take no test
// argument: the services a test runs with, and the one test slot.
//
// A process runs one test at a time. Every process-wide entry point (mlperf::StartTest, the
// C API's StartTest, the typed API's run) takes the slot (TestSlot) before it opens any log
// and gives it back on every exit path; while it is taken, a second test is refused with
// loadgen::TestAlreadyRunningError. A Session built with its own Environment (tests) does not
// use the slot.
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

/// The process's one test slot, held for the whole of a test (RAII). The constructor throws
/// loadgen::TestAlreadyRunningError if another TestSlot is alive; the destructor frees the
/// slot. While `session` holds it, AbortRunningTest reaches that session.
class TestSlot {
 public:
  explicit TestSlot(Session* session);
  ~TestSlot();
  TestSlot(const TestSlot&) = delete;
  TestSlot& operator=(const TestSlot&) = delete;
};

/// mlperf::StartTest with the test's outcome (used by the typed API and the C API).
/// `no_progress_timeout`: see Environment. Throws loadgen::TestAlreadyRunningError while
/// another test runs, and what Session::Run throws.
TestOutcome RunProcessTest(mlperf::SystemUnderTest* sut, mlperf::QuerySampleLibrary* qsl,
                           const mlperf::TestSettings& settings,
                           const mlperf::LogSettings& log_settings,
                           const std::string& audit_config_filename,
                           std::chrono::nanoseconds no_progress_timeout = {},
                           const schedule::LoadModel* load_model = nullptr,
                           bool keep_requests = false);

/// Aborts the running test, if any; returns whether one was running.
bool AbortRunningTest(const std::string& reason, bool is_error = false, bool graceful = false);

/// Session::EndSeriesDecided on the running test; returns whether a performance series was
/// running.
bool EndRunningSeriesDecided(const std::string& reason);

}  // namespace loadgen::session

#endif  // LOADGEN_SESSION_PROCESS_H_
