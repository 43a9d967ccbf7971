// A message for the detail log produced outside the hot path (settings, config files, runs).
#ifndef LOADGEN_COMMON_DIAGNOSTIC_H_
#define LOADGEN_COMMON_DIAGNOSTIC_H_

#include <string>
#include <vector>

namespace loadgen {

enum class Severity { kInfo, kWarning, kError };

struct Diagnostic {
  Severity severity = Severity::kInfo;
  std::string key;                  // detail-log key, e.g. "error_invalid_config"
  std::string message;              // detail-log value (a string)
  const char* file = "loadgen.cc";  // reported as metadata.file
  int line = 0;                     // reported as metadata.line_no
};

using Diagnostics = std::vector<Diagnostic>;

}  // namespace loadgen

#endif  // LOADGEN_COMMON_DIAGNOSTIC_H_
