/// \file loadgen.h
/// \brief The entry points a harness calls (official names, namespace mlperf).
#ifndef MLPERF_LOADGEN_LOADGEN_H_
#define MLPERF_LOADGEN_LOADGEN_H_

#include <cstddef>
#include <functional>
#include <string>

#include "loadgen/errors.h"
#include "loadgen/export.h"
#include "query_sample.h"
#include "query_sample_library.h"
#include "system_under_test.h"
#include "test_settings.h"

namespace mlperf {

/// Called for each response whose data loadgen is about to copy (accuracy mode, or a sample
/// chosen for the accuracy log), before the copy: lets the SUT move device data to the host.
using ResponseCallback = std::function<void(QuerySampleResponse*)>;

/// Records the completion of `response_count` samples, all with one timestamp taken on entry.
/// Thread-safety: any thread, concurrently, also from inside IssueQuery.
/// Blocking: never; no lock is taken (atomics only). `response_cb` runs on the caller's thread.
/// Allocates: no, except when copying response data for the accuracy log: the copies share 1 MiB
/// chunks (a fresh chunk when one fills, lock-free) and larger payloads get one of their own.
/// Ids are validated: an unknown, stale or repeated id is counted and reported in the detail log
/// (in an error storm beyond the error queue's 65536 entries, by the count of dropped events
/// under `loadgen_error_events_dropped`). If `response_cb` throws, the whole batch is still
/// recorded, then the exception propagates.
LOADGEN_EXPORT void QuerySamplesComplete(QuerySampleResponse* responses, size_t response_count,
                                         const ResponseCallback& response_cb = {});

/// Records the first-token time of each sample (LLM token latencies). Same contract as
/// QuerySamplesComplete; the sample must still be completed with QuerySamplesComplete.
LOADGEN_EXPORT void FirstTokenComplete(QuerySampleResponse* responses, size_t response_count,
                                       const ResponseCallback& response_cb = {});

/// Runs a test and writes the logs. Blocks until the test is over. An exception thrown by a SUT
/// or QSL callback stops the test, the logs recorded so far are written, and it is rethrown here.
/// loadgen's own exceptions (loadgen/errors.h): loadgen::SettingsError for settings that cannot
/// run, loadgen::LogError when the log files cannot be opened or written, loadgen::TestAborted
/// after loadgen::AbortTestWithError.
/// One test runs at a time per process: while one runs, StartTest throws
/// loadgen::TestAlreadyRunningError at once, without opening any log.
LOADGEN_EXPORT void StartTest(SystemUnderTest* sut, QuerySampleLibrary* qsl,
                              const TestSettings& requested_settings,
                              const LogSettings& log_settings,
                              const std::string audit_config_filename = "audit.config");

/// Stops the running test from any thread: issuing stops, outstanding samples are abandoned,
/// logs are written and StartTest returns.
LOADGEN_EXPORT void AbortTest();

/// A harness thread calls this to become a Server issue thread; it blocks until the running test
/// (or, if none is running, the next one) ends (see server_num_issue_query_threads).
LOADGEN_EXPORT void RegisterIssueQueryThread();

}  // namespace mlperf

#endif  // MLPERF_LOADGEN_LOADGEN_H_
