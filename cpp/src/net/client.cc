#include "net/client.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <future>
#include <iterator>
#include <stdexcept>
#include <utility>

#include "common/clock.h"
#include "loadgen.h"
#include "loadgen/failure.h"
#include "net/http_connection.h"

namespace loadgen::net {

namespace asio = boost::asio;

const char* FailureReasonName(FailureReason reason) {
  switch (reason) {
    case FailureReason::kNone:
      return "none";
    case FailureReason::kHttp4xx:
      return "http_4xx";
    case FailureReason::kHttp5xx:
      return "http_5xx";
    case FailureReason::kConnectFailed:
      return "connect_failed";
    case FailureReason::kConnectionClosed:
      return "connection_closed";
    case FailureReason::kConnectTimeout:
      return "timeout_connect";
    case FailureReason::kFirstByteTimeout:
      return "timeout_first_byte";
    case FailureReason::kTotalTimeout:
      return "timeout_total";
    case FailureReason::kMalformedResponse:
      return "malformed_response";
    case FailureReason::kBadSample:
      return "bad_sample";
    case FailureReason::kCancelled:
      return "cancelled";
    case FailureReason::kHttpStatus:
      return "http_status";
    case FailureReason::kCount:
      break;
  }
  return "unknown";
}

SampleFailure ToSampleFailure(FailureReason reason) {
  switch (reason) {
    case FailureReason::kHttp4xx:
      return SampleFailure::kHttp4xx;
    case FailureReason::kHttp5xx:
      return SampleFailure::kHttp5xx;
    case FailureReason::kConnectFailed:
      return SampleFailure::kConnectFailed;
    case FailureReason::kConnectionClosed:
      return SampleFailure::kConnectionClosed;
    case FailureReason::kConnectTimeout:
      return SampleFailure::kTimeoutConnect;
    case FailureReason::kFirstByteTimeout:
      return SampleFailure::kTimeoutFirstByte;
    case FailureReason::kTotalTimeout:
      return SampleFailure::kTimeoutTotal;
    case FailureReason::kMalformedResponse:
      return SampleFailure::kMalformedResponse;
    case FailureReason::kBadSample:
      return SampleFailure::kBadSample;
    case FailureReason::kCancelled:
      return SampleFailure::kCancelled;
    case FailureReason::kHttpStatus:
      return SampleFailure::kHttpStatus;
    case FailureReason::kNone:
    case FailureReason::kCount:
      break;
  }
  return SampleFailure::kError;
}

ParsedUrl ParseBaseUrl(const std::string& url) {
  const std::string scheme = "http://";
  if (url.compare(0, 8, "https://") == 0) {
    throw std::invalid_argument("'" + url + "': https is not supported (no TLS in this client)");
  }
  if (url.compare(0, scheme.size(), scheme) != 0) {
    throw std::invalid_argument("'" + url + "' is not an http:// URL");
  }
  const size_t host_begin = scheme.size();
  const size_t path_begin = std::min(url.find('/', host_begin), url.size());
  const std::string authority = url.substr(host_begin, path_begin - host_begin);
  ParsedUrl parsed;
  size_t port_colon;
  if (!authority.empty() && authority[0] == '[') {  // [IPv6]:port
    const size_t close = authority.find(']');
    if (close == std::string::npos) throw std::invalid_argument("'" + url + "': unclosed '['");
    parsed.host = authority.substr(1, close - 1);
    port_colon = authority.find(':', close);
  } else {
    port_colon = authority.rfind(':');
    parsed.host = authority.substr(0, port_colon);
  }
  parsed.port = port_colon == std::string::npos ? "80" : authority.substr(port_colon + 1);
  if (parsed.host.empty() || parsed.port.empty() ||
      parsed.port.find_first_not_of("0123456789") != std::string::npos) {
    throw std::invalid_argument("'" + url + "': expected http://host:port[/path]");
  }
  parsed.path_prefix = url.substr(path_begin);
  while (!parsed.path_prefix.empty() && parsed.path_prefix.back() == '/') {
    parsed.path_prefix.pop_back();
  }
  return parsed;
}

namespace {

void CheckHeaderText(const std::string& text) {
  if (text.find_first_of("\r\n") != std::string::npos) {
    throw std::invalid_argument("a header name or value contains a line break");
  }
}

}  // namespace

Client::Client(EndpointConfig config, std::vector<std::string> bodies,
               std::vector<size_t> json_lengths)
    : config_(std::move(config)),
      json_lengths_(std::move(json_lengths)),
      work_(asio::make_work_guard(io_)),
      // Least outstanding over several endpoints needs the I/O thread's counts: queued.
      // Conversation bodies are built from answers the I/O thread records: built there too.
      write_on_issue_(
          config_.write_on_issue && !config_.conversations &&
          (config_.balance == BalancePolicy::kRoundRobin || config_.base_urls.size() == 1)) {
  if (config_.base_urls.empty()) throw std::invalid_argument("no endpoint URL given");
  if (config_.base_urls.size() > 65535) throw std::invalid_argument("too many endpoint URLs");
  if (config_.max_connections == 0) throw std::invalid_argument("max_connections must be >= 1");
  if (!json_lengths_.empty() && json_lengths_.size() != bodies.size()) {
    throw std::invalid_argument("json_lengths must have one entry per request body");
  }
  CheckHeaderText(config_.path);
  CheckHeaderText(config_.content_type);
  if (config_.conversations) {
    conversations_ = std::make_unique<ConversationBodies>(*config_.conversations, bodies);
  }
  size_t total = 0;
  for (const std::string& b : bodies) total += b.size();
  bodies_.reserve(total);
  body_offsets_.reserve(bodies.size() + 1);
  for (const std::string& b : bodies) {
    body_offsets_.push_back(bodies_.size());
    bodies_.append(b);
  }
  body_offsets_.push_back(bodies_.size());
  std::string fixed_headers;
  for (const auto& [name, value] : config_.headers) {
    CheckHeaderText(name);
    CheckHeaderText(value);
    fixed_headers += name + ": " + value + "\r\n";
  }

  asio::ip::tcp::resolver resolver(io_);
  for (size_t i = 0; i < config_.base_urls.size(); ++i) {
    const ParsedUrl url = ParseBaseUrl(config_.base_urls[i]);
    auto endpoint = std::make_unique<Endpoint>();
    endpoint->index = i;
    boost::system::error_code ec;
    endpoint->addresses = resolver.resolve(url.host, url.port, ec);
    if (ec) {
      throw std::runtime_error("cannot resolve '" + url.host + "' (" + config_.base_urls[i] +
                               "): " + ec.message());
    }
    const std::string host =
        url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
    endpoint->head_prefix =
        "POST " + url.path_prefix + config_.path + " HTTP/1.1\r\nHost: " + host + ":" + url.port +
        "\r\nContent-Type: " + config_.content_type + "\r\nUser-Agent: loadgen\r\n" + fixed_headers;
    for (size_t c = 0; c < config_.max_connections; ++c) {
      endpoint->connections.push_back(std::make_unique<Connection>(io_, *this, *endpoint));
      endpoint->closed.push_back(endpoint->connections.back().get());
    }
    endpoint->idle.reserve(config_.max_connections);
    endpoints_.push_back(std::move(endpoint));
  }
  stats_.per_endpoint.resize(endpoints_.size());
  issued_unpublished_.resize(endpoints_.size());
  stats_.closes_after_stream.resize(endpoints_.size());
  incoming_.reserve(1024);
  draining_.reserve(1024);
  // One connection per endpoint is opened before the first query, so that query does not
  // pay for the TCP handshake either.
  asio::post(io_, [this] {
    for (auto& e : endpoints_) KeepOneReady(*e);
  });
  io_thread_ = std::thread([this] { RunIo(); });
}

void Client::RunIo() {
  const int64_t spin = config_.busy_poll_ns;
  if (spin <= 0) {
    io_.run();
    return;
  }
  while (!io_.stopped()) {
    int64_t until = NowNs() + spin;
    while (NowNs() < until && !io_.stopped()) {
      if (io_.poll() > 0) until = NowNs() + spin;
    }
    io_.run_one();  // nothing for a while: sleep until the next event
  }
}

Client::~Client() {
  work_.reset();
  io_.stop();
  io_thread_.join();
}

void Client::Issue(const mlperf::QuerySample* samples, size_t count) {
  const int64_t now = NowNs();
  outstanding_.fetch_add(count,
                         std::memory_order_relaxed);  // before the I/O thread can complete them
  if (count == 1 && write_on_issue_ && TryWriteOnIssue(samples[0], now)) return;
  // Queued: a batch is rare in Server (coalesced overdue queries) and is one wake-up this way.
  Incoming items[16];
  for (size_t done = 0; done < count;) {
    const size_t n = std::min(count - done, std::size(items));
    for (size_t i = 0; i < n; ++i) {
      items[i] = Incoming{samples[done + i].id, samples[done + i].index, now};
    }
    Enqueue(items, n);
    done += n;
  }
}

bool Client::TryWriteOnIssue(const mlperf::QuerySample& sample, int64_t issued_ns) {
  if (sample.index + 1 >= body_offsets_.size()) return false;  // the I/O thread fails it
  LentConnection lent;
  size_t endpoint;
  {
    std::lock_guard<std::mutex> lock(issue_mu_);
    // Queued samples go first: this one may not overtake them.
    if (dispatching_ || unsent_incoming_ > 0) return false;
    endpoint = next_endpoint_ % endpoints_.size();
    Endpoint& e = *endpoints_[endpoint];
    if (e.lent.empty()) return false;
    ++next_endpoint_;
    lent = e.lent.back();
    e.lent.pop_back();
  }
  // The connection and the slot are this thread's until handed back below.
  Query* q = lent.query;
  PrepareQuery(q, sample.id, sample.index, issued_ns, endpoint);
  q->record.written_on_issue = true;
  const Incoming written{sample.id, sample.index,    issued_ns,
                         q,         lent.connection, lent.connection->WriteNow(q)};
  Enqueue(&written, 1);
  return true;
}

void Client::Enqueue(const Incoming* items, size_t count) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(issue_mu_);
    incoming_.insert(incoming_.end(), items, items + count);
    for (size_t i = 0; i < count; ++i) {
      if (items[i].query == nullptr || items[i].written == Connection::kNotWritten) {
        ++unsent_incoming_;
      }
    }
    wake = !wake_posted_;
    wake_posted_ = true;
  }
  // One wake-up per batch of queued samples, not one posted handler per sample.
  if (wake) asio::post(io_, [this] { Drain(); });
}

