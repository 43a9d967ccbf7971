// Differential test of FromConfig against the official wheel: replays
// tests/data/official_fromconfig.json (recorded by tests/differential/record_fromconfig.py), each
// case on a fresh ConfigContext, and compares every TestSettings attribute (doubles bit for
// bit), the return values and the queued error messages.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "settings/config_file.h"
#include "test_settings.h"

namespace loadgen::settings {
namespace {

namespace fs = std::filesystem;
using mlperf::TestSettings;

// ---------------------------------------------------------------------------------------------
// A small JSON reader: numbers keep their text so uint64 and double values stay exact.
// ---------------------------------------------------------------------------------------------

struct Json {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = Kind::kNull;
  bool boolean = false;
  std::string text;  // number text or string value
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> members;  // in file order

  const Json* Find(const std::string& key) const {
    for (const auto& [name, value] : members) {
      if (name == key) return &value;
    }
    return nullptr;
  }
  const Json& operator[](const std::string& key) const {
    const Json* value = Find(key);
    if (value == nullptr) throw std::runtime_error("missing JSON member " + key);
    return *value;
  }
};

class JsonReader {
 public:
  explicit JsonReader(const std::string& text) : text_(text) {}

  Json Read() {
    Json value = Value();
    Skip();
    if (pos_ != text_.size()) Fail("trailing characters");
    return value;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) {
    throw std::runtime_error("JSON: " + what + " at offset " + std::to_string(pos_));
  }
  void Skip() {
    while (pos_ < text_.size() && std::strchr(" \t\r\n", text_[pos_]) != nullptr) ++pos_;
  }
  void Expect(char c) {
    Skip();
    if (pos_ >= text_.size() || text_[pos_] != c) Fail(std::string("expected ") + c);
    ++pos_;
  }
  bool Consume(const char* word) {
    size_t n = std::strlen(word);
    if (text_.compare(pos_, n, word) != 0) return false;
    pos_ += n;
    return true;
  }

  Json Value() {
    Skip();
    if (pos_ >= text_.size()) Fail("unexpected end");
    Json v;
    char c = text_[pos_];
    if (c == '{') {
      v.kind = Json::Kind::kObject;
      ++pos_;
      Skip();
      if (text_[pos_] == '}') return ++pos_, v;
      do {
        Skip();
        std::string key = String();
        Expect(':');
        v.members.emplace_back(std::move(key), Value());
        Skip();
      } while (text_[pos_++] == ',');
      if (text_[pos_ - 1] != '}') Fail("expected }");
    } else if (c == '[') {
      v.kind = Json::Kind::kArray;
      ++pos_;
      Skip();
      if (text_[pos_] == ']') return ++pos_, v;
      do {
        v.items.push_back(Value());
        Skip();
      } while (text_[pos_++] == ',');
      if (text_[pos_ - 1] != ']') Fail("expected ]");
    } else if (c == '"') {
      v.kind = Json::Kind::kString;
      v.text = String();
    } else if (Consume("true")) {
      v.kind = Json::Kind::kBool;
      v.boolean = true;
    } else if (Consume("false")) {
      v.kind = Json::Kind::kBool;
    } else if (Consume("null")) {
      v.kind = Json::Kind::kNull;
    } else {
      v.kind = Json::Kind::kNumber;
      size_t start = pos_;
      while (pos_ < text_.size() && std::strchr("+-0123456789.eE", text_[pos_]) != nullptr) {
        ++pos_;
      }
      if (pos_ == start) Fail("unexpected character");
      v.text = text_.substr(start, pos_ - start);
    }
    return v;
  }

