// Golden tests: the summary file and the detail results block of reference runs of the
// official LoadGen, reproduced from inputs rebuilt out of each run's detail log.
//
// The latencies of a reference run are not in its logs, only their statistics. The inputs are
// therefore synthesised: sorted latency vectors that have the logged min, max, mean and
// percentiles (and the early-stopping estimates at their indices), and durations that lie
// inside every printed rounding of the rates derived from them. The rendered files must then
// equal the reference files byte for byte.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "logging/detail_log.h"
#include "results/early_stopping.h"
#include "results/summary.h"

namespace loadgen::results {
namespace {

using mlperf::TestScenario;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// An official log kept in tests/data/reference/<name>/ (see its README.md).
std::string ReferenceFile(const std::string& name, const std::string& file) {
  const std::string path = std::string(LOADGEN_TEST_DATA_DIR) + "/reference/" + name + "/" + file;
  const std::string text = ReadFile(path);
  EXPECT_FALSE(text.empty()) << "missing reference file " << path;
  return text;
}

struct DetailEntry {
  std::string key;
  std::string value;  // raw JSON text
  std::string file;
  int line = 0;
  bool is_error = false;
  bool is_warning = false;
};

std::string Between(const std::string& text, const std::string& open, const std::string& close) {
  const size_t begin = text.find(open);
  if (begin == std::string::npos) return "";
  const size_t start = begin + open.size();
  return text.substr(start, text.find(close, start) - start);
}

std::vector<DetailEntry> ParseDetail(const std::string& text) {
  std::vector<DetailEntry> entries;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(":::MLLOG ", 0) != 0) continue;
    DetailEntry e;
    e.key = Between(line, "{\"key\": \"", "\", \"value\": ");
    e.value = Between(line, "\"value\": ", ", \"time_ms\": ");
    e.file = Between(line, "\"file\": \"", "\"");
    e.line = std::stoi(Between(line, "\"line_no\": ", ","));
    e.is_error = line.find("\"is_error\": true") != std::string::npos;
    e.is_warning = line.find("\"is_warning\": true") != std::string::npos;
    entries.push_back(e);
  }
  return entries;
}

// The value of a summary line that starts with `label`.
std::string SummaryValue(const std::string& summary, const std::string& label) {
  std::istringstream lines(summary);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(label, 0) == 0) return line.substr(label.size());
  }
  ADD_FAILURE() << "no summary line " << label;
  return "0";
}

struct Reference {
  std::map<std::string, std::string> values;  // key -> raw JSON value (last occurrence)
  std::vector<DetailEntry> entries;
  std::string summary;

  bool Has(const std::string& key) const { return values.count(key) > 0; }
  const std::string& Raw(const std::string& key) const {
    static const std::string kMissing;
    auto it = values.find(key);
    if (it == values.end()) {
      ADD_FAILURE() << "missing detail key " << key;
      return kMissing;
    }
    return it->second;
  }
  std::string Str(const std::string& key) const {
    const std::string& raw = Raw(key);
    return raw.size() >= 2 ? raw.substr(1, raw.size() - 2) : raw;
  }
  int64_t Int(const std::string& key) const { return std::stoll(Raw(key)); }
  uint64_t Uint(const std::string& key) const { return std::stoull(Raw(key)); }
  double Double(const std::string& key) const { return std::stod(Raw(key)); }
  bool Bool(const std::string& key) const { return Raw(key) == "true"; }
};

Reference LoadReference(const std::string& name) {
  Reference ref;
  ref.entries = ParseDetail(ReferenceFile(name, "mlperf_log_detail.txt"));
  for (const DetailEntry& e : ref.entries) ref.values[e.key] = e.value;
  ref.summary = ReferenceFile(name, "mlperf_log_summary.txt");
  return ref;
}