bool Client::PrepareQuery(Query* q, mlperf::ResponseId id, size_t index, int64_t issued_ns,
                          size_t endpoint) {
  q->id = id;
  q->record = QueryRecord();
  q->record.sample_index = index;
  q->record.response_id = id;
  q->record.issued_ns = issued_ns;
  q->record.endpoint = static_cast<uint16_t>(endpoint);
  if (index + 1 >= body_offsets_.size()) return false;
  const size_t begin = body_offsets_[index];
  q->body = std::string_view(bodies_).substr(begin, body_offsets_[index + 1] - begin);
  q->json_length = json_lengths_.empty() ? 0 : json_lengths_[index];
  return true;
}

void Client::Drain() {
  {
    std::lock_guard<std::mutex> lock(issue_mu_);
    draining_.swap(incoming_);
    wake_posted_ = false;
    dispatching_ = unsent_incoming_ > 0;  // else only written requests to adopt
    unsent_incoming_ = 0;
  }
  for (const Incoming& in : draining_) {
    if (in.query != nullptr) {
      Adopt(in);
      continue;
    }
    Query* q = TakeSlot();
    if (!PrepareQuery(q, in.id, in.index, in.issued_ns, 0)) {
      ++endpoints_[0]->outstanding;
      ++issued_unpublished_[0];
      Fail(q, FailureReason::kBadSample, "the QSL index has no request body");
      continue;
    }
    // A later conversation turn carries the answers so far, which the I/O thread records
    // (RecordAnswer in Complete): built here, on that thread (conversations disable write on
    // issue).
    if (conversations_) q->body = conversations_->Body(in.index, q->body, &q->conversation_body);
    Dispatch(q);
  }
  draining_.clear();
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    for (size_t i = 0; i < issued_unpublished_.size(); ++i) {
      stats_.issued += issued_unpublished_[i];
      stats_.per_endpoint[i].issued += issued_unpublished_[i];
      issued_unpublished_[i] = 0;
    }
  }
  std::lock_guard<std::mutex> lock(issue_mu_);
  dispatching_ = false;
  for (auto& e : endpoints_) LendIdleLocked(*e);
}

