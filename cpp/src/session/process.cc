// The process's only globals: the services the official free functions use, and the test slot
// that lets one test run at a time (session/process.h).
#include "session/process.h"

#include "common/thread_annotations.h"
#include "loadgen/errors.h"

namespace loadgen {
namespace session {
namespace {

struct Process {
  record::ActiveSeries active;
  issue::IssueThreadPool issue_threads;
  live::LiveBoard live;
  common::Mutex slot_mu;  // TestSlot vs TestSlot, and AbortTest vs the end of a test
  Session* running LOADGEN_GUARDED_BY(slot_mu) = nullptr;  // the slot's holder
};

Process& GetProcess() {
  static Process* process = new Process();  // never destroyed: threads may outlive main
  return *process;
}

}  // namespace

record::ActiveSeries& GetProcessActiveSeries() { return GetProcess().active; }
issue::IssueThreadPool& GetProcessIssueThreads() { return GetProcess().issue_threads; }
live::LiveBoard& GetProcessLiveBoard() { return GetProcess().live; }

TestSlot::TestSlot(Session* session) {
  Process& p = GetProcess();
  common::MutexLock lock(&p.slot_mu);
  if (p.running != nullptr) {
    // Two tests would share the process's completion table, issue threads and live board
    // (and the official API cannot say which test a completion is for).
    throw TestAlreadyRunningError(
        "A test is already running in this process; StartTest runs one test at a time. Wait "
        "for the running test to return before starting another.");
  }
  p.running = session;
}

TestSlot::~TestSlot() {
  Process& p = GetProcess();
  common::MutexLock lock(&p.slot_mu);
  p.running = nullptr;
}

TestOutcome RunProcessTest(mlperf::SystemUnderTest* sut, mlperf::QuerySampleLibrary* qsl,
                           const mlperf::TestSettings& settings,
                           const mlperf::LogSettings& log_settings,
                           const std::string& audit_config_filename,
                           std::chrono::nanoseconds no_progress_timeout,
                           const schedule::LoadModel* load_model, bool keep_requests) {
  Process& p = GetProcess();
  Environment env;
  env.config = &settings::ConfigContext::Process();
  env.active = &p.active;
  env.issue_threads = &p.issue_threads;
  env.live = &p.live;
  env.no_progress_timeout = no_progress_timeout;
  env.load_model = load_model;
  env.keep_requests = keep_requests;
  // Building a Session touches nothing shared; Run opens the logs, after the slot is taken.
  Session session(sut, qsl, settings, log_settings, audit_config_filename, env);
  TestSlot slot(&session);
  return session.Run();
}

bool AbortRunningTest(const std::string& reason, bool is_error, bool graceful) {
  Process& p = GetProcess();
  common::MutexLock lock(&p.slot_mu);
  if (!p.running) return false;
  p.running->Abort(reason, is_error, graceful);
  return true;
}

bool EndRunningSeriesDecided(const std::string& reason) {
  Process& p = GetProcess();
  common::MutexLock lock(&p.slot_mu);
  return p.running != nullptr && p.running->EndSeriesDecided(reason);
}

}  // namespace session
}  // namespace loadgen
