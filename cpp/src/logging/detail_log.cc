#include "logging/detail_log.h"

#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif

#include "logging/format.h"

namespace loadgen::logging {

JsonValue JsonValue::String(std::string_view s) { return JsonValue(JsonQuote(s)); }
JsonValue JsonValue::Int(int64_t v) { return JsonValue(std::to_string(v)); }
JsonValue JsonValue::Uint(uint64_t v) { return JsonValue(std::to_string(v)); }
JsonValue JsonValue::Double(double v) { return JsonValue(FormatG6(v)); }
JsonValue JsonValue::Bool(bool v) { return JsonValue(v ? "true" : "false"); }
JsonValue JsonValue::Raw(std::string json) { return JsonValue(std::move(json)); }
JsonValue JsonValue::IndexList(const std::vector<uint64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s.push_back(',');
    s += std::to_string(v[i]);
  }
  s.push_back(']');
  return JsonValue(std::move(s));
}

int CurrentThreadId() {
#if defined(__linux__)
  thread_local int tid = static_cast<int>(::syscall(SYS_gettid));
  return tid;
#else
  return static_cast<int>(::getpid());
#endif
}

DetailLog::DetailLog(std::FILE* file, bool copy_to_stdout, int64_t origin_ns)
    : file_(file), copy_to_stdout_(copy_to_stdout), origin_ns_(origin_ns), pid_(::getpid()) {}

void DetailLog::Log(const Diagnostic& d, int64_t time_ns) {
  Log(d.key, JsonValue::String(d.message), d.severity, d.file, d.line, time_ns);
}

void DetailLog::Log(std::string_view key, const JsonValue& value, Severity severity,
                    const char* source_file, int source_line, int64_t time_ns, int tid) {
  common::MutexLock lock(&mu_);
  const bool is_error = severity == Severity::kError;
  const bool is_warning = severity == Severity::kWarning;
  errors_ += is_error;
  warnings_ += is_warning;
  line_.clear();
  line_ += ":::MLLOG {\"key\": ";
  line_ += JsonQuote(key);
  line_ += ", \"value\": ";
  line_ += value.text();
  line_ += ", \"time_ms\": ";
  line_ += FormatTimeMs(time_ns - origin_ns_);
  line_ +=
      ", \"namespace\": \"mlperf::logging\", \"event_type\": \"POINT_IN_TIME\", "
      "\"metadata\": {\"is_error\": ";
  line_ += is_error ? "true" : "false";
  line_ += ", \"is_warning\": ";
  line_ += is_warning ? "true" : "false";
  line_ += ", \"file\": ";
  line_ += JsonQuote(source_file);
  line_ += ", \"line_no\": ";
  line_ += std::to_string(source_line);
  line_ += ", \"pid\": ";
  line_ += std::to_string(pid_);
  line_ += ", \"tid\": ";
  line_ += std::to_string(tid);
  line_ += "}}\n";
  if (file_) {
    std::fwrite(line_.data(), 1, line_.size(), file_);
    // Errors reach the disk at once, as the official log does, so a crash cannot hide them.
    if (is_error) std::fflush(file_);
  }
  if (copy_to_stdout_) {
    std::fwrite(line_.data(), 1, line_.size(), stdout);
  }
}

uint64_t DetailLog::error_count() const {
  common::MutexLock lock(&mu_);
  return errors_;
}

uint64_t DetailLog::warning_count() const {
  common::MutexLock lock(&mu_);
  return warnings_;
}

void DetailLog::Flush() {
  common::MutexLock lock(&mu_);
  if (file_) std::fflush(file_);
  if (copy_to_stdout_) std::fflush(stdout);
}

}  // namespace loadgen::logging
