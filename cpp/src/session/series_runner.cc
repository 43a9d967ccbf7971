// One series of a test: generate its plan, set up its recorder, issue it, wait for its
// samples, and collect what it measured (Session::RunSeries and its steps).
#include <algorithm>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <vector>

#include "common/clock.h"
#include "common/enum_names.h"
#include "issue/issuer.h"
#include "issue/load_issuer.h"
#include "loadgen/failure.h"
#include "logging/format.h"
#include "session/load_stages.h"
#include "session/log_pump.h"
#include "session/plan_streamer.h"
#include "session/request_table.h"
#include "session/session.h"

namespace loadgen::session {

using logging::JsonValue;
using mlperf::TestMode;
using mlperf::TestScenario;

// What the steps of one series share. Its queries come from the scenario's generator, or,
// for a performance series of a load model, from the load plan.
struct Session::SeriesState {
  const schedule::SeriesPlan& plan() const { return load ? load->plan : generator->plan(); }

  std::optional<schedule::QueryGenerator> generator;
  std::unique_ptr<schedule::LoadPlanGenerator> load_generator;
  schedule::LoadPlan* load = nullptr;               // load_generator's plan
  std::vector<issue::StageIssueStats> stage_stats;  // load plans: per stage
  bool streamed = false;
  uint64_t expected_queries = 0;
  record::RecorderOptions options;
  record::SeriesRecorder* recorder = nullptr;
  issue::IssueShared shared;
  std::chrono::system_clock::time_point start_for_power;
  GeneratorCheckStart check_start;  // performance series: the self-check's first readings
};

Session::SeriesOutput Session::RunSeries(const schedule::LoadableSet& set, TestMode mode,
                                         const settings::EffectiveSettings& effective) {
  SeriesState series;
  if (env_.load_model != nullptr && mode == TestMode::PerformanceOnly) {
    series.load_generator =
        std::make_unique<schedule::LoadPlanGenerator>(*env_.load_model, effective, set, sequence_);
    series.load = &series.load_generator->load();
    series.stage_stats.resize(series.load->stages.size());
    // Long load plans are streamed as long Server series are (their stage entries and
    // generated_* keys are then logged once generation ends).
    series.streamed =
        series.load_generator->ShouldStream(schedule::QueryGenerator::kStreamFromQueries);
    if (series.streamed) {
      series.load_generator->PrepareForStreaming();
      series.expected_queries = series.load_generator->query_bound();
    } else {
      series.load_generator->Finish();
      series.expected_queries = series.plan().query_count();
      LogGenerated(series.plan());
      LogLoadStages(*detail_, *series.load);
    }
  } else {
    series.generator.emplace(effective, set, mode, sequence_);
    // Long Server series are generated while they are issued (PlanStreamer); the rest, as by
    // the official, before the first issue.
    series.streamed = series.generator->ShouldStream();
    if (series.streamed) {
      series.generator->PrepareForStreaming();
    } else {
      series.generator->Finish();
    }
    series.expected_queries = series.generator->expected_queries();
    if (!series.streamed) LogGenerated(series.plan());
  }

  series.options = NextRecorderOptions(effective);
  record::SeriesRecorder recorder(series.plan(), series.options, errors_.get());
  series.recorder = &recorder;
  const uint64_t thread_count = WaitForIssueThreads(effective);
  // Declared after the recorder its thread reads, so it is joined first on every path.
  std::unique_ptr<PlanStreamer> streamer;
  if (series.streamed) {
    const uint64_t spq = series.plan().samples_per_query;
    auto issued = [&recorder, spq] { return recorder.issued_samples() / spq; };
    auto on_failure = [this](const std::string& message) { Abort(message, true); };
    streamer = series.load_generator
                   ? std::make_unique<PlanStreamer>(*series.load_generator, issued, on_failure)
                   : std::make_unique<PlanStreamer>(*series.generator, issued, on_failure);
  }
  env_.active->Publish(&recorder);
  pump_->SetRecorder(&recorder);

  // A decision (EndSeriesDecided) applies to this series only, and only to a performance one.
  decided_.store(false);
  {
    common::MutexLock lock(&abort_mu_);
    decided_reason_.clear();
  }
  in_performance_series_.store(mode == TestMode::PerformanceOnly);
  live::IssueCounter counter(sut_);
  series.start_for_power = std::chrono::system_clock::now();
  series.shared.start_ns = NowNs();
  recorder.SetSeriesStart(series.shared.start_ns);
  if (mode == TestMode::PerformanceOnly) series.check_start = StartGeneratorCheck();
  // The live board (and its stall watchdog) follows the series until its results are in.
  live::SeriesScope live_scope(env_.live, &recorder, &counter, LiveInfo(series, mode, effective),
                               env_.no_progress_timeout,
                               [this](const std::string& message) { Abort(message, true); });
  std::exception_ptr failure = IssueSeries(series, &counter, mode, effective, thread_count);
  if (!failure && mode == TestMode::PerformanceOnly && series.shared.ran_out && !abort_.load()) {
    LogMessage(Severity::kError, "error_runtime",
               "Ending early: Ran out of generated queries to issue before the minimum query "
               "count and test duration were reached. Please update the relevant expected "
               "latency or target qps in the TestSettings so they are more accurate.");
  }
  Drain(series, failure);
  in_performance_series_.store(false);
  env_.active->Retire();
  pump_->SetRecorder(nullptr);

  SeriesOutput out;
  out.aborted = abort_.load();
  if (streamer) FinishStreaming(series, *streamer, out.aborted, &failure);
  LogSeriesEnd(series);
  if (decided_.load() && !out.aborted) LogDecided(series);
  out.result = CollectResult(series, effective);
  if (series.load) {
    outcome_.stages = SummarizeLoadStages(recorder, *series.load, series.stage_stats);
    LogLoadStageResults(*detail_, outcome_.stages);
  }
  if (mode == TestMode::PerformanceOnly) {
    FinishGeneratorCheck(series.check_start, series.shared, recorder, out.result);
  }
  if (mode == TestMode::PerformanceOnly && env_.keep_requests) {
    const uint64_t queries = series.shared.any_issued ? std::min(series.plan().query_count(),
                                                                 series.shared.last_query + 1)
                                                      : 0;
    outcome_.requests = CollectRequestRows(
        recorder, queries, series.load, series.options.use_tokens, series.options.needs_first_token,
        &outcome_.requests_origin_ns, &outcome_.request_ids);
  }
  CountFailedSamples(out.result, mode);
  out.queries_issued = series.shared.queries_issued;
  WriteTrace(recorder);
  if (failure) std::rethrow_exception(failure);
  return out;
}

void Session::LogGenerated(const schedule::SeriesPlan& plan) {
  const int64_t ts = NowNs();
  detail_->Log("generated_query_count", JsonValue::Uint(plan.query_count()), Severity::kInfo,
               "loadgen.cc", 0, ts);
  detail_->Log("generated_samples_per_query", JsonValue::Uint(plan.samples_per_query),
               Severity::kInfo, "loadgen.cc", 0, ts);
  detail_->Log("generated_query_duration", JsonValue::Int(plan.generated_duration_ns),
               Severity::kInfo, "loadgen.cc", 0, ts);
}

// Each series gets the next tag, so its response ids are told apart from an earlier series'.
record::RecorderOptions Session::NextRecorderOptions(const settings::EffectiveSettings& effective) {
  record::RecorderOptions options;
  options.scenario = effective.scenario;
  options.use_tokens = original_.use_token_latencies;
  options.needs_first_token = original_.scenario != TestScenario::Offline;
  options.series_tag = next_series_tag_;
  next_series_tag_ = (next_series_tag_ + 1) & record::kTagMask;
  if (next_series_tag_ == 0) next_series_tag_ = 1;
  return options;
}

// Threads registered with RegisterIssueQueryThread: waited for in every scenario, as the
// official does, but used only by Server. Returns how many will issue (0: the StartTest thread).
uint64_t Session::WaitForIssueThreads(const settings::EffectiveSettings& effective) {
  const uint64_t wanted = effective.server_num_issue_query_threads;
  if (wanted == 0) return 0;
  const uint64_t got = env_.issue_threads->WaitForThreads(wanted, std::chrono::milliseconds(10000));
  if (got >= wanted) return wanted;
  LogMessage(Severity::kError, "error_runtime",
             "Mismatch between settings and number of registered IssueQueryThreads! "
             "settings.server_num_issue_query_threads = " +
                 std::to_string(wanted) + " but " + std::to_string(got) + " threads registered.",
             "issue_query_controller.cc");
  return 0;  // The official hangs here; we issue from the StartTest thread instead.
}

live::SeriesInfo Session::LiveInfo(const SeriesState& series, TestMode mode,
                                   const settings::EffectiveSettings& effective) const {
  live::SeriesInfo info;
  info.scenario = effective.scenario;
  info.accuracy = mode == TestMode::AccuracyOnly;
  info.start_ns = series.shared.start_ns;
  info.min_duration_ms = effective.min_duration_ms;
  info.max_duration_ms = effective.max_duration_ms;
  info.min_query_count = effective.min_query_count;
  info.samples_per_query = series.plan().samples_per_query;
  info.generated_queries = series.expected_queries;
  info.target_latency_ns = effective.target_latency_ns;
  info.target_latency_percentile = effective.target_latency_percentile;
  info.target_qps = effective.target_qps;
  info.use_tokens = series.options.use_tokens;
  info.target_ttft_ns = effective.server_ttft_latency;
  info.target_tpot_ns = effective.server_tpot_latency;
  info.load_model = series.load != nullptr;
  return info;
}

// Issues the series on the registered issue threads or this one, then flushes. Returns the
// exception of a SUT callback, if one threw (issuing then stops).
std::exception_ptr Session::IssueSeries(SeriesState& series, live::IssueCounter* counter,
                                        TestMode mode, const settings::EffectiveSettings& effective,
                                        uint64_t thread_count) {
  issue::IssueShared& shared = series.shared;
  shared.abort = &abort_;
  if (mode == TestMode::PerformanceOnly) shared.decided = &decided_;
  issue::IssueParams params;
  params.settings = &effective;
  params.series_mode = mode;
  params.sut = counter;
  params.recorder = series.recorder;
  params.generator = series.streamed && series.generator ? &*series.generator : nullptr;
  params.load_generator = series.streamed ? series.load_generator.get() : nullptr;
  params.log = [this](const Diagnostic& d, int64_t time_ns) { detail_->Log(d, time_ns); };

  std::exception_ptr failure;
  try {
    if (series.load) {
      issue::IssueLoadPlan(params, shared, *series.load, series.stage_stats);
    } else if (effective.scenario == TestScenario::Server && thread_count > 0) {
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
  return failure;
}

// Waits for every issued sample. A hard abort stops the wait; a graceful one (Ctrl-C) lets
// outstanding samples finish for at most kDrainTimeout.
void Session::Drain(SeriesState& series, const std::exception_ptr& failure) {
  const int64_t drain_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(kDrainTimeout).count();
  record::SeriesRecorder& recorder = *series.recorder;
  auto all_done = [&] { return recorder.completed_samples() >= series.shared.samples_issued; };
  // A stopped test abandons its outstanding samples: a SUT that can cancel them (the endpoint
  // client's requests in flight) completes them at once, as failed, instead of letting them
  // run out the drain time. Issuing has stopped, so nothing new arrives after the cancel.
  if (auto* cancellable = dynamic_cast<CancellableSut*>(sut_)) {
    recorder.progress().WaitUntil([&] { return all_done() || failure || abort_.load(); });
    if (!all_done()) cancellable->CancelOutstanding();
  }
  recorder.progress().WaitUntil([&] {
    if (all_done()) return true;
    if (failure || hard_abort_.load()) return true;
    return abort_.load() && NowNs() - abort_time_ns_.load() > drain_ns;
  });
}

// The plan's remaining queries still count (sequence ids, generated_* keys), unless the test
// was aborted.
void Session::FinishStreaming(SeriesState& series, PlanStreamer& streamer, bool aborted,
                              std::exception_ptr* failure) {
  if (aborted) {
    streamer.Stop();
  } else {
    try {
      streamer.Complete();
    } catch (...) {
      if (!*failure) *failure = std::current_exception();
    }
  }
  if (series.load_generator) {
    // An abandoned plan ends where generation stopped, so the stages cover what exists.
    if (series.load_generator->complete()) {
      LogGenerated(series.plan());
    } else {
      series.load_generator->Truncate();
    }
    LogLoadStages(*detail_, *series.load);
  } else if (series.generator->complete()) {
    LogGenerated(series.plan());
  }
}

// The official logger's own counters (always 0 here: completions are not logged through a
// lock-free ring) and the power-measurement window of the series.
void Session::LogSeriesEnd(const SeriesState& series) {
  for (const char* key :
       {"logger_swap_request_slots_retry_count", "logger_swap_request_slots_retry_retry_count",
        "logger_swap_request_slots_retry_reencounter_count",
        "logger_start_reading_entries_retry_count", "logger_tls_total_log_cas_fail_count",
        "logger_tls_total_swap_buffers_slot_retry_count"}) {
    detail_->Log(key, JsonValue::Int(0), Severity::kInfo, "logging.cc");
  }
  const int64_t start_ns = series.shared.start_ns;
  const int64_t last_completion = std::max(series.recorder->max_completion_ns(), start_ns);
  const auto power_end =
      series.start_for_power + std::chrono::nanoseconds(last_completion - start_ns);
  const int64_t ts = NowNs();
  detail_->Log("power_begin", JsonValue::String(logging::PowerTimeString(series.start_for_power)),
               Severity::kInfo, "loadgen.cc", 0, ts);
  detail_->Log("power_end", JsonValue::String(logging::PowerTimeString(power_end)), Severity::kInfo,
               "loadgen.cc", 0, ts);
}

// A series a decision policy ended (EndSeriesDecided): why, under a namespaced key the
// official parser passes over, and in the outcome.
void Session::LogDecided(const SeriesState& series) {
  std::string reason;
  {
    common::MutexLock lock(&abort_mu_);
    reason = decided_reason_;
  }
  outcome_.decided_reason = reason;
  detail_->Log("loadgen_series_decided",
               JsonValue::Raw("{\"reason\":" + logging::JsonQuote(reason) + ",\"queries_issued\":" +
                              std::to_string(series.shared.queries_issued) + "}"),
               Severity::kInfo, "loadgen.cc");
}

// Samples the SUT failed: counted for the test and, as one error per series, in the detail log
// (an accuracy series has no results block to carry them).
void Session::CountFailedSamples(const results::PerformanceResult& result, TestMode mode) {
  if (result.failed_samples == 0) return;
  outcome_.failed_samples += result.failed_samples;
  for (size_t i = 0; i < kSampleFailureCount; ++i) {
    outcome_.failed_by_reason[i] += result.failed_by_reason[i];
  }
  detail_->Log(
      "loadgen_series_failed_samples",
      JsonValue::Raw("{\"mode\":\"" + std::string(ModeName(mode)) +
                     "\",\"count\":" + std::to_string(result.failed_samples) +
                     ",\"by_reason\":" + results::FailureCountsJson(result.failed_by_reason) + "}"),
      Severity::kError, "loadgen.cc");
}

// The measured latencies of the issued queries, in sequence order.
results::PerformanceResult Session::CollectResult(
    const SeriesState& series, const settings::EffectiveSettings& effective) const {
  const record::SeriesRecorder& recorder = *series.recorder;
  const issue::IssueShared& shared = series.shared;
  const schedule::SeriesPlan& plan = series.plan();
  const record::RecorderOptions& options = series.options;
  results::PerformanceResult r;
  const uint64_t spq = plan.samples_per_query;
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
  int64_t max_latency = 0;
  const uint64_t queries =
      shared.any_issued ? std::min(plan.query_count(), shared.last_query + 1) : 0;
  for (uint64_t q = 0; q < queries; ++q) {
    if (series.load && !IsMeasured(*series.load, q)) continue;  // warm-up, cool-down
    bool issued = false;
    for (uint64_t local = q * spq; local < (q + 1) * spq; ++local) {
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
    if (issued && effective.scenario == TestScenario::MultiStream && recorder.QueryDone(q)) {
      r.query_latencies.push_back(recorder.query_done_ns(q) - recorder.scheduled_ns(q));
    }
  }
  r.failed_by_reason = recorder.failed_by_reason();
  for (uint64_t n : r.failed_by_reason) r.failed_samples += n;
  r.queries_issued = shared.queries_issued;
  r.max_latency_s = static_cast<double>(max_latency) / 1e9;
  if (series.load) {
    // The measured stages only, timed from the first measured query's scheduled moment.
    SetMeasuredWindow(*series.load, series.stage_stats, recorder, &r);
  } else if (shared.any_issued) {
    const uint64_t final_query = shared.last_query;
    r.final_query_scheduled_time_s =
        static_cast<double>(plan.scheduled_delta_ns[final_query]) / 1e9;
    r.final_query_issued_time_s =
        static_cast<double>(recorder.issued_ns(final_query) - shared.start_ns) / 1e9;
    if (recorder.QueryDone(final_query)) {
      r.final_query_all_samples_done_time_s =
          static_cast<double>(recorder.query_done_ns(final_query) - shared.start_ns) / 1e9;
    }
  }
  return r;
}

// The trace's per-sample spans and (Server) latency counters.
void Session::WriteTrace(const record::SeriesRecorder& rec) {
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
        trace_->LatencyCounter(logging::TraceSampleKind::kToken, t.completed_ns, t.issue_delay_ns,
                               t.completed_ns - rec.issued_ns(q));
      } else {
        trace_->AsyncSample(logging::TraceSampleKind::kToken, t);
      }
    }
  }
}

}  // namespace loadgen::session
