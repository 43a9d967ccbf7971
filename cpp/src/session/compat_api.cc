// The official free-function API (loadgen.h) and our extensions (loadgen/session.h) over the
// session stage. The official API takes no session argument: every call addresses the
// process's one test (session/process.h holds the process-wide state).
#include "loadgen.h"
#include "loadgen/failure.h"
#include "loadgen/session.h"
#include "session/process.h"

namespace mlperf {

void StartTest(SystemUnderTest* sut, QuerySampleLibrary* qsl,
               const TestSettings& requested_settings, const LogSettings& log_settings,
               const std::string audit_config_filename) {
  loadgen::session::RunProcessTest(sut, qsl, requested_settings, log_settings,
                                   audit_config_filename);
}

void AbortTest() { loadgen::session::AbortRunningTest("AbortTest() was called."); }

void RegisterIssueQueryThread() { loadgen::session::GetProcessIssueThreads().Serve(nullptr); }

void QuerySamplesComplete(QuerySampleResponse* responses, size_t response_count,
                          const ResponseCallback& response_cb) {
  loadgen::session::GetProcessActiveSeries().Complete(responses, response_count, response_cb);
}

void FirstTokenComplete(QuerySampleResponse* responses, size_t response_count,
                        const ResponseCallback& response_cb) {
  loadgen::session::GetProcessActiveSeries().FirstTokens(responses, response_count, response_cb);
}

}  // namespace mlperf

namespace loadgen {

CompletionStatus CompleteSamples(mlperf::QuerySampleResponse* responses, size_t count,
                                 const mlperf::ResponseCallback& response_cb) {
  return session::GetProcessActiveSeries().Complete(responses, count, response_cb);
}

CompletionStatus CompleteFirstTokens(mlperf::QuerySampleResponse* responses, size_t count,
                                     const mlperf::ResponseCallback& response_cb) {
  return session::GetProcessActiveSeries().FirstTokens(responses, count, response_cb);
}

CompletionStatus CompleteSampleIds(const uint64_t* ids, size_t count, const int64_t* n_tokens) {
  return session::GetProcessActiveSeries().CompleteIds(ids, count, n_tokens);
}

CompletionStatus CompleteFirstTokenIds(const uint64_t* ids, size_t count) {
  return session::GetProcessActiveSeries().FirstTokenIds(ids, count);
}

CompletionStatus CompleteFailedIds(const uint64_t* ids, size_t count, SampleFailure reason) {
  return session::GetProcessActiveSeries().CompleteFailedIds(ids, count, reason);
}

CancellableSut::~CancellableSut() = default;

bool AbortTestWithError(const std::string& message) {
  return session::AbortRunningTest(message, true);
}

}  // namespace loadgen