  std::string String() {
    if (text_[pos_] != '"') Fail("expected string");
    ++pos_;
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (c != '\\') {
        out += c;
        continue;
      }
      char e = text_[pos_++];
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'u': {
          unsigned code = std::stoul(text_.substr(pos_, 4), nullptr, 16);
          pos_ += 4;
          if (code < 0x80) {
            out += static_cast<char>(code);
          } else if (code < 0x800) {
            out += static_cast<char>(0xC0 | (code >> 6));
            out += static_cast<char>(0x80 | (code & 0x3F));
          } else {
            out += static_cast<char>(0xE0 | (code >> 12));
            out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (code & 0x3F));
          }
          break;
        }
        default:
          out += e;
          break;  // \" \\ \/
      }
    }
    if (pos_ >= text_.size()) Fail("unterminated string");
    ++pos_;
    return out;
  }

  const std::string& text_;
  size_t pos_ = 0;
};

const Json& Recording() {
  static const std::unique_ptr<Json> recording = [] {
    std::ifstream in(std::string(LOADGEN_TEST_DATA_DIR) + "/official_fromconfig.json");
    std::stringstream buffer;
    buffer << in.rdbuf();
    std::string text = buffer.str();
    return std::make_unique<Json>(JsonReader(text).Read());
  }();
  return *recording;
}

// ---------------------------------------------------------------------------------------------
// TestSettings attributes by their Python names
// ---------------------------------------------------------------------------------------------

struct Attribute {
  const char* name;
  uint64_t TestSettings::*u64 = nullptr;
  double TestSettings::*f64 = nullptr;
  bool TestSettings::*flag = nullptr;
  int TestSettings::*i32 = nullptr;
};

Attribute U(const char* name, uint64_t TestSettings::*field) { return {name, field}; }
Attribute D(const char* name, double TestSettings::*field) { return {name, nullptr, field}; }
Attribute B(const char* name, bool TestSettings::*field) { return {name, nullptr, nullptr, field}; }

const std::vector<Attribute>& Attributes() {
  static const std::vector<Attribute> attributes = {
      D("accuracy_log_probability", &TestSettings::accuracy_log_probability),
      U("accuracy_log_rng_seed", &TestSettings::accuracy_log_rng_seed),
      U("accuracy_log_sampling_target", &TestSettings::accuracy_log_sampling_target),
      U("accuracy_sample_count_override", &TestSettings::accuracy_sample_count_override),
      B("infer_token_latencies", &TestSettings::infer_token_latencies),
      U("max_duration_ms", &TestSettings::max_duration_ms),
      U("max_query_count", &TestSettings::max_query_count),
      U("min_duration_ms", &TestSettings::min_duration_ms),
      U("min_query_count", &TestSettings::min_query_count),
      D("multi_stream_expected_latency_ns", &TestSettings::multi_stream_expected_latency_ns),
      U("multi_stream_samples_per_query", &TestSettings::multi_stream_samples_per_query),
      D("multi_stream_target_latency_percentile",
        &TestSettings::multi_stream_target_latency_percentile),
      D("offline_expected_qps", &TestSettings::offline_expected_qps),
      B("performance_issue_same", &TestSettings::performance_issue_same),
      U("performance_issue_same_index", &TestSettings::performance_issue_same_index),
      B("performance_issue_unique", &TestSettings::performance_issue_unique),
      U("performance_sample_count_override", &TestSettings::performance_sample_count_override),
      B("print_timestamps", &TestSettings::print_timestamps),
      U("qsl_rng_seed", &TestSettings::qsl_rng_seed),
      B("sample_concatenate_permutation", &TestSettings::sample_concatenate_permutation),
      U("sample_index_rng_seed", &TestSettings::sample_index_rng_seed),
      U("schedule_rng_seed", &TestSettings::schedule_rng_seed),
      B("server_coalesce_queries", &TestSettings::server_coalesce_queries),
      D("server_find_peak_qps_boundary_step_size",
        &TestSettings::server_find_peak_qps_boundary_step_size),
      {"server_find_peak_qps_decimals_of_precision", nullptr, nullptr, nullptr,
       &TestSettings::server_find_peak_qps_decimals_of_precision},
      U("server_max_async_queries", &TestSettings::server_max_async_queries),
      U("server_num_issue_query_threads", &TestSettings::server_num_issue_query_threads),
      U("server_target_latency_ns", &TestSettings::server_target_latency_ns),
      D("server_target_latency_percentile", &TestSettings::server_target_latency_percentile),
      D("server_target_qps", &TestSettings::server_target_qps),
      D("single_stream_expected_latency_ns", &TestSettings::single_stream_expected_latency_ns),
      D("single_stream_target_latency_percentile",
        &TestSettings::single_stream_target_latency_percentile),
      B("test05", &TestSettings::test05),
      U("test05_qsl_rng_seed", &TestSettings::test05_qsl_rng_seed),
      U("test05_sample_index_rng_seed", &TestSettings::test05_sample_index_rng_seed),
      U("test05_schedule_rng_seed", &TestSettings::test05_schedule_rng_seed),
      U("token_latency_scaling_factor", &TestSettings::token_latency_scaling_factor),
      U("tpot_latency", &TestSettings::server_tpot_latency),
      U("ttft_latency", &TestSettings::server_ttft_latency),
      B("use_token_latencies", &TestSettings::use_token_latencies),
  };
  return attributes;
}