void Client::Adopt(const Incoming& in) {
  Query* q = in.query;
  Connection* c = in.connection;
  Endpoint& e = *endpoints_[q->record.endpoint];
  ++e.outstanding;
  ++issued_unpublished_[e.index];
  if (in.written != Connection::kNotWritten) {
    c->ContinueWritten(q, in.written);
    return;
  }
  // Found closed (or the write failed at once): sent afresh, in its turn.
  if (c->last_was_stream()) e.closes_after_stream = true;
  c->Close();
  e.closed.push_back(c);
  q->record.written_on_issue = false;
  StartOn(e, q);
}

void Client::LendIdle(Endpoint& e) {
  if (!write_on_issue_ || e.idle.empty() || !e.waiting.empty()) return;
  std::lock_guard<std::mutex> lock(issue_mu_);
  LendIdleLocked(e);
}

void Client::LendIdleLocked(Endpoint& e) {
  if (!write_on_issue_ || dispatching_ || !e.waiting.empty()) return;
  while (!e.idle.empty()) {
    e.lent.push_back({e.idle.back(), TakeSlot()});
    e.idle.pop_back();
  }
}

void Client::ReclaimLent(Endpoint& e) {
  std::lock_guard<std::mutex> lock(issue_mu_);
  for (const LentConnection& l : e.lent) {
    e.idle.push_back(l.connection);
    free_slots_.push_back(l.query);
  }
  e.lent.clear();
}

