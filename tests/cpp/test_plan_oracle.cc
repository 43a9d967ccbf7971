// Differential test of the sample plan against the official wheel: tests/data/official_plans.json
// was recorded by tests/differential/record_plan.py (loads, issued samples, generated counts and
// durations, accuracy-log selections for each configuration). The effective settings come from
// the recorded effective_* values, except the two doubles that the detail log rounds to 6
// significant digits (target QPS and accuracy-log probability), which are rebuilt from the
// requested settings exactly as the official TestSettingsInternal constructor does
// (docs/official-behaviour.md#settings-effective).
#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "schedule/plan.h"

namespace loadgen::schedule {
namespace {

using mlperf::TestMode;
using mlperf::TestScenario;
using settings::EffectiveSettings;

// Just enough JSON for the recorder's output: objects, arrays, strings without escapes other than
// \" and \\, numbers (kept as text so 64-bit seeds stay exact), true/false/null.
struct Json {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  std::string text;  // number literal or string value
  bool boolean = false;
  std::vector<Json> items;
  std::map<std::string, Json> members;

  bool Has(const std::string& key) const { return members.count(key) != 0; }
  const Json& operator[](const std::string& key) const {
    const auto it = members.find(key);
    if (it == members.end()) throw std::runtime_error("missing key " + key);
    return it->second;
  }
  uint64_t U64() const { return std::strtoull(text.c_str(), nullptr, 10); }
  double F64() const { return std::strtod(text.c_str(), nullptr); }
  bool Bool() const { return kind == Kind::kBool ? boolean : U64() != 0; }
};

class JsonParser {
 public:
  explicit JsonParser(const std::string& text) : text_(text) {}

  Json Parse() {
    Json value = Value();
    SkipSpace();
    if (pos_ != text_.size()) Fail("trailing characters");
    return value;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const {
    throw std::runtime_error("JSON: " + what + " at offset " + std::to_string(pos_));
  }
  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool Consume(char c) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void Expect(char c) {
    if (!Consume(c)) Fail(std::string("expected '") + c + "'");
  }
  std::string String() {
    Expect('"');
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      if (text_[pos_] == '\\') ++pos_;
      out += text_[pos_++];
    }
    Expect('"');
    return out;
  }
  Json Value() {
    SkipSpace();
    if (pos_ >= text_.size()) Fail("unexpected end");
    Json v;
    const char c = text_[pos_];
    if (c == '{') {
      v.kind = Json::Kind::kObject;
      ++pos_;
      if (Consume('}')) return v;
      do {
        std::string key = String();
        Expect(':');
        v.members.emplace(std::move(key), Value());
      } while (Consume(','));
      Expect('}');
    } else if (c == '[') {
      v.kind = Json::Kind::kArray;
      ++pos_;
      if (Consume(']')) return v;
      do {
        v.items.push_back(Value());
      } while (Consume(','));
      Expect(']');
    } else if (c == '"') {
      v.kind = Json::Kind::kString;
      v.text = String();
    } else if (text_.compare(pos_, 4, "true") == 0 || text_.compare(pos_, 5, "false") == 0) {
      v.kind = Json::Kind::kBool;
      v.boolean = c == 't';
      pos_ += v.boolean ? 4 : 5;
    } else if (text_.compare(pos_, 4, "null") == 0) {
      pos_ += 4;
    } else {
      v.kind = Json::Kind::kNumber;
      const size_t begin = pos_;
      while (pos_ < text_.size() &&
             std::string("+-0123456789.eE").find(text_[pos_]) != std::string::npos) {
        ++pos_;
      }
      if (begin == pos_) Fail("unexpected character");
      v.text = text_.substr(begin, pos_ - begin);
    }
    return v;
  }

