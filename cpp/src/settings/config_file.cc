// settings stage: the official config-file grammar, key table and strict checker.
#include "settings/config_file.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <istream>
#include <limits>
#include <map>
#include <sstream>
#include <string_view>
#include <utility>

#include "common/clock.h"

namespace loadgen::settings {
namespace {

using mlperf::TestSettings;

// Diagnostics are reported as the official build reports them (file and line_no metadata).
constexpr const char* kDiagnosticFile = "test_settings_internal.cc";
constexpr int kLineMultipleConf = 562;
constexpr int kLineCantOpen = 620;
constexpr int kLineBadValue = 661;
constexpr int kLineExpectedEquals = 674;
constexpr int kLineInvalidMode = 709;

constexpr const char* kScenarioNames[] = {"SingleStream", "MultiStream", "Server", "Offline"};

// ---------------------------------------------------------------------------------------------
// The key table: the one description of every key LoadGen reads, used by FromConfig (in this
// order, which is the official application order) and by the linter.
// ---------------------------------------------------------------------------------------------

enum class ValueKind {
  kUint64,       // strtoull(base 0) × integer multiplier
  kInt32,        // as kUint64, then truncated to a 32-bit int and widened again
  kDouble,       // strtod × multiplier
  kFlagIsOne,    // true only for the integer value 1
  kFlagNonZero,  // true for any non-zero integer value
  kMode,         // 0..3 -> TestMode, anything else is an error
};

enum class KeyScope { kAnyFile, kMlperfConfOnly };

// Some keys are read only if a flag is already set when the key's turn comes.
enum class KeyGate { kAlways, kUseTokenLatencies, kInferTokenLatencies };

struct KnownKey {
  const char* name;
  const char* fixed_scenario;  // nullptr: the scenario passed to FromConfig
  ValueKind kind;
  double multiplier;
  KeyScope scope;
  KeyGate gate;
  uint64_t TestSettings::*u64_field;
  double TestSettings::*double_field;
  bool TestSettings::*flag_field;
  const char* unit;  // shown in linter messages, may be empty
};

KnownKey Integer(const char* name, const char* scenario, uint64_t TestSettings::*field,
                 double multiplier = 1, KeyScope scope = KeyScope::kAnyFile,
                 KeyGate gate = KeyGate::kAlways, const char* unit = "") {
  return {name, scenario, ValueKind::kUint64, multiplier, scope, gate, field, nullptr, nullptr,
          unit};
}

KnownKey Real(const char* name, const char* scenario, double TestSettings::*field,
              double multiplier = 1, KeyScope scope = KeyScope::kAnyFile,
              const char* unit = "") {
  return {name,    scenario, ValueKind::kDouble, multiplier, scope, KeyGate::kAlways,
          nullptr, field,    nullptr,            unit};
}

KnownKey Flag(const char* name, const char* scenario, bool TestSettings::*field, ValueKind kind,
              KeyScope scope = KeyScope::kAnyFile) {
  return {name, scenario, kind, 1, scope, KeyGate::kAlways, nullptr, nullptr, field, ""};
}

constexpr double kMsToNs = 1000 * 1000;
constexpr double kPercent = 0.01;
constexpr KeyScope kMlperfConfOnly = KeyScope::kMlperfConfOnly;
constexpr KeyScope kAnyFile = KeyScope::kAnyFile;

const std::vector<KnownKey>& KnownKeys() {
  static const std::vector<KnownKey> keys = {
      {"mode", nullptr, ValueKind::kMode, 1, kAnyFile, KeyGate::kAlways, nullptr, nullptr,
       nullptr, ""},
      Integer("qsl_rng_seed", nullptr, &TestSettings::qsl_rng_seed, 1, kMlperfConfOnly),
      Integer("sample_index_rng_seed", nullptr, &TestSettings::sample_index_rng_seed, 1,
              kMlperfConfOnly),
      Integer("schedule_rng_seed", nullptr, &TestSettings::schedule_rng_seed, 1,
              kMlperfConfOnly),
      Real("accuracy_log_probability", nullptr, &TestSettings::accuracy_log_probability,
           kPercent, kMlperfConfOnly, "%"),
      Flag("test05", nullptr, &TestSettings::test05, ValueKind::kFlagIsOne, kMlperfConfOnly),
      Integer("test05_qsl_rng_seed", nullptr, &TestSettings::test05_qsl_rng_seed, 1,
              kMlperfConfOnly),
      Integer("test05_sample_index_rng_seed", nullptr,
              &TestSettings::test05_sample_index_rng_seed, 1, kMlperfConfOnly),
      Integer("test05_schedule_rng_seed", nullptr, &TestSettings::test05_schedule_rng_seed, 1,
              kMlperfConfOnly),
      Flag("use_token_latencies", nullptr, &TestSettings::use_token_latencies,
           ValueKind::kFlagIsOne),
      Integer("ttft_latency", "Server", &TestSettings::server_ttft_latency, kMsToNs, kAnyFile,
              KeyGate::kUseTokenLatencies, "ms"),
      Integer("tpot_latency", "Server", &TestSettings::server_tpot_latency, kMsToNs, kAnyFile,
              KeyGate::kUseTokenLatencies, "ms"),
      Flag("infer_token_latencies", nullptr, &TestSettings::infer_token_latencies,
           ValueKind::kFlagIsOne),
      Integer("token_latency_scaling_factor", nullptr,
              &TestSettings::token_latency_scaling_factor, 1, kAnyFile,
              KeyGate::kInferTokenLatencies),
      Real("target_latency_percentile", "SingleStream",
           &TestSettings::single_stream_target_latency_percentile, kPercent, kAnyFile, "%"),
      Real("target_latency_percentile", "MultiStream",
           &TestSettings::multi_stream_target_latency_percentile, kPercent, kAnyFile, "%"),
      Integer("samples_per_query", "MultiStream", &TestSettings::multi_stream_samples_per_query),
      Real("target_latency_percentile", "Server",
           &TestSettings::server_target_latency_percentile, kPercent, kAnyFile, "%"),
      Integer("target_latency", "Server", &TestSettings::server_target_latency_ns, kMsToNs,
              kAnyFile, KeyGate::kAlways, "ms"),
      Flag("performance_issue_unique", nullptr, &TestSettings::performance_issue_unique,
           ValueKind::kFlagNonZero),
      Flag("performance_issue_same", nullptr, &TestSettings::performance_issue_same,
           ValueKind::kFlagNonZero),
      Integer("performance_issue_same_index", nullptr,
              &TestSettings::performance_issue_same_index),
      Flag("sample_concatenate_permutation", nullptr,
           &TestSettings::sample_concatenate_permutation, ValueKind::kFlagIsOne),
      Flag("coalesce_queries", "Server", &TestSettings::server_coalesce_queries,
           ValueKind::kFlagNonZero),
      {"max_async_queries", "Server", ValueKind::kInt32, 1, kAnyFile, KeyGate::kAlways,
       &TestSettings::server_max_async_queries, nullptr, nullptr, ""},
      Integer("min_duration", nullptr, &TestSettings::min_duration_ms, 1, kAnyFile,
              KeyGate::kAlways, "ms"),
      Integer("max_duration", nullptr, &TestSettings::max_duration_ms, 1, kAnyFile,
              KeyGate::kAlways, "ms"),
      Integer("min_query_count", nullptr, &TestSettings::min_query_count),
      Integer("max_query_count", nullptr, &TestSettings::max_query_count),
      Integer("performance_sample_count_override", nullptr,
              &TestSettings::performance_sample_count_override),
      Integer("accuracy_sample_count_override", nullptr,
              &TestSettings::accuracy_sample_count_override),
      Real("target_latency", "SingleStream", &TestSettings::single_stream_expected_latency_ns,
           kMsToNs, kAnyFile, "ms"),
      Real("target_latency", "MultiStream", &TestSettings::multi_stream_expected_latency_ns,
           kMsToNs, kAnyFile, "ms"),
      Real("target_qps", "Server", &TestSettings::server_target_qps),
      Real("target_qps", "Offline", &TestSettings::offline_expected_qps),
      Flag("print_timestamps", nullptr, &TestSettings::print_timestamps,
           ValueKind::kFlagNonZero),
      Integer("accuracy_log_rng_seed", nullptr, &TestSettings::accuracy_log_rng_seed),
      Integer("accuracy_log_sampling_target", nullptr,
              &TestSettings::accuracy_log_sampling_target),
  };
  return keys;
}

bool IsIntegerKind(ValueKind kind) { return kind != ValueKind::kDouble; }

// ---------------------------------------------------------------------------------------------
// Grammar
// ---------------------------------------------------------------------------------------------

// The characters `istream >> std::string` skips in the classic locale.
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

std::vector<std::string> SplitTokens(const std::string& line) {
  std::vector<std::string> tokens;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && IsSpace(line[i])) ++i;
    size_t start = i;
    while (i < line.size() && !IsSpace(line[i])) ++i;
    if (i > start) tokens.push_back(line.substr(start, i - start));
  }
  return tokens;
}

