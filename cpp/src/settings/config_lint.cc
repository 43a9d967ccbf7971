// settings stage: the strict config-file checker. Every message says what the official parser
// does with the line (rejects the file, ignores the line, reads another value) and what to write.
#include "settings/config_lint.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string_view>
#include <utility>

#include "common/enum_names.h"
#include "settings/config_grammar.h"
#include "settings/config_keys.h"

namespace loadgen::settings {
namespace {

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

// What a TestSettings member is called in a config file: e.g. "Server.target_qps" for
// server_target_qps, with the key's unit where it differs from the member's.
std::string KeyForMember(const KnownKey& key) {
  std::string text = key.fixed_scenario ? std::string(key.fixed_scenario) + "." : "";
  text += key.name;
  if (key.multiplier == kMsToNs) text += " (in ms)";
  if (key.multiplier == kPercent) text += " (in %)";
  return text;
}

// TestSettings attribute names people write instead of the config key: every member the key
// table names differently, plus a few names of the official Python API's documentation.
const std::map<std::string, std::string>& AttributeAliases() {
  static const std::map<std::string, std::string> aliases = [] {
    std::map<std::string, std::string> out = {
        {"expected_qps", "Offline.target_qps"},
        {"expected_latency", "target_latency (in ms)"},
        {"performance_sample_count", "performance_sample_count_override"},
        {"accuracy_sample_count", "accuracy_sample_count_override"},
    };
    for (const KnownKey& key : KnownKeys()) {
      if (std::string_view(key.member) != key.name) out.emplace(key.member, KeyForMember(key));
    }
    return out;
  }();
  return aliases;
}

// "A, B, C or D" ("A" alone, "A or B").
std::string JoinChoices(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? " or " : ", ";
    out += items[i];
  }
  return out;
}

// "SingleStream, MultiStream, Server, Offline or '*'".
std::string ScenarioChoices() {
  std::vector<std::string> items = ConfigScenarioNames();
  items.push_back("'*'");
  return JoinChoices(items);
}

// "0 (SubmissionRun), 1 (AccuracyOnly), ... or 3 (FindPeakPerformance)": the config-file value
// of a mode is its enum value.
std::string ModeChoices() {
  std::vector<std::string> items;
  for (mlperf::TestMode mode : kAllModes) {
    items.push_back(std::to_string(static_cast<int>(mode)) + " (" + ModeName(mode) + ")");
  }
  return JoinChoices(items);
}

bool IsScenarioName(const std::string& name) {
  const std::vector<std::string> names = ConfigScenarioNames();
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool ReadsUnder(const KnownKey& key, const std::string& scenario) {
  return key.fixed_scenario == nullptr || scenario == "*" || scenario == key.fixed_scenario;
}

// The scenarios a key is bound to, in the usual scenario order.
std::string JoinFixedScenarios(const std::vector<const KnownKey*>& rows) {
  std::string out;
  for (const std::string& scenario : ConfigScenarioNames()) {
    for (const KnownKey* row : rows) {
      if (row->fixed_scenario == nullptr || row->fixed_scenario != scenario) {
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
    if (line.tokens[0][0] == '#') {
      CheckCommentLine(line);
      return;
    }
    if (line.error == LineError::kExpectedEquals) {
      CheckExpectedEquals(line);
      return;
    }
    if (!line.has_equals) {
      CheckLineWithoutEquals(line);
      return;
    }
    if (line.error == LineError::kBadValue) {
      CheckBadValue(line);
      return;
    }
    const std::string& key = line.key;
    if (line.values.empty()) {
      Add(line, key, "no value after '=': the line is ignored");
      CheckKey(line, key, "");
      return;
    }
    if (line.values.size() > 1) {
      Add(line, key,
          "several values: the official parser keeps only the last one ('" + line.values.back() +
              "')",
          Rewritten(key, line.values.back()));
    }
    CheckDuplicate(line, key);
    CheckKey(line, key, line.values.back());
  }

  // "#text" alone, or "#key = value", is inert; "#text more words" rejects the file.
  void CheckCommentLine(const ConfigLine& line) {
    if (line.error != LineError::kExpectedEquals) return;
    const std::string& first = line.tokens[0];
    std::string comment = "# " + first.substr(1);
    for (size_t i = 1; i < line.tokens.size(); ++i) comment += " " + line.tokens[i];
    Add(line, "",
        "comment without a space after '#': the official parser reads '" + first +
            "' as a key and rejects the whole file",
        comment);
  }

  // A lone word: "key=5", "key=" or just "key".
  void CheckLineWithoutEquals(const ConfigLine& line) {
    const std::string& first = line.tokens[0];
    size_t equals = first.find('=');
    if (equals == std::string::npos || equals == 0) {
      Add(line, line.key, "'" + line.key + "' has no '= value': the line is ignored");
      CheckKey(line, line.key, "");
      return;
    }
    std::string key = first.substr(0, equals);
    std::string value = first.substr(equals + 1);
    if (value.empty()) {
      Add(line, key, "no value after '=': the line is ignored");
    } else {
      Add(line, key,
          "'" + first + "' has no spaces around '=': the official parser silently ignores it",
          Rewritten(key, value));
    }
    CheckKey(line, key, value);
  }

  void CheckBadValue(const ConfigLine& line) {
    const std::string& key = line.key;
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
          "'" + key + "' is set again: this line overrides line " + std::to_string(it->second) +
              " (the last one wins)");
      it->second = line.number;
    }
  }

  // Checks the key's structure and, when `value` is not empty, how the value is read.
  // Checks the key's structure (model.scenario.name) and, when `value` is not empty, how the
  // value is read.
  void CheckKey(const ConfigLine& line, const std::string& key, const std::string& value) {
    size_t last_dot = key.rfind('.');
    size_t scenario_dot = (last_dot == std::string::npos || last_dot == 0)
                              ? std::string::npos
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
    if (!scenario_ok) ReportUnknownScenario(line, key, prefix, scenario, name);

    std::vector<const KnownKey*> rows;
    for (const KnownKey& row : KnownKeys()) {
      if (name == row.name) rows.push_back(&row);
    }
    if (rows.empty()) {
      ReportUnknownName(line, key, prefix + "." + scenario, name);
      return;
    }
    if (scenario_ok) CheckKnownKey(line, key, scenario, name, rows, value);
  }

  void ReportUnknownScenario(const ConfigLine& line, const std::string& key,
                             const std::string& prefix, const std::string& scenario,
                             const std::string& name) {
    if (Lower(scenario) == "interactive") {
      Add(line, key,
          "'Interactive' is not a LoadGen scenario: interactive benchmarks use scenario "
          "Server with the model name ending in '-interactive'",
          prefix == "*" ? "" : prefix + "-interactive.Server." + name);
      return;
    }
    std::string guess = Closest(scenario, ConfigScenarioNames());
    Add(line, key,
        "unknown scenario '" + scenario + "': use " + ScenarioChoices() +
            "; this key is never read" + (guess.empty() ? "" : " (did you mean '" + guess + "'?)"),
        guess.empty() ? "" : prefix + "." + guess + "." + name);
  }

  // A known name under a valid scenario: is it read there, in this file, and how is the value
  // read? `rows` are the table rows with that name.
  void CheckKnownKey(const ConfigLine& line, const std::string& key, const std::string& scenario,
                     const std::string& name, const std::vector<const KnownKey*>& rows,
                     const std::string& value) {
    std::vector<const KnownKey*> read_rows;
    for (const KnownKey* row : rows) {
      if (ReadsUnder(*row, scenario)) read_rows.push_back(row);
    }
    if (read_rows.empty()) {
      Add(line, key,
          "'" + name + "' is only read for " + JoinFixedScenarios(rows) + "; under '" + scenario +
              "' it is never read");
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
    std::vector<std::string> names = KnownKeyNames();
    if (std::find(names.begin(), names.end(), name) != names.end()) return name;
    return Closest(name, names);
  }

  void ReportUnknownName(const ConfigLine& line, const std::string& key, const std::string& prefix,
                         const std::string& name) {
    const auto& aliases = AttributeAliases();
    auto alias = aliases.find(name);
    if (alias != aliases.end()) {
      Add(line, key,
          "unknown key '" + name + "' (a TestSettings attribute, not a config key): use '" +
              alias->second + "'; this line is ignored");
      return;
    }
    std::string guess = Closest(name, KnownKeyNames());
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
      Add(line, key, "negative value for '" + name + "': it wraps around to " + ToString(read));
      return;
    }
    switch (row.kind) {
      case ValueKind::kFlagIsOne:
        if (read != 0 && read != 1) {
          Add(line, key, "only 1 turns '" + name + "' on: " + value + " reads as off",
              Rewritten(key, "1"));
        }
        break;
      case ValueKind::kMode:
        if (read > 3) {
          Add(line, key,
              "mode must be " + ModeChoices() +
                  ": the official parser logs an error and keeps the previous mode");
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
            "'" + name +
                "' is a percent and must be between 0 and 100 (e.g. 99 for the 99th "
                "percentile)");
      } else if (read < 1) {
        Add(line, key,
            "'" + name + "' is a percent: " + value + " means p = " + value + " / 100; write " +
                PercentText(read) + " if you meant p = " + value,
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

}  // namespace

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
