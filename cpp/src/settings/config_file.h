// settings stage: the official config-file grammar (official loadgen/test_settings_internal.cc,
// TestSettings::FromConfig; the keys are listed in docs/settings.md).
#ifndef LOADGEN_SETTINGS_CONFIG_FILE_H_
#define LOADGEN_SETTINGS_CONFIG_FILE_H_

#include <string>
#include <vector>

#include "common/diagnostic.h"
#include "common/thread_annotations.h"
#include "test_settings.h"

namespace loadgen::settings {

/// Where the mlperf.conf FromConfig applies lives. Set by the Python package at import;
/// otherwise $LOADGEN_MLPERF_CONF, then the file installed beside a shared build of the library,
/// then the source tree's copy (builds from a checkout). MlperfConfPath() returns "" when none
/// of these exists: FromConfig then uses the copy built into the library.
/// Setting an empty path restores that default. Thread-safe.
void SetMlperfConfPath(const std::string& path);
std::string MlperfConfPath();

/// Process-wide state the official FromConfig keeps: the conf_type-1 call counter and the
/// messages waiting for the next test's detail log. One instance per process in the compat API;
/// tests make their own.
class ConfigContext {
 public:
  /// Thread-safe.
  int NextUserConfCall() LOADGEN_EXCLUDES(mu_);
  void AddPending(Diagnostic d) LOADGEN_EXCLUDES(mu_);
  /// Returns and clears the pending messages (with the time each was produced, ns since
  /// loadgen::NowNs epoch).
  std::vector<std::pair<int64_t, Diagnostic>> TakePending() LOADGEN_EXCLUDES(mu_);
  static ConfigContext& Process();

 private:
  common::Mutex mu_;
  int user_conf_calls_ LOADGEN_GUARDED_BY(mu_) = 0;
  std::vector<std::pair<int64_t, Diagnostic>> pending_ LOADGEN_GUARDED_BY(mu_);
};

/// The official FromConfig (returns 0, -ENOENT or -EINVAL), reporting into `ctx`.
int FromConfig(mlperf::TestSettings& settings, const std::string& path, const std::string& model,
               const std::string& scenario, int conf_type, ConfigContext& ctx);

/// One key a config file applied: the TestSettings member it set and where it was written.
struct AppliedKey {
  std::string field;  // member name, e.g. "server_target_qps"
  std::string key;    // the key as written, e.g. "*.Server.target_qps"
  std::string file;
  int line = 0;       // 1-based; the last line of that key wins, as in FromConfig
  std::string value;  // the value text as written
};

/// The keys FromConfig(settings, path, model, scenario, conf_type) applies, in application
/// order, without changing `settings` or any process state (no user.conf counting, no detail
/// log messages). conf_type 0 explains the rules file (MlperfConfPath()); other values explain
/// `path` alone. Empty if the file cannot be read or the official parser rejects it.
std::vector<AppliedKey> ExplainConfig(const mlperf::TestSettings& settings,
                                      const std::string& path, const std::string& model,
                                      const std::string& scenario, int conf_type);

/// One problem found by the strict checker.
struct ConfigProblem {
  std::string file;
  int line = 0;           // 1-based
  std::string key;        // the key text, may be empty
  std::string message;    // what is wrong and what to do
  std::string suggestion; // did-you-mean, may be empty
};

/// Strict lint of a config file: everything the official parser rejects, plus what it silently
/// ignores (unknown keys, `key=5` without spaces, trailing comments, octal-looking integers).
std::vector<ConfigProblem> LintConfigFile(const std::string& path);
std::vector<ConfigProblem> LintConfigText(const std::string& text, const std::string& file_name);

}  // namespace loadgen::settings

#endif  // LOADGEN_SETTINGS_CONFIG_FILE_H_
