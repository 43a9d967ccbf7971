// logging stage: mlperf_log_accuracy.json (docs/official-behaviour.md#logging-accuracy-log,
// official loadgen/logging.cc AsyncLog::LogAccuracy).
#ifndef LOADGEN_LOGGING_ACCURACY_LOG_H_
#define LOADGEN_LOGGING_ACCURACY_LOG_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace loadgen::logging {

/// Writes the accuracy log byte for byte as the official LoadGen does (TEST01's `--unixmode`
/// greps it line by line):
///
///     [
///     { "seq_id" : 0, "qsl_idx" : 295, "data" : "0000803F" },
///     { "seq_id" : 1, "qsl_idx" : 595, "data" : "" }
///     ]
///
/// Entries are appended to one reused buffer that is written out in large chunks.
/// Thread-safety: one thread (the log writer thread). Allocates: only while the buffer grows to
/// its working size (the flush threshold plus the largest entry).
/// Write errors do not throw: the first one is kept in error() and later output is dropped.
class AccuracyLogWriter {
 public:
  /// Does not own `file`, which must stay open until Finish() (or the destructor) has run.
  explicit AccuracyLogWriter(std::FILE* file, size_t flush_threshold_bytes = size_t{1} << 20);
  AccuracyLogWriter(const AccuracyLogWriter&) = delete;
  AccuracyLogWriter& operator=(const AccuracyLogWriter&) = delete;
  /// Calls Finish(), so the file is always valid JSON.
  ~AccuracyLogWriter();

  /// One entry: `"seq_id" : S, "qsl_idx" : I, "data" : "HEX"`.
  void Add(uint64_t seq_id, uint64_t qsl_idx, const uint8_t* data, size_t size);
  /// One entry of a token-latency run. Offline adds only `"token_count" : n`; the other
  /// scenarios add `"token_data" : "HEX", "token_count" : n` (token_data is the first-token
  /// response; "" when none was recorded).
  void AddWithTokens(uint64_t seq_id, uint64_t qsl_idx, const uint8_t* data, size_t size,
                     const uint8_t* token_data, size_t token_size, int64_t token_count,
                     bool offline);

  /// Writes the buffered entries to the file and fflushes it.
  void Flush();
  /// Closes the JSON array ("\n]\n") and flushes. Idempotent; entries added later are ignored.
  void Finish();

  uint64_t entry_count() const { return entry_count_; }
  /// Empty while every write succeeded; otherwise the reason of the first failure.
  const std::string& error() const { return error_; }

 private:
  struct Tokens {
    const uint8_t* data;
    size_t size;
    int64_t count;
    bool offline;
  };
  void AppendEntry(uint64_t seq_id, uint64_t qsl_idx, const uint8_t* data, size_t size,
                   const Tokens* tokens);
  void WriteBuffer();

  std::FILE* file_;
  size_t flush_threshold_;
  std::string buffer_;
  uint64_t entry_count_ = 0;
  bool finished_ = false;
  std::string error_;
};

}  // namespace loadgen::logging

#endif  // LOADGEN_LOGGING_ACCURACY_LOG_H_
