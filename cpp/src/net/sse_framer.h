// Server-sent events framing (the WHATWG "text/event-stream" rules) over body bytes that
// arrive in arbitrary pieces: lines end with LF, CRLF or CR (a CRLF may be split across two
// pieces), the "data" lines of one event are joined with LF, a blank line dispatches the event,
// comments and the other fields (event, id, retry) are skipped.
#ifndef LOADGEN_NET_SSE_FRAMER_H_
#define LOADGEN_NET_SSE_FRAMER_H_

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace loadgen::net {

class SseFramer {
 public:
  /// A line longer than this is a malformed stream (a server that never sends a line end).
  static constexpr size_t kMaxLineBytes = 16u << 20;

  /// Feeds one piece of the body; calls on_event(std::string_view data) for each complete
  /// event; returns false (and stops) if on_event returns false or a line is too long.
  /// An event whose one data line lies within the piece is passed as a view of the piece (no
  /// copy); otherwise it is gathered in a reused buffer (allocates only while that grows).
  template <typename OnEvent>
  bool Feed(std::string_view bytes, OnEvent&& on_event) {
    const bool ok = FeedPiece(bytes, on_event);
    KeepPendingData();
    return ok;
  }

  /// The body ended: true if nothing was left half-received (a partial line, or data lines
  /// without the blank line that ends their event).
  bool AtEventBoundary() const { return line_.empty() && !has_data_; }

  void Reset() {
    line_.clear();
    data_.clear();
    has_data_ = false;
    data_in_piece_ = false;
    skip_lf_ = false;
  }

 private:
  template <typename OnEvent>
  bool FeedPiece(std::string_view bytes, OnEvent& on_event);
  // Returns false if on_event asked to stop. `in_piece`: `line` points into the fed piece.
  template <typename OnEvent>
  bool Line(std::string_view line, bool in_piece, OnEvent& on_event);
  // The event's data so far is a view of the piece: copy it before the piece goes away.
  void KeepPendingData() {
    if (data_in_piece_) {
      data_.assign(piece_data_.data(), piece_data_.size());
      data_in_piece_ = false;
    }
  }

  std::string line_;             // a line begun in an earlier piece
  std::string data_;             // the current event's data (unless data_in_piece_)
  std::string_view piece_data_;  // the current event's data, in the piece being fed
  bool data_in_piece_ = false;
  bool has_data_ = false;
  bool skip_lf_ = false;  // the last piece ended with CR: a leading LF belongs to that line end
};

template <typename OnEvent>
bool SseFramer::FeedPiece(std::string_view bytes, OnEvent& on_event) {
  size_t pos = 0;
  if (skip_lf_ && !bytes.empty()) {
    skip_lf_ = false;
    if (bytes[0] == '\n') pos = 1;
  }
  while (pos < bytes.size()) {
    // The line end is the first LF or CR; memchr is vectorised, a per-byte loop is not.
    const char* rest = bytes.data() + pos;
    const size_t rest_size = bytes.size() - pos;
    const void* lf = std::memchr(rest, '\n', rest_size);
    const size_t before_lf =
        lf ? static_cast<size_t>(static_cast<const char*>(lf) - rest) : rest_size;
    const void* cr = std::memchr(rest, '\r', before_lf);
    if (lf == nullptr && cr == nullptr) {
      if (line_.size() + rest_size > kMaxLineBytes) return false;
      line_.append(rest, rest_size);
      return true;
    }
    const size_t end =
        pos + (cr ? static_cast<size_t>(static_cast<const char*>(cr) - rest) : before_lf);
    bool go_on;
    if (line_.empty()) {
      go_on = Line(bytes.substr(pos, end - pos), /*in_piece=*/true, on_event);
    } else {
      line_.append(bytes.data() + pos, end - pos);
      go_on = Line(line_, /*in_piece=*/false, on_event);
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
bool SseFramer::Line(std::string_view line, bool in_piece, OnEvent& on_event) {
  if (line.empty()) {
    if (!has_data_) return true;
    has_data_ = false;
    bool go_on;
    if (data_in_piece_) {
      data_in_piece_ = false;
      go_on = on_event(piece_data_);
    } else {
      go_on = on_event(std::string_view(data_));
      data_.clear();
    }
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
  if (!has_data_) {
    has_data_ = true;
    if (in_piece) {
      piece_data_ = value;
      data_in_piece_ = true;
    } else {
      data_.assign(value.data(), value.size());
    }
    return true;
  }
  KeepPendingData();
  data_.push_back('\n');
  data_.append(value.data(), value.size());
  return true;
}

}  // namespace loadgen::net

#endif  // LOADGEN_NET_SSE_FRAMER_H_
