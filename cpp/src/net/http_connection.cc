#include "net/http_connection.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <tuple>
#include <utility>

#include "common/clock.h"
#include "net/client.h"

namespace loadgen::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

namespace {

// Response bodies kept for an error message.
constexpr size_t kErrorSnippetBytes = 200;

bool IsEventStream(std::string_view content_type) {
  return content_type.substr(0, 17) == "text/event-stream";
}

// A non-2xx status as a failure: only 4xx and 5xx are the client's or the server's error; a 1xx
// or 3xx (a redirect, which this client does not follow) is neither.
FailureReason StatusFailure(unsigned status) {
  if (status / 100 == 4) return FailureReason::kHttp4xx;
  if (status / 100 == 5) return FailureReason::kHttp5xx;
  return FailureReason::kHttpStatus;
}

}  // namespace

Connection::Connection(asio::io_context& io, Client& client, Endpoint& endpoint)
    : client_(client), endpoint_(endpoint), socket_(io), timer_(io) {}

void Connection::Begin(Query* q) {
  query_ = q;
  ++generation_;
  ++q->record.attempts;
  timed_out_ = false;
  first_token_seen_ = false;
  http_status_ = 0;
  reused_ = connected_;
  parser_.reset();
}

void Connection::Start(Query* q) {
  client_.EndConnectionWait(q);  // I/O thread only: the self-check's single writer
  Begin(q);
  if (connected_) {
    Write();
  } else {
    Connect();
  }
}

size_t Connection::WriteNow(Query* q) {
  if (PeerClosed()) return kNotWritten;
  FormatHead(*q);
  iovec parts[2] = {{head_.data(), head_.size()},
                    {const_cast<char*>(q->body.data()), q->body.size()}};
  const size_t total = head_.size() + q->body.size();
  size_t written = 0;
  msghdr message{};
  while (written < total) {
    // The parts not yet written.
    size_t skip = written;
    int first = 0;
    if (skip >= parts[0].iov_len) {
      skip -= parts[0].iov_len;
      first = 1;
    }
    iovec rest[2] = {parts[0], parts[1]};
    rest[first].iov_base = static_cast<char*>(rest[first].iov_base) + skip;
    rest[first].iov_len -= skip;
    message.msg_iov = rest + first;
    message.msg_iovlen = static_cast<size_t>(2 - first);
    const ssize_t n = ::sendmsg(socket_.native_handle(), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;  // the I/O thread writes the rest
      return written == 0 ? kNotWritten : written;         // the I/O thread's write sees the error
    }
    written += static_cast<size_t>(n);
  }
  if (written == total) q->record.written_ns = NowNs();
  return written;
}

void Connection::ContinueWritten(Query* q, size_t written) {
  Begin(q);
  reused_ = true;  // connected before this request: an unanswered close is retried
  ArmRequestTimer();
  if (written < head_.size() + q->body.size()) {
    WriteFrom(written);
  } else {
    ReadHeader();
  }
}