// Sorted values of length n with the given values at the given indices and mean `mean`
// (integer division). Free positions take values between their neighbouring anchors.
std::vector<int64_t> Synthesize(size_t n, const std::map<size_t, int64_t>& anchors, int64_t mean) {
  std::vector<int64_t> v(n);
  std::vector<bool> fixed(n, false);
  for (const auto& [index, value] : anchors) {
    EXPECT_LT(index, n);
    v[index] = value;
    fixed[index] = true;
  }
  EXPECT_TRUE(fixed.front() && fixed.back());
  int64_t previous = v.front();
  for (size_t i = 0; i < n; ++i) {
    if (fixed[i]) {
      EXPECT_GE(v[i], previous) << "anchors out of order at " << i;
      previous = v[i];
    } else {
      v[i] = previous;
    }
  }
  int64_t sum = 0;
  for (int64_t x : v) sum += x;
  const int64_t lowest = mean * static_cast<int64_t>(n);
  EXPECT_LT(sum, lowest + static_cast<int64_t>(n)) << "anchors force a larger mean";
  int64_t need = std::max<int64_t>(0, lowest - sum);
  int64_t cap = v.back();
  for (size_t i = n; i-- > 0;) {
    if (fixed[i]) {
      cap = v[i];
      continue;
    }
    const int64_t raise = std::min(need, cap - v[i]);
    v[i] += raise;
    need -= raise;
  }
  EXPECT_EQ(need, 0) << "anchors leave too little room for the mean";
  return v;
}

// Anchors of one latency vector from the detail keys "<prefix>{min,max,mean}<suffix>" style.
struct StatKeys {
  std::string min, max, mean, percentile_prefix, percentile_suffix;
};

std::vector<int64_t> SynthesizeFrom(const Reference& ref, size_t n, const StatKeys& keys,
                                    std::map<size_t, int64_t> anchors) {
  anchors[0] = ref.Int(keys.min);
  anchors[n - 1] = ref.Int(keys.max);
  for (size_t i = 0; i < kReportedPercentiles.size(); ++i) {
    char label[16];
    std::snprintf(label, sizeof(label), "%.2f", kReportedPercentiles[i] * 100);
    anchors[PercentileIndex(n, kReportedPercentiles[i])] =
        ref.Int(keys.percentile_prefix + label + keys.percentile_suffix);
  }
  return Synthesize(n, anchors, ref.Int(keys.mean));
}

const StatKeys kSampleKeys{"result_min_latency_ns", "result_max_latency_ns",
                           "result_mean_latency_ns", "result_", "_percentile_latency_ns"};
const StatKeys kQueryKeys{"result_min_query_latency_ns", "result_max_query_latency_ns",
                          "result_mean_query_latency_ns", "result_",
                          "_percentile_per_query_latency_ns"};
const StatKeys kFirstTokenKeys{
    "result_first_token_min_latency_ns", "result_first_token_max_latency_ns",
    "result_first_token_mean_latency_ns", "result_first_token_", "_percentile_latency_ns"};
const StatKeys kTpotKeys{"result_time_to_output_token_min", "result_time_to_output_token_max",
                         "result_time_to_output_token_mean", "result_time_per_output_token_",
                         "_percentile_ns"};

// The SS/MS early-stopping estimates of a logged text, as {index n - t: value}.
std::map<size_t, int64_t> EstimateAnchors(const std::string& text, uint64_t n) {
  std::map<size_t, int64_t> anchors;
  std::smatch m;
  static const std::regex kTarget(
      "Would discard (\\d+) highest latency queries\\.  \\* Early stopping [0-9.]+th "
      "percentile estimate: (\\d+)");
  if (std::regex_search(text, m, kTarget)) {
    anchors[n - (std::stoull(m[1]) + 1)] = std::stoll(m[2]);
  }
  // SingleStream's extra 99th-percentile estimate does not print its discard count: take its
  // index from the (reference-checked) procedure run on the identity vector.
  static const std::regex kP99(
      "estimate: \\d+  \\* Early stopping 99\\.0th percentile estimate: (\\d+)");
  if (std::regex_search(text, m, kP99)) {
    std::vector<int64_t> identity(n);
    std::iota(identity.begin(), identity.end(), 0);
    const int64_t index = *MultiStreamEarlyStopping(identity, n, 0.99).estimate;
    anchors[static_cast<size_t>(index)] = std::stoll(m[1]);
  }
  return anchors;
}

// A rate printed as `printed` (6 significant digits, or 2 decimals) equal to numerator / t.
struct PrintedRate {
  double numerator;
  std::string printed;
  bool fixed2;
};

// A duration inside every printed rounding, so that each rate renders as printed.
double DurationFor(const std::vector<PrintedRate>& rates) {
  double lo = 0;
  double hi = std::numeric_limits<double>::infinity();
  for (const PrintedRate& r : rates) {
    const double v = std::stod(r.printed);
    const double half =
        r.fixed2 ? 0.005 : 0.5 * std::pow(10.0, std::floor(std::log10(std::fabs(v))) - 5);
    lo = std::max(lo, r.numerator / (v + half));
    hi = std::min(hi, r.numerator / (v - half));
  }
  EXPECT_LT(lo, hi) << "printed rates disagree";
  return (lo + hi) / 2;
}

