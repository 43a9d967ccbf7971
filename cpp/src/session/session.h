// session: builds and owns every stage object of one StartTest and runs the mode drivers
// (docs/architecture.md). Every exit path (normal end, bad settings, an
// exception from a SUT/QSL callback, AbortTest) writes what was recorded and closes the logs.
//
// Files: session.cc (the test's steps, from opening the logs to closing them),
// mode_drivers.cc (accuracy, performance and FindPeakPerformance), series_runner.cc (one
// series: plan, recorder, issue, drain, results, trace). A Session does not refuse a second
// concurrent test by itself: the process-wide entry points do (session/process.h, TestSlot).
#ifndef LOADGEN_SESSION_SESSION_H_
#define LOADGEN_SESSION_SESSION_H_

#include <array>
#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/thread_annotations.h"
#include "issue/issue_threads.h"
#include "issue/issuer.h"
#include "live/live_board.h"
#include "loadgen.h"
#include "logging/accuracy_log.h"
#include "logging/log_files.h"
#include "logging/trace_writer.h"
#include "record/active_series.h"
#include "results/request_metrics.h"
#include "results/summary.h"
#include "schedule/load_models/load_model.h"
#include "schedule/plan.h"
#include "selfcheck/generator_check.h"
#include "session/load_stages.h"
#include "settings/config_file.h"
#include "settings/effective_settings.h"

namespace loadgen::session {

class LogPump;
class PlanStreamer;

/// What a finished test reports back (the typed API builds its result from this).
struct TestOutcome {
  logging::LogPaths log_paths;
  std::optional<results::PerformanceSummary> performance;
  uint64_t errors = 0;
  uint64_t warnings = 0;
  bool aborted = false;
  std::string abort_reason;
  uint64_t rejected_responses = 0;
  /// A load model's performance series: one entry per stage.
  std::vector<StageResult> stages;
  /// Samples the SUT completed as failed (loadgen/failure.h), over every series of the test.
  uint64_t failed_samples = 0;
  std::array<uint64_t, kSampleFailureCount> failed_by_reason{};
  /// The last performance series' completed samples, one row each, for
  /// results::ComputeRequestMetrics (docs/metrics.md). Empty without a performance series
  /// or without Environment::keep_requests.
  std::vector<results::RequestRow> requests;
  /// requests[i]'s response id (the mlperf::ResponseId the SUT was given), so a SUT's own
  /// records (an endpoint client's) can be matched to the engine's rows.
  std::vector<uint64_t> request_ids;
  /// The clock time (common/clock.h) the rows' scheduled_ns count from: the series start.
  int64_t requests_origin_ns = 0;
  /// The generator self-check of the last performance series (docs/self-check.md).
  std::optional<selfcheck::GeneratorCheck> generator;
  /// Set when a decision policy ended the performance series early (Session::EndSeriesDecided):
  /// its reason, also in the detail log as loadgen_series_decided. Empty otherwise.
  std::string decided_reason;
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
  /// Set: performance series issue this load model (docs/load-models.md) instead of the
  /// scenario's schedule; the scenario must be Server, whose metrics they report.
  const schedule::LoadModel* load_model = nullptr;
  /// Fill TestOutcome::requests (48 bytes per completed sample of the performance series)
  /// for results::ComputeRequestMetrics; the drop-in StartTest does not pay for it.
  bool keep_requests = false;
};

class Session {
 public:
  Session(mlperf::SystemUnderTest* sut, mlperf::QuerySampleLibrary* qsl,
          const mlperf::TestSettings& requested, const mlperf::LogSettings& log_settings,
          std::string audit_config_filename, Environment env);
  ~Session();

  /// Runs the test. Throws the first exception raised by a SUT/QSL callback (after writing the
  /// logs), loadgen::SettingsError for settings that cannot run, loadgen::LogError when the
  /// log files cannot be opened.
  TestOutcome Run();

  /// Stops the test from any thread; Run() returns with `aborted` set.
  /// `is_error`: Run() throws loadgen::TestAborted instead of returning. `graceful`: issuing
  /// stops but outstanding samples may still complete for up to `kDrainTimeout`.
  void Abort(const std::string& reason, bool is_error = false, bool graceful = false)
      LOADGEN_EXCLUDES(abort_mu_);

  static constexpr std::chrono::seconds kDrainTimeout{10};