bool Connection::PeerClosed() {
  if (!connected_) return true;
  char byte;
  const ssize_t n = ::recv(socket_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  // 0: orderly close; > 0: unexpected bytes (nothing may follow a complete response);
  // EAGAIN: alive and quiet.
  return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

void Connection::Close() {
  ++generation_;
  timer_.cancel();
  error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  connected_ = false;
  read_buffer_.clear();
}

void Connection::Abort(FailureReason reason) {
  if (query_ == nullptr) return;
  FailWith(reason, "cancelled");
}

void Connection::ArmTimer(int64_t deadline_ns, FailureReason reason) {
  if (deadline_ns <= 0) {
    timer_.cancel();
    return;
  }
  timer_reason_ = reason;
  timer_.expires_at(Clock::time_point(std::chrono::nanoseconds(deadline_ns)));
  const uint64_t generation = generation_;
  timer_.async_wait([this, generation](const error_code& ec) {
    if (ec || generation != generation_ || query_ == nullptr) return;
    timed_out_ = true;
    error_code ignored;
    socket_.cancel(ignored);  // the pending read or write ends with operation_aborted
  });
}

void Connection::Connect() {
  const EndpointConfig& config = client_.config();
  ArmTimer(config.connect_timeout_ns > 0 ? NowNs() + config.connect_timeout_ns : 0,
           FailureReason::kConnectTimeout);
  read_buffer_.clear();
  const uint64_t generation = generation_;
  asio::async_connect(socket_, endpoint_.addresses,
                      [this, generation](const error_code& ec, const asio::ip::tcp::endpoint&) {
                        if (generation != generation_) return;
                        if (ec) {
                          if (timed_out_) {
                            FailWith(FailureReason::kConnectTimeout, "connect timed out");
                          } else {
                            FailWith(FailureReason::kConnectFailed, ec.message());
                          }
                          return;
                        }
                        OnConnected();
                        Write();
                      });
}

void Connection::OnConnected() {
  connected_ = true;
  last_was_stream_ = false;
  error_code ignored;
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
  client_.CountConnectionOpened(endpoint_);
}

void Connection::Preconnect() {
  ++generation_;
  read_buffer_.clear();
  const uint64_t generation = generation_;
  asio::async_connect(socket_, endpoint_.addresses,
                      [this, generation](const error_code& ec, const asio::ip::tcp::endpoint&) {
                        if (generation != generation_) return;
                        if (ec) {
                          Close();
                          client_.Preconnected(endpoint_, this, false);
                          return;
                        }
                        OnConnected();
                        client_.Preconnected(endpoint_, this, true);
                      });
}

void Connection::ArmRequestTimer() {
  const EndpointConfig& config = client_.config();
  const int64_t issued = query_->record.issued_ns;
  int64_t deadline = 0;
  FailureReason reason = FailureReason::kNone;
  if (config.total_timeout_ns > 0) {
    deadline = issued + config.total_timeout_ns;
    reason = FailureReason::kTotalTimeout;
  }
  if (config.first_byte_timeout_ns > 0) {
    const int64_t first_byte = NowNs() + config.first_byte_timeout_ns;
    if (deadline == 0 || first_byte < deadline) {
      deadline = first_byte;
      reason = FailureReason::kFirstByteTimeout;
    }
  }
  ArmTimer(deadline, reason);
}

void Connection::FormatHead(const Query& q) {
  head_.assign(endpoint_.head_prefix);
  char digits[24];
  if (q.json_length > 0) {
    head_.append("Inference-Header-Content-Length: ");
    head_.append(digits, std::to_chars(digits, digits + sizeof(digits), q.json_length).ptr);
    head_.append("\r\n");
  }
  head_.append("Content-Length: ");
  head_.append(digits, std::to_chars(digits, digits + sizeof(digits), q.body.size()).ptr);
  head_.append("\r\n\r\n");
}

void Connection::Write() {
  ArmRequestTimer();
  FormatHead(*query_);
  WriteFrom(0);
}

void Connection::WriteFrom(size_t offset) {
  const Query* q = query_;
  std::array<asio::const_buffer, 2> buffers{asio::buffer(head_),
                                            asio::buffer(q->body.data(), q->body.size())};
  if (offset >= head_.size()) {
    buffers[1] += offset - head_.size();
    buffers[0] = asio::const_buffer();
  } else {
    buffers[0] += offset;
  }
  const uint64_t generation = generation_;
  asio::async_write(socket_, buffers, [this, generation](const error_code& ec, size_t) {
    if (generation != generation_) return;
    if (ec) {
      FailFromError(ec, /*header_phase=*/true);
      return;
    }
    query_->record.written_ns = NowNs();
    ReadHeader();
  });
}

void Connection::ReadHeader() {
  parser_.reset();
  header_arena_.release();  // the previous response's fields died with its parser
  parser_.emplace(std::piecewise_construct, std::make_tuple(),
                  std::make_tuple(HeaderAllocator(&header_arena_)));
  parser_->body_limit(boost::none);
  parser_->header_limit(64 * 1024);
  const uint64_t generation = generation_;
  http::async_read_header(
      socket_, read_buffer_, *parser_, [this, generation](const error_code& ec, size_t) {
        if (generation != generation_) return;
        if (ec) {
          FailFromError(ec, /*header_phase=*/true);
          return;
        }
        Query* q = query_;
        q->record.first_byte_ns = NowNs();
        read_ns_ = q->record.first_byte_ns;  // body bytes read with the header
        const auto& response = parser_->get();
        http_status_ = response.result_int();
        q->record.http_status = static_cast<uint16_t>(http_status_);
        streaming_ = http_status_ / 100 == 2 && IsEventStream(response[http::field::content_type]);
        sse_.Reset();
        body_.clear();
        // Eager from here: ReadBody parses all buffered bytes per put and reads only when they
        // run out. (Beast's own async_read_some, in eager mode, kept reading a chunked body to
        // its end, so every token was stamped at the end: TTFT error 310 ms on the truth server.)
        parser_->eager(true);
        const EndpointConfig& config = client_.config();
        // Without a first-byte timeout the timer already holds the total deadline.
        if (config.first_byte_timeout_ns > 0) {
          ArmTimer(config.total_timeout_ns > 0 ? q->record.issued_ns + config.total_timeout_ns : 0,
                   FailureReason::kTotalTimeout);
        }
        ReadBody();
      });
}

void Connection::ReadBody() {
  // Everything already read is parsed at once, every chunk in it stamped with the time of the
  // read that brought it: Beast's async_read_some would parse one element (chunk header, chunk
  // data) per call and post a completion for each. Only when the parser needs more bytes is
  // the socket read again, so chunks that arrive apart keep stamps of their own.
  const uint64_t generation = generation_;
  for (;;) {
    if (parser_->is_done()) {
      Finish();
      return;
    }
    if (read_buffer_.size() == 0) break;
    auto& body = parser_->get().body();
    body.data = piece_.data();
    body.size = piece_.size();
    body.more = true;
    error_code ec;
    const size_t used = parser_->put(read_buffer_.data(), ec);
    read_buffer_.consume(used);
    const size_t n = piece_.size() - parser_->get().body().size;
    if (n > 0) {
      OnBodyBytes(n, read_ns_);
      if (generation != generation_) return;  // failed while parsing
    }
    if (ec == http::error::need_more) break;
    if (ec && ec != http::error::need_buffer) {  // need_buffer: piece_ was full, go on
      FailFromError(ec, /*header_phase=*/false);
      return;
    }
    if (used == 0 && n == 0) break;  // no progress without more bytes
  }
  socket_.async_read_some(read_buffer_.prepare(kReadBytes),
                          [this, generation](error_code ec, size_t bytes) {
                            if (generation != generation_) return;
                            read_ns_ = NowNs();
                            read_buffer_.commit(bytes);
                            if (ec == asio::error::eof) {
                              // A body delimited by the connection's end is complete now; any other
                              // is cut short (partial_message).
                              ec = {};
                              parser_->put_eof(ec);
                              if (!ec) {
                                ReadBody();
                                return;
                              }
                            }
                            if (ec) {
                              FailFromError(ec, /*header_phase=*/false);
                              return;
                            }
                            ReadBody();
                          });
}

void Connection::OnBodyBytes(size_t n, int64_t now_ns) {
  const std::string_view bytes(piece_.data(), n);
  if (!streaming_) {
    body_.append(bytes.data(), bytes.size());
    return;
  }
  const bool ok = sse_.Feed(bytes, [&](std::string_view data) { return OnEvent(data, now_ns); });
  if (!ok && query_ != nullptr) {
    FailWith(FailureReason::kMalformedResponse,
             query_->parsed.error.empty() ? "SSE line too long" : query_->parsed.error);
  }
}

bool Connection::OnEvent(std::string_view data, int64_t now_ns) {
  Query* q = query_;
  ParsedResponse& parsed = q->parsed;
  const EndpointConfig& config = client_.config();
  const size_t before = parsed.output.size();
  EventKind kind;
  if (config.api == ApiKind::kTritonGenerate) {
    kind = events_.Parse(data, StreamEventParser::Format::kTriton, config.output_name, &parsed);
  } else if (config.api == ApiKind::kOpenAiCompletions || config.api == ApiKind::kOpenAiChat) {
    if (parsed.done) {
      parsed.error = "an event after [DONE]";
      return false;
    }
    kind = events_.Parse(data,
                         config.api == ApiKind::kOpenAiChat
                             ? StreamEventParser::Format::kOpenAiChat
                             : StreamEventParser::Format::kOpenAiCompletions,
                         {}, &parsed);
  } else {
    parsed.error = "a KServe v2 infer response cannot be an event stream";
    return false;
  }
  if (kind == EventKind::kError) return false;
  if (kind == EventKind::kContent || kind == EventKind::kReasoning) {
    if (config.record_chunk_times) q->chunk_ns.push_back(now_ns);
    const bool counts_as_first = kind == EventKind::kContent || !config.first_token_skips_reasoning;
    if (counts_as_first && !first_token_seen_) {
      first_token_seen_ = true;
      q->record.first_token_ns = now_ns;
      client_.FirstToken(q, std::string_view(parsed.output).substr(before));
    }
  }
  return true;
}

void Connection::Finish() {
  Query* q = query_;
  timer_.cancel();
  const bool keep_alive = parser_->keep_alive();
  ParsedResponse& parsed = q->parsed;
  const EndpointConfig& config = client_.config();
  FailureReason failure = FailureReason::kNone;
  std::string message;
  if (http_status_ / 100 != 2) {
    failure = StatusFailure(http_status_);
    message = "HTTP " + std::to_string(http_status_) + ": " + body_.substr(0, kErrorSnippetBytes);
  } else if (streaming_) {
    if (!sse_.AtEventBoundary()) {
      failure = FailureReason::kMalformedResponse;
      message = "the event stream ended inside an event";
    } else if (config.api != ApiKind::kTritonGenerate && !parsed.done) {
      failure = FailureReason::kMalformedResponse;
      message = "the event stream ended without [DONE]";
    }
  } else {
    bool ok;
    switch (config.api) {
      case ApiKind::kOpenAiCompletions:
      case ApiKind::kOpenAiChat:
        ok = events_.ParseOpenAiBody(body_, config.api == ApiKind::kOpenAiChat, &parsed);
        break;
      case ApiKind::kKserveV2: {
        size_t json_length = body_.size();
        const auto header = parser_->get().find("Inference-Header-Content-Length");
        if (header != parser_->get().end()) {
          // Parsed in place (no string per response); a value that is not all digits is an
          // error, not a JSON part of length 0.
          const std::string_view value(header->value().data(), header->value().size());
          const auto [end, ec] =
              std::from_chars(value.data(), value.data() + value.size(), json_length);
          if (ec != std::errc() || end != value.data() + value.size() || value.empty()) {
            parsed.error = "invalid Inference-Header-Content-Length '" + std::string(value) + "'";
            ok = false;
            break;
          }
        }
        ok = ParseKserveBody(body_, json_length, json_, &parsed);
        break;
      }
      default:
        parsed.error = "expected an event stream, got Content-Type '" +
                       std::string(parser_->get()[http::field::content_type]) + "'";
        ok = false;
    }
    if (!ok) {
      failure = FailureReason::kMalformedResponse;
      message = parsed.error;
    }
  }
  last_was_stream_ = streaming_;
  const bool reusable = failure != FailureReason::kMalformedResponse && keep_alive &&
                        !(streaming_ && endpoint_.closes_after_stream);
  if (failure != FailureReason::kNone) {
    FailWith(failure, message);
    return;
  }
  query_ = nullptr;
  if (!reusable) Close();
  client_.Done(q, endpoint_, this, reusable);
}

void Connection::FailWith(FailureReason reason, std::string_view message) {
  Query* q = query_;
  query_ = nullptr;
  Close();
  q->record.failure = reason;
  q->parsed.error.assign(message.data(), message.size());
  client_.Done(q, endpoint_, this, /*reusable=*/false);
}

void Connection::FailFromError(const error_code& ec, bool header_phase) {
  if (timed_out_) {
    FailWith(timer_reason_, timer_reason_ == FailureReason::kTotalTimeout ? "total timeout"
                            : timer_reason_ == FailureReason::kFirstByteTimeout
                                ? "no response byte within the first-byte timeout"
                                : "connect timed out");
    return;
  }
  const bool closed = ec == asio::error::eof || ec == http::error::end_of_stream ||
                      ec == http::error::partial_message || ec == asio::error::connection_reset ||
                      ec == asio::error::broken_pipe || ec == asio::error::connection_aborted;
  // A reused keep-alive connection the server closed before answering a single byte (llama.cpp's
  // server closes after each stream while advertising keep-alive): the request was not served,
  // so it is sent again once on a fresh connection.
  const bool unanswered =
      header_phase && !(parser_ && parser_->got_some()) && read_buffer_.size() == 0;
  if (closed && unanswered && reused_ && query_->record.attempts == 1) {
    Query* q = query_;
    query_ = nullptr;
    const bool after_stream = last_was_stream_;
    Close();
    client_.Retry(q, endpoint_, this, after_stream);
    return;
  }
  if (closed) {
    FailWith(FailureReason::kConnectionClosed, ec.message());
  } else if (ec.category() == http::make_error_code(http::error::bad_version).category()) {
    FailWith(FailureReason::kMalformedResponse, "bad HTTP response: " + ec.message());
  } else {
    FailWith(FailureReason::kConnectionClosed, ec.message());
  }
}

}  // namespace loadgen::net