struct GoldenCase {
  const char* name;
  bool infer_token_latencies = false;
  int64_t token_latency_scaling_factor = 0;
  // Offline token runs do not log the TTFT/TPOT bounds the summary prints.
  int64_t offline_token_bounds = 0;
};

void PrintTo(const GoldenCase& c, std::ostream* os) { *os << c.name; }

settings::EffectiveSettings SettingsFrom(const Reference& ref, const GoldenCase& c) {
  settings::EffectiveSettings s;
  const std::string scenario = ref.Str("effective_scenario");
  s.scenario = scenario == "SingleStream"  ? TestScenario::SingleStream
               : scenario == "MultiStream" ? TestScenario::MultiStream
               : scenario == "Server"      ? TestScenario::Server
                                           : TestScenario::Offline;
  const std::string mode = ref.Str("effective_test_mode");
  s.mode = mode == "SubmissionRun"         ? mlperf::TestMode::SubmissionRun
           : mode == "FindPeakPerformance" ? mlperf::TestMode::FindPeakPerformance
                                           : mlperf::TestMode::PerformanceOnly;
  s.samples_per_query = ref.Uint("effective_samples_per_query");
  s.target_qps = ref.Double("effective_target_qps");
  s.target_latency_ns = ref.Int("effective_target_latency_ns");
  s.target_latency_percentile = ref.Double("effective_target_latency_percentile");
  s.max_async_queries = ref.Uint("effective_max_async_queries");
  s.target_duration_ms = ref.Uint("effective_target_duration_ms");
  s.min_duration_ms = ref.Uint("effective_min_duration_ms");
  s.max_duration_ms = ref.Uint("effective_max_duration_ms");
  s.min_query_count = ref.Uint("effective_min_query_count");
  s.max_query_count = ref.Uint("effective_max_query_count");
  s.min_sample_count = ref.Uint("effective_min_sample_count");
  s.qsl_rng_seed = ref.Uint("effective_qsl_rng_seed");
  s.sample_index_rng_seed = ref.Uint("effective_sample_index_rng_seed");
  s.schedule_rng_seed = ref.Uint("effective_schedule_rng_seed");
  s.accuracy_log_rng_seed = ref.Uint("effective_accuracy_log_rng_seed");
  s.accuracy_log_probability = ref.Double("effective_accuracy_log_probability");
  s.accuracy_log_sampling_target = ref.Uint("effective_accuracy_log_sampling_target");
  s.print_timestamps = ref.Bool("effective_print_timestamps");
  s.performance_issue_unique = ref.Bool("effective_performance_issue_unique");
  s.performance_issue_same = ref.Bool("effective_performance_issue_same");
  s.performance_issue_same_index = ref.Uint("effective_performance_issue_same_index");
  s.performance_sample_count = ref.Uint("effective_performance_sample_count");
  s.accuracy_sample_count = ref.Uint("effective_accuracy_sample_count");
  s.sample_concatenate_permutation = ref.Bool("effective_sample_concatenate_permutation");
  s.use_token_latencies =
      ref.Has("requested_use_token_latencies") && ref.Bool("requested_use_token_latencies");
  s.server_ttft_latency = ref.Has("requested_server_ttft_latency")
                              ? ref.Int("requested_server_ttft_latency")
                              : c.offline_token_bounds;
  s.server_tpot_latency = ref.Has("requested_server_tpot_latency")
                              ? ref.Int("requested_server_tpot_latency")
                              : c.offline_token_bounds;
  s.infer_token_latencies = c.infer_token_latencies;
  s.token_latency_scaling_factor = c.token_latency_scaling_factor;
  return s;
}

