#include "logging/trace_writer.h"

#include <cerrno>
#include <cstring>

#include "logging/format.h"

namespace loadgen::logging {
namespace {

// Upper bound of AppendMicros's output: sign, 17 digits (2^64 / 1000), '.', 3 digits.
constexpr size_t kMaxMicrosChars = 22;

// a − b, wrapping instead of overflowing (timestamps far from the origin stay defined).
int64_t Diff(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}

// ns as microseconds with exactly three decimals; negative values keep their sign.
void AppendMicros(SpanAppender& out, int64_t ns) {
  uint64_t magnitude = static_cast<uint64_t>(ns);
  if (ns < 0) {
    out.Char('-');
    magnitude = 0 - magnitude;  // also right for INT64_MIN
  }
  out.Uint(magnitude / 1000);
  const unsigned frac = static_cast<unsigned>(magnitude % 1000);
  out.Char('.');
  out.Char(static_cast<char>('0' + frac / 100));
  out.Char(static_cast<char>('0' + frac / 10 % 10));
  out.Char(static_cast<char>('0' + frac % 10));
}

}  // namespace

TraceWriter::TraceWriter(std::FILE* file, int64_t origin_ns, int64_t origin_unix_ns, int pid,
                         size_t flush_threshold_bytes)
    : file_(file),
      origin_ns_(origin_ns),
      origin_unix_ns_(origin_unix_ns),
      pid_(pid),
      flush_threshold_(flush_threshold_bytes) {
  buffer_.reserve(flush_threshold_ + 1024);
  buffer_ += "{\"traceEvents\":[\n";
}

TraceWriter::~TraceWriter() { Finish(); }

void TraceWriter::EventWritten(uint64_t events) {
  event_count_ += events;
  if (buffer_.size() >= flush_threshold_) WriteBuffer();
}

void TraceWriter::Complete(std::string_view name, int tid, int64_t start_ns, int64_t duration_ns,
                           std::initializer_list<TraceArg> args) {
  if (!Accepting()) return;
  constexpr size_t kFixedBytes = 96;  // literals (57) and the name's quotes
  size_t max_bytes =
      kFixedBytes + 6 * name.size() + 2 * SpanAppender::kMaxIntChars + 2 * kMaxMicrosChars;
  for (const TraceArg& arg : args) {
    max_bytes += 4 + 6 * arg.key_.size() +
                 (arg.kind_ == TraceArg::Kind::kString ? 6 * arg.text_.size() + 2
                                                       : SpanAppender::kMaxIntChars);
  }
  {
    SpanAppender out(buffer_, max_bytes);
    out.Literal("{\"name\":");
    out.JsonQuoted(name);
    out.Literal(",\"ph\":\"X\",\"pid\":");
    out.Int(pid_);
    out.Literal(",\"tid\":");
    out.Int(tid);
    out.Literal(",\"ts\":");
    AppendMicros(out, Diff(start_ns, origin_ns_));
    out.Literal(",\"dur\":");
    AppendMicros(out, duration_ns);
    out.Literal(",\"args\":{");
    bool first = true;
    for (const TraceArg& arg : args) {
      if (!first) out.Char(',');
      first = false;
      out.JsonQuoted(arg.key_);
      out.Char(':');
      switch (arg.kind_) {
        case TraceArg::Kind::kInt:
          out.Int(arg.int_);
          break;
        case TraceArg::Kind::kUint:
          out.Uint(arg.uint_);
          break;
        case TraceArg::Kind::kString:
          out.JsonQuoted(arg.text_);
          break;
      }
    }
    out.Literal("}},\n");
  }
  EventWritten(1);
}

void TraceWriter::AsyncSample(TraceSampleKind kind, const TraceSample& sample) {
  if (!Accepting()) return;
  // Two events: 208 literal chars, 9 integers, 2 timestamps.
  constexpr size_t kMaxBytes = 256 + 9 * SpanAppender::kMaxIntChars + 2 * kMaxMicrosChars;
  {
    SpanAppender out(buffer_, kMaxBytes);
    const auto head = [&] {
      if (kind == TraceSampleKind::kSample) {
        out.Literal("{\"name\":\"Sample\",\"cat\":\"default\",\"ph\":");
      } else {
        out.Literal("{\"name\":\"Token\",\"cat\":\"default\",\"ph\":");
      }
    };
    head();
    out.Literal("\"b\",\"pid\":");
    out.Int(pid_);
    out.Literal(",\"id\":");
    out.Uint(sample.sample_seq);
    out.Literal(",\"ts\":");
    AppendMicros(out, Diff(sample.scheduled_ns, origin_ns_));
    out.Literal(",\"args\":{\"sample_seq\":");
    out.Uint(sample.sample_seq);
    out.Literal(",\"query_seq\":");
    out.Uint(sample.query_seq);
    out.Literal(",\"sample_idx\":");
    out.Uint(sample.sample_idx);
    out.Literal(",\"issue_start_ns\":");
    out.Int(sample.issue_delay_ns);
    out.Literal(",\"complete_ns\":");
    out.Int(Diff(sample.completed_ns, sample.scheduled_ns));
    out.Literal("}},\n");
    head();
    // The space after "e", is the official layout.
    out.Literal("\"e\", \"pid\":");
    out.Int(pid_);
    out.Literal(",\"id\":");
    out.Uint(sample.sample_seq);
    out.Literal(",\"ts\":");
    AppendMicros(out, Diff(sample.completed_ns, origin_ns_));
    out.Literal("},\n");
  }
  EventWritten(2);
}

void TraceWriter::LatencyCounter(TraceSampleKind kind, int64_t ts_ns, int64_t issue_delay_ns,
                                 int64_t issue_to_done_ns) {
  if (!Accepting()) return;
  // 92 literal chars, 3 integers, 1 timestamp.
  constexpr size_t kMaxBytes = 128 + 3 * SpanAppender::kMaxIntChars + kMaxMicrosChars;
  {
    SpanAppender out(buffer_, kMaxBytes);
    // The spaces after "ph": and args:{ are the official layout.
    if (kind == TraceSampleKind::kSample) {
      out.Literal("{\"name\":\"Latency\",\"ph\": \"C\",\"pid\":");
    } else {
      out.Literal("{\"name\":\"Token_Latency\",\"ph\": \"C\",\"pid\":");
    }
    out.Int(pid_);
    out.Literal(",\"ts\":");
    AppendMicros(out, Diff(ts_ns, origin_ns_));
    out.Literal(",\"args\":{ \"issue_delay\":");
    out.Int(issue_delay_ns);
    out.Literal(",\"issue_to_done\":");
    out.Int(issue_to_done_ns);
    out.Literal("}},\n");
  }
  EventWritten(1);
}

void TraceWriter::WriteBuffer() {
  if (error_.empty() && !buffer_.empty() &&
      std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) {
    error_ = std::string("writing the trace failed: ") + std::strerror(errno);
  }
  buffer_.clear();  // keeps the capacity
}

void TraceWriter::Flush() {
  if (file_ == nullptr) return;
  WriteBuffer();
  if (error_.empty() && std::fflush(file_) != 0) {
    error_ = std::string("writing the trace failed: ") + std::strerror(errno);
  }
}

void TraceWriter::Finish() {
  if (!Accepting()) return;
  finished_ = true;
  buffer_ += "{\"name\":\"LastTrace\"}\n],\n\"displayTimeUnit\":\"ns\",\n\"otherData\":{\n\"ts\":";
  {
    SpanAppender out(buffer_, kMaxMicrosChars);
    AppendMicros(out, origin_unix_ns_);
  }
  buffer_ += ",\n\"version\":\"MLPerf LoadGen v1.0\"\n}\n}\n";
  Flush();
}

}  // namespace loadgen::logging
