// settings stage: the official FromConfig and its dry run, ExplainConfig.
#include "settings/config_file.h"

#include <utility>

#include "common/clock.h"
#include "settings/config_apply.h"

namespace loadgen::settings {
namespace {

// The official build's line number for the multiple-conf warning (metadata.line_no).
constexpr int kLineMultipleConf = 562;

}  // namespace

int ConfigContext::NextUserConfCall() {
  common::MutexLock lock(&mu_);
  return user_conf_calls_++;
}

void ConfigContext::AddPending(Diagnostic d) {
  int64_t now = NowNs();
  common::MutexLock lock(&mu_);
  pending_.emplace_back(now, std::move(d));
}

std::vector<std::pair<int64_t, Diagnostic>> ConfigContext::TakePending() {
  common::MutexLock lock(&mu_);
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
  KeyValues kv;
  const int rc = ReadKeyValues(source, conf_type, kv, ctx);
  if (rc != 0) return rc;
  ApplyKeys(settings, kv, model, scenario, conf_type, ctx);
  return 0;
}

std::vector<AppliedKey> ExplainConfig(const mlperf::TestSettings& settings, const std::string& path,
                                      const std::string& model, const std::string& scenario,
                                      int conf_type) {
  const std::string source = conf_type == 0 ? MlperfConfPath() : path;
  ConfigContext scratch;  // keeps the messages out of the next test's detail log
  KeyValues kv;
  std::vector<AppliedKey> applied;
  if (ReadKeyValues(source, conf_type, kv, scratch) != 0) return applied;
  mlperf::TestSettings copy = settings;
  ApplyKeys(copy, kv, model, scenario, conf_type, scratch, source, &applied);
  return applied;
}

}  // namespace loadgen::settings