  /// Ends the running performance series as if it had reached its planned end, from any
  /// thread: issuing stops, the issued samples complete, and the results and logs are those of
  /// the queries issued (not an abort). For a decision policy that has seen enough evidence
  /// (the typed API's run(..., decide=...), docs/search.md); a series so ended usually misses
  /// min_duration / min_query_count, so its official result is INVALID. The first reason is
  /// kept. Returns false (and does nothing) outside a performance series.
  bool EndSeriesDecided(const std::string& reason) LOADGEN_EXCLUDES(abort_mu_);

 private:
  // What a series measured (for the summary) and whether the test was aborted during it.
  struct SeriesOutput {
    results::PerformanceResult result;
    uint64_t queries_issued = 0;
    bool aborted = false;
  };
  struct SeriesState;

  // Steps of Run (session.cc).
  void OpenLogs();
  void LogTestHeader();
  void ApplyAuditAndTest05();
  void ResolveSettings();
  void ApplyLoadModel();
  void RunModes();
  bool TakeAbortOutcome() LOADGEN_EXCLUDES(abort_mu_);
  void Finish();

  // Mode drivers (mode_drivers.cc).
  void RunAccuracy();
  void RunPerformance();
  void CheckPerfClock(std::chrono::system_clock::time_point sc_start, int64_t pc_start);
  struct PeakSearch;
  void RunFindPeak();
  results::PerformanceSummary RunPeakSeries(PeakSearch& search, double qps, bool load,
                                            SeriesOutput* out);
  bool FindPeakBoundaries(PeakSearch& search);
  bool FindPeakByBisection(PeakSearch& search);
  results::PerformanceSummary SummarizeAndLog(const SeriesOutput& out,
                                              const settings::EffectiveSettings& effective,
                                              bool write_reports);
  void LoadSet(const schedule::LoadableSet& set);
  void UnloadSet(const schedule::LoadableSet& set);

  // One series (series_runner.cc).
  SeriesOutput RunSeries(const schedule::LoadableSet& set, mlperf::TestMode mode,
                         const settings::EffectiveSettings& effective);
  void LogGenerated(const schedule::SeriesPlan& plan);
  record::RecorderOptions NextRecorderOptions(const settings::EffectiveSettings& effective);
  uint64_t WaitForIssueThreads(const settings::EffectiveSettings& effective);
  live::SeriesInfo LiveInfo(const SeriesState& series, mlperf::TestMode mode,
                            const settings::EffectiveSettings& effective) const;
  std::exception_ptr IssueSeries(SeriesState& series, live::IssueCounter* counter,
                                 mlperf::TestMode mode,
                                 const settings::EffectiveSettings& effective,
                                 uint64_t thread_count);
  void Drain(SeriesState& series, const std::exception_ptr& failure);
  void FinishStreaming(SeriesState& series, PlanStreamer& streamer, bool aborted,
                       std::exception_ptr* failure);
  void LogSeriesEnd(const SeriesState& series);
  void LogDecided(const SeriesState& series) LOADGEN_EXCLUDES(abort_mu_);
  void CountFailedSamples(const results::PerformanceResult& result, mlperf::TestMode mode);
  results::PerformanceResult CollectResult(const SeriesState& series,
                                           const settings::EffectiveSettings& effective) const;
  void WriteTrace(const record::SeriesRecorder& rec);
  // The generator self-check of a performance series (generator_check_step.cc).
  struct GeneratorCheckStart {
    int64_t log_cpu_ns = 0;
    bool has_client = false;
    ClientLoadFigures client;
  };
  GeneratorCheckStart StartGeneratorCheck();
  void FinishGeneratorCheck(const GeneratorCheckStart& start, const issue::IssueShared& shared,
                            const record::SeriesRecorder& recorder,
                            const results::PerformanceResult& result);

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
  // EndSeriesDecided: set for the running performance series (see issue::IssueShared::decided).
  std::atomic<bool> decided_{false};
  std::atomic<bool> in_performance_series_{false};
  common::Mutex abort_mu_;
  std::string decided_reason_ LOADGEN_GUARDED_BY(abort_mu_);
  std::string abort_reason_ LOADGEN_GUARDED_BY(abort_mu_);
  bool abort_is_error_ LOADGEN_GUARDED_BY(abort_mu_) = false;
  bool abort_graceful_ LOADGEN_GUARDED_BY(abort_mu_) = false;
};

}  // namespace loadgen::session

#endif  // LOADGEN_SESSION_SESSION_H_
