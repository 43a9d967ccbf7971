// One HTTP/1.1 connection of an endpoint's pool (Boost.Beast parses the responses). It serves
// one query at a time: connect if needed, write the request, read the response header, then
// the body piece by piece as it arrives (SSE events are framed and parsed per piece).
#ifndef LOADGEN_NET_HTTP_CONNECTION_H_
#define LOADGEN_NET_HTTP_CONNECTION_H_

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <cstdint>
#include <memory_resource>
#include <optional>
#include <string>

#include "net/endpoint_config.h"
#include "net/response_parsers.h"
#include "net/sse_framer.h"
#include "net/stream_event_parser.h"

namespace loadgen::net {

class Client;
struct Endpoint;
struct Query;

class Connection {
 public:
  Connection(boost::asio::io_context& io, Client& client, Endpoint& endpoint);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Serves `q` (I/O thread). Connects first if not connected.
  void Start(Query* q);

  /// WriteNow's result when nothing was written: the server had closed the connection, or
  /// the write failed at once.
  static constexpr size_t kNotWritten = static_cast<size_t>(-1);
  /// Issuing thread, on a connection lent to it (idle, connected, no operation pending):
  /// writes q's request with non-blocking sends, without Asio, and stamps written_ns when all
  /// of it went. Returns the bytes written (all, fewer if the socket buffer filled, or
  /// kNotWritten). Touches only head_ and the descriptor.
  size_t WriteNow(Query* q);
  /// I/O thread: takes over a request WriteNow wrote `written` bytes of; writes the rest,
  /// then reads the response as Start would.
  void ContinueWritten(Query* q, size_t written);
  /// Connects ahead of need (no query): on success the client gets it back as idle
  /// (Client::Preconnected); on failure it stays closed, silently.
  void Preconnect();
  /// An idle connection the server has closed (checked without blocking before reuse).
  bool PeerClosed();
  /// Drops the connection (pending operations end with operation_aborted and are ignored).
  void Close();
  bool connected() const { return connected_; }
  bool last_was_stream() const { return last_was_stream_; }
  /// Ends the query in flight, if any, as failed (CancelAll).
  void Abort(FailureReason reason);

 private:
  void Connect();
  void OnConnected();
  /// Resets the per-query state for q (Start, ContinueWritten).
  void Begin(Query* q);
  /// q's request header in head_ (request line, fixed headers, lengths).
  void FormatHead(const Query& q);
  void ArmRequestTimer();
  void Write();
  /// Writes the request from byte `offset` of head_ + body, then reads the response.
  void WriteFrom(size_t offset);
  void ReadHeader();
  void ReadBody();
  void OnBodyBytes(size_t n, int64_t now_ns);
  bool OnEvent(std::string_view data, int64_t now_ns);
  void Finish();
  void FailWith(FailureReason reason, std::string_view message);
  void FailFromError(const boost::system::error_code& ec, bool header_phase);
  void ArmTimer(int64_t deadline_ns, FailureReason reason);

  Client& client_;
  Endpoint& endpoint_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;
  boost::beast::flat_buffer read_buffer_;
  // Beast's parser is made anew per response; its header fields come from a per-connection
  // arena, released before each response, instead of one heap allocation per field.
  using HeaderAllocator = std::pmr::polymorphic_allocator<char>;
  std::array<std::byte, 2048> header_arena_bytes_{};
  std::pmr::monotonic_buffer_resource header_arena_{header_arena_bytes_.data(),
                                                    header_arena_bytes_.size()};
  std::optional<
      boost::beast::http::response_parser<boost::beast::http::buffer_body, HeaderAllocator>>
      parser_;
  std::string head_;                           // this request's header (reused)
  std::array<char, 16384> piece_{};            // body bytes of one put
  static constexpr size_t kReadBytes = 16384;  // asked of each read of the body
  int64_t read_ns_ = 0;                        // when the bytes being parsed were read
  std::string body_;                           // a whole non-streamed body (reused)
  SseFramer sse_;
  JsonReader json_;           // whole bodies
  StreamEventParser events_;  // stream events

  Query* query_ = nullptr;
  uint64_t generation_ = 0;  // handlers of an earlier query or socket see a different value
  bool connected_ = false;
  bool reused_ = false;  // this query runs on a connection that served one before
  bool last_was_stream_ = false;
  bool streaming_ = false;  // the current response is text/event-stream
  bool first_token_seen_ = false;
  bool timed_out_ = false;
  unsigned http_status_ = 0;
  FailureReason timer_reason_ = FailureReason::kNone;
};

}  // namespace loadgen::net

#endif  // LOADGEN_NET_HTTP_CONNECTION_H_
