// Server-sent events framing (the WHATWG "text/event-stream" rules) over body bytes that
// arrive in arbitrary pieces: lines end with LF, CRLF or CR (a CRLF may be split across two
// pieces), the "data" lines of one event are joined with LF, a blank line dispatches the event,
// comments and the other fields (event, id, retry) are skipped.
#ifndef LOADGEN_NET_SSE_FRAMER_H_
#define LOADGEN_NET_SSE_FRAMER_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace loadgen::net {

class SseFramer {
 public:
  /// A line longer than this is a malformed stream (a server that never sends a line end).
  static constexpr size_t kMaxLineBytes = 16u << 20;

  /// Feeds one piece of the body; calls on_event(std::string_view data) for each complete
  /// event; returns false (and stops) if on_event returns false or a line is too long.
  /// Allocates only while its reused line/event buffers grow.
  template <typename OnEvent>
  bool Feed(std::string_view bytes, OnEvent&& on_event);

  /// The body ended: true if nothing was left half-received (a partial line, or data lines
  /// without the blank line that ends their event).
  bool AtEventBoundary() const { return line_.empty() && !has_data_; }

  void Reset() {
    line_.clear();
    data_.clear();
    has_data_ = false;
    skip_lf_ = false;
  }

 private:
  // Returns false if on_event asked to stop.
  template <typename OnEvent>
  bool Line(std::string_view line, OnEvent& on_event);

  std::string line_;  // a line begun in an earlier piece
  std::string data_;  // the current event's data
  bool has_data_ = false;
  bool skip_lf_ = false;  // the last piece ended with CR: a leading LF belongs to that line end
};

template <typename OnEvent>
bool SseFramer::Feed(std::string_view bytes, OnEvent&& on_event) {
  size_t pos = 0;
  if (skip_lf_ && !bytes.empty()) {
    skip_lf_ = false;
    if (bytes[0] == '\n') pos = 1;
  }
  while (pos < bytes.size()) {
    const size_t end = bytes.find_first_of("\r\n", pos);
    if (end == std::string_view::npos) {
      if (line_.size() + (bytes.size() - pos) > kMaxLineBytes) return false;
      line_.append(bytes.data() + pos, bytes.size() - pos);
      return true;
    }
    bool go_on;
    if (line_.empty()) {
      go_on = Line(bytes.substr(pos, end - pos), on_event);
    } else {
      line_.append(bytes.data() + pos, end - pos);
      go_on = Line(line_, on_event);
      line_.clear();
    }
    pos = end + 1;
    if (bytes[end] == '\r') {
      if (pos == bytes.size()) {
        skip_lf_ = true;
      } else if (bytes[pos] == '\n') {
        ++pos;
      }
    }
    if (!go_on) return false;
  }
  return true;
}

template <typename OnEvent>
bool SseFramer::Line(std::string_view line, OnEvent& on_event) {
  if (line.empty()) {
    if (!has_data_) return true;
    has_data_ = false;
    const bool go_on = on_event(std::string_view(data_));
    data_.clear();
    return go_on;
  }
  if (line[0] == ':') return true;  // a comment (keep-alive pings)
  const size_t colon = line.find(':');
  const std::string_view field = line.substr(0, colon);
  if (field != "data") return true;
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  }
  if (has_data_) data_.push_back('\n');
  data_.append(value.data(), value.size());
  has_data_ = true;
  return true;
}

}  // namespace loadgen::net

#endif  // LOADGEN_NET_SSE_FRAMER_H_