Query* Client::TakeSlot() {
  if (free_slots_.empty()) {
    slots_.push_back(std::make_unique<Query>());
    return slots_.back().get();
  }
  Query* q = free_slots_.back();
  free_slots_.pop_back();
  return q;
}

Endpoint& Client::Choose() {
  const size_t n = endpoints_.size();
  const size_t start = next_endpoint_++ % n;
  if (config_.balance == BalancePolicy::kRoundRobin || n == 1) return *endpoints_[start];
  // Least outstanding; ties go to the next in round-robin order.
  Endpoint* best = endpoints_[start].get();
  for (size_t k = 1; k < n; ++k) {
    Endpoint* e = endpoints_[(start + k) % n].get();
    if (e->outstanding < best->outstanding) best = e;
  }
  return *best;
}

void Client::Dispatch(Query* q) {
  Endpoint& e = Choose();
  q->record.endpoint = static_cast<uint16_t>(e.index);
  ++e.outstanding;
  ++issued_unpublished_[e.index];
  StartOn(e, q);
}

void Client::StartOn(Endpoint& e, Query* q) {
  // Only while dispatching (Drain): no issuing thread takes a lent connection meanwhile.
  if (e.idle.empty() && !e.lent.empty()) ReclaimLent(e);
  while (!e.idle.empty()) {
    Connection* c = e.idle.back();
    e.idle.pop_back();
    if (c->PeerClosed()) {
      // Closed while idle. After a stream, that is the close-after-stream habit.
      if (c->last_was_stream()) e.closes_after_stream = true;
      c->Close();
      e.closed.push_back(c);
      continue;
    }
    c->Start(q);
    return;
  }
  // A connection being opened ahead is as near as a new one: wait for it rather than open
  // a second.
  if (e.connecting_ahead > e.waiting.size()) {
    q->waiting_since_ns = NowNs();
    e.waiting.push_back(q);
    return;
  }
  if (!e.closed.empty()) {
    Connection* c = e.closed.back();
    e.closed.pop_back();
    c->Start(q);
    return;
  }
  q->waiting_since_ns = NowNs();
  e.waiting.push_back(q);
}

void Client::FirstToken(Query* q, std::string_view text) {
  if (!config_.report_first_token) return;
  mlperf::QuerySampleResponse response(q->id, reinterpret_cast<uintptr_t>(text.data()),
                                       text.size());
  mlperf::FirstTokenComplete(&response, 1);
}

void Client::Done(Query* q, Endpoint& e, Connection* c, bool reusable) {
  Complete(q);
  if (!e.waiting.empty()) {
    Query* next = e.waiting.front();
    e.waiting.pop_front();
    if (reusable && c->PeerClosed()) {
      if (c->last_was_stream()) e.closes_after_stream = true;
      c->Close();
    }
    c->Start(next);
    return;
  }
  if (reusable) {
    e.idle.push_back(c);
    LendIdle(e);
  } else {
    e.closed.push_back(c);
    KeepOneReady(e);
  }
}

void Client::KeepOneReady(Endpoint& e) {
  if (!e.idle.empty() || e.connecting_ahead > 0 || e.closed.empty()) return;
  {
    std::lock_guard<std::mutex> lock(issue_mu_);
    if (!e.lent.empty()) return;
  }
  Connection* c = e.closed.back();
  e.closed.pop_back();
  ++e.connecting_ahead;
  c->Preconnect();
}

void Client::Preconnected(Endpoint& e, Connection* c, bool ok) {
  --e.connecting_ahead;
  if (!ok) {
    e.closed.push_back(c);
    if (!e.waiting.empty()) {  // a query that found no free connection meanwhile
      Query* next = e.waiting.front();
      e.waiting.pop_front();
      e.closed.pop_back();
      c->Start(next);
    }
    return;
  }
  if (!e.waiting.empty()) {
    Query* next = e.waiting.front();
    e.waiting.pop_front();
    c->Start(next);
    return;
  }
  e.idle.push_back(c);
  LendIdle(e);
}