PerformanceResult ResultFrom(const Reference& ref, const settings::EffectiveSettings& s) {
  PerformanceResult r;
  const TestScenario scenario = s.scenario;
  const bool tokens = s.use_token_latencies;
  r.queries_issued = ref.Uint("result_query_count");
  const uint64_t n = scenario == TestScenario::MultiStream || scenario == TestScenario::Offline
                         ? r.queries_issued * s.samples_per_query
                         : r.queries_issued;
  const double n_minus_1 = static_cast<double>(n - 1);
  const std::string& summary = ref.summary;

  std::map<size_t, int64_t> sample_anchors;
  if (scenario == TestScenario::SingleStream && !tokens) {
    sample_anchors = EstimateAnchors(ref.Str("early_stopping_result"), r.queries_issued);
  }
  r.sample_latencies = SynthesizeFrom(ref, n, kSampleKeys, sample_anchors);
  r.max_latency_s = static_cast<double>(ref.Int("result_max_latency_ns")) / 1e9;
  if (scenario == TestScenario::MultiStream) {
    r.query_latencies = SynthesizeFrom(
        ref, r.queries_issued, kQueryKeys,
        EstimateAnchors(ref.Str(tokens ? "early_stopping_tpot_result" : "early_stopping_result"),
                        r.queries_issued));
  }

  int64_t token_count = 0;
  if (tokens && scenario == TestScenario::Offline) {
    token_count = std::llround(ref.Double("result_tokens_per_second") * r.max_latency_s);
  } else if (tokens) {
    token_count = std::llround(ref.Double("result_token_throughput") *
                               static_cast<double>(ref.Int("result_mean_latency_ns")) *
                               static_cast<double>(n));
    if (ref.Int("result_first_token_max_latency_ns") != 0) {
      std::map<size_t, int64_t> ttft_anchors, tpot_anchors;
      if (scenario == TestScenario::SingleStream) {
        ttft_anchors = EstimateAnchors(ref.Str("early_stopping_ttft_result"), r.queries_issued);
        tpot_anchors = EstimateAnchors(ref.Str("early_stopping_tpot_result"), r.queries_issued);
      }
      r.ttft_latencies = SynthesizeFrom(ref, n, kFirstTokenKeys, ttft_anchors);
      r.tpot_latencies = SynthesizeFrom(ref, n, kTpotKeys, tpot_anchors);
    }
  }
  if (tokens) {
    r.tokens_per_sample.assign(n, token_count / static_cast<int64_t>(n));
    r.tokens_per_sample[0] += token_count % static_cast<int64_t>(n);
  }
  const double tokens_d = static_cast<double>(token_count);

  // Durations, from every rate that reports them.
  const double min_duration_s = static_cast<double>(s.min_duration_ms) / 1000.0;
  const double unreported = ref.Bool("result_min_duration_met") ? 2 * min_duration_s + 1 : 0;
  std::vector<PrintedRate> issued, scheduled, done;
  if (scenario == TestScenario::SingleStream) {
    issued.push_back({n_minus_1, ref.Raw("result_qps_with_loadgen_overhead"), false});
    issued.push_back(
        {n_minus_1, SummaryValue(summary, "QPS w/ loadgen overhead         : "), true});
  }
  if (scenario == TestScenario::Server) {
    scheduled.push_back({n_minus_1, ref.Raw("result_scheduled_samples_per_sec"), false});
    scheduled.push_back(
        {n_minus_1, SummaryValue(summary, "Scheduled samples per second : "), true});
    done.push_back({n_minus_1, ref.Raw("result_completed_samples_per_sec"), false});
    done.push_back({n_minus_1, SummaryValue(summary, "Completed samples per second    : "), true});
  }
  if (tokens && scenario != TestScenario::Offline) {
    issued.push_back({tokens_d, ref.Raw("result_token_throughput_with_loadgen_overhead"), false});
    done.push_back({tokens_d, ref.Raw("result_completed_tokens_per_second"), false});
    if (scenario == TestScenario::SingleStream) {
      issued.push_back(
          {tokens_d, SummaryValue(summary, "TPS w/ loadgen overhead         : "), true});
    }
    if (scenario == TestScenario::Server) {
      done.push_back({tokens_d, SummaryValue(summary, "Completed tokens per second: "), true});
    }
  }
  if (s.infer_token_latencies && scenario == TestScenario::Server) {
    const double k = n_minus_1 * static_cast<double>(s.token_latency_scaling_factor);
    done.push_back({k, ref.Raw("result_inferred_completed_tokens_per_second"), false});
    done.push_back({k, SummaryValue(summary, "Completed tokens per second (inferred): "), true});
  }
  r.final_query_issued_time_s = issued.empty() ? unreported : DurationFor(issued);
  r.final_query_scheduled_time_s = scheduled.empty() ? unreported : DurationFor(scheduled);
  r.final_query_all_samples_done_time_s = done.empty() ? unreported : DurationFor(done);
  return r;
}

