#include "results/performance_summary.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "results/early_stopping.h"

namespace loadgen::results {
namespace {

using mlperf::TestScenario;

// The record stage's marker for a slot that was never filled.
constexpr int64_t kUnsetSlot = INT64_MIN;

constexpr char kReduceQps[] = "Reduce target QPS to improve latency.";
constexpr char kExitedEarly[] = "The test exited early, before enough queries were issued.";

int64_t ElementOrLast(const std::vector<int64_t>& sorted, size_t index) {
  if (sorted.empty()) return 0;
  return index < sorted.size() ? sorted[index] : sorted.back();
}

// Sorts `values` and takes the official statistics with `count` as the divisor and percentile
// base (the token vectors use the sample count even if they are shorter).
LatencyStats ComputeStats(std::vector<int64_t>& values, uint64_t count, double target) {
  LatencyStats s;
  // Wrapping sum: the official int64 sum, without its overflow UB.
  uint64_t sum = 0;
  for (int64_t v : values) sum += static_cast<uint64_t>(v);
  if (count > 0) s.mean = static_cast<int64_t>(sum) / static_cast<int64_t>(count);
  // Often already in order (an Offline batch completed in one call has equal latencies):
  // checking costs one pass, sorting n log n.
  if (!std::is_sorted(values.begin(), values.end())) std::sort(values.begin(), values.end());
  if (values.empty()) return s;
  s.min = values.front();
  s.max = values.back();
  s.at_target = ElementOrLast(values, PercentileIndex(count, target));
  for (size_t i = 0; i < kReportedPercentiles.size(); ++i) {
    s.at_percentile[i] = ElementOrLast(values, PercentileIndex(count, kReportedPercentiles[i]));
  }
  return s;
}

// The official ProcessLatencies / ProcessTokenLatencies: sorts the vectors of `result` and
// fills the statistics. With no samples everything stays 0.
void ProcessLatencies(PerformanceResult& result, PerformanceSummary& s) {
  const settings::EffectiveSettings& settings = s.settings;
  const uint64_t n = s.sample_count;
  const double p = settings.target_latency_percentile;
  if (n == 0) return;
  if (settings.scenario == TestScenario::Server) {
    s.overlatency_query_count = static_cast<uint64_t>(
        std::count_if(result.sample_latencies.begin(), result.sample_latencies.end(),
                      [&](int64_t latency) { return latency > settings.target_latency_ns; }));
  }
  s.sample_latency = ComputeStats(result.sample_latencies, n, p);
  if (settings.use_token_latencies) {
    for (int64_t count : result.tokens_per_sample) {
      if (count != kUnsetSlot) s.token_count += count;
    }
    // Without first tokens (always in Offline) the official stops here: TPOT stays unsorted.
    if (!result.ttft_latencies.empty()) {
      s.first_token_latency = ComputeStats(result.ttft_latencies, n, p);
      s.time_per_output_token = ComputeStats(result.tpot_latencies, n, p);
    }
  }
  if (settings.scenario == TestScenario::MultiStream) {
    s.query_latency = ComputeStats(result.query_latencies, result.queries_issued, p);
  }
}

// The throughput figures. Integer N - 1 wraps for N = 0 as in the official; float divisions
// may give inf.
void ComputeThroughput(PerformanceSummary& s) {
  const settings::EffectiveSettings& settings = s.settings;
  const TestScenario scenario = settings.scenario;
  const uint64_t n = s.sample_count;
  const double n_minus_1 = static_cast<double>(n - 1);
  const double tokens_d = static_cast<double>(s.token_count);
  const double mean_d = static_cast<double>(s.sample_latency.mean);
  switch (scenario) {
    case TestScenario::SingleStream:
      s.qps_with_loadgen_overhead = n_minus_1 / s.final_query_issued_time_s;
      s.qps_without_loadgen_overhead = 1 / (mean_d / 1e9);
      break;
    case TestScenario::MultiStream:
      break;
    case TestScenario::Server:
      s.scheduled_samples_per_sec = n_minus_1 / s.final_query_scheduled_time_s;
      s.completed_samples_per_sec = n_minus_1 / s.final_query_all_samples_done_time_s;
      break;
    case TestScenario::Offline:
      s.samples_per_second = static_cast<double>(n) / s.max_latency_s;
      break;
  }
  if (settings.use_token_latencies) {
    if (scenario == TestScenario::Offline) {
      s.tokens_per_second = tokens_d / s.max_latency_s;
    } else {
      s.token_throughput_with_loadgen_overhead = tokens_d / s.final_query_issued_time_s;
      s.token_throughput_per_ns = tokens_d / (mean_d * static_cast<double>(n));
      s.token_throughput_without_loadgen_overhead =
          tokens_d / (mean_d / 1e9 * static_cast<double>(n));
      s.completed_tokens_per_second = tokens_d / s.final_query_all_samples_done_time_s;
    }
  }
  if (settings.infer_token_latencies) {
    const uint64_t factor = static_cast<uint64_t>(settings.token_latency_scaling_factor);
    if (scenario == TestScenario::Server) {
      s.inferred_tokens_per_second =
          static_cast<double>((n - 1) * factor) / s.final_query_all_samples_done_time_s;
    } else if (scenario == TestScenario::Offline) {
      s.inferred_tokens_per_second = static_cast<double>(n * factor) / s.max_latency_s;
    }
  }
}

// Evaluates one latency vector the scenario's way. `sorted` must be sorted for SS/MS.
EarlyStoppingOutcome EvaluateEarlyStopping(const PerformanceSummary& s,
                                           const std::vector<int64_t>& sorted_latencies,
                                           const std::vector<int64_t>& sorted_query_latencies,
                                           int64_t latency_bound) {
  const double p = s.settings.target_latency_percentile;
  switch (s.settings.scenario) {
    case TestScenario::SingleStream:
      return SingleStreamEarlyStopping(sorted_latencies, s.queries_issued, p);
    case TestScenario::MultiStream:
      // MultiStream always estimates from the per-query latencies, token runs included.
      return MultiStreamEarlyStopping(sorted_query_latencies, s.queries_issued, p);
    case TestScenario::Server:
      return ServerEarlyStopping(sorted_latencies, latency_bound, s.queries_issued, p);
    case TestScenario::Offline:
      break;
  }
  return EarlyStoppingOutcome{};
}

// Stores the estimates an evaluation produced; a later evaluation overwrites an earlier one.
void KeepEstimates(const EarlyStoppingOutcome& outcome, PerformanceSummary& s) {
  if (s.settings.scenario == TestScenario::SingleStream) {
    if (outcome.estimate) s.early_stopping_latency_ss = *outcome.estimate;
    if (outcome.estimate_p99) s.early_stopping_latency_ms = *outcome.estimate_p99;
  } else if (s.settings.scenario == TestScenario::MultiStream) {
    if (outcome.estimate) s.early_stopping_latency_ms = *outcome.estimate;
  }
}

// Early stopping on the latencies ProcessLatencies sorted. Token runs: TPOT first, TTFT only if
// TPOT passed (the official &&).
void DecideEarlyStopping(const PerformanceResult& result, PerformanceSummary& s) {
  const settings::EffectiveSettings& settings = s.settings;
  if (!settings.use_token_latencies) {
    const EarlyStoppingOutcome es = EvaluateEarlyStopping(
        s, result.sample_latencies, result.query_latencies, settings.target_latency_ns);
    s.early_stopping_met = es.met;
    s.early_stopping_text = es.text;
    KeepEstimates(es, s);
  } else if (settings.scenario != TestScenario::Offline) {
    const EarlyStoppingOutcome tpot = EvaluateEarlyStopping(
        s, result.tpot_latencies, result.query_latencies, settings.server_tpot_latency);
    s.early_stopping_tpot_text = tpot.text;
    KeepEstimates(tpot, s);
    s.early_stopping_met = tpot.met;
    if (tpot.met) {
      const EarlyStoppingOutcome ttft = EvaluateEarlyStopping(
          s, result.ttft_latencies, result.query_latencies, settings.server_ttft_latency);
      s.early_stopping_ttft_text = ttft.text;
      KeepEstimates(ttft, s);
      s.early_stopping_met = ttft.met;
    }
  }
}

// The minimum-duration, minimum-query and (Server) latency-constraint checks, each with the
// official recommendation when it fails.
void DecideValidity(PerformanceSummary& s) {
  const settings::EffectiveSettings& settings = s.settings;
  const TestScenario scenario = settings.scenario;
  const double min_duration_s = static_cast<double>(settings.min_duration_ms) / 1000.0;
  switch (scenario) {
    case TestScenario::SingleStream:
    case TestScenario::MultiStream:
      s.min_duration_met = s.final_query_issued_time_s >= min_duration_s;
      s.min_duration_recommendation =
          "Decrease the expected latency so the loadgen pre-generates more queries.";
      break;
    case TestScenario::Server:
      s.min_duration_met = s.final_query_scheduled_time_s >= min_duration_s;
      s.min_duration_recommendation =
          "Increase the target QPS so the loadgen pre-generates more queries.";
      break;
    case TestScenario::Offline:
      s.min_duration_met = s.max_latency_s >= min_duration_s;
      s.min_duration_recommendation =
          "Increase expected QPS so the loadgen pre-generates a larger (coalesced) query.";
      break;
  }
  if (s.min_duration_met) s.min_duration_recommendation.clear();
  s.min_queries_met =
      s.queries_issued >= settings.min_query_count && s.sample_count >= settings.min_sample_count;
  if (!s.min_queries_met) s.min_queries_recommendation = kExitedEarly;
  if (scenario == TestScenario::Server) {
    std::string& rec = s.perf_constraints_recommendation;
    if (!settings.use_token_latencies) {
      if (s.sample_latency.at_target > settings.target_latency_ns) rec = kReduceQps;
    } else {
      if (s.first_token_latency.at_target > settings.server_ttft_latency) {
        rec = std::string("TTFT constrain not met: ") + kReduceQps;
      }
      if (s.time_per_output_token.at_target > settings.server_tpot_latency) {
        rec += rec.empty() ? "" : "\n * ";
        rec += std::string("TPOT constrain not met: ") + kReduceQps;
      }
    }
    s.perf_constraints_met = rec.empty();
  }
}

}  // namespace

size_t PercentileIndex(size_t count, double p) {
  if (count == 0) return 0;
  const double index = static_cast<double>(count) * p;
  if (!(index >= 0)) return 0;  // negative or NaN
  if (index >= static_cast<double>(count)) return count - 1;
  return std::min(static_cast<size_t>(index), count - 1);  // count may round up in double
}

std::string NewlinesToSpaces(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

std::string PerformanceSummary::InvalidReason() const {
  std::string reason;
  if (!perf_constraints_met) reason += perf_constraints_recommendation + " ";
  if (!min_duration_met) reason += min_duration_recommendation + " ";
  if (!min_queries_met) reason += min_queries_recommendation;
  if (failed_samples > 0) {
    if (!reason.empty() && reason.back() != ' ') reason += ' ';
    reason += failed_samples_recommendation;
  }
  return NewlinesToSpaces(std::move(reason));
}

std::string FailureCountsText(const std::array<uint64_t, kSampleFailureCount>& counts) {
  std::string text;
  for (size_t i = 0; i < kSampleFailureCount; ++i) {
    if (counts[i] == 0) continue;
    if (!text.empty()) text += ", ";
    text += SampleFailureName(static_cast<SampleFailure>(i));
    text += ": " + std::to_string(counts[i]);
  }
  return text;
}

std::string FailureCountsJson(const std::array<uint64_t, kSampleFailureCount>& counts) {
  std::string json = "{";
  for (size_t i = 0; i < kSampleFailureCount; ++i) {
    if (counts[i] == 0) continue;
    if (json.size() > 1) json += ',';
    json += '"';
    json += SampleFailureName(static_cast<SampleFailure>(i));  // names need no escaping
    json += "\":" + std::to_string(counts[i]);
  }
  return json + "}";
}

PerformanceSummary Summarize(const settings::EffectiveSettings& settings,
                             PerformanceResult result) {
  PerformanceSummary s;
  s.settings = settings;
  s.sample_count = result.sample_latencies.size();
  s.queries_issued = result.queries_issued;
  s.max_latency_s = result.max_latency_s;
  s.final_query_scheduled_time_s = result.final_query_scheduled_time_s;
  s.final_query_issued_time_s = result.final_query_issued_time_s;
  s.final_query_all_samples_done_time_s = result.final_query_all_samples_done_time_s;
  ProcessLatencies(result, s);
  ComputeThroughput(s);
  DecideEarlyStopping(result, s);
  DecideValidity(s);
  // Not an official check: a sample the SUT failed (loadgen/failure.h) has no real latency.
  s.failed_samples = result.failed_samples;
  s.failed_by_reason = result.failed_by_reason;
  if (s.failed_samples > 0) {
    s.failed_samples_recommendation =
        std::to_string(s.failed_samples) + " of " + std::to_string(s.sample_count) +
        " samples failed (" + FailureCountsText(s.failed_by_reason) +
        "): the SUT did not produce their responses. See the detailed log.";
  }
  return s;
}

}  // namespace loadgen::results
