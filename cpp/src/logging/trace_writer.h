// logging stage: mlperf_log_trace.json, a Chrome trace (docs/official-behaviour.md#logging-trace).
#ifndef LOADGEN_LOGGING_TRACE_WRITER_H_
#define LOADGEN_LOGGING_TRACE_WRITER_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

namespace loadgen::logging {

/// One entry of a trace event's "args" object: an integer or a string (JSON-escaped).
class TraceArg {
 public:
  template <typename T,
            std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  TraceArg(std::string_view key, T value)
      : key_(key),
        kind_(std::is_signed_v<T> ? Kind::kInt : Kind::kUint),
        int_(static_cast<int64_t>(value)),
        uint_(static_cast<uint64_t>(value)) {}
  TraceArg(std::string_view key, std::string_view value)
      : key_(key), kind_(Kind::kString), text_(value) {}
  TraceArg(std::string_view key, const char* value) : TraceArg(key, std::string_view(value)) {}

 private:
  friend class TraceWriter;
  enum class Kind { kInt, kUint, kString };
  std::string_view key_;
  Kind kind_;
  int64_t int_ = 0;
  uint64_t uint_ = 0;
  std::string_view text_;
};

/// The two per-sample trace records: the final completion ("Sample" async span, Server
/// "Latency" counter) and the first token ("Token" async span, Server "Token_Latency" counter).
enum class TraceSampleKind { kSample, kToken };

/// Times of one completed sample (or first token), on the loadgen clock.
struct TraceSample {
  uint64_t sample_seq = 0;
  uint64_t query_seq = 0;
  uint64_t sample_idx = 0;
  int64_t scheduled_ns = 0;    ///< span begin
  int64_t completed_ns = 0;    ///< span end; args.complete_ns = completed − scheduled
  int64_t issue_delay_ns = 0;  ///< args.issue_start_ns: issued − scheduled
};

/// Writes a Chrome trace in the official layout: `{"traceEvents":[`, one event per line, a
/// `{"name":"LastTrace"}` terminator, `"displayTimeUnit":"ns"` and `"otherData"` with the origin.
/// Unlike the official file, the output is strict JSON (string arguments are escaped once).
/// Timestamps are microseconds relative to the trace origin with three decimals.
///
/// A default-constructed writer is disabled: every call is a no-op and the file is left empty.
/// Thread-safety: one thread (the log writer thread). Allocates: only while the reused buffer
/// grows to its working size. Write errors do not throw: the first is kept in error() and later
/// output is dropped.
class TraceWriter {
 public:
  TraceWriter() = default;
  /// Does not own `file`, which must stay open until Finish() (or the destructor) has run.
  /// `origin_ns` is the loadgen-clock time that becomes ts 0; `origin_unix_ns` is the same
  /// instant on the system clock (written as otherData.ts); `pid` goes into every event.
  TraceWriter(std::FILE* file, int64_t origin_ns, int64_t origin_unix_ns, int pid,
              size_t flush_threshold_bytes = size_t{1} << 20);
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;
  /// Calls Finish(), so an enabled trace is always complete JSON.
  ~TraceWriter();

  bool enabled() const { return file_ != nullptr; }

  /// A complete ("ph":"X") event: IssueQuery, SampleLoop, LogDetail {key}, LoadSamples {count}...
  void Complete(std::string_view name, int tid, int64_t start_ns, int64_t duration_ns,
                std::initializer_list<TraceArg> args = {});
  /// The async begin/end pair of a sample ("Sample") or of its first token ("Token"), with args
  /// sample_seq, query_seq, sample_idx, issue_start_ns, complete_ns; id = sample_seq.
  void AsyncSample(TraceSampleKind kind, const TraceSample& sample);
  /// Server counter "Latency" or "Token_Latency" at `ts_ns` with args issue_delay and
  /// issue_to_done (nanoseconds).
  void LatencyCounter(TraceSampleKind kind, int64_t ts_ns, int64_t issue_delay_ns,
                      int64_t issue_to_done_ns);

  /// Writes the buffered events to the file and fflushes it.
  void Flush();
  /// Writes the footer and flushes. Idempotent; events added later are ignored.
  void Finish();

  uint64_t event_count() const { return event_count_; }
  const std::string& error() const { return error_; }

 private:
  bool Accepting() const { return file_ != nullptr && !finished_; }
  void EventWritten(uint64_t events);
  void WriteBuffer();

  std::FILE* file_ = nullptr;
  int64_t origin_ns_ = 0;
  int64_t origin_unix_ns_ = 0;
  int pid_ = 0;
  size_t flush_threshold_ = 0;
  std::string buffer_;
  uint64_t event_count_ = 0;
  bool finished_ = false;
  std::string error_;
};

}  // namespace loadgen::logging

#endif  // LOADGEN_LOGGING_TRACE_WRITER_H_