// A value must be consumed entirely by strtoul (base 0) or by strtod.
bool IsNumber(const std::string& text) {
  const char* begin = text.c_str();
  const char* full_end = begin + text.size();
  char* end = nullptr;
  std::strtoull(begin, &end, 0);
  if (end == full_end) return true;
  std::strtod(begin, &end);
  return end == full_end;
}

enum class LineError { kNone, kExpectedEquals, kBadValue };

// One physical line as the official 3-state parser (key, '=', values) sees it.
struct ConfigLine {
  int number = 0;  // 1-based
  std::vector<std::string> tokens;
  std::string key;
  bool has_equals = false;
  std::vector<std::string> values;
  LineError error = LineError::kNone;
  size_t error_token = 0;
};

std::vector<ConfigLine> ParseLines(std::istream& in) {
  std::vector<ConfigLine> lines;
  std::string text;
  int number = 0;
  while (std::getline(in, text)) {
    ConfigLine line;
    line.number = ++number;
    line.tokens = SplitTokens(text);
    int state = 0;  // 0: want key, 1: want '=', 2: want values
    for (size_t i = 0; i < line.tokens.size(); ++i) {
      const std::string& token = line.tokens[i];
      if (token == "#" && state != 2) break;
      if (state == 2) {
        if (!IsNumber(token)) {
          line.error = LineError::kBadValue;
          line.error_token = i;
          break;
        }
        line.values.push_back(token);
        continue;
      }
      if (state == 1 && token != "=") {
        line.error = LineError::kExpectedEquals;
        line.error_token = i;
        break;
      }
      if (state == 0) line.key = token;
      if (state == 1) line.has_equals = true;
      ++state;
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

Diagnostic ConfigDiagnostic(std::string message, int official_line) {
  return Diagnostic{Severity::kError, "error_invalid_config", std::move(message),
                    kDiagnosticFile, official_line};
}

// ---------------------------------------------------------------------------------------------
// Lookup and application
// ---------------------------------------------------------------------------------------------

using KeyValues = std::map<std::string, std::string>;

const std::string* Lookup(const KeyValues& kv, const std::string& model,
                          const std::string& scenario, const std::string& name) {
  const std::string candidates[] = {model + "." + scenario + "." + name,
                                    "*." + scenario + "." + name, model + ".*." + name,
                                    "*.*." + name};
  for (const std::string& candidate : candidates) {
    auto it = kv.find(candidate);
    if (it != kv.end()) return &it->second;
  }
  return nullptr;
}

uint64_t IntegerValue(const std::string& text, double multiplier) {
  // Truncates before scaling, as the official parser does.
  return std::strtoull(text.c_str(), nullptr, 0) * static_cast<uint64_t>(multiplier);
}

double DoubleValue(const std::string& text, double multiplier) {
  return std::strtod(text.c_str(), nullptr) * multiplier;
}

uint64_t TruncateToInt32(uint64_t value) {
  return static_cast<uint64_t>(
      static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(value))));
}

void ApplyKeys(TestSettings& settings, const KeyValues& kv, const std::string& model,
               const std::string& scenario, int conf_type, ConfigContext& ctx) {
  for (const KnownKey& key : KnownKeys()) {
    if (key.scope == KeyScope::kMlperfConfOnly && conf_type != 0) continue;
    if (key.gate == KeyGate::kUseTokenLatencies && !settings.use_token_latencies) continue;
    if (key.gate == KeyGate::kInferTokenLatencies && !settings.infer_token_latencies) continue;
    const std::string* text =
        Lookup(kv, model, key.fixed_scenario ? key.fixed_scenario : scenario, key.name);
    if (text == nullptr) continue;
    switch (key.kind) {
      case ValueKind::kUint64:
        settings.*key.u64_field = IntegerValue(*text, key.multiplier);
        break;
      case ValueKind::kInt32:
        settings.*key.u64_field = TruncateToInt32(IntegerValue(*text, key.multiplier));
        break;
      case ValueKind::kDouble:
        settings.*key.double_field = DoubleValue(*text, key.multiplier);
        break;
      case ValueKind::kFlagIsOne:
        settings.*key.flag_field = IntegerValue(*text, 1) == 1;
        break;
      case ValueKind::kFlagNonZero:
        settings.*key.flag_field = IntegerValue(*text, 1) != 0;
        break;
      case ValueKind::kMode: {
        uint64_t mode = IntegerValue(*text, 1);
        if (mode <= 3) {
          settings.mode = static_cast<mlperf::TestMode>(mode);
        } else {
          ctx.AddPending(ConfigDiagnostic("Invalid value passed to Mode key in config.",
                                          kLineInvalidMode));
        }
        break;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Linter helpers
// ---------------------------------------------------------------------------------------------

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The closest candidate within edit distance 2 (case-insensitive), or "".
std::string Closest(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = 3;
  std::string lowered = Lower(word);
  for (const std::string& candidate : candidates) {
    size_t distance = EditDistance(lowered, Lower(candidate));
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

std::vector<std::string> KnownNames() {
  std::vector<std::string> names;
  for (const KnownKey& key : KnownKeys()) {
    if (std::find(names.begin(), names.end(), key.name) == names.end()) {
      names.push_back(key.name);
    }
  }
  return names;
}

// TestSettings attribute names people write instead of the config key.
const std::map<std::string, std::string>& AttributeAliases() {
  static const std::map<std::string, std::string> aliases = {
      {"min_duration_ms", "min_duration"},
      {"max_duration_ms", "max_duration"},
      {"server_target_qps", "Server.target_qps"},
      {"offline_expected_qps", "Offline.target_qps"},
      {"expected_qps", "Offline.target_qps"},
      {"single_stream_expected_latency_ns", "SingleStream.target_latency (in ms)"},
      {"multi_stream_expected_latency_ns", "MultiStream.target_latency (in ms)"},
      {"server_target_latency_ns", "Server.target_latency (in ms)"},
      {"expected_latency", "target_latency (in ms)"},
      {"multi_stream_samples_per_query", "MultiStream.samples_per_query"},
      {"server_coalesce_queries", "Server.coalesce_queries"},
      {"server_max_async_queries", "Server.max_async_queries"},
      {"performance_sample_count", "performance_sample_count_override"},
      {"accuracy_sample_count", "accuracy_sample_count_override"},
      {"server_ttft_latency", "Server.ttft_latency (in ms)"},
      {"server_tpot_latency", "Server.tpot_latency (in ms)"},
  };
  return aliases;
}

bool IsScenarioName(const std::string& name) {
  for (const char* scenario : kScenarioNames) {
    if (name == scenario) return true;
  }
  return false;
}

bool ReadsUnder(const KnownKey& key, const std::string& scenario) {
  return key.fixed_scenario == nullptr || scenario == "*" || scenario == key.fixed_scenario;
}

// The scenarios a key is bound to, in the usual scenario order.
std::string JoinFixedScenarios(const std::vector<const KnownKey*>& rows) {
  std::string out;
  for (const char* scenario : kScenarioNames) {
    for (const KnownKey* row : rows) {
      if (row->fixed_scenario == nullptr || std::string_view(row->fixed_scenario) != scenario) {
        continue;
      }
      if (!out.empty()) out += ", ";
      out += scenario;
      break;
    }
  }
  return out;
}

std::string ToString(uint64_t value) { return std::to_string(value); }

// "010" and "-07" are octal for integer keys.
bool LooksOctal(const std::string& text) {
  size_t i = (text[0] == '+' || text[0] == '-') ? 1 : 0;
  if (text.size() < i + 2 || text[i] != '0') return false;
  for (size_t j = i + 1; j < text.size(); ++j) {
    if (text[j] < '0' || text[j] > '9') return false;
  }
  return true;
}

bool FullyInteger(const std::string& text) {
  char* end = nullptr;
  std::strtoull(text.c_str(), &end, 0);
  return end == text.c_str() + text.size();
}

class Linter {
 public:
  explicit Linter(std::string file) : file_(std::move(file)) {}

  std::vector<ConfigProblem> Run(const std::vector<ConfigLine>& lines) {
    for (const ConfigLine& line : lines) CheckLine(line);
    return std::move(problems_);
  }

 private:
  void Add(const ConfigLine& line, const std::string& key, std::string message,
           std::string suggestion = "") {
    problems_.push_back(
        ConfigProblem{file_, line.number, key, std::move(message), std::move(suggestion)});
  }

  static std::string Rewritten(const std::string& key, const std::string& value) {
    return key + " = " + value;
  }

  void CheckLine(const ConfigLine& line) {
    if (line.tokens.empty() || line.tokens[0] == "#") return;
    const std::string& first = line.tokens[0];
    if (first[0] == '#') {
      if (line.error == LineError::kExpectedEquals) {
        std::string comment = "# " + first.substr(1);
        for (size_t i = 1; i < line.tokens.size(); ++i) comment += " " + line.tokens[i];
        Add(line, "",
            "comment without a space after '#': the official parser reads '" + first +
                "' as a key and rejects the whole file",
            comment);
      }
      return;  // "#text" alone, or "#key = value", is inert
    }

    if (line.error == LineError::kExpectedEquals) {
      CheckExpectedEquals(line);
      return;
    }

    std::string key = line.key;
    if (!line.has_equals) {
      size_t equals = first.find('=');
      if (equals != std::string::npos && equals > 0) {
        key = first.substr(0, equals);
        std::string value = first.substr(equals + 1);
        if (value.empty()) {
          Add(line, key, "no value after '=': the line is ignored");
        } else {
          Add(line, key,
              "'" + first + "' has no spaces around '=': the official parser silently ignores "
              "it",
              Rewritten(key, value));
        }
        CheckKey(line, key, value);
        return;
      }
      Add(line, key, "'" + key + "' has no '= value': the line is ignored");
      CheckKey(line, key, "");
      return;
    }

    if (line.error == LineError::kBadValue) {
      const std::string& token = line.tokens[line.error_token];
      if (token[0] == '#') {
        std::string value = line.values.empty() ? "<value>" : line.values.back();
        Add(line, key,
            "comment after the value: the official parser reads '#' as a value and rejects "
            "the whole file; put the comment on its own line",
            Rewritten(key, value));
      } else {
        Add(line, key,
            "value '" + token +
                "' is not a number (decimal, 0x hex or floating point): the official parser "
                "rejects the whole file");
      }
      CheckKey(line, key, "");
      return;
    }

    if (line.values.empty()) {
      Add(line, key, "no value after '=': the line is ignored");
      CheckKey(line, key, "");
      return;
    }
    if (line.values.size() > 1) {
      Add(line, key,
          "several values: the official parser keeps only the last one ('" +
              line.values.back() + "')",
          Rewritten(key, line.values.back()));
    }
    CheckDuplicate(line, key);
    CheckKey(line, key, line.values.back());
  }

  void CheckExpectedEquals(const ConfigLine& line) {
    const std::string& first = line.tokens[0];
    const std::string& second = line.tokens[1];
    size_t equals = first.find('=');
    if (equals != std::string::npos || second[0] == '=') {
      // "key= 5" or "key =5": rebuild the intended line for the suggestion.
      std::string key = first.substr(0, equals);
      std::vector<std::string> rest;
      if (equals != std::string::npos) {
        rest.push_back(first.substr(equals + 1));
        rest.insert(rest.end(), line.tokens.begin() + 1, line.tokens.end());
      } else {
        rest.push_back(second.substr(1));
        rest.insert(rest.end(), line.tokens.begin() + 2, line.tokens.end());
      }
      std::string value;
      for (const std::string& token : rest) {
        if (token.empty()) continue;
        if (!value.empty()) value += " ";
        value += token;
      }
      Add(line, key,
          "write spaces on both sides of '=': the official parser rejects the whole file "
          "on this line",
          Rewritten(key, value));
      CheckKey(line, key, "");
      return;
    }
    Add(line, first,
        "expected 'key = value' but the second word is '" + second +
            "': the official parser rejects the whole file");
    CheckKey(line, first, "");
  }

  void CheckDuplicate(const ConfigLine& line, const std::string& key) {
    auto [it, inserted] = first_line_.emplace(key, line.number);
    if (!inserted) {
      Add(line, key,
          "'" + key + "' is set again: this line overrides line " +
              std::to_string(it->second) + " (the last one wins)");
      it->second = line.number;
    }
  }

  // Checks the key's structure and, when `value` is not empty, how the value is read.
  void CheckKey(const ConfigLine& line, const std::string& key, const std::string& value) {
    size_t last_dot = key.rfind('.');
    size_t scenario_dot =
        (last_dot == std::string::npos || last_dot == 0) ? std::string::npos
                                                          : key.rfind('.', last_dot - 1);
    if (scenario_dot == std::string::npos) {
      std::string name = last_dot == std::string::npos ? key : key.substr(last_dot + 1);
      std::string known = KnownOrClosest(name);
      Add(line, key,
          "key must have the form model.scenario.name ('*' matches any model or scenario): "
          "this key is never read",
          known.empty() ? "" : "*.*." + known);
      return;
    }
    std::string scenario = key.substr(scenario_dot + 1, last_dot - scenario_dot - 1);
    std::string name = key.substr(last_dot + 1);
    std::string prefix = key.substr(0, scenario_dot);

    bool scenario_ok = scenario == "*" || IsScenarioName(scenario);
    if (!scenario_ok) {
      if (Lower(scenario) == "interactive") {
        Add(line, key,
            "'Interactive' is not a LoadGen scenario: interactive benchmarks use scenario "
            "Server with the model name ending in '-interactive'",
            prefix == "*" ? "" : prefix + "-interactive.Server." + name);
      } else {
        std::vector<std::string> scenarios(std::begin(kScenarioNames), std::end(kScenarioNames));
        std::string guess = Closest(scenario, scenarios);
        Add(line, key,
            "unknown scenario '" + scenario +
                "': use SingleStream, MultiStream, Server, Offline or '*'; this key is never "
                "read" + (guess.empty() ? "" : " (did you mean '" + guess + "'?)"),
            guess.empty() ? "" : prefix + "." + guess + "." + name);
      }
    }

    std::vector<const KnownKey*> rows;
    for (const KnownKey& row : KnownKeys()) {
      if (name == row.name) rows.push_back(&row);
    }
    if (rows.empty()) {
      ReportUnknownName(line, key, prefix + "." + scenario, name);
      return;
    }
    if (!scenario_ok) return;

    std::vector<const KnownKey*> read_rows;
    for (const KnownKey* row : rows) {
      if (ReadsUnder(*row, scenario)) read_rows.push_back(row);
    }
    if (read_rows.empty()) {
      Add(line, key,
          "'" + name + "' is only read for " + JoinFixedScenarios(rows) + "; under '" +
              scenario + "' it is never read");
      return;
    }
    if (rows.front()->scope == KeyScope::kMlperfConfOnly) {
      Add(line, key,
          "'" + name +
              "' is reserved to mlperf.conf: it is ignored in this file and the official "
              "value applies");
      return;
    }
    if (!value.empty()) CheckValue(line, key, value, read_rows);
  }

  std::string KnownOrClosest(const std::string& name) {
    std::vector<std::string> names = KnownNames();
    if (std::find(names.begin(), names.end(), name) != names.end()) return name;
    return Closest(name, names);
  }

  void ReportUnknownName(const ConfigLine& line, const std::string& key,
                         const std::string& prefix, const std::string& name) {
    const auto& aliases = AttributeAliases();
    auto alias = aliases.find(name);
    if (alias != aliases.end()) {
      Add(line, key,
          "unknown key '" + name + "' (a TestSettings attribute, not a config key): use '" +
              alias->second + "'; this line is ignored");
      return;
    }
    std::string guess = Closest(name, KnownNames());
    Add(line, key,
        "unknown key '" + name + "': LoadGen ignores this line" +
            (guess.empty() ? "" : " (did you mean '" + guess + "'?)"),
        guess.empty() ? "" : prefix + "." + guess);
  }

  void CheckValue(const ConfigLine& line, const std::string& key, const std::string& value,
                  const std::vector<const KnownKey*>& rows) {
    bool integer_checked = false;
    bool double_checked = false;
    for (const KnownKey* row : rows) {
      if (IsIntegerKind(row->kind) && !integer_checked) {
        integer_checked = true;
        CheckIntegerValue(line, key, value, *row);
      } else if (!IsIntegerKind(row->kind) && !double_checked) {
        double_checked = true;
        CheckDoubleValue(line, key, value, *row);
      }
    }
  }

  void CheckIntegerValue(const ConfigLine& line, const std::string& key, const std::string& value,
                         const KnownKey& row) {
    uint64_t read = std::strtoull(value.c_str(), nullptr, 0);
    std::string name = row.name;
    if (!FullyInteger(value)) {
      Add(line, key,
          "'" + name + "' takes an integer: '" + value + "' is read as " + ToString(read) +
              (value.find_first_of("xX") == std::string::npos && LooksOctal(value)
                   ? " (a leading 0 means octal)"
                   : " (the fraction or exponent is dropped before scaling)"),
          Rewritten(key, ToString(read)));
      return;
    }
    if (LooksOctal(value)) {
      Add(line, key,
          "'" + value + "' has a leading 0, so it is read as octal (= " + ToString(read) +
              "); drop the leading zeros if you meant decimal",
          Rewritten(key, ToString(read)));
      return;
    }
    if (value[0] == '-' && read != 0) {
      Add(line, key,
          "negative value for '" + name + "': it wraps around to " + ToString(read));
      return;
    }
    switch (row.kind) {
      case ValueKind::kFlagIsOne:
        if (read != 0 && read != 1) {
          Add(line, key,
              "only 1 turns '" + name + "' on: " + value + " reads as off", Rewritten(key, "1"));
        }
        break;
      case ValueKind::kMode:
        if (read > 3) {
          Add(line, key,
              "mode must be 0 (SubmissionRun), 1 (AccuracyOnly), 2 (PerformanceOnly) or 3 "
              "(FindPeakPerformance): the official parser logs an error and keeps the previous "
              "mode");
        }
        break;
      case ValueKind::kInt32:
        if (read > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
          Add(line, key,
              "'" + name + "' is stored as a 32-bit int: " + value + " becomes " +
                  ToString(TruncateToInt32(read)));
        }
        break;
      default:
        break;
    }
  }

  void CheckDoubleValue(const ConfigLine& line, const std::string& key, const std::string& value,
                        const KnownKey& row) {
    double read = std::strtod(value.c_str(), nullptr);
    std::string name = row.name;
    if (!std::isfinite(read)) {
      Add(line, key, "'" + name + "' must be a finite number, not '" + value + "'");
      return;
    }
    if (row.multiplier == kPercent) {
      if (read <= 0 || read >= 100) {
        Add(line, key,
            "'" + name + "' is a percent and must be between 0 and 100 (e.g. 99 for the 99th "
            "percentile)");
      } else if (read < 1) {
        Add(line, key,
            "'" + name + "' is a percent: " + value + " means p = " + value +
                " / 100; write " + PercentText(read) + " if you meant p = " + value,
            Rewritten(key, PercentText(read)));
      }
      return;
    }
    if (read < 0) {
      Add(line, key, "'" + name + "' must not be negative");
    }
  }

  static std::string PercentText(double fraction) {
    std::ostringstream out;
    out << fraction * 100;
    return out.str();
  }

  std::string file_;
  std::vector<ConfigProblem> problems_;
  std::map<std::string, int> first_line_;
};

// The rules-file path set by SetMlperfConfPath.
std::mutex& PathMutex() {
  static std::mutex mu;
  return mu;
}
std::string& ExplicitPath() {
  static std::string path;
  return path;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public functions
// ---------------------------------------------------------------------------------------------

void SetMlperfConfPath(const std::string& path) {
  std::lock_guard<std::mutex> lock(PathMutex());
  ExplicitPath() = path;
}

std::string MlperfConfPath() {
  {
    std::lock_guard<std::mutex> lock(PathMutex());
    if (!ExplicitPath().empty()) return ExplicitPath();
  }
  const char* from_env = std::getenv("LOADGEN_MLPERF_CONF");
  if (from_env != nullptr && *from_env != '\0') return from_env;
  if (std::ifstream(LOADGEN_MLPERF_CONF_INSTALL_PATH).good()) {
    return LOADGEN_MLPERF_CONF_INSTALL_PATH;
  }
  return LOADGEN_MLPERF_CONF_BUILD_PATH;
}

int ConfigContext::NextUserConfCall() {
  std::lock_guard<std::mutex> lock(mu_);
  return user_conf_calls_++;
}

void ConfigContext::AddPending(Diagnostic d) {
  int64_t now = NowNs();
  std::lock_guard<std::mutex> lock(mu_);
  pending_.emplace_back(now, std::move(d));
}

std::vector<std::pair<int64_t, Diagnostic>> ConfigContext::TakePending() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<int64_t, Diagnostic>> out;
  out.swap(pending_);
  return out;
}

ConfigContext& ConfigContext::Process() {
  // Never destroyed: FromConfig may run from static destructors of harness objects.
  static ConfigContext* context = new ConfigContext;
  return *context;
}

int FromConfig(mlperf::TestSettings& settings, const std::string& path, const std::string& model,
               const std::string& scenario, int conf_type, ConfigContext& ctx) {
  if (conf_type == 1) {
    // Only the first user.conf of the process gets the rules applied underneath it.
    if (ctx.NextUserConfCall() == 0) {
      FromConfig(settings, path, model, scenario, 0, ctx);
    } else {
      ctx.AddPending(ConfigDiagnostic(
          "Multiple conf files are used. This is not valid for official submission.",
          kLineMultipleConf));
    }
  }

  std::string source = conf_type == 0 ? MlperfConfPath() : path;
  std::ifstream file(source);
  if (!file.is_open()) {
    std::string message = "can't open file " + source;
    if (conf_type == 0) {
      message += " (the rules file mlperf.conf; set LOADGEN_MLPERF_CONF to its location)";
    }
    ctx.AddPending(ConfigDiagnostic(std::move(message), kLineCantOpen));
    return -ENOENT;
  }

  std::vector<ConfigLine> lines = ParseLines(file);
  bool has_errors = false;
  for (const ConfigLine& line : lines) {
    if (line.error == LineError::kExpectedEquals) {
      ctx.AddPending(ConfigDiagnostic("expected 'key=value', line=" + std::to_string(line.number),
                                      kLineExpectedEquals));
      has_errors = true;
    } else if (line.error == LineError::kBadValue) {
      ctx.AddPending(ConfigDiagnostic(
          "value needs to be integer or double, line=" + std::to_string(line.number),
          kLineBadValue));
      has_errors = true;
    }
  }
  if (has_errors) return -EINVAL;

  KeyValues kv;
  for (const ConfigLine& line : lines) {
    if (!line.values.empty()) kv[line.key] = line.values.back();
  }
  ApplyKeys(settings, kv, model, scenario, conf_type, ctx);
  return 0;
}

std::vector<ConfigProblem> LintConfigFile(const std::string& path) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    return {ConfigProblem{path, 0, "", "is a directory, not a config file", ""}};
  }
  std::ifstream file(path);
  if (!file.is_open()) {
    return {ConfigProblem{path, 0, "", "cannot open the file", ""}};
  }
  return Linter(path).Run(ParseLines(file));
}

std::vector<ConfigProblem> LintConfigText(const std::string& text, const std::string& file_name) {
  std::istringstream in(text);
  return Linter(file_name).Run(ParseLines(in));
}

}  // namespace loadgen::settings