const char* const kScenarios[] = {"SingleStream", "MultiStream", "Server", "Offline"};
const char* const kModes[] = {"SubmissionRun", "AccuracyOnly", "PerformanceOnly",
                              "FindPeakPerformance"};

int EnumIndex(const char* const (&names)[4], const std::string& name) {
  for (int i = 0; i < 4; ++i) {
    if (name == names[i]) return i;
  }
  throw std::runtime_error("unknown enum name " + name);
}

double JsonDouble(const Json& value) {
  if (value.kind == Json::Kind::kString) {
    if (value.text == "nan") return std::nan("");
    return value.text == "inf" ? HUGE_VAL : -HUGE_VAL;
  }
  return std::strtod(value.text.c_str(), nullptr);
}

uint64_t Bits(double value) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

void Preset(TestSettings& settings, const Json& preset) {
  for (const auto& [name, value] : preset.members) {
    if (name == "scenario") {
      settings.scenario = static_cast<mlperf::TestScenario>(EnumIndex(kScenarios, value.text));
      continue;
    }
    if (name == "mode") {
      settings.mode = static_cast<mlperf::TestMode>(EnumIndex(kModes, value.text));
      continue;
    }
    bool found = false;
    for (const Attribute& a : Attributes()) {
      if (name != a.name) continue;
      found = true;
      if (a.u64) settings.*a.u64 = std::stoull(value.text);
      if (a.f64) settings.*a.f64 = JsonDouble(value);
      if (a.flag) settings.*a.flag = value.boolean;
      if (a.i32) settings.*a.i32 = std::stoi(value.text);
    }
    if (!found) throw std::runtime_error("unknown preset attribute " + name);
  }
}

void ExpectSettings(const TestSettings& settings, const Json& expected) {
  std::set<std::string> seen;
  for (const Attribute& a : Attributes()) {
    SCOPED_TRACE(a.name);
    const Json& want = expected[a.name];
    seen.insert(a.name);
    if (a.u64) {
      EXPECT_EQ(settings.*a.u64, std::stoull(want.text));
    }
    if (a.flag) {
      EXPECT_EQ(settings.*a.flag, want.boolean);
    }
    if (a.i32) {
      EXPECT_EQ(settings.*a.i32, std::stoi(want.text));
    }
    if (a.f64) {
      double want_value = JsonDouble(want);
      if (std::isnan(want_value)) {
        EXPECT_TRUE(std::isnan(settings.*a.f64));
      } else {
        EXPECT_EQ(Bits(settings.*a.f64), Bits(want_value))
            << settings.*a.f64 << " vs " << want.text;
      }
    }
  }
  EXPECT_EQ(EnumIndex(kScenarios, expected["scenario"].text), static_cast<int>(settings.scenario));
  EXPECT_EQ(EnumIndex(kModes, expected["mode"].text), static_cast<int>(settings.mode));
  seen.insert({"scenario", "mode"});
  // Every recorded attribute is compared.
  for (const auto& [name, value] : expected.members) EXPECT_EQ(seen.count(name), 1u) << name;
}

class FromConfigOracleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetMlperfConfPath(LOADGEN_TEST_DATA_DIR "/../../python/loadgen/mlperf.conf");
    dir_ = fs::temp_directory_path() / ("loadgen_fromconfig_oracle_" + std::to_string(::getpid()));
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Replay(const Json& c) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    for (const auto& [name, text] : c["files"].members) {
      std::ofstream(dir_ / name, std::ios::binary) << text.text;
    }
    size_t objects = c.Find("objects") ? std::stoul(c["objects"].text) : 1;
    std::vector<TestSettings> settings(objects);
    if (const Json* preset = c.Find("preset")) Preset(settings[0], *preset);

    ConfigContext ctx;
    std::vector<int> returns;
    for (const Json& call : c["calls"].items) {
      const std::string& path = call["path"].text;
      std::string full_path = path.empty() ? "" : (dir_ / path).string();
      returns.push_back(FromConfig(settings[std::stoul(call["object"].text)], full_path,
                                   call["model"].text, call["scenario"].text,
                                   std::stoi(call["conf_type"].text), ctx));
    }

    std::vector<int> want_returns;
    for (const Json& r : c["returns"].items) want_returns.push_back(std::stoi(r.text));
    EXPECT_EQ(returns, want_returns);

    for (size_t i = 0; i < objects; ++i) {
      SCOPED_TRACE("object " + std::to_string(i));
      ExpectSettings(settings[i], c["settings"].items[i]);
    }

    std::vector<std::string> got;
    for (const auto& [time, d] : ctx.TakePending()) {
      got.push_back(d.key + " | " + d.message + " | " + d.file + ":" + std::to_string(d.line));
    }
    std::vector<std::string> want;
    const std::string cant_open = "can't open file ";
    for (const Json& e : c["errors"].items) {
      std::string message = e["message"].text;
      // The recording ran in its temporary directory with relative paths.
      if (message.rfind(cant_open, 0) == 0) {
        message = cant_open + (dir_ / message.substr(cant_open.size())).string();
      }
      want.push_back(e["key"].text + " | " + message +
                     " | test_settings_internal.cc:" + e["line_no"].text);
    }
    EXPECT_EQ(got, want);
  }

  fs::path dir_;
};

TEST_F(FromConfigOracleTest, EveryRecordedCaseMatches) {
  const Json& cases = Recording()["cases"];
  ASSERT_GE(cases.items.size(), 40u);
  for (const Json& c : cases.items) {
    SCOPED_TRACE(c["name"].text);
    Replay(c);
    if (HasFailure()) break;  // one case's diff is enough to read
  }
}

TEST_F(FromConfigOracleTest, RecordingCoversEveryAttributeAndScenario) {
  const Json& recording = Recording();
  std::set<std::string> attributes;
  for (const Json& name : recording["attributes"].items) attributes.insert(name.text);
  std::set<std::string> ours = {"scenario", "mode"};
  for (const Attribute& a : Attributes()) ours.insert(a.name);
  EXPECT_EQ(attributes, ours);

  std::set<std::string> scenarios;
  for (const Json& c : recording["cases"].items) {
    for (const Json& call : c["calls"].items) scenarios.insert(call["scenario"].text);
  }
  for (const char* scenario : {"SingleStream", "MultiStream", "Server", "Offline", "Interactive"}) {
    EXPECT_EQ(scenarios.count(scenario), 1u) << scenario;
  }
}

}  // namespace
}  // namespace loadgen::settings