void Client::Retry(Query* q, Endpoint& e, Connection* c, bool after_stream) {
  if (after_stream) e.closes_after_stream = true;
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    ++stats_.per_endpoint[e.index].retries;
  }
  c->Start(q);  // c is closed: it connects afresh
}

void Client::CountConnectionOpened(Endpoint& e) {
  std::lock_guard<std::mutex> lock(stats_mu_);
  ++stats_.per_endpoint[e.index].connections_opened;
}

void Client::Fail(Query* q, FailureReason reason, std::string_view message) {
  q->record.failure = reason;
  q->parsed.error.assign(message.data(), message.size());
  Complete(q);
}

void Client::Complete(Query* q) {
  QueryRecord& r = q->record;
  r.done_ns = NowNs();
  const bool failed = r.failure != FailureReason::kNone;
  if (!failed) {
    r.prompt_tokens = q->parsed.prompt_tokens >= 0 ? q->parsed.prompt_tokens : -1;
    if (q->parsed.usage_tokens >= 0) {
      r.tokens = q->parsed.usage_tokens;
      r.token_source = TokenSource::kUsage;
    } else {
      r.tokens = q->parsed.content_chunks;
      r.token_source = TokenSource::kCountedChunks;
    }
  }
  Endpoint& e = *endpoints_[r.endpoint];
  --e.outstanding;
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    ++stats_.completed;
    EndpointCounts& counts = stats_.per_endpoint[r.endpoint];
    ++counts.completed;
    if (failed) {
      ++stats_.failed;
      ++counts.failed;
      ++stats_.failures_by_reason[static_cast<size_t>(r.failure)];
      stats_.last_failure = std::string(FailureReasonName(r.failure)) + ": " + q->parsed.error;
    } else if (r.token_source == TokenSource::kUsage) {
      ++stats_.tokens_from_usage;
    } else {
      ++stats_.tokens_from_chunks;
    }
    if (r.written_on_issue) ++stats_.written_on_issue;
    stats_.closes_after_stream[r.endpoint] = e.closes_after_stream;
    r.chunk_begin = static_cast<uint32_t>(chunk_times_.size());
    r.chunk_count = static_cast<uint32_t>(q->chunk_ns.size());
    chunk_times_.insert(chunk_times_.end(), q->chunk_ns.begin(), q->chunk_ns.end());
    records_.push_back(r);
  }
  // Before the completion: the engine issues the conversation's next turn only after it.
  if (conversations_) {
    conversations_->RecordAnswer(r.sample_index, failed ? std::string_view() : q->parsed.output);
  }
  // A failed sample is completed as failed (no output), so the run goes on, nothing waits on
  // it, and the engine counts it by reason and marks the run INVALID.
  if (failed) {
    CompleteFailed(q->id, ToSampleFailure(r.failure));
  } else {
    const std::string& output = q->parsed.output;
    mlperf::QuerySampleResponse response(q->id, reinterpret_cast<uintptr_t>(output.data()),
                                         output.size(), r.tokens);
    mlperf::QuerySamplesComplete(&response, 1);
  }
  q->parsed.Reset();
  q->chunk_ns.clear();
  free_slots_.push_back(q);
  outstanding_.fetch_sub(1, std::memory_order_relaxed);
}

EndpointStats Client::Stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return stats_;
}

void Client::CopyRecords(std::vector<QueryRecord>* records,
                         std::vector<int64_t>* chunk_times) const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  *records = records_;
  *chunk_times = chunk_times_;
}

void Client::ClearRecords() {
  std::lock_guard<std::mutex> lock(stats_mu_);
  records_.clear();
  chunk_times_.clear();
}

void Client::CancelAll() {
  std::promise<void> done;
  asio::post(io_, [this, &done] {
    Drain();  // requests handed over but not yet adopted are in flight too
    for (auto& e : endpoints_) {
      while (!e->waiting.empty()) {
        Query* q = e->waiting.front();
        e->waiting.pop_front();
        Fail(q, FailureReason::kCancelled, "cancelled");
      }
      for (auto& c : e->connections) c->Abort(FailureReason::kCancelled);
    }
    done.set_value();
  });
  done.get_future().wait();
}

}  // namespace loadgen::net
