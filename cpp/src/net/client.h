// The client behind EndpointSut. Everything here except Client::Issue, the stats counters and
// the record lock runs on the one I/O thread, so the pools, queues and per-query state need no
// locks. The one exception is a connection lent to the issuing threads (write on issue, see
// docs/net.md): while lent, it and its query slot belong to whichever thread took it.
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

#include "loadgen/self_check.h"
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
  // When it queued for a free connection (the self-check); 0: not queued.
  int64_t waiting_since_ns = 0;
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

/// An idle connection handed to the issuing threads with a free query slot, so IssueQuery can
/// write the request itself instead of waking the I/O thread for it.
struct LentConnection {
  Connection* connection = nullptr;
  Query* query = nullptr;
};

/// One base URL: its resolved addresses, its connections and the requests waiting for one.
struct Endpoint {
  size_t index = 0;
  std::string head_prefix;  // request line and fixed headers, formatted once
  boost::asio::ip::tcp::resolver::results_type addresses;
  std::vector<std::unique_ptr<Connection>> connections;
  std::vector<Connection*> idle;     // connected, keep-alive, free
  std::vector<Connection*> closed;   // free, not connected
  std::deque<Query*> waiting;        // no free connection yet
  std::vector<LentConnection> lent;  // guarded by Client::issue_mu_ (idle, lent out)
  size_t connecting_ahead = 0;       // Preconnects under way
  size_t outstanding = 0;            // assigned here and not yet completed
  bool closes_after_stream = false;  // learned: do not reuse a connection after a stream
};

class Client {
 public:
  Client(EndpointConfig config, std::vector<std::string> bodies, std::vector<size_t> json_lengths);
  ~Client();

  /// Any thread: one sample with a lent connection at hand is written right here; otherwise
  /// the samples are queued (stamped with one time) for the I/O thread, which is woken.
  void Issue(const mlperf::QuerySample* samples, size_t count);

  EndpointStats Stats() const;
  void CopyRecords(std::vector<QueryRecord>* records, std::vector<int64_t>* chunk_times) const;
  void ClearRecords();
  size_t Outstanding() const { return outstanding_.load(std::memory_order_relaxed); }
  void CancelAll();  // see EndpointSut::CancelAll
  /// The generator self-check's figures (client_self_check.cc). Any thread.
  ClientLoadFigures SelfCheckFigures() const;
  /// I/O thread: `q` leaves the connection queue, if it was in it.
  void EndConnectionWait(Query* q);

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
  // A sample for the I/O thread: to send (query == nullptr), or already sent by the issuing
  // thread on a lent connection (query, connection, written bytes) and to be read.
  struct Incoming {
    mlperf::ResponseId id = 0;
    size_t index = 0;
    int64_t issued_ns = 0;
    Query* query = nullptr;
    Connection* connection = nullptr;
    size_t written = 0;
  };

  void RunIo();  // the I/O thread's loop
  /// Issuing thread: writes `sample` on a lent connection; false if none was at hand (or the
  /// sample must queue behind others), and nothing was done.
  bool TryWriteOnIssue(const mlperf::QuerySample& sample, int64_t issued_ns);
  /// Issuing thread: appends to the issue queue and wakes the I/O thread (one post per batch).
  void Enqueue(const Incoming* items, size_t count);
  /// Fills a query from its sample: record and request body. Runs on whichever thread sends
  /// the request (the issuing thread on write-on-issue, the I/O thread otherwise), while the
  /// query belongs to it. False if the sample has no request body.
  bool PrepareQuery(Query* q, mlperf::ResponseId id, size_t index, int64_t issued_ns,
                    size_t endpoint);
  void Drain();
  /// A request the issuing thread wrote (or could not write) on a lent connection.
  void Adopt(const Incoming& in);
  void Dispatch(Query* q);
  Endpoint& Choose();
  void StartOn(Endpoint& endpoint, Query* q);
  /// I/O thread: lends the endpoint's idle connections, each with a query slot (none while
  /// queries wait for a connection, or while Drain dispatches). Locked: issue_mu_ is held.
  void LendIdle(Endpoint& endpoint);
  void LendIdleLocked(Endpoint& endpoint);
  /// I/O thread, while dispatching: takes the lent connections back into `idle`.
  void ReclaimLent(Endpoint& endpoint);
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
  // Round-robin position. Read and advanced by the I/O thread only while dispatching_ and by
  // the issuing threads only under issue_mu_ while !dispatching_: never both at once.
  size_t next_endpoint_ = 0;
  const bool write_on_issue_;

  // Issue queue: swapped, not copied, by the I/O thread.
  std::mutex issue_mu_;
  std::vector<Incoming> incoming_;
  bool wake_posted_ = false;
  // Entries of incoming_ the I/O thread must still send (not written on issue, or found
  // closed): while any, or while it dispatches them (dispatching_), no issuing thread takes a
  // lent connection, so a later sample cannot overtake a queued one. Entries already written
  // do not hold the next sample back.
  size_t unsent_incoming_ = 0;
  bool dispatching_ = false;
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

  // Connection waits (self-check): written by the I/O thread only.
  std::atomic<uint64_t> connection_waits_{0};
  std::atomic<int64_t> connection_wait_total_ns_{0};
  std::atomic<int64_t> connection_wait_max_ns_{0};

  std::thread io_thread_;
};

}  // namespace loadgen::net

#endif  // LOADGEN_NET_CLIENT_H_