  const std::string& text_;
  size_t pos_ = 0;
};

const Json& Recording() {
  static const std::unique_ptr<Json> recording = [] {
    std::ifstream in(std::string(LOADGEN_TEST_DATA_DIR) + "/official_plans.json");
    std::stringstream buffer;
    buffer << in.rdbuf();
    return std::make_unique<Json>(JsonParser(buffer.str()).Parse());
  }();
  return *recording;
}

uint64_t Fnv1a64(const std::vector<uint64_t>& values) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (uint64_t v : values) {
    for (int shift = 0; shift < 64; shift += 8) {
      h ^= (v >> shift) & 0xFF;
      h *= 0x100000001B3ull;
    }
  }
  return h;
}

// A recorded list: either in full or, when long, as its length, first entries and hash.
void ExpectList(const Json& recorded, const std::vector<uint64_t>& actual, const char* what) {
  if (recorded.kind == Json::Kind::kArray) {
    std::vector<uint64_t> expected;
    for (const Json& item : recorded.items) expected.push_back(item.U64());
    EXPECT_EQ(actual, expected) << what;
    return;
  }
  ASSERT_EQ(actual.size(), recorded["n"].U64()) << what;
  const std::vector<Json>& head = recorded["head"].items;
  for (size_t i = 0; i < head.size(); ++i) EXPECT_EQ(actual[i], head[i].U64()) << what << " " << i;
  EXPECT_EQ(Fnv1a64(actual), recorded["fnv1a64"].U64()) << what;
}

double RequestedDouble(const Json& settings, const char* key, double fallback) {
  return settings.Has(key) ? settings[key].F64() : fallback;
}

EffectiveSettings EffectiveFromRecording(const Json& config) {
  const Json& e = config["effective"];
  const Json& requested = config["settings"];
  const std::map<std::string, TestScenario> scenarios = {
      {"SingleStream", TestScenario::SingleStream},
      {"MultiStream", TestScenario::MultiStream},
      {"Server", TestScenario::Server},
      {"Offline", TestScenario::Offline}};
  const std::map<std::string, TestMode> modes = {{"SubmissionRun", TestMode::SubmissionRun},
                                                 {"AccuracyOnly", TestMode::AccuracyOnly},
                                                 {"PerformanceOnly", TestMode::PerformanceOnly}};
  EffectiveSettings s;
  s.scenario = scenarios.at(e["scenario"].text);
  s.mode = modes.at(e["test_mode"].text);
  s.samples_per_query = e["samples_per_query"].U64();
  s.target_latency_ns = static_cast<int64_t>(e["target_latency_ns"].U64());
  s.max_async_queries = e["max_async_queries"].U64();
  s.target_duration_ms = e["target_duration_ms"].U64();
  s.min_duration_ms = e["min_duration_ms"].U64();
  s.max_duration_ms = e["max_duration_ms"].U64();
  s.min_query_count = e["min_query_count"].U64();
  s.max_query_count = e["max_query_count"].U64();
  s.min_sample_count = e["min_sample_count"].U64();
  s.qsl_rng_seed = e["qsl_rng_seed"].U64();
  s.sample_index_rng_seed = e["sample_index_rng_seed"].U64();
  s.schedule_rng_seed = e["schedule_rng_seed"].U64();
  s.accuracy_log_rng_seed = e["accuracy_log_rng_seed"].U64();
  s.accuracy_log_sampling_target = e["accuracy_log_sampling_target"].U64();
  s.performance_issue_unique = e["performance_issue_unique"].Bool();
  s.performance_issue_same = e["performance_issue_same"].Bool();
  s.performance_issue_same_index = e["performance_issue_same_index"].U64();
  s.performance_sample_count = e["performance_sample_count"].U64();
  s.accuracy_sample_count = e["accuracy_sample_count"].U64();
  s.sample_concatenate_permutation = e["sample_concatenate_permutation"].Bool();

  switch (s.scenario) {
    case TestScenario::SingleStream:
      s.target_qps = 1e9 / RequestedDouble(requested, "single_stream_expected_latency_ns", 1e6);
      break;
    case TestScenario::MultiStream:
      s.target_qps = 1e9 / RequestedDouble(requested, "multi_stream_expected_latency_ns", 8e6);
      break;
    case TestScenario::Server:
      s.target_qps = RequestedDouble(requested, "server_target_qps", 1);
      break;
    case TestScenario::Offline:
      s.target_qps = RequestedDouble(requested, "offline_expected_qps", 1);
      break;
  }
  s.accuracy_log_probability = RequestedDouble(requested, "accuracy_log_probability", 0);
  // The rebuilt doubles must agree with the logged 6-significant-digit values.
  EXPECT_NEAR(s.target_qps, e["target_qps"].F64(), 1e-5 * s.target_qps);
  EXPECT_NEAR(s.accuracy_log_probability, e["accuracy_log_probability"].F64(), 1e-6);
  return s;
}

void CheckConfig(const Json& config) {
  const EffectiveSettings s = EffectiveFromRecording(config);
  const uint64_t total = config["total"].U64();
  const std::vector<Json>& series = config["series"].items;

  SequenceState sequence;
  std::vector<std::pair<uint64_t, uint64_t>> logged;
  size_t next_series = 0;
  const auto run_series = [&](const LoadableSet& set, TestMode mode) {
    SCOPED_TRACE("series " + std::to_string(next_series));
    ASSERT_LT(next_series, series.size());
    const Json& recorded = series[next_series++];
    const SeriesPlan plan = GenerateQueries(s, set, mode, sequence);
    ExpectList(recorded["load"], set.samples, "loaded set");
    ExpectList(recorded["unload"], set.samples, "unloaded set");
    EXPECT_EQ(plan.query_count(), recorded["query_count"].U64());
    EXPECT_EQ(plan.samples_per_query, recorded["samples_per_query"].U64());
    EXPECT_EQ(plan.generated_duration_ns, static_cast<int64_t>(recorded["duration_ns"].U64()));

    // Accuracy runs and Server issue everything generated; the others stop early, so what was
    // issued must be a prefix of the plan.
    const uint64_t issued_queries = recorded["issued_queries"].U64();
    if (mode == TestMode::AccuracyOnly || s.scenario == TestScenario::Server) {
      EXPECT_EQ(issued_queries, plan.query_count());
    }
    ASSERT_LE(issued_queries, plan.query_count());
    const uint64_t issued_samples = issued_queries * plan.samples_per_query;
    ExpectList(recorded["issued"],
               std::vector<uint64_t>(plan.sample_index.begin(),
                                     plan.sample_index.begin() + issued_samples),
               "issued samples");
    // Only issued samples complete, so only they can reach the accuracy log.
    for (uint64_t i = 0; i < issued_samples; ++i) {
      if (plan.LogsAccuracy(i)) {
        logged.emplace_back(plan.first_sample_seq + i, plan.sample_index[i]);
      }
    }
  };

  if (s.mode != TestMode::PerformanceOnly) {
    for (const LoadableSet& set : GenerateLoadableSets(s, s.accuracy_sample_count, total)) {
      run_series(set, TestMode::AccuracyOnly);
    }
  }
  if (s.mode != TestMode::AccuracyOnly) {
    const std::vector<LoadableSet> sets =
        GenerateLoadableSets(s, s.performance_sample_count, total);
    ASSERT_FALSE(sets.empty());
    run_series(sets.front(), TestMode::PerformanceOnly);
  }
  EXPECT_EQ(next_series, series.size());

  std::vector<std::pair<uint64_t, uint64_t>> expected;
  for (const Json& pair : config["accuracy_log"].items) {
    expected.emplace_back(pair.items.at(0).U64(), pair.items.at(1).U64());
  }
  EXPECT_EQ(logged, expected);
}

TEST(PlanOracleTest, MatchesEveryRecordedConfiguration) {
  const std::vector<Json>& configs = Recording()["configs"].items;
  ASSERT_GE(configs.size(), 60u);
  for (const Json& config : configs) {
    SCOPED_TRACE(config["name"].text);
    CheckConfig(config);
  }
}

TEST(PlanOracleTest, RecordingCoversEveryScenarioAndMode) {
  std::map<std::string, int> seen;
  for (const Json& config : Recording()["configs"].items) {
    ++seen[config["scenario"].text];
    ++seen[config["mode"].text];
  }
  for (const char* key : {"SingleStream", "MultiStream", "Server", "Offline", "PerformanceOnly",
                          "AccuracyOnly", "SubmissionRun"}) {
    EXPECT_GT(seen[key], 0) << key;
  }
}

}  // namespace
}  // namespace loadgen::schedule
