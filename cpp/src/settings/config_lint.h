// settings stage: the strict config-file checker (`loadgen validate`, from_config(strict=True)):
// what the official parser rejects, and what it silently ignores.
#ifndef LOADGEN_SETTINGS_CONFIG_LINT_H_
#define LOADGEN_SETTINGS_CONFIG_LINT_H_

#include <string>
#include <vector>

namespace loadgen::settings {

/// One problem found by the strict checker.
struct ConfigProblem {
  std::string file;
  int line = 0;            // 1-based
  std::string key;         // the key text, may be empty
  std::string message;     // what is wrong and what to do
  std::string suggestion;  // did-you-mean, may be empty
};

/// Strict lint of a config file: everything the official parser rejects, plus what it silently
/// ignores (unknown keys, `key=5` without spaces, trailing comments, octal-looking integers).
std::vector<ConfigProblem> LintConfigFile(const std::string& path);
std::vector<ConfigProblem> LintConfigText(const std::string& text, const std::string& file_name);

}  // namespace loadgen::settings

#endif  // LOADGEN_SETTINGS_CONFIG_LINT_H_
