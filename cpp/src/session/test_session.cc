#include "session/test_session.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <exception>
#include <random>

#include "common/clock.h"
#include "common/enum_names.h"
#include "common/errors.h"
#include "issue/issuer.h"
#include "logging/format.h"
#include "logging/version_info.h"
#include "session/log_pump.h"
#include "session/plan_streamer.h"

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

}  // namespace

struct TestSession::SeriesOutput {
  results::PerformanceResult result;
  uint64_t queries_issued = 0;
  bool aborted = false;
};

TestSession::TestSession(mlperf::SystemUnderTest* sut, mlperf::QuerySampleLibrary* qsl,
                         const mlperf::TestSettings& requested,
                         const mlperf::LogSettings& log_settings,
                         std::string audit_config_filename, Environment env)
    : sut_(sut),
      qsl_(qsl),
      requested_(requested),
      original_(requested),
      log_settings_(log_settings),
      audit_config_filename_(std::move(audit_config_filename)),
      env_(env),
      next_series_tag_(InitialSeriesTag()) {}

TestSession::~TestSession() = default;

void TestSession::Abort(const std::string& reason, bool is_error, bool graceful) {
  {
    std::lock_guard<std::mutex> lock(abort_mu_);
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

void TestSession::Log(const char* key, const JsonValue& value, Severity sev, const char* file) {
  detail_->Log(key, value, sev, file, 0);
}

void TestSession::LogMessage(Severity sev, const char* key, const std::string& text,
                             const char* file) {
  detail_->Log(key, JsonValue::String(text), sev, file, 0);
}

TestOutcome TestSession::Run() {
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
  errors_ = std::make_unique<record::BoundedMpmcQueue<record::CompletionError>>(
      kErrorQueueCapacity);
  // Token flags come from the requested settings, as the official logger's do (§2 step 4).
  pump_ = std::make_unique<LogPump>(detail_.get(), accuracy_.get(), errors_.get(),
                                    original_.use_token_latencies,
                                    original_.scenario == TestScenario::Offline);
  env_.active->SetErrorSink(errors_.get());

  // Messages of FromConfig calls made before this test open the detail log.
  for (auto& [time_ns, d] : env_.config->TakePending()) detail_->Log(d, time_ns);

  std::exception_ptr failure;
  try {
    LogTestHeader();
    ApplyAuditAndTest05();
    Diagnostics diagnostics;
    effective_ = settings::Normalize(requested_, qsl_->PerformanceSampleCount(),
                                     qsl_->TotalSampleCount(), &diagnostics);
    const int64_t t = NowNs();
    for (const Diagnostic& d : diagnostics) detail_->Log(d, t);
    // (The requested/effective blocks are written inside Normalize's caller, here.)
    {
      const int64_t ts = NowNs();
      auto req = [&](const char* key, const JsonValue& v) {
        detail_->Log(key, v, Severity::kInfo, "test_settings_internal.cc", 0, ts);
      };
      const mlperf::TestSettings& r = requested_;
      req("requested_scenario", JsonValue::String(ScenarioName(r.scenario)));
      req("requested_test_mode", JsonValue::String(ModeName(r.mode)));
      switch (r.scenario) {
        case TestScenario::SingleStream:
          req("requested_single_stream_expected_latency_ns",
              JsonValue::Double(r.single_stream_expected_latency_ns));
          req("requested_single_stream_target_latency_percentile",
              JsonValue::Double(r.single_stream_target_latency_percentile));
          break;
        case TestScenario::MultiStream:
          req("requested_multi_stream_expected_latency_ns",
              JsonValue::Double(r.multi_stream_expected_latency_ns));
          req("requested_multi_stream_target_latency_percentile",
              JsonValue::Double(r.multi_stream_target_latency_percentile));
          req("requested_multi_stream_samples_per_query",
              JsonValue::Uint(r.multi_stream_samples_per_query));
          break;
        case TestScenario::Server:
          req("requested_server_target_qps", JsonValue::Double(r.server_target_qps));
          req("requested_server_target_latency_ns", JsonValue::Uint(r.server_target_latency_ns));
          req("requested_server_target_latency_percentile",
              JsonValue::Double(r.server_target_latency_percentile));
          req("requested_server_coalesce_queries", JsonValue::Bool(r.server_coalesce_queries));
          req("requested_server_find_peak_qps_decimals_of_precision",
              JsonValue::Int(r.server_find_peak_qps_decimals_of_precision));
          req("requested_server_find_peak_qps_boundary_step_size",
              JsonValue::Double(r.server_find_peak_qps_boundary_step_size));
          req("requested_server_max_async_queries", JsonValue::Uint(r.server_max_async_queries));
          req("requested_server_num_issue_query_threads",
              JsonValue::Uint(r.server_num_issue_query_threads));
          break;
        case TestScenario::Offline:
          req("requested_offline_expected_qps", JsonValue::Double(r.offline_expected_qps));
          break;
      }
      req("requested_min_duration_ms", JsonValue::Uint(r.min_duration_ms));
      req("requested_max_duration_ms", JsonValue::Uint(r.max_duration_ms));
      req("requested_min_query_count", JsonValue::Uint(r.min_query_count));
      req("requested_max_query_count", JsonValue::Uint(r.max_query_count));
      req("requested_qsl_rng_seed", JsonValue::Uint(r.qsl_rng_seed));
      req("requested_sample_index_rng_seed", JsonValue::Uint(r.sample_index_rng_seed));
      req("requested_schedule_rng_seed", JsonValue::Uint(r.schedule_rng_seed));
      req("requested_accuracy_log_rng_seed", JsonValue::Uint(r.accuracy_log_rng_seed));
      req("requested_accuracy_log_probability", JsonValue::Double(r.accuracy_log_probability));
      req("requested_accuracy_log_sampling_target",
          JsonValue::Uint(r.accuracy_log_sampling_target));
      req("requested_print_timestamps", JsonValue::Bool(r.print_timestamps));
      req("requested_performance_issue_unique", JsonValue::Bool(r.performance_issue_unique));
      req("requested_performance_issue_same", JsonValue::Bool(r.performance_issue_same));
      req("requested_performance_issue_same_index",
          JsonValue::Uint(r.performance_issue_same_index));
      req("requested_performance_sample_count_override",
          JsonValue::Uint(r.performance_sample_count_override));
      req("requested_accuracy_sample_count_override",
          JsonValue::Uint(r.accuracy_sample_count_override));
      req("requested_sample_concatenate_permutation",
          JsonValue::Bool(r.sample_concatenate_permutation));
      if (r.use_token_latencies) {
        req("requested_use_token_latencies", JsonValue::Bool(true));
        if (r.scenario != TestScenario::Offline) {
          req("requested_server_ttft_latency", JsonValue::Uint(r.server_ttft_latency));
          req("requested_server_tpot_latency", JsonValue::Uint(r.server_tpot_latency));
        }
      }
      const settings::EffectiveSettings& e = effective_;
      req("effective_scenario", JsonValue::String(ScenarioName(e.scenario)));
      req("effective_test_mode", JsonValue::String(ModeName(e.mode)));
      req("effective_samples_per_query", JsonValue::Uint(e.samples_per_query));
      req("effective_target_qps", JsonValue::Double(e.target_qps));
      req("effective_target_latency_ns", JsonValue::Int(e.target_latency_ns));
      req("effective_target_latency_percentile", JsonValue::Double(e.target_latency_percentile));
      req("effective_max_async_queries", JsonValue::Uint(e.max_async_queries));
      req("effective_target_duration_ms", JsonValue::Uint(e.target_duration_ms));
      req("effective_min_duration_ms", JsonValue::Uint(e.min_duration_ms));
      req("effective_max_duration_ms", JsonValue::Uint(e.max_duration_ms));
      req("effective_min_query_count", JsonValue::Uint(e.min_query_count));
      req("effective_max_query_count", JsonValue::Uint(e.max_query_count));
      req("effective_min_sample_count", JsonValue::Uint(e.min_sample_count));
      req("effective_qsl_rng_seed", JsonValue::Uint(e.qsl_rng_seed));
      req("effective_sample_index_rng_seed", JsonValue::Uint(e.sample_index_rng_seed));
      req("effective_schedule_rng_seed", JsonValue::Uint(e.schedule_rng_seed));
      req("effective_accuracy_log_rng_seed", JsonValue::Uint(e.accuracy_log_rng_seed));
      req("effective_accuracy_log_probability", JsonValue::Double(e.accuracy_log_probability));
      req("effective_accuracy_log_sampling_target",
          JsonValue::Uint(e.accuracy_log_sampling_target));
      req("effective_print_timestamps", JsonValue::Bool(e.print_timestamps));
      req("effective_performance_issue_unique", JsonValue::Bool(e.performance_issue_unique));
      req("effective_performance_issue_same", JsonValue::Bool(e.performance_issue_same));
      req("effective_performance_issue_same_index",
          JsonValue::Uint(e.performance_issue_same_index));
      req("effective_performance_sample_count", JsonValue::Uint(e.performance_sample_count));
      req("effective_accuracy_sample_count", JsonValue::Uint(e.accuracy_sample_count));
      req("effective_sample_concatenate_permutation",
          JsonValue::Bool(e.sample_concatenate_permutation));
    }
    // Settings the official would crash or hang on stop here, before any load is issued.
    settings::ValidateForRun(effective_, requested_, qsl_->PerformanceSampleCount(),
                             qsl_->TotalSampleCount());

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
  } catch (...) {
    failure = std::current_exception();
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& ex) {
      what = ex.what();
    } catch (...) {
    }
    LogMessage(Severity::kError, "error_runtime", "Test stopped: " + what);
  }

  bool abort_is_error = false;
  if (abort_.load() && !failure) {
    std::lock_guard<std::mutex> lock(abort_mu_);
    outcome_.aborted = true;
    outcome_.abort_reason = abort_reason_;
    abort_is_error = abort_is_error_;
    LogMessage(Severity::kError, "error_runtime", "Test aborted: " + abort_reason_);
  }
  Finish();
  if (failure) std::rethrow_exception(failure);
  if (abort_is_error) throw TestAborted(outcome_.abort_reason);
  return outcome_;
}

void TestSession::LogTestHeader() {
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
  log("test_datetime", JsonValue::String(logging::FormatTestDatetime(
                           std::chrono::system_clock::now())));
  log("sut_name", JsonValue::String(sut_name));
  log("get_sut_name_duration_ns", JsonValue::Int(name_ns));
  log("qsl_name", JsonValue::String(qsl_name));
  log("qsl_reported_total_count", JsonValue::Uint(total));
  log("qsl_reported_performance_count", JsonValue::Uint(perf));
}

void TestSession::ApplyAuditAndTest05() {
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

void TestSession::LoadSet(const schedule::LoadableSet& set) {
  Log("loaded_qsl_set", JsonValue::IndexList(set.samples));
  std::vector<mlperf::QuerySampleIndex> indices(set.samples.begin(), set.samples.end());
  qsl_->LoadSamplesToRam(indices);
}

void TestSession::UnloadSet(const schedule::LoadableSet& set) {
  std::vector<mlperf::QuerySampleIndex> indices(set.samples.begin(), set.samples.end());
  qsl_->UnloadSamplesFromRam(indices);
}

void TestSession::RunAccuracy() {
  LogMessage(Severity::kInfo, "generic_message", "Starting accuracy mode");
  auto sets = schedule::GenerateLoadableSets(effective_, effective_.accuracy_sample_count,
                                             qsl_->TotalSampleCount());
  for (const schedule::LoadableSet& set : sets) {
    if (abort_.load()) break;
    LoadSet(set);
    RunSeries(set, TestMode::AccuracyOnly, effective_);
    if (abort_.load()) break;
    UnloadSet(set);
  }
}

void TestSession::RunPerformance() {
  LogMessage(Severity::kInfo, "generic_message", "Starting performance mode");
  auto sets = schedule::GenerateLoadableSets(effective_, effective_.performance_sample_count,
                                             qsl_->TotalSampleCount());
  const schedule::LoadableSet& set = sets.front();
  LoadSet(set);
  const auto sc_start = std::chrono::system_clock::now();
  const int64_t pc_start = NowNs();
  if (effective_.print_timestamps) {
    std::printf("Loadgen :: Perf mode start. system_clock Timestamp = %lld\n",
                static_cast<long long>(std::chrono::system_clock::to_time_t(sc_start)));
    std::fflush(stdout);
  }
  SeriesOutput out = RunSeries(set, TestMode::PerformanceOnly, effective_);
  const auto sc_stop = std::chrono::system_clock::now();
  const int64_t pc_ms = (NowNs() - pc_start) / 1000000;
  const int64_t sc_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(sc_stop - sc_start).count();
  if (effective_.print_timestamps) {
    const double ratio = sc_ms ? static_cast<double>(pc_ms) / static_cast<double>(sc_ms) : 1.0;
    std::printf("Loadgen :: Perf mode stop. systme_clock Timestamp = %lld\n",
                static_cast<long long>(std::chrono::system_clock::to_time_t(sc_stop)));
    std::printf("Loadgen :: PerfClock Perf duration = %lldms\n", static_cast<long long>(pc_ms));
    std::printf("Loadgen :: system_clock Perf duration = %lldms\n",
                static_cast<long long>(sc_ms));
    std::printf("Loadgen :: PerfClock/system_clock ratio = %.4f\n", ratio);
    std::fflush(stdout);
  }
  if (sc_ms > 0) {
    const double ratio = static_cast<double>(pc_ms) / static_cast<double>(sc_ms);
    if (ratio > 1.01 || ratio < 0.99) {
      LogMessage(Severity::kError, "error_runtime",
                 "PerfClock and system_clock differ by more than 1%!  pc_sc_ratio: " +
                     logging::FormatG6(ratio));
    } else if (ratio > 1.001 || ratio < 0.999) {
      LogMessage(Severity::kWarning, "warning_generic_message",
                 "PerfClock and system_clock differ by more than 0.1%!  pc_sc_ratio: " +
                     logging::FormatG6(ratio));
    }
  }
  if (out.queries_issued > 0) {
    outcome_.performance = SummarizeAndLog(out, effective_, true);
  }
  if (!out.aborted) UnloadSet(set);
}

void TestSession::RunFindPeak() {
  LogMessage(Severity::kInfo, "generic_message", "Starting FindPeakPerformance mode");
  if (effective_.scenario != TestScenario::Server) {
    LogMessage(Severity::kError, "error_invalid_config",
               "Finding peak performance is only supported in Server scenarios.",
               "test_settings_internal.cc");
    return;
  }
  auto qps_text = [](double q) { return std::to_string(q); };
  auto run_at = [&](double qps, bool load, SeriesOutput* out,
                    const schedule::LoadableSet** loaded,
                    std::vector<schedule::LoadableSet>* sets_storage) {
    settings::EffectiveSettings e = effective_;
    e.target_qps = qps;
    if (load) {
      *sets_storage = schedule::GenerateLoadableSets(e, e.performance_sample_count,
                                                     qsl_->TotalSampleCount());
      *loaded = &sets_storage->front();
      LoadSet(**loaded);
    }
    *out = RunSeries(**loaded, TestMode::PerformanceOnly, e);
    return results::Summarize(e, out->result);
  };

  std::vector<schedule::LoadableSet> sets;
  const schedule::LoadableSet* loaded = nullptr;
  SeriesOutput out;
  LogMessage(Severity::kInfo, "generic_message",
             "FindPeakPerformance: Check validity of the base settings field: " +
                 qps_text(effective_.target_qps));
  results::PerformanceSummary base = run_at(effective_.target_qps, true, &out, &loaded, &sets);
  if (abort_.load()) return;
  if (!base.perf_constraints_met) {
    LogMessage(Severity::kError, "error_runtime",
               "FindPeakPerformance: Initial lower bound does not satisfy performance "
               "constraints, msg: " + base.perf_constraints_recommendation);
    outcome_.performance = SummarizeAndLog(out, effective_, true);
    UnloadSet(*loaded);
    return;
  }
  UnloadSet(*loaded);

  const double step = effective_.server_find_peak_qps_boundary_step_size;
  double lower = effective_.target_qps;
  double upper = lower * (1 + step);
  SeriesOutput lower_out = out;
  while (true) {
    LogMessage(Severity::kInfo, "generic_message",
               "FindBoundaries: Checking fields [" + qps_text(lower) + ", " + qps_text(upper) +
                   ")");
    SeriesOutput upper_out;
    results::PerformanceSummary s = run_at(upper, true, &upper_out, &loaded, &sets);
    UnloadSet(*loaded);
    if (abort_.load()) return;
    if (!s.perf_constraints_met) break;
    lower = upper;
    lower_out = upper_out;
    upper = lower * (1 + step);
  }
  LogMessage(Severity::kInfo, "generic_message",
             "FindPeakPerformance: Found boundaries: [" + qps_text(lower) + ", " +
                 qps_text(upper) + ")");

  // Load once for the binary search, from the upper bound's settings (as the official does).
  {
    settings::EffectiveSettings e = effective_;
    e.target_qps = upper;
    sets = schedule::GenerateLoadableSets(e, e.performance_sample_count,
                                          qsl_->TotalSampleCount());
    loaded = &sets.front();
    LoadSet(*loaded);
  }
  const uint8_t precision =
      static_cast<uint8_t>(effective_.server_find_peak_qps_decimals_of_precision);
  const double scale = std::pow(10.0, precision);
  while (std::floor(lower * scale) + 1 < std::floor(upper * scale)) {
    const double mid = lower + (upper - lower) / 2;
    LogMessage(Severity::kInfo, "generic_message",
               "FindPeakPerformanceBinarySearch: Testing the mid value of bounds [" +
                   qps_text(lower) + ", " + qps_text(upper) + "): " + qps_text(mid));
    SeriesOutput mid_out;
    results::PerformanceSummary s = run_at(mid, false, &mid_out, &loaded, &sets);
    if (abort_.load()) return;
    if (s.perf_constraints_met) {
      lower = mid;
      lower_out = mid_out;
    } else {
      upper = mid;
    }
  }
  LogMessage(Severity::kInfo, "generic_message",
             "FindPeakPerformance: Found peak performance field: " + qps_text(lower));
  settings::EffectiveSettings e = effective_;
  e.target_qps = lower;
  outcome_.performance = SummarizeAndLog(lower_out, e, true);
  UnloadSet(*loaded);
}

TestSession::SeriesOutput TestSession::RunSeries(const schedule::LoadableSet& set, TestMode mode,
                                                 const settings::EffectiveSettings& effective) {
  SeriesOutput out;
  // Long Server series are generated while they are issued (PlanStreamer); the rest, as by
  // the official, before the first issue.
  schedule::QueryGenerator generator(effective, set, mode, sequence_);
  const bool streamed = generator.ShouldStream();
  if (streamed) {
    generator.PrepareForStreaming();
  } else {
    generator.Finish();
  }
  const uint64_t expected_queries = generator.expected_queries();
  schedule::SeriesPlan& plan = generator.plan();
  auto log_generated = [&] {
    const int64_t ts = NowNs();
    detail_->Log("generated_query_count", JsonValue::Uint(plan.query_count()), Severity::kInfo,
                 "loadgen.cc", 0, ts);
    detail_->Log("generated_samples_per_query", JsonValue::Uint(plan.samples_per_query),
                 Severity::kInfo, "loadgen.cc", 0, ts);
    detail_->Log("generated_query_duration", JsonValue::Int(plan.generated_duration_ns),
                 Severity::kInfo, "loadgen.cc", 0, ts);
  };
  if (!streamed) log_generated();

  record::RecorderOptions options;
  options.scenario = effective.scenario;
  options.use_tokens = original_.use_token_latencies;
  options.needs_first_token = original_.scenario != TestScenario::Offline;
  options.series_tag = next_series_tag_;
  next_series_tag_ = (next_series_tag_ + 1) & record::kTagMask;
  if (next_series_tag_ == 0) next_series_tag_ = 1;
  record::SeriesRecorder recorder(plan, options, errors_.get());

  // Threads registered with RegisterIssueQueryThread (waited for in every scenario, as the
  // official does, but used only by Server).
  uint64_t thread_count = effective.server_num_issue_query_threads;
  if (thread_count > 0) {
    const uint64_t got =
        env_.issue_threads->WaitForThreads(thread_count, std::chrono::milliseconds(10000));
    if (got < thread_count) {
      LogMessage(Severity::kError, "error_runtime",
                 "Mismatch between settings and number of registered IssueQueryThreads! "
                 "settings.server_num_issue_query_threads = " +
                     std::to_string(thread_count) + " but " + std::to_string(got) +
                     " threads registered.",
                 "issue_query_controller.cc");
      // The official hangs here; we issue from the StartTest thread instead.
      thread_count = 0;
    }
  }

  std::unique_ptr<PlanStreamer> streamer;
  if (streamed) {
    const uint64_t spq = plan.samples_per_query;
    streamer = std::make_unique<PlanStreamer>(
        generator, [&recorder, spq] { return recorder.issued_samples() / spq; },
        [this](const std::string& message) { Abort(message, true); });
  }
  env_.active->Publish(&recorder);
  pump_->SetRecorder(&recorder);

  live::IssueCounter counter(sut_);
  issue::IssueShared shared;
  shared.abort = &abort_;
  issue::IssueParams params;
  params.settings = &effective;
  params.series_mode = mode;
  params.sut = &counter;
  params.recorder = &recorder;
  params.generator = streamed ? &generator : nullptr;
  params.log = [this](const Diagnostic& d, int64_t time_ns) { detail_->Log(d, time_ns); };

  const auto start_for_power = std::chrono::system_clock::now();
  shared.start_ns = NowNs();
  recorder.SetSeriesStart(shared.start_ns);
  live::SeriesInfo info;
  info.scenario = effective.scenario;
  info.accuracy = mode == TestMode::AccuracyOnly;
  info.start_ns = shared.start_ns;
  info.min_duration_ms = effective.min_duration_ms;
  info.max_duration_ms = effective.max_duration_ms;
  info.min_query_count = effective.min_query_count;
  info.samples_per_query = plan.samples_per_query;
  info.generated_queries = expected_queries;
  info.target_latency_ns = effective.target_latency_ns;
  info.target_latency_percentile = effective.target_latency_percentile;
  info.target_qps = effective.target_qps;
  info.use_tokens = options.use_tokens;
  info.target_ttft_ns = effective.server_ttft_latency;
  info.target_tpot_ns = effective.server_tpot_latency;
  live::SeriesScope live_scope(env_.live, &recorder, &counter, info, env_.no_progress_timeout,
                               [this](const std::string& message) { Abort(message, true); });
  std::exception_ptr failure;
  try {
    if (effective.scenario == TestScenario::Server && thread_count > 0) {
      issue::IssueThreadPool::Job job = [&](uint64_t idx, uint64_t stride) {
        issue::IssueQueries(params, shared, idx, stride);
      };
      env_.issue_threads->Run(thread_count, job);
    } else {
      issue::IssueQueries(params, shared, 0, 1);
    }
    if (!abort_.load()) sut_->FlushQueries();
  } catch (...) {
    failure = std::current_exception();
    hard_abort_.store(true);
    abort_.store(true);
  }

  if (!failure && mode == TestMode::PerformanceOnly && shared.ran_out && !abort_.load()) {
    LogMessage(Severity::kError, "error_runtime",
               "Ending early: Ran out of generated queries to issue before the minimum query "
               "count and test duration were reached. Please update the relevant expected "
               "latency or target qps in the TestSettings so they are more accurate.");
  }

  // Wait for every issued sample. A hard abort stops the wait; a graceful one (Ctrl-C) lets
  // outstanding samples finish for a bounded time.
  const int64_t drain_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(kDrainTimeout).count();
  recorder.progress().WaitUntil([&] {
    if (recorder.completed_samples() >= shared.samples_issued) return true;
    if (failure || hard_abort_.load()) return true;
    return abort_.load() && NowNs() - abort_time_ns_.load() > drain_ns;
  });
  env_.active->Retire();
  pump_->SetRecorder(nullptr);
  out.aborted = abort_.load();
  if (streamer) {
    // The plan's remaining queries still count (sequence ids, generated_* keys), unless the
    // test was aborted.
    if (out.aborted) {
      streamer->Stop();
    } else {
      try {
        streamer->Complete();
      } catch (...) {
        if (!failure) failure = std::current_exception();
      }
    }
    if (generator.complete()) log_generated();
  }

  detail_->Log("logger_swap_request_slots_retry_count", JsonValue::Int(0), Severity::kInfo,
               "logging.cc");
  detail_->Log("logger_swap_request_slots_retry_retry_count", JsonValue::Int(0),
               Severity::kInfo, "logging.cc");
  detail_->Log("logger_swap_request_slots_retry_reencounter_count", JsonValue::Int(0),
               Severity::kInfo, "logging.cc");
  detail_->Log("logger_start_reading_entries_retry_count", JsonValue::Int(0), Severity::kInfo,
               "logging.cc");
  detail_->Log("logger_tls_total_log_cas_fail_count", JsonValue::Int(0), Severity::kInfo,
               "logging.cc");
  detail_->Log("logger_tls_total_swap_buffers_slot_retry_count", JsonValue::Int(0),
               Severity::kInfo, "logging.cc");
  const int64_t last_completion =
      std::max(recorder.max_completion_ns(), shared.start_ns);
  const auto power_end =
      start_for_power + std::chrono::nanoseconds(last_completion - shared.start_ns);
  {
    const int64_t ts = NowNs();
    detail_->Log("power_begin", JsonValue::String(logging::PowerTimeString(start_for_power)),
                 Severity::kInfo, "loadgen.cc", 0, ts);
    detail_->Log("power_end", JsonValue::String(logging::PowerTimeString(power_end)),
                 Severity::kInfo, "loadgen.cc", 0, ts);
  }

  // The measured latencies of the issued queries, in sequence order.
  results::PerformanceResult& r = out.result;
  const uint64_t spq = plan.samples_per_query;
  const uint64_t nq = plan.query_count();
  const bool tokens = options.use_tokens;
  // Exact sizes: growth by doubling would be the peak memory of a long run.
  const uint64_t completed = recorder.completed_samples();
  r.sample_latencies.reserve(completed);
  if (tokens) {
    if (options.needs_first_token) {
      r.ttft_latencies.reserve(completed);
      r.tpot_latencies.reserve(completed);
    }
    r.tokens_per_sample.reserve(completed);
  }
  uint64_t issued_queries = 0;
  uint64_t final_query = 0;
  int64_t max_latency = 0;
  for (uint64_t q = 0; q < nq; ++q) {
    if (q > shared.last_query || !shared.any_issued) break;
    bool issued = false;
    for (uint64_t j = 0; j < spq; ++j) {
      const uint64_t local = q * spq + j;
      if (!recorder.SampleCompleted(local)) continue;
      issued = true;
      const int64_t lat = recorder.latency(local);
      r.sample_latencies.push_back(lat);
      max_latency = std::max(max_latency, lat);
      if (tokens) {
        if (options.needs_first_token) {
          r.ttft_latencies.push_back(recorder.ttft(local));
          r.tpot_latencies.push_back(recorder.tpot(local));
        }
        r.tokens_per_sample.push_back(recorder.n_tokens(local));
      }
    }
    if (issued) {
      ++issued_queries;
      final_query = q;
      if (effective.scenario == TestScenario::MultiStream && recorder.QueryDone(q)) {
        r.query_latencies.push_back(recorder.query_done_ns(q) - recorder.scheduled_ns(q));
      }
    }
  }
  r.queries_issued = shared.queries_issued;
  out.queries_issued = shared.queries_issued;
  r.max_latency_s = static_cast<double>(max_latency) / 1e9;
  if (shared.any_issued) {
    final_query = shared.last_query;
    r.final_query_scheduled_time_s =
        static_cast<double>(plan.scheduled_delta_ns[final_query]) / 1e9;
    r.final_query_issued_time_s =
        static_cast<double>(recorder.issued_ns(final_query) - shared.start_ns) / 1e9;
    if (recorder.QueryDone(final_query)) {
      r.final_query_all_samples_done_time_s =
          static_cast<double>(recorder.query_done_ns(final_query) - shared.start_ns) / 1e9;
    }
  }
  (void)issued_queries;
  WriteTrace(recorder, shared.queries_issued);
  if (failure) std::rethrow_exception(failure);
  return out;
}

void TestSession::WriteTrace(const record::SeriesRecorder& rec, uint64_t) {
  if (!trace_->enabled()) return;
  const schedule::SeriesPlan& plan = rec.plan();
  const uint64_t spq = plan.samples_per_query;
  const bool server = effective_.scenario == TestScenario::Server;
  const bool tokens = original_.use_token_latencies && original_.scenario != TestScenario::Offline;
  for (uint64_t local = 0; local < plan.sample_count(); ++local) {
    if (!rec.SampleCompleted(local)) continue;
    const uint64_t q = local / spq;
    logging::TraceSample s;
    s.sample_seq = plan.first_sample_seq + local;
    s.query_seq = plan.first_query_seq + q;
    s.sample_idx = plan.sample_index[local];
    s.scheduled_ns = rec.scheduled_ns(q);
    s.completed_ns = rec.scheduled_ns(q) + rec.latency(local);
    s.issue_delay_ns = rec.issued_ns(q) - rec.scheduled_ns(q);
    trace_->AsyncSample(logging::TraceSampleKind::kSample, s);
    if (server) {
      trace_->LatencyCounter(logging::TraceSampleKind::kSample, s.completed_ns, s.issue_delay_ns,
                             s.completed_ns - rec.issued_ns(q));
    }
    if (tokens && rec.has_first_token(local)) {
      // As the official: a Token span from the schedule to the first token (non-Server) or a
      // Token_Latency counter (Server).
      logging::TraceSample t = s;
      t.completed_ns = rec.scheduled_ns(q) + rec.ttft(local);
      if (server) {
        trace_->LatencyCounter(logging::TraceSampleKind::kToken, t.completed_ns,
                               t.issue_delay_ns, t.completed_ns - rec.issued_ns(q));
      } else {
        trace_->AsyncSample(logging::TraceSampleKind::kToken, t);
      }
    }
  }
}

results::PerformanceSummary TestSession::SummarizeAndLog(
    const SeriesOutput& out, const settings::EffectiveSettings& effective, bool write_reports) {
  results::PerformanceSummary summary = results::Summarize(effective, out.result);
  if (write_reports) {
    summary_text_ = results::RenderSummary(summary, sut_->Name());
    results::LogDetailResults(*detail_, summary);
    pump_->DrainNow();
    detail_->Log("num_errors", JsonValue::Uint(detail_->error_count()), Severity::kInfo,
                 "logging.cc");
  }
  return summary;
}

void TestSession::Finish() {
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
