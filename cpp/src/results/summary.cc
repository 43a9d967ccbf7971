#include "results/summary.h"

#include <string>

#include "common/clock.h"
#include "common/enum_names.h"
#include "logging/format.h"

namespace loadgen::results {
namespace {

using mlperf::TestMode;
using mlperf::TestScenario;

std::string TargetLabel(double percentile) { return logging::FormatFixed(percentile * 100, 1); }
std::string PercentileLabel(size_t i) {
  return logging::FormatFixed(kReportedPercentiles[i] * 100, 2);
}
std::string Fixed2(double v) { return logging::FormatFixed(v, 2); }
constexpr char kBanner[] = "================================================";

const char* YesNo(bool met) { return met ? "Yes" : "NO"; }

void AppendLine(std::string& out, const std::string& line) {
  out += line;
  out += '\n';
}

// Min/max/mean and the six percentiles. `percentile_suffix` follows "<P> percentile".
void AppendStatsBlock(std::string& out, const LatencyStats& stats, const char* min_label,
                      const char* max_label, const char* mean_label,
                      const char* percentile_suffix) {
  AppendLine(out, min_label + std::to_string(stats.min));
  AppendLine(out, max_label + std::to_string(stats.max));
  AppendLine(out, mean_label + std::to_string(stats.mean));
  for (size_t i = 0; i < kReportedPercentiles.size(); ++i) {
    AppendLine(out,
               PercentileLabel(i) + percentile_suffix + std::to_string(stats.at_percentile[i]));
  }
}

void AppendLatencyBlock(std::string& out, const LatencyStats& stats) {
  AppendStatsBlock(out, stats,
                   "Min latency (ns)                : ", "Max latency (ns)                : ",
                   "Mean latency (ns)               : ", " percentile latency (ns)   : ");
}

// The headline metric, the validity checks with their recommendations, early stopping.
void AppendResults(std::string& out, const PerformanceSummary& s) {
  const settings::EffectiveSettings& st = s.settings;
  const TestScenario scenario = st.scenario;
  const bool tokens = st.use_token_latencies;
  const std::string target = TargetLabel(st.target_latency_percentile);

  switch (scenario) {
    case TestScenario::SingleStream:
      AppendLine(out, target + "th percentile latency (ns) : " +
                          std::to_string(s.sample_latency.at_target));
      break;
    case TestScenario::MultiStream:
      AppendLine(out, target + "th percentile latency (ns) : " +
                          std::to_string(s.query_latency.at_target));
      break;
    case TestScenario::Server:
      AppendLine(out, "Completed samples per second    : " + Fixed2(s.completed_samples_per_sec));
      break;
    case TestScenario::Offline:
      AppendLine(out, "Samples per second: " + logging::FormatG6(s.samples_per_second));
      break;
  }
  if (tokens) {
    switch (scenario) {
      case TestScenario::SingleStream:
      case TestScenario::MultiStream:
        AppendLine(out, target + "th first token percentile latency (ns) : " +
                            std::to_string(s.first_token_latency.at_target));
        break;
      case TestScenario::Server:
        AppendLine(out, "Completed tokens per second: " + Fixed2(s.completed_tokens_per_second));
        break;
      case TestScenario::Offline:
        AppendLine(out, "Tokens per second: " + logging::FormatG6(s.tokens_per_second));
        break;
    }
  }
  if (st.infer_token_latencies) {
    if (scenario == TestScenario::Server) {
      AppendLine(out,
                 "Completed tokens per second (inferred): " + Fixed2(s.inferred_tokens_per_second));
    } else if (scenario == TestScenario::Offline) {
      AppendLine(
          out, "Tokens per second (inferred): " + logging::FormatG6(s.inferred_tokens_per_second));
    }
  }

  AppendLine(out, std::string("Result is : ") + (s.valid() ? "VALID" : "INVALID"));
  if (scenario == TestScenario::Server) {
    AppendLine(
        out, std::string("  Performance constraints satisfied : ") + YesNo(s.perf_constraints_met));
  }
  AppendLine(out, std::string("  Min duration satisfied : ") + YesNo(s.min_duration_met));
  AppendLine(out, std::string("  Min queries satisfied : ") + YesNo(s.min_queries_met));
  AppendLine(out, std::string("  Early stopping satisfied: ") + YesNo(s.early_stopping_met));
  if (!s.valid()) {
    // Printed even when only early stopping failed, with no bullet under it.
    AppendLine(out, "Recommendations:");
    if (!s.perf_constraints_met) AppendLine(out, " * " + s.perf_constraints_recommendation);
    if (!s.min_duration_met) AppendLine(out, " * " + s.min_duration_recommendation);
    if (!s.min_queries_met) {
      AppendLine(out, " * " + s.min_queries_recommendation);
      AppendLine(out, "   See the detailed log for why this may have occurred.");
    }
    if (s.failed_samples > 0) AppendLine(out, " * " + s.failed_samples_recommendation);
  }
  if (scenario != TestScenario::Offline) {
    if (tokens) {
      AppendLine(out, "TTFT Early Stopping Result:");
      AppendLine(out, s.early_stopping_ttft_text);
      AppendLine(out, "TPOT Early Stopping Result:");
      AppendLine(out, s.early_stopping_tpot_text);
    } else {
      AppendLine(out, "Early Stopping Result:");
      AppendLine(out, s.early_stopping_text);
    }
  }
}

// "Additional Stats": throughput and the latency distributions.
void AppendAdditionalStats(std::string& out, const PerformanceSummary& s) {
  const settings::EffectiveSettings& st = s.settings;
  const TestScenario scenario = st.scenario;
  const bool tokens = st.use_token_latencies;
  AppendLine(out, "");
  AppendLine(out, kBanner);
  AppendLine(out, "Additional Stats");
  AppendLine(out, kBanner);
  if (scenario == TestScenario::SingleStream) {
    AppendLine(out, "QPS w/ loadgen overhead         : " + Fixed2(s.qps_with_loadgen_overhead));
    AppendLine(out, "QPS w/o loadgen overhead        : " + Fixed2(s.qps_without_loadgen_overhead));
    AppendLine(out, "");
  } else if (scenario == TestScenario::Server) {
    AppendLine(out, "Scheduled samples per second : " + Fixed2(s.scheduled_samples_per_sec));
  }
  if (scenario == TestScenario::MultiStream) {
    AppendLine(out, "Per-query latency:  ");
    AppendLatencyBlock(out, s.query_latency);
  } else {
    AppendLatencyBlock(out, s.sample_latency);
  }
  if (tokens) {
    AppendLine(out, "");
    if (scenario == TestScenario::SingleStream) {
      AppendLine(out, "TPS w/ loadgen overhead         : " +
                          Fixed2(s.token_throughput_with_loadgen_overhead));
      AppendLine(out, "TPS w/o loadgen overhead        : " +
                          Fixed2(s.token_throughput_without_loadgen_overhead));
    } else if (scenario == TestScenario::Server) {
      AppendLine(out, "Completed tokens per second                 : " +
                          Fixed2(s.completed_tokens_per_second));
    }
    if (scenario != TestScenario::Offline) {
      AppendStatsBlock(out, s.first_token_latency, "Min First Token latency (ns)                : ",
                       "Max First Token latency (ns)                : ",
                       "Mean First Token latency (ns)               : ",
                       " percentile first token latency (ns)   : ");
      AppendLine(out, "");
      AppendStatsBlock(out, s.time_per_output_token,
                       "Min Time per Output Token (ns)                : ",
                       "Max Time per Output Token (ns)                : ",
                       "Mean Time per Output Token (ns)               : ",
                       " percentile time to output token (ns)   : ");
    }
  }
}

// "Test Parameters Used": the effective settings.
void AppendTestParameters(std::string& out, const PerformanceSummary& s) {
  const settings::EffectiveSettings& st = s.settings;
  const bool tokens = st.use_token_latencies;
  AppendLine(out, "");
  AppendLine(out, kBanner);
  AppendLine(out, "Test Parameters Used");
  AppendLine(out, kBanner);
  AppendLine(out, "samples_per_query : " + std::to_string(st.samples_per_query));
  AppendLine(out, "target_qps : " + logging::FormatG6(st.target_qps));
  if (tokens) {
    AppendLine(out, "ttft_latency (ns): " + std::to_string(st.server_ttft_latency));
    AppendLine(out, "tpot_latency (ns): " + std::to_string(st.server_tpot_latency));
  } else {
    AppendLine(out, "target_latency (ns): " + std::to_string(st.target_latency_ns));
  }
  AppendLine(out, "max_async_queries : " + std::to_string(st.max_async_queries));
  AppendLine(out, "min_duration (ms): " + std::to_string(st.min_duration_ms));
  AppendLine(out, "max_duration (ms): " + std::to_string(st.max_duration_ms));
  AppendLine(out, "min_query_count : " + std::to_string(st.min_query_count));
  AppendLine(out, "max_query_count : " + std::to_string(st.max_query_count));
  AppendLine(out, "qsl_rng_seed : " + std::to_string(st.qsl_rng_seed));
  AppendLine(out, "sample_index_rng_seed : " + std::to_string(st.sample_index_rng_seed));
  AppendLine(out, "schedule_rng_seed : " + std::to_string(st.schedule_rng_seed));
  AppendLine(out, "accuracy_log_rng_seed : " + std::to_string(st.accuracy_log_rng_seed));
  AppendLine(out, "accuracy_log_probability : " + logging::FormatG6(st.accuracy_log_probability));
  AppendLine(out,
             "accuracy_log_sampling_target : " + std::to_string(st.accuracy_log_sampling_target));
  AppendLine(out, "print_timestamps : " + std::to_string(int{st.print_timestamps}));
  AppendLine(out, "performance_issue_unique : " + std::to_string(int{st.performance_issue_unique}));
  AppendLine(out, "performance_issue_same : " + std::to_string(int{st.performance_issue_same}));
  AppendLine(out,
             "performance_issue_same_index : " + std::to_string(st.performance_issue_same_index));
  AppendLine(out, "performance_sample_count : " + std::to_string(st.performance_sample_count));
  AppendLine(out, "accuracy_sample_count : " + std::to_string(st.accuracy_sample_count));
  if (st.sample_concatenate_permutation) {
    AppendLine(out, "WARNING: sample_concatenate_permutation was set to true. ");
    AppendLine(out, "Generated samples per query might be different as the one in the setting.");
    AppendLine(out, "Check the generated_samples_per_query line in the detailed log for the real");
    AppendLine(out, "samples_per_query value");
  }
}

}  // namespace

std::string RenderSummary(const PerformanceSummary& s, const std::string& sut_name) {
  std::string out;
  AppendLine(out, kBanner);
  AppendLine(out, "MLPerf Results Summary");
  AppendLine(out, kBanner);
  AppendLine(out, "SUT name : " + sut_name);
  AppendLine(out, std::string("Scenario : ") + ScenarioName(s.settings.scenario));
  AppendLine(out, std::string("Mode     : ") + ModeName(s.settings.mode));
  AppendResults(out, s);
  AppendAdditionalStats(out, s);
  AppendTestParameters(out, s);
  AppendLine(out, "");
  return out;
}

std::string RenderSummaryTrailer(uint64_t warnings, uint64_t errors) {
  std::string out;
  if (warnings == 0) {
    out += "No warnings encountered during test.\n";
  } else if (warnings == 1) {
    out += "1 warning encountered. See detailed log.\n";
  } else {
    out += std::to_string(warnings) + " warnings encountered. See detailed log.\n";
  }
  out += '\n';
  if (errors == 0) {
    out += "No errors encountered during test.\n";
  } else if (errors == 1) {
    out += "1 ERROR encountered. See detailed log.\n";
  } else {
    out += std::to_string(errors) + " ERRORS encountered. See detailed log.\n";
  }
  return out;
}

std::string RenderAccuracyOnlySummary(uint64_t warnings, uint64_t errors) {
  return "\n" + RenderSummaryTrailer(warnings, errors);
}

namespace {

// Writes the keys of one detail-log results block. Every key shares one timestamp, as the
// official block does, and carries the line number the official results.cc reports for it,
// for plausible metadata.
class ResultsBlockWriter {
 public:
  explicit ResultsBlockWriter(logging::DetailLog& log) : log_(log), now_(NowNs()) {}

