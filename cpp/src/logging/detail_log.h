// logging stage: mlperf_log_detail.txt (":::MLLOG {json}" lines; docs/official-behaviour.md
// #logging-detail-log, official loadgen/logging.cc AsyncLog::LogDetail).
#ifndef LOADGEN_LOGGING_DETAIL_LOG_H_
#define LOADGEN_LOGGING_DETAIL_LOG_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/diagnostic.h"
#include "common/thread_annotations.h"

namespace loadgen::logging {

/// A detail-log value, rendered as the official LoadGen renders it.
class JsonValue {
 public:
  static JsonValue String(std::string_view s);
  static JsonValue Int(int64_t v);
  static JsonValue Uint(uint64_t v);
  static JsonValue Double(double v);  // %g, 6 significant digits
  static JsonValue Bool(bool v);
  static JsonValue IndexList(const std::vector<uint64_t>& v);  // "[a,b,c]"
  static JsonValue Raw(std::string json);
  const std::string& text() const { return text_; }

 private:
  explicit JsonValue(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

/// OS thread id of the caller (Linux TID), as the official metadata.tid.
int CurrentThreadId();

/// Writes detail lines. Thread-safe (one mutex); used by the StartTest thread and by the log
/// writer thread, never by a completing thread on the hot path.
class DetailLog {
 public:
  /// `file` may be null (lines then go only to stdout, if asked). Does not own `file`.
  DetailLog(std::FILE* file, bool copy_to_stdout, int64_t origin_ns);

  void Log(std::string_view key, const JsonValue& value, Severity severity = Severity::kInfo,
           const char* source_file = "loadgen.cc", int source_line = 0, int64_t time_ns = NowNs(),
           int tid = CurrentThreadId());
  void Log(const Diagnostic& d, int64_t time_ns = NowNs());

  uint64_t error_count() const;
  uint64_t warning_count() const;
  int64_t origin_ns() const { return origin_ns_; }
  void Flush();

 private:
  std::FILE* file_;
  bool copy_to_stdout_;
  int64_t origin_ns_;
  int pid_;
  mutable common::Mutex mu_;  // also serialises the writes to file_ and stdout
  uint64_t errors_ LOADGEN_GUARDED_BY(mu_) = 0;
  uint64_t warnings_ LOADGEN_GUARDED_BY(mu_) = 0;
  std::string line_ LOADGEN_GUARDED_BY(mu_);
};

}  // namespace loadgen::logging

#endif  // LOADGEN_LOGGING_DETAIL_LOG_H_
