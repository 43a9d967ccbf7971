// settings stage: finding mlperf.conf (explicit path, environment, beside the library, checkout).
#include "settings/rules_discovery.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <vector>

#include "common/thread_annotations.h"

#if defined(LOADGEN_MLPERF_CONF_FROM_LIBRARY) && !defined(_WIN32)
#include <dlfcn.h>
#endif

namespace loadgen::settings {
namespace {

// The rules-file path set by SetMlperfConfPath.
struct ExplicitRulesPath {
  common::Mutex mu;
  std::string path LOADGEN_GUARDED_BY(mu);
};
ExplicitRulesPath& ExplicitPath() {
  static ExplicitRulesPath* explicit_path = new ExplicitRulesPath();  // usable in static dtors
  return *explicit_path;
}

// Where an installed rules file may be, in order of preference.
std::vector<std::filesystem::path> RulesFileCandidates() {
  std::vector<std::filesystem::path> candidates;
#if defined(LOADGEN_MLPERF_CONF_FROM_LIBRARY) && !defined(_WIN32)
  // A shared library: at the path CMake configured relative to the library's folder. dladdr
  // names the file this code was loaded from; tried as loaded, then with links resolved.
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&RulesFileCandidates), &info) != 0 &&
      info.dli_fname != nullptr && *info.dli_fname != '\0') {
    std::error_code error;
    const std::filesystem::path loaded(info.dli_fname);
    for (const std::filesystem::path& library :
         {loaded, std::filesystem::canonical(loaded, error)}) {
      if (library.empty()) continue;
      candidates.push_back(
          (library.parent_path() / LOADGEN_MLPERF_CONF_FROM_LIBRARY).lexically_normal());
    }
  }
#endif
#ifdef LOADGEN_MLPERF_CONF_SOURCE_PATH
  // A build from a checkout: the checkout's file.
  candidates.emplace_back(LOADGEN_MLPERF_CONF_SOURCE_PATH);
#endif
  return candidates;
}

}  // namespace

void SetMlperfConfPath(const std::string& path) {
  ExplicitRulesPath& rules = ExplicitPath();
  common::MutexLock lock(&rules.mu);
  rules.path = path;
}

std::string MlperfConfPath() {
  {
    ExplicitRulesPath& rules = ExplicitPath();
    common::MutexLock lock(&rules.mu);
    if (!rules.path.empty()) return rules.path;
  }
  const char* from_env = std::getenv("LOADGEN_MLPERF_CONF");
  if (from_env != nullptr && *from_env != '\0') return from_env;
  for (const std::filesystem::path& candidate : RulesFileCandidates()) {
    std::error_code error;
    if (std::filesystem::is_regular_file(candidate, error)) return candidate.string();
  }
  return "";  // FromConfig uses the copy built into the library
}

}  // namespace loadgen::settings