  void Put(const std::string& key, const logging::JsonValue& value, int line) {
    log_.Log(key, value, Severity::kInfo, "results.cc", line, now_);
  }
  // One key per reported percentile: prefix + "<P>" + suffix.
  void PutPercentiles(const std::string& prefix, const std::string& suffix,
                      const LatencyStats& stats, int line) {
    for (size_t i = 0; i < kReportedPercentiles.size(); ++i) {
      Put(prefix + PercentileLabel(i) + suffix, logging::JsonValue::Int(stats.at_percentile[i]),
          line);
    }
  }

 private:
  logging::DetailLog& log_;
  const int64_t now_;
};

// Validity, the constraints behind it, early stopping and the query counts.
void PutValidity(ResultsBlockWriter& w, const PerformanceSummary& s) {
  using logging::JsonValue;
  const TestScenario scenario = s.settings.scenario;
  w.Put("result_validity", JsonValue::String(s.valid() ? "VALID" : "INVALID"), 674);
  if (scenario == TestScenario::Server) {
    w.Put("result_perf_constraints_met", JsonValue::Bool(s.perf_constraints_met), 677);
  }
  w.Put("result_min_duration_met", JsonValue::Bool(s.min_duration_met), 679);
  w.Put("result_min_queries_met", JsonValue::Bool(s.min_queries_met), 680);
  w.Put("early_stopping_met", JsonValue::Bool(s.early_stopping_met), 681);
  if (!s.valid()) w.Put("result_invalid_reason", JsonValue::String(s.InvalidReason()), 695);
  // loadgen's own keys (the official parser reads any key), only when samples failed so a
  // clean run's log has the official's keys alone.
  if (s.failed_samples > 0) {
    w.Put("loadgen_failed_samples", JsonValue::Uint(s.failed_samples), 0);
    w.Put("loadgen_failed_samples_by_reason", JsonValue::Raw(FailureCountsJson(s.failed_by_reason)),
          0);
  }
  if (s.settings.use_token_latencies) {
    w.Put("early_stopping_ttft_result",
          JsonValue::String(NewlinesToSpaces(s.early_stopping_ttft_text)), 706);
    w.Put("early_stopping_tpot_result",
          JsonValue::String(NewlinesToSpaces(s.early_stopping_tpot_text)), 708);
  } else {
    w.Put("early_stopping_result", JsonValue::String(NewlinesToSpaces(s.early_stopping_text)), 700);
  }
  w.Put("result_query_count", JsonValue::Uint(s.queries_issued), 712);
  if (scenario == TestScenario::Server) {
    w.Put("result_overlatency_query_count", JsonValue::Uint(s.overlatency_query_count), 714);
  }
}

// The scenario's own throughput or per-query latency metrics.
void PutScenarioMetrics(ResultsBlockWriter& w, const PerformanceSummary& s) {
  using logging::JsonValue;
  switch (s.settings.scenario) {
    case TestScenario::SingleStream:
      w.Put("result_qps_with_loadgen_overhead", JsonValue::Double(s.qps_with_loadgen_overhead),
            735);
      w.Put("result_qps_without_loadgen_overhead",
            JsonValue::Double(s.qps_without_loadgen_overhead), 736);
      w.Put("early_stopping_latency_ss", JsonValue::Int(s.early_stopping_latency_ss), 737);
      w.Put("early_stopping_latency_ms", JsonValue::Int(s.early_stopping_latency_ms), 739);
      break;
    case TestScenario::MultiStream:
      w.Put("result_min_query_latency_ns", JsonValue::Int(s.query_latency.min), 719);
      w.Put("result_max_query_latency_ns", JsonValue::Int(s.query_latency.max), 720);
      w.Put("result_mean_query_latency_ns", JsonValue::Int(s.query_latency.mean), 721);
      w.PutPercentiles("result_", "_percentile_per_query_latency_ns", s.query_latency, 724);
      w.Put("early_stopping_latency_ms", JsonValue::Int(s.early_stopping_latency_ms), 745);
      break;
    case TestScenario::Server:
      w.Put("result_scheduled_samples_per_sec", JsonValue::Double(s.scheduled_samples_per_sec),
            760);
      w.Put("result_completed_samples_per_sec", JsonValue::Double(s.completed_samples_per_sec),
            763);
      break;
    case TestScenario::Offline:
      w.Put("result_samples_per_second", JsonValue::Double(s.samples_per_second), 768);
      break;
  }
}

// Per-sample latency statistics (every scenario).
void PutSampleLatencies(ResultsBlockWriter& w, const PerformanceSummary& s) {
  using logging::JsonValue;
  w.Put("result_min_latency_ns", JsonValue::Int(s.sample_latency.min), 774);
  w.Put("result_max_latency_ns", JsonValue::Int(s.sample_latency.max), 775);
  w.Put("result_mean_latency_ns", JsonValue::Int(s.sample_latency.mean), 776);
  w.PutPercentiles("result_", "_percentile_latency_ns", s.sample_latency, 778);
}

// Token metrics: measured (use_token_latencies) and inferred (infer_token_latencies).
void PutTokenMetrics(ResultsBlockWriter& w, const PerformanceSummary& s) {
  using logging::JsonValue;
  const TestScenario scenario = s.settings.scenario;
  const bool tokens = s.settings.use_token_latencies;
  if (tokens && scenario != TestScenario::Offline) {
    const LatencyStats& ttft = s.first_token_latency;
    const LatencyStats& tpot = s.time_per_output_token;
    w.Put("result_first_token_min_latency_ns", JsonValue::Int(ttft.min), 786);
    w.Put("result_first_token_max_latency_ns", JsonValue::Int(ttft.max), 788);
    w.Put("result_first_token_mean_latency_ns", JsonValue::Int(ttft.mean), 790);
    w.PutPercentiles("result_first_token_", "_percentile_latency_ns", ttft, 793);
    w.Put("result_token_throughput_with_loadgen_overhead",
          JsonValue::Double(s.token_throughput_with_loadgen_overhead), 801);
    w.Put("result_token_throughput", JsonValue::Double(s.token_throughput_per_ns), 803);
    w.PutPercentiles("result_time_per_output_token_", "_percentile_ns", tpot, 805);
    w.Put("result_time_to_output_token_min", JsonValue::Int(tpot.min), 810);
    w.Put("result_time_to_output_token_max", JsonValue::Int(tpot.max), 812);
    w.Put("result_time_to_output_token_mean", JsonValue::Int(tpot.mean), 814);
    w.Put("result_completed_tokens_per_second", JsonValue::Double(s.completed_tokens_per_second),
          818);
  } else if (tokens) {
    w.Put("result_tokens_per_second", JsonValue::Double(s.tokens_per_second), 822);
  }
  if (s.settings.infer_token_latencies) {
    if (scenario == TestScenario::Server) {
      w.Put("result_inferred_completed_tokens_per_second",
            JsonValue::Double(s.inferred_tokens_per_second), 832);
    } else if (scenario == TestScenario::Offline) {
      w.Put("result_inferred_tokens_per_second", JsonValue::Double(s.inferred_tokens_per_second),
            840);
    }
  }
}

}  // namespace

void LogDetailResults(logging::DetailLog& log, const PerformanceSummary& s) {
  ResultsBlockWriter w(log);
  PutValidity(w, s);
  PutScenarioMetrics(w, s);
  PutSampleLatencies(w, s);
  PutTokenMetrics(w, s);
}

}  // namespace loadgen::results
