// settings stage: config files. The official FromConfig (official
// loadgen/test_settings_internal.cc, TestSettings::FromConfig) and ExplainConfig, its dry run.
// The pieces live beside it: config_keys (the key table), config_grammar (the line grammar),
// config_apply (reading a file and applying its keys), config_lint (the strict checker) and
// rules_discovery (finding mlperf.conf); this header also declares the latter two's entry points
// so its users need one include. docs/settings.md describes the keys.
#ifndef LOADGEN_SETTINGS_CONFIG_FILE_H_
#define LOADGEN_SETTINGS_CONFIG_FILE_H_

#include <string>
#include <vector>

#include "common/diagnostic.h"
#include "common/thread_annotations.h"
#include "settings/config_lint.h"
#include "settings/rules_discovery.h"
#include "test_settings.h"

namespace loadgen::settings {

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
std::vector<AppliedKey> ExplainConfig(const mlperf::TestSettings& settings, const std::string& path,
                                      const std::string& model, const std::string& scenario,
                                      int conf_type);

}  // namespace loadgen::settings

#endif  // LOADGEN_SETTINGS_CONFIG_FILE_H_