void ExpectSameLines(const std::string& actual, const std::string& expected) {
  std::istringstream a(actual), e(expected);
  std::string line_a, line_e;
  int line = 1;
  while (true) {
    const bool more_a = static_cast<bool>(std::getline(a, line_a));
    const bool more_e = static_cast<bool>(std::getline(e, line_e));
    if (!more_a && !more_e) break;
    EXPECT_EQ(line_a, line_e) << "line " << line;
    if (!more_a || !more_e) break;
    ++line;
  }
  if (!testing::Test::HasFailure()) {
    EXPECT_EQ(actual, expected);  // e.g. a missing final newline
  }
}

class SummaryGoldenTest : public testing::TestWithParam<GoldenCase> {};

TEST_P(SummaryGoldenTest, SummaryFileMatchesTheOfficial) {
  const GoldenCase& c = GetParam();
  const Reference ref = LoadReference(c.name);
  const settings::EffectiveSettings settings = SettingsFrom(ref, c);
  const PerformanceSummary summary = Summarize(settings, ResultFrom(ref, settings));
  uint64_t warnings = 0, errors = 0;
  for (const DetailEntry& e : ref.entries) {
    warnings += e.is_warning;
    errors += e.is_error;
  }
  ExpectSameLines(
      RenderSummary(summary, ref.Str("sut_name")) + RenderSummaryTrailer(warnings, errors),
      ref.summary);
}

TEST_P(SummaryGoldenTest, DetailResultsBlockMatchesTheOfficial) {
  const GoldenCase& c = GetParam();
  const Reference ref = LoadReference(c.name);
  const settings::EffectiveSettings settings = SettingsFrom(ref, c);
  const PerformanceSummary summary = Summarize(settings, ResultFrom(ref, settings));

  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  logging::DetailLog log(file, false, 0);
  LogDetailResults(log, summary);
  log.Flush();
  std::rewind(file);
  std::string written;
  char buffer[4096];
  for (size_t got; (got = std::fread(buffer, 1, sizeof(buffer), file)) > 0;) {
    written.append(buffer, got);
  }
  std::fclose(file);
  EXPECT_EQ(log.error_count(), 0u);
  EXPECT_EQ(log.warning_count(), 0u);

  std::vector<DetailEntry> expected;
  bool in_block = false;
  for (const DetailEntry& e : ref.entries) {
    in_block = in_block || e.key == "result_validity";
    if (e.key == "num_errors") break;
    if (in_block) expected.push_back(e);
  }
  const std::vector<DetailEntry> actual = ParseDetail(written);
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_EQ(actual[i].key, expected[i].key) << i;
    EXPECT_EQ(actual[i].value, expected[i].value) << expected[i].key;
    EXPECT_EQ(actual[i].file, "results.cc") << expected[i].key;
    EXPECT_EQ(actual[i].line, expected[i].line) << expected[i].key;
  }
}

INSTANTIATE_TEST_SUITE_P(
    ReferenceLogs, SummaryGoldenTest,
    testing::Values(GoldenCase{"demo_single_stream"}, GoldenCase{"demo_multi_stream"},
                    GoldenCase{"demo_server"}, GoldenCase{"demo_offline"},
                    GoldenCase{"token_single_stream"}, GoldenCase{"token_multi_stream"},
                    GoldenCase{"token_server"}, GoldenCase{"token_offline", false, 0, 100000000},
                    GoldenCase{"token_offline_inferred", true, 21},
                    GoldenCase{"token_server_inferred", true, 21}, GoldenCase{"probe_equal_issue"},
                    GoldenCase{"probe_err_max_query_count"}, GoldenCase{"probe_err_max_async"},
                    GoldenCase{"probe_err_tokens_no_first"}, GoldenCase{"probe_server_valid"},
                    GoldenCase{"probe_multistream_valid"},
                    GoldenCase{"probe_fromconfig_resnet50_offline"},
                    // Own runs of the official wheel (tests/data/reference/oracle_runs.py).
                    GoldenCase{"oracle_single_stream_p99"},
                    GoldenCase{"oracle_token_single_stream_p99"},
                    GoldenCase{"oracle_token_multi_stream_valid"},
                    GoldenCase{"oracle_token_server_constraints"}),
    [](const testing::TestParamInfo<GoldenCase>& info) { return std::string(info.param.name); });

TEST(SummaryGolden, SummaryWithoutPerformanceResult) {
  EXPECT_EQ(RenderAccuracyOnlySummary(0, 0),
            ReferenceFile("demo_offline_accuracy", "mlperf_log_summary.txt"));
  EXPECT_EQ(RenderAccuracyOnlySummary(0, 1),
            ReferenceFile("probe_err_findpeak_ss", "mlperf_log_summary.txt"));
}

}  // namespace
}  // namespace loadgen::results
