// session: builds and owns every stage object of one StartTest and runs the mode drivers
// (engine.md §2, §6). Every exit path (normal end, bad settings, an exception from a SUT/QSL
// callback, AbortTest) writes what was recorded and closes the logs.
#ifndef LOADGEN_SESSION_TEST_SESSION_H_
#define LOADGEN_SESSION_TEST_SESSION_H_

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "issue/issue_threads.h"
#include "live/live_board.h"
#include "loadgen.h"
#include "logging/accuracy_log.h"
#include "logging/log_files.h"
#include "logging/trace_writer.h"
#include "record/active_series.h"
#include "results/summary.h"
#include "schedule/plan.h"
#include "settings/config_file.h"
#include "settings/effective_settings.h"

namespace loadgen::session {

class LogPump;

/// What a finished test reports back (the typed API builds its result from this).
struct TestOutcome {
  logging::LogPaths log_paths;
  std::optional<results::PerformanceSummary> performance;
  uint64_t errors = 0;
  uint64_t warnings = 0;
  bool aborted = false;
  std::string abort_reason;
  uint64_t rejected_responses = 0;
};

/// Process-wide services the official free functions need; tests build their own.
struct Environment {
  settings::ConfigContext* config = nullptr;
  record::ActiveSeries* active = nullptr;
  issue::IssueThreadPool* issue_threads = nullptr;
  live::LiveBoard* live = nullptr;  // progress readers and the stall watchdog (may be null)
  /// Positive: a series whose outstanding samples see no completion for this long is aborted
  /// with loadgen::TestAborted naming them.
  std::chrono::nanoseconds no_progress_timeout{0};
};

class TestSession {
 public:
  TestSession(mlperf::SystemUnderTest* sut, mlperf::QuerySampleLibrary* qsl,
              const mlperf::TestSettings& requested, const mlperf::LogSettings& log_settings,
              std::string audit_config_filename, Environment env);
  ~TestSession();

  /// Runs the test. Throws the first exception raised by a SUT/QSL callback (after writing the
  /// logs), loadgen::SettingsError for settings that cannot run, loadgen::LogError when the
  /// log files cannot be opened.
  TestOutcome Run();

  /// Stops the test from any thread; Run() returns with `aborted` set.
  /// `is_error`: Run() throws loadgen::TestAborted instead of returning. `graceful`: issuing
  /// stops but outstanding samples may still complete for up to `kDrainTimeout`.
  void Abort(const std::string& reason, bool is_error = false, bool graceful = false);

  static constexpr std::chrono::seconds kDrainTimeout{10};

 private:
  struct SeriesOutput;
  void LogTestHeader();
  void ApplyAuditAndTest05();
  void RunAccuracy();
  void RunPerformance();
  void RunFindPeak();
  SeriesOutput RunSeries(const schedule::LoadableSet& set, mlperf::TestMode mode,
                         const settings::EffectiveSettings& effective);
  results::PerformanceSummary SummarizeAndLog(const SeriesOutput& out,
                                              const settings::EffectiveSettings& effective,
                                              bool write_reports);
  void LoadSet(const schedule::LoadableSet& set);
  void UnloadSet(const schedule::LoadableSet& set);
  void WriteTrace(const record::SeriesRecorder& rec, uint64_t queries_issued_hint);
  void Finish();
  void Log(const char* key, const logging::JsonValue& value, Severity sev = Severity::kInfo,
           const char* file = "loadgen.cc");
  void LogMessage(Severity sev, const char* key, const std::string& text,
                  const char* file = "loadgen.cc");

  mlperf::SystemUnderTest* sut_;
  mlperf::QuerySampleLibrary* qsl_;
  mlperf::TestSettings requested_;  // after audit.config and test05
  const mlperf::TestSettings original_;
  mlperf::LogSettings log_settings_;
  std::string audit_config_filename_;
  Environment env_;

  settings::EffectiveSettings effective_;
  schedule::SequenceState sequence_;
  uint32_t next_series_tag_;

  logging::LogFiles files_;
  std::unique_ptr<logging::DetailLog> detail_;
  std::unique_ptr<logging::AccuracyLogWriter> accuracy_;
  std::unique_ptr<logging::TraceWriter> trace_;
  std::unique_ptr<record::BoundedMpmcQueue<record::CompletionError>> errors_;
  std::unique_ptr<LogPump> pump_;
  int64_t origin_ns_ = 0;
  std::string summary_text_;
  TestOutcome outcome_;

  std::atomic<bool> abort_{false};       // stop issuing
  std::atomic<bool> hard_abort_{false};  // stop waiting too
  std::atomic<int64_t> abort_time_ns_{0};
  std::mutex abort_mu_;
  std::string abort_reason_;
  bool abort_is_error_ = false;
  bool abort_graceful_ = false;
};

}  // namespace loadgen::session

#endif  // LOADGEN_SESSION_TEST_SESSION_H_
