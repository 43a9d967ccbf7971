// The client behind EndpointSut. Everything here except Client::Issue, the stats counters and
// the record lock runs on the one I/O thread, so the pools, queues and per-query state need no
// locks.
#ifndef LOADGEN_NET_CLIENT_H_
#define LOADGEN_NET_CLIENT_H_

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "net/conversation_bodies.h"
#include "net/endpoint_config.h"
#include "net/response_parsers.h"
#include "query_sample.h"

namespace loadgen::net {

class Connection;
class Client;

/// One query in flight. Slots are reused; their buffers keep their capacity.
struct Query {
  mlperf::ResponseId id = 0;
  QueryRecord record;
  ParsedResponse parsed;
  std::vector<int64_t> chunk_ns;
  std::string_view body;
  size_t json_length = 0;  // KServe binary extension (0: plain body)
  /// A later conversation turn's body, history included (conversation_bodies.h).
  std::string conversation_body;
};

/// "http://host:port/prefix" split up.
struct ParsedUrl {
  std::string host;
  std::string port;
  std::string path_prefix;  // without a trailing '/'
};
/// Throws std::invalid_argument naming what is wrong.
ParsedUrl ParseBaseUrl(const std::string& url);

/// One base URL: its resolved addresses, its connections and the requests waiting for one.
struct Endpoint {
  size_t index = 0;
  std::string head_prefix;  // request line and fixed headers, formatted once
  boost::asio::ip::tcp::resolver::results_type addresses;
  std::vector<std::unique_ptr<Connection>> connections;
  std::vector<Connection*> idle;     // connected, keep-alive, free
  std::vector<Connection*> closed;   // free, not connected
  std::deque<Query*> waiting;        // no free connection yet
  size_t connecting_ahead = 0;       // Preconnects under way
  size_t outstanding = 0;            // assigned here and not yet completed
  bool closes_after_stream = false;  // learned: do not reuse a connection after a stream
};

class Client {
 public:
  Client(EndpointConfig config, std::vector<std::string> bodies, std::vector<size_t> json_lengths);
  ~Client();

  /// Any thread: queues the samples (stamped with one time) and wakes the I/O thread.
  void Issue(const mlperf::QuerySample* samples, size_t count);

  EndpointStats Stats() const;
  void CopyRecords(std::vector<QueryRecord>* records, std::vector<int64_t>* chunk_times) const;
  void ClearRecords();
  size_t Outstanding() const { return outstanding_.load(std::memory_order_relaxed); }
  void CancelAll();  // see EndpointSut::CancelAll

  // For Connection (I/O thread):
  const EndpointConfig& config() const { return config_; }
  /// The first token of a streamed response arrived.
  void FirstToken(Query* q, std::string_view text);
  /// The response is complete (or failed); the connection is free again (`reusable`: still
  /// connected and keep-alive).
  void Done(Query* q, Endpoint& endpoint, Connection* connection, bool reusable);
  /// A reused connection closed before answering a byte: `q` is sent again on a fresh one.
  void Retry(Query* q, Endpoint& endpoint, Connection* connection, bool after_stream);
  void CountConnectionOpened(Endpoint& endpoint);
  /// A Preconnect ended; `ok`: the connection is now connected and idle.
  void Preconnected(Endpoint& endpoint, Connection* connection, bool ok);

 private:
  struct Incoming {
    mlperf::ResponseId id;
    size_t index;
    int64_t issued_ns;
  };

  void RunIo();  // the I/O thread's loop
  void Drain();
  void Dispatch(Query* q);
  Endpoint& Choose();
  void StartOn(Endpoint& endpoint, Query* q);
  /// Keeps one connected idle connection ready when the server closes connections after
  /// each stream, so the next request does not wait for a TCP handshake.
  void KeepOneReady(Endpoint& endpoint);
  Query* TakeSlot();
  void Complete(Query* q);
  void Fail(Query* q, FailureReason reason, std::string_view message);

  EndpointConfig config_;
  std::string bodies_;                // all request bodies, back to back
  std::vector<size_t> body_offsets_;  // sample i: [offsets[i], offsets[i+1])
  std::vector<size_t> json_lengths_;
  std::unique_ptr<ConversationBodies> conversations_;  // null without conversations

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
  size_t next_endpoint_ = 0;

  // Issue queue: swapped, not copied, by the I/O thread.
  std::mutex issue_mu_;
  std::vector<Incoming> incoming_;
  bool wake_posted_ = false;
  std::vector<Incoming> draining_;  // I/O thread only

  std::vector<uint64_t> issued_unpublished_;   // per endpoint, added to stats_ once per Drain
  std::vector<std::unique_ptr<Query>> slots_;  // I/O thread only
  std::vector<Query*> free_slots_;

  // Counters read by Stats() from any thread.
  std::atomic<size_t> outstanding_{0};
  mutable std::mutex stats_mu_;  // taken by the I/O thread once per completed query
  EndpointStats stats_;
  std::vector<QueryRecord> records_;
  std::vector<int64_t> chunk_times_;

  std::thread io_thread_;
};

}  // namespace loadgen::net

#endif  // LOADGEN_NET_CLIENT_H_
