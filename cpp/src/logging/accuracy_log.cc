#include "logging/accuracy_log.h"

#include <cerrno>
#include <cstring>

#include "logging/format.h"

namespace loadgen::logging {

AccuracyLogWriter::AccuracyLogWriter(std::FILE* file, size_t flush_threshold_bytes)
    : file_(file), flush_threshold_(flush_threshold_bytes) {
  buffer_.reserve(flush_threshold_ + 256);
  buffer_.push_back('[');
}

AccuracyLogWriter::~AccuracyLogWriter() { Finish(); }

void AccuracyLogWriter::AppendEntry(uint64_t seq_id, uint64_t qsl_idx, const uint8_t* data,
                                    size_t size, const Tokens* tokens) {
  constexpr size_t kFixedBytes = 160;  // literals of the longest (token) entry
  size_t max_bytes = kFixedBytes + 3 * SpanAppender::kMaxUintChars + 2 * size;
  if (tokens != nullptr) max_bytes += 2 * tokens->size;
  {
    SpanAppender out(buffer_, max_bytes);
    if (entry_count_ == 0) {
      out.Literal("\n{ \"seq_id\" : ");
    } else {
      out.Literal(",\n{ \"seq_id\" : ");
    }
    out.Uint(seq_id);
    out.Literal(", \"qsl_idx\" : ");
    out.Uint(qsl_idx);
    out.Literal(", \"data\" : \"");
    out.HexUpper(data, size);
    out.Char('"');
    if (tokens != nullptr) {
      if (!tokens->offline) {
        out.Literal(", \"token_data\" : \"");
        out.HexUpper(tokens->data, tokens->size);
        out.Char('"');
      }
      out.Literal(", \"token_count\" : ");
      out.Int(tokens->count);
    }
    out.Literal(" }");
  }
  ++entry_count_;
  if (buffer_.size() >= flush_threshold_) WriteBuffer();
}

void AccuracyLogWriter::Add(uint64_t seq_id, uint64_t qsl_idx, const uint8_t* data, size_t size) {
  if (finished_) return;
  AppendEntry(seq_id, qsl_idx, data, size, nullptr);
}

void AccuracyLogWriter::AddWithTokens(uint64_t seq_id, uint64_t qsl_idx, const uint8_t* data,
                                      size_t size, const uint8_t* token_data, size_t token_size,
                                      int64_t token_count, bool offline) {
  if (finished_) return;
  const Tokens tokens{token_data, token_size, token_count, offline};
  AppendEntry(seq_id, qsl_idx, data, size, &tokens);
}

void AccuracyLogWriter::WriteBuffer() {
  if (error_.empty() && !buffer_.empty() &&
      std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) {
    error_ = std::string("writing the accuracy log failed: ") + std::strerror(errno);
  }
  buffer_.clear();  // keeps the capacity
}

void AccuracyLogWriter::Flush() {
  WriteBuffer();
  if (error_.empty() && std::fflush(file_) != 0) {
    error_ = std::string("writing the accuracy log failed: ") + std::strerror(errno);
  }
}

void AccuracyLogWriter::Finish() {
  if (finished_) return;
  finished_ = true;
  buffer_ += "\n]\n";
  Flush();
}

}  // namespace loadgen::logging
