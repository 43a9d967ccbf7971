// The official free-function API (loadgen.h) and our extensions (loadgen/session.h) over the
// session stage. The official API takes no session argument, so this file holds the process's
// only globals: the environment a test runs in and the running session (for AbortTest).
#include <mutex>

#include "loadgen.h"
#include "loadgen/session.h"
#include "session/process.h"

namespace loadgen::session {
namespace {

struct Process {
  record::ActiveSeries active;
  issue::IssueThreadPool issue_threads;
  live::LiveBoard live;
  std::mutex running_mu;  // guards running (AbortTest vs the end of StartTest)
  Session* running = nullptr;
};

Process& GetProcess() {
  static Process* process = new Process();  // never destroyed: threads may outlive main
  return *process;
}

class RunningGuard {
 public:
  RunningGuard(Process& p, Session* s) : p_(p) {
    std::lock_guard<std::mutex> lock(p_.running_mu);
    p_.running = s;
  }
  ~RunningGuard() {
    std::lock_guard<std::mutex> lock(p_.running_mu);
    p_.running = nullptr;
  }

 private:
  Process& p_;
};

}  // namespace

record::ActiveSeries& GetProcessActiveSeries() { return GetProcess().active; }
issue::IssueThreadPool& GetProcessIssueThreads() { return GetProcess().issue_threads; }
live::LiveBoard& GetProcessLiveBoard() { return GetProcess().live; }

TestOutcome RunProcessTest(mlperf::SystemUnderTest* sut, mlperf::QuerySampleLibrary* qsl,
                           const mlperf::TestSettings& settings,
                           const mlperf::LogSettings& log_settings,
                           const std::string& audit_config_filename,
                           std::chrono::nanoseconds no_progress_timeout) {
  Process& p = GetProcess();
  Environment env;
  env.config = &settings::ConfigContext::Process();
  env.active = &p.active;
  env.issue_threads = &p.issue_threads;
  env.live = &p.live;
  env.no_progress_timeout = no_progress_timeout;
  Session session(sut, qsl, settings, log_settings, audit_config_filename, env);
  RunningGuard guard(p, &session);
  return session.Run();
}

bool AbortRunningTest(const std::string& reason, bool is_error, bool graceful) {
  Process& p = GetProcess();
  std::lock_guard<std::mutex> lock(p.running_mu);
  if (!p.running) return false;
  p.running->Abort(reason, is_error, graceful);
  return true;
}

}  // namespace loadgen::session

namespace mlperf {

void StartTest(SystemUnderTest* sut, QuerySampleLibrary* qsl,
               const TestSettings& requested_settings, const LogSettings& log_settings,
               const std::string audit_config_filename) {
  loadgen::session::RunProcessTest(sut, qsl, requested_settings, log_settings,
                                   audit_config_filename);
}

void AbortTest() { loadgen::session::AbortRunningTest("AbortTest() was called."); }

void RegisterIssueQueryThread() {
  loadgen::session::GetProcessIssueThreads().Serve(nullptr);
}

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

bool AbortTestWithError(const std::string& message) {
  return session::AbortRunningTest(message, true);
}

}  // namespace loadgen
