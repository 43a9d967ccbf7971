// logging stage: the four output files of a test and their names
// (docs/official-behaviour.md#logging-files).
#ifndef LOADGEN_LOGGING_LOG_FILES_H_
#define LOADGEN_LOGGING_LOG_FILES_H_

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "test_settings.h"

namespace loadgen::logging {

/// Where the four logs of one test go.
struct LogPaths {
  std::string summary;
  std::string detail;
  std::string accuracy;
  std::string trace;
};

/// outdir + "/" + prefix + [test_datetime + "_"] + kind + suffix + ext, as the official LoadGen
/// names them. `test_datetime` is used only with `prefix_with_datetime`.
LogPaths MakeLogPaths(const mlperf::LogOutputSettings& settings, const std::string& test_datetime);

/// Owns the four open log files of one test. Each has a large stdio buffer; the destructor
/// closes them (without reporting errors: call Close() to learn about a failed final write).
/// Thread-safety: the object is not synchronised; each FILE* is used by one writer at a time.
class LogFiles {
 public:
  LogFiles() = default;
  LogFiles(LogFiles&& other) noexcept;
  LogFiles& operator=(LogFiles&& other) noexcept;
  LogFiles(const LogFiles&) = delete;
  LogFiles& operator=(const LogFiles&) = delete;
  ~LogFiles();

  std::FILE* summary() const { return summary_.file; }
  std::FILE* detail() const { return detail_.file; }
  std::FILE* accuracy() const { return accuracy_.file; }
  /// Open even when tracing is off: the official LoadGen leaves an empty trace file.
  std::FILE* trace() const { return trace_.file; }
  const LogPaths& paths() const { return paths_; }
  bool is_open() const { return summary_.file != nullptr; }

  /// Flushes and closes all four files; idempotent. Throws loadgen::LogError naming each file
  /// whose buffered data could not be written (for example a full disk); all are closed anyway.
  void Close();

 private:
  friend LogFiles OpenLogFiles(const mlperf::LogOutputSettings& settings,
                               const std::string& test_datetime);

  struct Stream {
    std::FILE* file = nullptr;
    // setvbuf buffer; must outlive `file`.
    std::unique_ptr<char[]> buffer;
  };

  LogPaths paths_;
  Stream summary_;
  Stream detail_;
  Stream accuracy_;
  Stream trace_;
};

/// Creates or truncates the four files named by MakeLogPaths. The output directory must exist
/// (it is not created, as with the official LoadGen). If any file cannot be opened, throws
/// loadgen::LogError naming every failing path with the reason, and leaves the file system as it
/// was: files it had created are removed and existing files are not truncated.
LogFiles OpenLogFiles(const mlperf::LogOutputSettings& settings, const std::string& test_datetime);

/// The test's `test_datetime` (detail log key and file-name prefix): local time formatted as
/// "%Y-%m-%dT%H:%M:%SZ". The "Z" is wrong for local time but is what the official LoadGen writes.
std::string FormatTestDatetime(std::chrono::system_clock::time_point time);
std::string TestDatetimeNow();

/// power_begin / power_end value: "%m-%d-%Y %H:%M:%S.mmm" in UTC, milliseconds zero-padded.
std::string PowerTimeString(std::chrono::system_clock::time_point time);

}  // namespace loadgen::logging

#endif  // LOADGEN_LOGGING_LOG_FILES_H_
