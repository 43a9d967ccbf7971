// One test from start to end: open the logs, log the header and the settings, run the mode
// drivers (mode_drivers.cc), and write and close the logs on every exit path.
#include "session/session.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <random>

#include "common/clock.h"
#include "common/enum_names.h"
#include "common/errors.h"
#include "logging/format.h"
#include "logging/settings_log.h"
#include "logging/version_info.h"
#include "session/log_pump.h"

namespace loadgen::session {

using logging::JsonValue;
using mlperf::TestMode;
using mlperf::TestScenario;

namespace {

int64_t UnixNs(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// Series tags start at a random point so ids from an earlier process or test do not collide.
uint32_t InitialSeriesTag() {
  std::random_device rd;
  uint32_t tag = rd() & record::kTagMask;
  return tag == 0 ? 1 : tag;
}

constexpr size_t kErrorQueueCapacity = 1 << 16;

std::string ExceptionText(const std::exception_ptr& failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
  }
  return "unknown exception";
}

}  // namespace

Session::Session(mlperf::SystemUnderTest* sut, mlperf::QuerySampleLibrary* qsl,
                 const mlperf::TestSettings& requested, const mlperf::LogSettings& log_settings,
                 std::string audit_config_filename, Environment env)
    : sut_(sut),
      qsl_(qsl),
      requested_(requested),
      original_(requested),
      log_settings_(log_settings),
      audit_config_filename_(std::move(audit_config_filename)),
      env_(env),
      next_series_tag_(InitialSeriesTag()) {}

Session::~Session() = default;

void Session::Abort(const std::string& reason, bool is_error, bool graceful) {
  {
    common::MutexLock lock(&abort_mu_);
    if (abort_reason_.empty()) {
      abort_reason_ = reason;
      abort_is_error_ = is_error;
      abort_graceful_ = graceful;
    } else if (abort_graceful_ && !graceful) {
      // A second Ctrl-C during the drain: the reason tells both.
      abort_reason_ += " Then: " + reason;
      abort_graceful_ = false;
    }
  }
  int64_t none = 0;
  abort_time_ns_.compare_exchange_strong(none, NowNs());
  if (!graceful) hard_abort_.store(true, std::memory_order_seq_cst);
  abort_.store(true, std::memory_order_seq_cst);
  if (env_.issue_threads) env_.issue_threads->EndThreads();
}

bool Session::EndSeriesDecided(const std::string& reason) {
  if (!in_performance_series_.load()) return false;
  {
    common::MutexLock lock(&abort_mu_);
    if (decided_reason_.empty()) decided_reason_ = reason.empty() ? "decided" : reason;
  }
  decided_.store(true, std::memory_order_seq_cst);
  return true;
}

void Session::LogMessage(Severity sev, const char* key, const std::string& text, const char* file) {
  detail_->Log(key, JsonValue::String(text), sev, file, 0);
}

TestOutcome Session::Run() {
  OpenLogs();
  std::exception_ptr failure;
  try {
    LogTestHeader();
    ApplyAuditAndTest05();
    ResolveSettings();
    RunModes();
  } catch (...) {
    failure = std::current_exception();
    LogMessage(Severity::kError, "error_runtime", "Test stopped: " + ExceptionText(failure));
  }
  const bool abort_is_error = !failure && TakeAbortOutcome();
  Finish();
  if (failure) std::rethrow_exception(failure);
  if (abort_is_error) throw TestAborted(outcome_.abort_reason);
  return outcome_;
}

// Opens the four log files and starts the log writer thread. Throws loadgen::LogError.
void Session::OpenLogs() {
  const std::string datetime = logging::TestDatetimeNow();
  files_ = logging::OpenLogFiles(log_settings_.log_output, datetime);
  outcome_.log_paths = files_.paths();
  origin_ns_ = NowNs();
  const int64_t origin_unix_ns = UnixNs(std::chrono::system_clock::now());
  detail_ = std::make_unique<logging::DetailLog>(
      files_.detail(), log_settings_.log_output.copy_detail_to_stdout, origin_ns_);
  accuracy_ = std::make_unique<logging::AccuracyLogWriter>(files_.accuracy());
  trace_ = std::make_unique<logging::TraceWriter>(
      log_settings_.enable_trace ? files_.trace() : nullptr, origin_ns_, origin_unix_ns,
      static_cast<int>(::getpid()));
  errors_ =
      std::make_unique<record::BoundedMpmcQueue<record::CompletionError>>(kErrorQueueCapacity);
  // Token flags come from the requested settings, as the official logger's do (official
  // loadgen.cc, StartTest: the logger is set up before audit.config is read).
  pump_ = std::make_unique<LogPump>(detail_.get(), accuracy_.get(), errors_.get(),
                                    original_.use_token_latencies,
                                    original_.scenario == TestScenario::Offline);
  env_.active->SetErrorSink(errors_.get());

  // Messages of FromConfig calls made before this test open the detail log.
  for (auto& [time_ns, d] : env_.config->TakePending()) detail_->Log(d, time_ns);
}

void Session::LogTestHeader() {
  logging::LogVersionInfo(*detail_, NowNs());
  const int64_t t0 = NowNs();
  const std::string& sut_name = sut_->Name();
  const int64_t name_ns = NowNs() - t0;
  const std::string qsl_name = qsl_->Name();
  const uint64_t total = qsl_->TotalSampleCount();
  const uint64_t perf = qsl_->PerformanceSampleCount();
  const int64_t ts = NowNs();
  auto log = [&](const char* key, const JsonValue& v) {
    detail_->Log(key, v, Severity::kInfo, "loadgen.cc", 0, ts);
  };
  log("test_datetime",
      JsonValue::String(logging::FormatTestDatetime(std::chrono::system_clock::now())));
  log("sut_name", JsonValue::String(sut_name));
  log("get_sut_name_duration_ns", JsonValue::Int(name_ns));
  log("qsl_name", JsonValue::String(qsl_name));
  log("qsl_reported_total_count", JsonValue::Uint(total));
  log("qsl_reported_performance_count", JsonValue::Uint(perf));
}

void Session::ApplyAuditAndTest05() {
  if (!audit_config_filename_.empty()) {
    if (std::FILE* f = std::fopen(audit_config_filename_.c_str(), "r")) {
      std::fclose(f);
      LogMessage(Severity::kWarning, "warning_generic_message",
                 "Found Audit Config file (audit.config). Overriding TestSettings from "
                 "audit.config file.");
      settings::FromConfig(requested_, audit_config_filename_, "*",
                           ScenarioName(requested_.scenario), 2, *env_.config);
      for (auto& [time_ns, d] : env_.config->TakePending()) detail_->Log(d, time_ns);
    }
  }
  if (requested_.test05) {
    LogMessage(Severity::kWarning, "warning_generic_message",
               "Test05 flag detected Overriding random seeds");
    requested_.mode = TestMode::PerformanceOnly;
    requested_.qsl_rng_seed = original_.test05_qsl_rng_seed;
    requested_.sample_index_rng_seed = original_.test05_sample_index_rng_seed;
    requested_.schedule_rng_seed = original_.test05_schedule_rng_seed;
  }
}

// Computes the effective settings, logs them with the requested ones, and refuses settings
// the official would crash or hang on, before any load is issued.
void Session::ResolveSettings() {
  Diagnostics diagnostics;
  effective_ = settings::Normalize(requested_, qsl_->PerformanceSampleCount(),
                                   qsl_->TotalSampleCount(), &diagnostics);
  const int64_t t = NowNs();
  for (const Diagnostic& d : diagnostics) detail_->Log(d, t);
  logging::LogSettings(*detail_, requested_, effective_, NowNs());
  settings::ValidateForRun(effective_, requested_, qsl_->PerformanceSampleCount(),
                           qsl_->TotalSampleCount());
  if (env_.load_model) ApplyLoadModel();
}

// A load model replaces the Server scenario's schedule and stop rules: its stages say how
// long the series runs, so the Server minimums do not apply, and it issues from this thread.
void Session::ApplyLoadModel() {
  if (effective_.scenario != TestScenario::Server) {
    throw SettingsError(
        "a load model runs as the Server scenario (whose metrics it reports); "
        "set the scenario to Server");
  }
  if (effective_.mode == TestMode::FindPeakPerformance) {
    throw SettingsError(
        "FindPeakPerformance searches the Server rate itself; it does not take "
        "a load model");
  }
  schedule::ValidateLoadModel(*env_.load_model);
  effective_.min_duration_ms = 0;
  effective_.min_query_count = 0;
  effective_.server_num_issue_query_threads = 0;
  effective_.server_coalesce_queries = false;
  LogMessage(Severity::kInfo, "generic_message",
             "Performance series issue a load model of " +
                 std::to_string(env_.load_model->stages.size()) +
                 " stage(s) (loadgen_load_stage entries) instead of the Server schedule");
}

void Session::RunModes() {
  switch (effective_.mode) {
    case TestMode::SubmissionRun:
      RunAccuracy();
      if (!abort_.load()) RunPerformance();
      break;
    case TestMode::AccuracyOnly:
      RunAccuracy();
      break;
    case TestMode::PerformanceOnly:
      RunPerformance();
      break;
    case TestMode::FindPeakPerformance:
      RunFindPeak();
      break;
  }
}

// After an abort (and no exception): records it in the outcome and the detail log. Returns
// whether Run must throw loadgen::TestAborted.
bool Session::TakeAbortOutcome() {
  if (!abort_.load()) return false;
  common::MutexLock lock(&abort_mu_);
  outcome_.aborted = true;
  outcome_.abort_reason = abort_reason_;
  LogMessage(Severity::kError, "error_runtime", "Test aborted: " + abort_reason_);
  return abort_is_error_;
}

// Ends the test's threads and writes the summary; closes every log file.
void Session::Finish() {
  if (env_.issue_threads) env_.issue_threads->EndThreads();
  pump_->DrainNow();
  pump_.reset();
  env_.active->SetErrorSink(nullptr);
  const uint64_t warnings = detail_->warning_count();
  const uint64_t errors = detail_->error_count();
  std::string summary = summary_text_.empty()
                            ? results::RenderAccuracyOnlySummary(warnings, errors)
                            : summary_text_ + results::RenderSummaryTrailer(warnings, errors);
  if (std::FILE* f = files_.summary()) std::fwrite(summary.data(), 1, summary.size(), f);
  if (log_settings_.log_output.copy_summary_to_stdout) {
    std::fwrite(summary.data(), 1, summary.size(), stdout);
    std::fflush(stdout);
  }
  accuracy_->Finish();
  trace_->Finish();
  detail_->Flush();
  outcome_.errors = errors;
  outcome_.warnings = warnings;
  files_.Close();
}

}  // namespace loadgen::session
