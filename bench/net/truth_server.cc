// The native truth server: the same OpenAI-compatible instrument as truth_server.py (same flags,
// endpoints, answers and JSON-lines log; see that file's docstring for the format), with the
// arrival of each request and the sends stamped by the kernel instead of by an event loop.
//
// Arrival (`aw`, `am`): every socket has SO_TIMESTAMPNS, so each recvmsg returns the kernel's
// receive stamp (CLOCK_REALTIME, taken when the segment was delivered to TCP: on loopback, in the
// sender's own sendmsg) of the last segment it read; a request's stamp is that of the read that
// held its first byte. `aw` is that stamp; `am` is it on CLOCK_MONOTONIC, by the offset
// realtime - monotonic measured at start and every 0.5 s (the tightest of 5 bracketed reads;
// its error and drift go to the header and the trailer). So the server's own loop lag is not in
// the arrival stamps; how late user space read the bytes is logged per request as `ua` (ns after
// `am`). A read that brings no stamp falls back to the user-space read time (counted in the
// trailer, `rx_user_stamps`).
//
// Sends (`r`, `ch`, `e`): the kernel's TX software stamp of the send's last byte (asked per
// send with an SO_TIMESTAMPING cmsg, read from the socket's error queue right after it: on
// loopback the kernel queues it inside sendmsg), converted like the arrival. A user-space stamp
// after send() returns, as truth_server.py takes, is later by the rest of sendmsg (on loopback,
// delivering to the client and waking it: ~40 µs on this VM), which a client's TTFT error
// against it would lose. `--send-stamps user` takes those instead; a send without a kernel
// stamp (bytes the socket did not take at once, counted as `send_queued`) falls back to it
// (trailer: `tx_kernel_stamps`, `tx_user_stamps`).
//
// Schedule: token k goes at parsed + ttft + k*itl (absolute), on a timerfd armed to the next
// deadline with 1 ns timer slack. One thread, one epoll loop, one core.
//
//   taskset -c 1 build/cpp-tests/bench/net/truth_server --port 8111 --log /tmp/t.jsonl
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json.hpp>
#include <boost/json/src.hpp>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "truth_server_settings.h"
#include "truth_server_text.h"

namespace {

using truth_server::AppendInt;
using truth_server::AppendLatin1String;
using truth_server::AsInt;
using truth_server::CodePoints;
using truth_server::Field;
using truth_server::JsonOrNull;
using truth_server::kWords;
using truth_server::ParseSettings;
using truth_server::PromptOf;
using truth_server::Settings;
using truth_server::Truthy;
using truth_server::Words;

namespace http = boost::beast::http;
namespace json = boost::json;

// ------------------------------------------------------------------ clocks

int64_t Now(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}
int64_t MonoNs() { return Now(CLOCK_MONOTONIC); }
int64_t WallNs() { return Now(CLOCK_REALTIME); }

// realtime - monotonic, from the tightest of a few (mono, real, mono) brackets: the error of
// one conversion is at most half that bracket (plus a step of the wall clock since).
struct ClockOffset {
  int64_t offset_ns = 0;
  int64_t half_width_ns = 0;
};

ClockOffset MeasureClockOffset() {
  ClockOffset best{0, INT64_MAX};
  for (int i = 0; i < 5; ++i) {
    const int64_t m1 = MonoNs();
    const int64_t r = WallNs();
    const int64_t m2 = MonoNs();
    const int64_t half = (m2 - m1 + 1) / 2;
    if (half < best.half_width_ns) best = {r - (m1 + (m2 - m1) / 2), half};
  }
  return best;
}

// ------------------------------------------------------------------ requests and connections

// One request's log record and its answer's state.
struct Request {
  int64_t i = 0;
  uint64_t cid = 0;
  std::string path;
  std::string method;
  int64_t aw = 0;  // arrival, kernel CLOCK_REALTIME
  int64_t am = 0;  // the same on CLOCK_MONOTONIC
  int64_t ua = 0;  // user space read the first byte (offset)
  int64_t parsed = 0;
  bool kernel_stamp = false;
  bool close = false;  // answer with connection: close, then close
  std::string body;
  // Filled by the handler.
  std::string extra;  // ,"pc":..,"s":.. already formatted
  int status = 0;
  bool has_ch = false;
  std::vector<int64_t> ch;
  std::optional<int64_t> role_at;
  bool done = false;
  bool aborted = false;
  int64_t end = 0;         // `e`, ns after am
  int pending_stamps = 0;  // logged sends whose kernel stamp has not arrived yet
  bool finished = false;   // Finish called: logged once pending_stamps is 0
  bool logged = false;
  // Streaming.
  bool chat = false;
  int64_t n = 0;
  int64_t k = 0;
  std::string prefix;      // the chunk's JSON up to the token
  std::string usage_json;  // empty: no usage chunk
};

struct ReadStamp {
  size_t end;           // input offset just past this read's bytes
  int64_t kernel_wall;  // 0: none
  int64_t user_mono;
};

struct Connection {
  int fd = -1;
  uint64_t cid = 0;
  bool closed = false;
  bool close_after_flush = false;
  bool want_out = false;
  std::string in;
  std::deque<ReadStamp> stamps;
  std::optional<http::request_parser<http::string_body>> parser;
  bool message_started = false;
  int64_t start_wall = 0, start_mono = 0, start_user = 0;
  bool start_kernel = false;
  std::string out;            // bytes the socket did not take yet
  uint64_t bytes_sent = 0;    // taken by the socket (the TX stamps' keys count these)
  bool tx_stamps = false;     // the socket reports TX stamps
  bool tx_key_valid = false;  // the last send asked for a stamp and the socket took it all
  uint32_t tx_key = 0;        // its key: the offset of its last byte
  bool tx_found = false;      // its stamp, read from the error queue at once
  int64_t tx_wall = 0;
  // Stamps that come later (TCP held the segment back), and the requests they belong to.
  struct AwaitedStamp {
    uint32_t key;
    Request* request;
    int slot;  // index into ch, or kSlotRole / kSlotEnd / kSlotNonStream
  };
  std::deque<AwaitedStamp> awaited;
  std::vector<std::unique_ptr<Request>> waiting;  // answered; the log line awaits stamps
  std::unique_ptr<Request> busy;
  std::deque<std::unique_ptr<Request>> pending;
};

// Where a late TX stamp goes besides `ch`.
constexpr int kSlotRole = -1, kSlotEnd = -2, kSlotNonStream = -3;  // r; e; ch[0] and e

enum class TimerKind : uint8_t { kToken, kNonStream, kLagProbe, kHousekeeping };

struct Timer {
  int64_t due;
  uint64_t seq;
  TimerKind kind;
  uint64_t cid;
  int64_t request;
  bool operator>(const Timer& o) const { return due != o.due ? due > o.due : seq > o.seq; }
};

constexpr int64_t kLagPeriodNs = 10'000'000;
constexpr int64_t kHousekeepingNs = 500'000'000;
constexpr size_t kReadSize = 65536;

class Server {
 public:
  explicit Server(const Settings& s) : s_(s), created_(WallNs() / 1000000000) {}

  int Run();

 private:
  // setup
  bool Listen();
  void WriteHeader();
  // loop
  void Accept();
  void OnReadable(Connection& c);
  void OnWritable(Connection& c);
  void Parse(Connection& c);
  void RunDueTimers();
  void ArmTimer();
  void Schedule(int64_t due, TimerKind kind, uint64_t cid = 0, int64_t request = 0);
  // answers
  void Handle(Connection& c);
  void Advance(Connection& c);
  void Simple(Connection& c, Request& r, int status, std::string_view body);
  void CloseIfAsked(Connection& c, const Request& r);
  void SendToken(Connection& c, Request& r);
  void SendNonStream(Connection& c, Request& r);
  void Finish(Request& r, int64_t end);
  void Send(Connection& c, std::string_view data, bool stamp = false);
  void WriteChunk(Connection& c, std::string_view payload, bool stamp = false);
  void DrainTxStamps(Connection& c);
  int64_t Stamp(Connection& c, Request& r, int slot);
  void WriteRecord(Request& r);
  void LogWaiting(Connection& c);
  std::string Head(int status, std::string_view ctype, std::optional<size_t> length, bool close);
  // teardown
  void Lose(Connection& c);
  void CloseNow(Connection& c);
  void FlushLog();
  void WriteTrailer();
  Connection* Find(uint64_t cid) {
    const auto it = conns_.find(cid);
    return it == conns_.end() ? nullptr : it->second.get();
  }

  Settings s_;
  int64_t created_;
  int listen_fd_ = -1, epoll_fd_ = -1, timer_fd_ = -1, signal_fd_ = -1;
  FILE* log_ = nullptr;
  std::string log_buf_;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> conns_;
  std::vector<std::unique_ptr<Connection>> graveyard_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  uint64_t timer_seq_ = 0;
  int64_t armed_ = -1;
  uint64_t next_cid_ = 0;
  int64_t requests_ = 0;
  ClockOffset clock_;
  int64_t clock_drift_max_ns_ = 0;
  int64_t clock_half_width_max_ns_ = 0;
  // trailer statistics
  double lag_max_ms_ = 0, lag_sum_ms_ = 0;
  int64_t lag_n_ = 0, lag_over_ = 0, lag_expected_ = 0;
  int64_t rx_kernel_ = 0, rx_user_ = 0;
  double ua_sum_us_ = 0, ua_max_us_ = 0;
  int64_t send_queued_ = 0;
  int64_t tx_kernel_ = 0, tx_late_ = 0, tx_user_ = 0;
  char read_buf_[kReadSize];
};

bool Server::Listen() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(s_.port);
  if (const int rc = getaddrinfo(s_.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    std::fprintf(stderr, "truth_server: %s: %s\n", s_.host.c_str(), gai_strerror(rc));
    return false;
  }
  listen_fd_ = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // On the listener too: enables the kernel's receive stamping before the first accept, and
  // accepted sockets inherit it (set again on each, to be sure).
  setsockopt(listen_fd_, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  const bool ok =
      bind(listen_fd_, res->ai_addr, res->ai_addrlen) == 0 && listen(listen_fd_, s_.backlog) == 0;
  freeaddrinfo(res);
  if (!ok) {
    std::fprintf(stderr, "truth_server: cannot listen on %s:%d: %s\n", s_.host.c_str(), s_.port,
                 std::strerror(errno));
  }
  return ok;
}

void Server::WriteHeader() {
  std::string h = "{\"hdr\":{";
  json::object o;
  o["host"] = s_.host;
  o["port"] = s_.port;
  o["log"] = s_.log;
  o["ttft_ms"] = s_.ttft_ms;
  o["itl_ms"] = s_.itl_ms;
  o["output_tokens"] = s_.output_tokens;
  o["max_output_tokens"] = s_.max_output_tokens;
  o["honor_max_tokens"] = s_.honor_max_tokens;
  o["eos_at"] = s_.eos_at;
  o["role_chunk"] = s_.role_chunk;
  o["always_usage"] = s_.always_usage;
  o["model"] = s_.model;
  o["backlog"] = s_.backlog;
  o["ready_file"] = s_.ready_file.empty() ? json::value(nullptr) : json::value(s_.ready_file);
  o["ttft_ns"] = s_.ttft_ns;
  o["itl_ns"] = s_.itl_ns;
  o["pid"] = static_cast<int64_t>(getpid());
  o["start_wall_ns"] = WallNs();
  o["start_mono_ns"] = MonoNs();
  o["uvloop"] = false;
  o["server"] = "native";
  o["arrival_stamps"] = "kernel SO_TIMESTAMPNS (CLOCK_REALTIME) - realtime_minus_monotonic_ns";
  o["send_stamps"] =
      s_.kernel_send_stamps
          ? "kernel TX software stamp (SO_TIMESTAMPING) - realtime_minus_monotonic_ns"
          : "user space, CLOCK_MONOTONIC after send()";
  o["realtime_minus_monotonic_ns"] = clock_.offset_ns;
  o["clock_offset_error_ns"] = clock_.half_width_ns;
  std::fprintf(log_, "{\"hdr\":%s}\n", json::serialize(o).c_str());
  std::fflush(log_);
}

int Server::Run() {
  clock_ = MeasureClockOffset();
  clock_half_width_max_ns_ = clock_.half_width_ns;
  if (!Listen()) return 1;  // first: a server that cannot start leaves any log alone
  log_ = std::fopen(s_.log.c_str(), "wb");
  if (log_ == nullptr) {
    std::fprintf(stderr, "truth_server: cannot write %s: %s\n", s_.log.c_str(),
                 std::strerror(errno));
    return 1;
  }
  WriteHeader();
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);  // hrtimers fire on time, not up to 50 µs late
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);
  signal_fd_ = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  // Tags: connection ids start at 1; these three are above any.
  const uint64_t kListen = ~uint64_t{0}, kTimer = kListen - 1, kSignal = kListen - 2;
  for (const auto& [fd, tag] : {std::pair{listen_fd_, kListen}, std::pair{timer_fd_, kTimer},
                                std::pair{signal_fd_, kSignal}}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  }
  lag_expected_ = MonoNs() + kLagPeriodNs;
  Schedule(lag_expected_, TimerKind::kLagProbe);
  Schedule(MonoNs() + kHousekeepingNs, TimerKind::kHousekeeping);
  ArmTimer();
  if (!s_.ready_file.empty()) {
    if (FILE* f = std::fopen(s_.ready_file.c_str(), "w")) {
      std::fprintf(f, "%d", static_cast<int>(getpid()));
      std::fclose(f);
    }
  }
  std::printf("truth_server (native) pid=%d listening on http://%s:%d log=%s\n",
              static_cast<int>(getpid()), s_.host.c_str(), s_.port, s_.log.c_str());
  std::fflush(stdout);

  epoll_event events[256];
  for (bool stop = false; !stop;) {
    const int n = epoll_wait(epoll_fd_, events, 256, -1);
    if (n < 0 && errno != EINTR) {
      std::perror("truth_server: epoll_wait");
      break;
    }
    for (int e = 0; e < n; ++e) {
      const uint64_t tag = events[e].data.u64;
      if (tag == kListen) {
        Accept();
      } else if (tag == kTimer) {
        uint64_t expirations;
        [[maybe_unused]] const ssize_t got = read(timer_fd_, &expirations, sizeof expirations);
        armed_ = -1;
      } else if (tag == kSignal) {
        stop = true;
      } else if (Connection* c = Find(tag)) {
        if (events[e].events & EPOLLERR) DrainTxStamps(*c);  // a late TX stamp
        if (events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) OnReadable(*c);
        if (!c->closed && (events[e].events & EPOLLOUT)) OnWritable(*c);
      }
    }
    RunDueTimers();
    ArmTimer();
    graveyard_.clear();
  }
  close(listen_fd_);
  for (auto& [cid, c] : conns_) LogWaiting(*c);  // answered; stamps still to come
  FlushLog();
  WriteTrailer();
  std::fclose(log_);
  return 0;
}

void Server::Accept() {
  for (;;) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // EAGAIN, or out of descriptors: the backlog holds the rest
    }
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // as asyncio does
    auto c = std::make_unique<Connection>();
    c->fd = fd;
    if (s_.kernel_send_stamps) {
      // Report software stamps with no payload, keyed by byte offset; the stamping itself is
      // asked per send (a cmsg on the sends whose time is logged), so other sends cost nothing.
      const uint32_t flags =
          SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY;
      c->tx_stamps = setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof flags) == 0;
      // The error queue counts against the receive buffer: room for the stamps of a long
      // burst that TCP sends late (the requests themselves are small).
      const int rcvbuf = 4 << 20;
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    }
    c->cid = ++next_cid_;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = c->cid;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    conns_.emplace(c->cid, std::move(c));
  }
}

void Server::OnReadable(Connection& c) {
  for (;;) {
    iovec iov{read_buf_, kReadSize};
    // Room for SCM_TIMESTAMPNS and the SCM_TIMESTAMPING copy SO_TIMESTAMPING adds.
    alignas(cmsghdr) char control[256];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t got = recvmsg(c.fd, &msg, 0);
    const int64_t user = MonoNs();
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      Lose(c);
      return;
    }
    if (got == 0) {  // the client closed (asyncio closes the transport on EOF too)
      Lose(c);
      return;
    }
    int64_t kernel = 0;
    for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm != nullptr; cm = CMSG_NXTHDR(&msg, cm)) {
      if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
        timespec ts;
        std::memcpy(&ts, CMSG_DATA(cm), sizeof ts);
        kernel = static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
      }
    }
    c.in.append(read_buf_, static_cast<size_t>(got));
    c.stamps.push_back({c.in.size(), kernel, user});
    Parse(c);
    if (c.closed || static_cast<size_t>(got) < kReadSize) return;
  }
}

void Server::Parse(Connection& c) {
  size_t offset = 0;
  while (offset < c.in.size() && !c.closed) {
    if (!c.parser) {
      c.parser.emplace();
      c.parser->eager(true);
      c.parser->header_limit(1 << 20);
      c.parser->body_limit(std::uint64_t{1} << 30);
      c.message_started = false;
    }
    if (!c.message_started) {  // this byte begins a request: the read that brought it stamps it
      while (!c.stamps.empty() && c.stamps.front().end <= offset) c.stamps.pop_front();
      const ReadStamp& st = c.stamps.front();
      c.message_started = true;
      c.start_user = st.user_mono;
      c.start_kernel = st.kernel_wall != 0;
      if (c.start_kernel) {
        c.start_wall = st.kernel_wall;
        c.start_mono = st.kernel_wall - clock_.offset_ns;
      } else {
        c.start_mono = st.user_mono;
        c.start_wall = st.user_mono + clock_.offset_ns;
      }
    }
    boost::beast::error_code ec;
    const size_t used =
        c.parser->put(boost::asio::const_buffer(c.in.data() + offset, c.in.size() - offset), ec);
    offset += used;
    if (ec == http::error::need_more) break;
    if (ec) {
      Send(c, "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
      if (!c.closed) {
        c.close_after_flush = true;
        if (c.out.empty()) CloseNow(c);
      }
      return;
    }
    if (!c.parser->is_done()) {
      if (used == 0) break;
      continue;
    }
    auto r = std::make_unique<Request>();
    r->parsed = MonoNs();
    http::request<http::string_body> msg = c.parser->release();
    c.parser.reset();
    r->cid = c.cid;
    r->aw = c.start_wall;
    r->am = c.start_mono;
    r->ua = c.start_user - c.start_mono;
    r->kernel_stamp = c.start_kernel;
    r->method = std::string(msg.method_string());
    const std::string_view target = msg.target();
    r->path = std::string(target.substr(0, target.find('?')));
    r->body = std::move(msg.body());
    r->close = !msg.keep_alive();
    const bool upgrade = msg.method() == http::verb::connect ||
                         (msg.count(http::field::upgrade) > 0 &&
                          http::token_list(msg[http::field::connection]).exists("upgrade"));
    if (upgrade) {  // truth_server.py (httptools) closes on an upgrade request
      Lose(c);
      return;
    }
    if (c.busy == nullptr) {
      c.busy = std::move(r);
      Handle(c);
      Advance(c);
    } else {  // pipelined: answered after the current one
      c.pending.push_back(std::move(r));
    }
  }
  if (offset > 0 && !c.closed) {
    c.in.erase(0, offset);
    while (!c.stamps.empty() && c.stamps.front().end <= offset) c.stamps.pop_front();
    for (ReadStamp& st : c.stamps) st.end -= offset;
  }
}

std::string Server::Head(int status, std::string_view ctype, std::optional<size_t> length,
                         bool close) {
  const char* text = status == 200   ? "OK"
                     : status == 400 ? "Bad Request"
                     : status == 404 ? "Not Found"
                     : status == 405 ? "Method Not Allowed"
                                     : "OK";
  std::string h = "HTTP/1.1 ";
  AppendInt(h, status);
  h += ' ';
  h += text;
  h += "\r\ncontent-type: ";
  h += ctype;
  if (length) {
    h += "\r\ncontent-length: ";
    AppendInt(h, static_cast<int64_t>(*length));
  } else {
    h += "\r\ntransfer-encoding: chunked";
  }
  h += close ? "\r\nconnection: close\r\n\r\n" : "\r\n\r\n";
  return h;
}

void Server::Send(Connection& c, std::string_view data, bool stamp) {
  if (c.closed) return;
  c.tx_found = false;
  c.tx_key_valid = false;
  if (c.out.empty()) {
    iovec iov{const_cast<char*>(data.data()), data.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(uint32_t))] = {};
    stamp = stamp && c.tx_stamps;
    if (stamp) {  // a TX software stamp of this send's last byte, to the error queue
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      cmsghdr* cm = CMSG_FIRSTHDR(&msg);
      cm->cmsg_level = SOL_SOCKET;
      cm->cmsg_type = SO_TIMESTAMPING;
      cm->cmsg_len = CMSG_LEN(sizeof(uint32_t));
      const uint32_t flags = SOF_TIMESTAMPING_TX_SOFTWARE;
      std::memcpy(CMSG_DATA(cm), &flags, sizeof flags);
    }
    // MSG_EOR: TCP adds no later bytes to this segment, so its stamp stays this send's.
    const ssize_t sent = sendmsg(c.fd, &msg, MSG_NOSIGNAL | (stamp ? MSG_EOR : 0));
    if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      Lose(c);
      return;
    }
    const size_t done = sent < 0 ? 0 : static_cast<size_t>(sent);
    c.bytes_sent += done;
    if (done == data.size()) {
      if (stamp) {
        // On loopback the stamp is usually queued inside sendmsg: read it now (the key is the
        // offset of the last byte, counted from the setsockopt, made before any byte was sent).
        c.tx_key = static_cast<uint32_t>(c.bytes_sent - 1);
        c.tx_key_valid = true;
        DrainTxStamps(c);
      }
      return;
    }
    data.remove_prefix(done);
  }
  ++send_queued_;
  c.out.append(data);
  if (!c.want_out) {
    c.want_out = true;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLOUT;
    ev.data.u64 = c.cid;
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
  }
}

void Server::OnWritable(Connection& c) {
  while (!c.out.empty()) {
    const ssize_t sent = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      Lose(c);
      return;
    }
    c.out.erase(0, static_cast<size_t>(sent));
    c.bytes_sent += static_cast<size_t>(sent);
  }
  if (c.close_after_flush) {
    CloseNow(c);
    return;
  }
  c.want_out = false;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.u64 = c.cid;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
}

void Server::DrainTxStamps(Connection& c) {
  for (;;) {
    alignas(cmsghdr) char control[256];
    msghdr msg{};
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    if (recvmsg(c.fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return;  // EAGAIN: drained
    int64_t wall = 0;
    bool keyed = false;
    uint32_t key = 0;
    for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm != nullptr; cm = CMSG_NXTHDR(&msg, cm)) {
      if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPING) {
        scm_timestamping ts;
        std::memcpy(&ts, CMSG_DATA(cm), sizeof ts);
        wall = static_cast<int64_t>(ts.ts[0].tv_sec) * 1000000000 + ts.ts[0].tv_nsec;
      } else if ((cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_RECVERR) ||
                 (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_RECVERR)) {
        sock_extended_err err;
        std::memcpy(&err, CMSG_DATA(cm), sizeof err);
        keyed = err.ee_origin == SO_EE_ORIGIN_TIMESTAMPING && err.ee_info == SCM_TSTAMP_SND;
        key = err.ee_data;
      }
    }
    if (!keyed || wall == 0) continue;
    const auto late = std::find_if(c.awaited.begin(), c.awaited.end(),
                                   [&](const Connection::AwaitedStamp& a) { return a.key == key; });
    if (late == c.awaited.end()) {
      if (c.tx_key_valid && key == c.tx_key) {  // the send just made
        c.tx_found = true;
        c.tx_wall = wall;
      }
      continue;
    }
    Request& r = *late->request;
    const int64_t at = wall - clock_.offset_ns - r.am;
    if (late->slot >= 0) r.ch[static_cast<size_t>(late->slot)] = at;
    if (late->slot == kSlotRole) r.role_at = at;
    if (late->slot == kSlotEnd) r.end = at;
    if (late->slot == kSlotNonStream) r.ch[0] = r.end = at;
    c.awaited.erase(late);
    ++tx_kernel_;
    ++tx_late_;
    if (--r.pending_stamps == 0 && r.finished && !r.logged) {
      WriteRecord(r);
      const auto owner = std::find_if(c.waiting.begin(), c.waiting.end(),
                                      [&](const auto& w) { return w.get() == &r; });
      if (owner != c.waiting.end()) c.waiting.erase(owner);  // else still c.busy
    }
  }
}

// When the last stamped send left, in ns after r.am: its kernel TX stamp if already queued;
// else the user-space time, replaced in `slot` when the stamp comes (TCP sends the segment
// later than send() returns, e.g. beyond its congestion window: the stamp is then the truth)
// or kept if none can come (user stamps asked, bytes left waiting in our buffer).
int64_t Server::Stamp(Connection& c, Request& r, int slot) {
  if (c.tx_found) {
    ++tx_kernel_;
    return c.tx_wall - clock_.offset_ns - r.am;
  }
  if (c.tx_key_valid) {
    c.awaited.push_back({c.tx_key, &r, slot});
    ++r.pending_stamps;
  } else {
    ++tx_user_;
  }
  return MonoNs() - r.am;
}

// A closing connection or the server's end: the answered requests' lines, with the
// user-space stamps of sends whose kernel stamp never came.
void Server::LogWaiting(Connection& c) {
  DrainTxStamps(c);  // what came since the last read of the error queue
  tx_user_ += static_cast<int64_t>(c.awaited.size());
  c.awaited.clear();
  if (c.busy && c.busy->finished && !c.busy->logged) WriteRecord(*c.busy);
  for (auto& r : c.waiting) {
    if (!r->logged) WriteRecord(*r);
  }
  c.waiting.clear();
}

void Server::WriteChunk(Connection& c, std::string_view payload, bool stamp) {
  // One HTTP chunk holding one SSE event: "data: <payload>\n\n".
  char size[20];
  const int len = std::snprintf(size, sizeof size, "%zx\r\n", payload.size() + 8);
  std::string frame;
  frame.reserve(static_cast<size_t>(len) + payload.size() + 10);
  frame.append(size, static_cast<size_t>(len));
  frame += "data: ";
  frame += payload;
  frame += "\n\n\r\n";
  Send(c, frame, stamp);
}

void Server::Simple(Connection& c, Request& r, int status, std::string_view body) {
  if (!c.closed)
    Send(c, Head(status, "application/json", body.size(), r.close) + std::string(body));
  r.done = true;
}

void Server::Handle(Connection& c) {
  Request& r = *c.busy;
  r.i = ++requests_;
  if (r.kernel_stamp) {
    ++rx_kernel_;
  } else {
    ++rx_user_;
  }
  const double ua_us = static_cast<double>(r.ua) / 1e3;
  ua_sum_us_ += ua_us;
  ua_max_us_ = std::max(ua_max_us_, ua_us);
  const std::string& path = r.path;
  auto answer_simple = [&](int status, std::string_view body) {
    r.status = status;
    r.extra = ",\"s\":" + std::to_string(status);
    Simple(c, r, status, body);
    if (r.aborted) return;  // the send failed: logged as aborted
    Finish(r, MonoNs() - r.am);
    CloseIfAsked(c, r);
  };
  const char kNotFound[] = R"({"error":{"message":"not found","type":"invalid_request_error"}})";
  if (r.method == "GET") {
    if (path == "/v1/models" || path == "/models") {
      json::object m{
          {"id", s_.model}, {"object", "model"}, {"created", created_}, {"owned_by", "truth"}};
      json::object list{{"object", "list"}, {"data", json::array{m}}};
      answer_simple(200, json::serialize(list));
    } else if (path == "/health" || path == "/v1/health" || path == "/ping" || path == "/") {
      answer_simple(200, R"({"status":"ok"})");
    } else {
      answer_simple(404, kNotFound);
    }
    return;
  }
  if (r.method != "POST" || (path != "/v1/completions" && path != "/v1/chat/completions" &&
                             path != "/completions" && path != "/chat/completions")) {
    answer_simple(404, kNotFound);
    return;
  }
  json::value parsed;
  if (!r.body.empty()) {
    boost::system::error_code ec;
    parsed = json::parse(r.body, ec);
    if (ec || !parsed.is_object()) {
      answer_simple(400, R"({"error":{"message":"bad json","type":"invalid_request_error"}})");
      return;
    }
  } else {
    parsed = json::object();
  }
  const json::object& req = parsed.get_object();
  const bool chat = path.find("chat") != std::string::npos;
  const std::string prompt = PromptOf(req, chat);
  const int64_t pw = Words(prompt);
  const json::value* mt = Field(req, "max_tokens");
  if (mt == nullptr || mt->is_null()) mt = Field(req, "max_completion_tokens");
  const json::value* so = Field(req, "stream_options");
  const bool stream = Truthy(Field(req, "stream"));
  const json::value* ie = Field(req, "ignore_eos");
  const json::value* mn = Field(req, "min_tokens");
  const bool us =
      so != nullptr && so->is_object() && Truthy(Field(so->get_object(), "include_usage"));
  const json::value* mod = Field(req, "model");
  int64_t n = s_.output_tokens;
  if (const auto m = AsInt(mt); m && *m > 0 && s_.honor_max_tokens) n = *m;
  if (s_.eos_at && !Truthy(ie)) n = std::min(n, std::max(s_.eos_at, AsInt(mn).value_or(0)));
  n = std::max<int64_t>(1, std::min(n, s_.max_output_tokens));
  r.status = 200;
  r.n = n;
  std::string& x = r.extra;
  x = ",\"pc\":" + std::to_string(CodePoints(prompt)) + ",\"pw\":" + std::to_string(pw) +
      ",\"mt\":" + JsonOrNull(mt) + ",\"st\":" + (stream ? "true" : "false") +
      ",\"ie\":" + JsonOrNull(ie) + ",\"mn\":" + JsonOrNull(mn) +
      ",\"us\":" + (us ? "true" : "false") + ",\"mod\":" + JsonOrNull(mod) +
      ",\"s\":200,\"n\":" + std::to_string(n);
  const std::string model_json =
      Truthy(mod) ? json::serialize(*mod) : json::serialize(json::string(s_.model));
  const std::string rid = (chat ? "chatcmpl-" : "cmpl-") + std::to_string(r.i);
  const std::string usage = "{\"prompt_tokens\":" + std::to_string(pw) +
                            ",\"completion_tokens\":" + std::to_string(n) +
                            ",\"total_tokens\":" + std::to_string(pw + n) + "}";
  const std::string created = std::to_string(created_);
  r.chat = chat;
  r.has_ch = true;
  if (!stream) {
    std::string text;
    for (int64_t k = 0; k < n; ++k) {
      text += ' ';
      text += kWords[k & 15];
    }
    std::string body =
        "{\"id\":\"" + rid + "\",\"object\":\"" + (chat ? "chat.completion" : "text_completion") +
        "\",\"created\":" + created + ",\"model\":" + model_json + ",\"choices\":[{\"index\":0,";
    body += chat ? "\"message\":{\"role\":\"assistant\",\"content\":\"" + text + "\"}"
                 : "\"text\":\"" + text + "\",\"logprobs\":null";
    body += ",\"finish_reason\":\"length\"}],\"usage\":" + usage + "}";
    r.body = std::move(body);  // the request body is no longer needed
    const int64_t delay = s_.ttft_ns + s_.itl_ns * (n - 1);
    if (delay <= 0) {
      SendNonStream(c, r);
    } else {
      Schedule(r.parsed + delay, TimerKind::kNonStream, c.cid, r.i);
    }
    return;
  }
  Send(c, Head(200, "text/event-stream", std::nullopt, r.close));
  r.prefix = "{\"id\":\"" + rid + "\",\"object\":\"" +
             (chat ? "chat.completion.chunk" : "text_completion") + "\",\"created\":" + created +
             ",\"model\":" + model_json + ",\"choices\":[{\"index\":0," +
             (chat ? "\"delta\":{" : "\"text\":");
  if (us || s_.always_usage) {
    r.usage_json = "{\"id\":\"" + rid + "\",\"object\":\"" +
                   (chat ? "chat.completion.chunk" : "text_completion") +
                   "\",\"created\":" + created + ",\"model\":" + model_json +
                   ",\"choices\":[],\"usage\":" + usage + "}";
  }
  r.body.clear();
  if (chat && s_.role_chunk) {
    WriteChunk(
        c, r.prefix + R"("role":"assistant","content":""},"logprobs":null,"finish_reason":null}]})",
        /*stamp=*/true);
    r.role_at = Stamp(c, r, kSlotRole);
  }
  if (s_.ttft_ns <= 0 && s_.itl_ns <= 0) {
    while (!r.done && !c.closed) SendToken(c, r);
    return;
  }
  Schedule(r.parsed + s_.ttft_ns, TimerKind::kToken, c.cid, r.i);
}

void Server::SendToken(Connection& c, Request& r) {
  if (c.closed || r.done) return;
  const int64_t k = r.k;
  const bool last = k == r.n - 1;
  std::string payload = r.prefix;
  if (r.chat) {
    if (k == 0 && !s_.role_chunk) payload += "\"role\":\"assistant\",";
    payload += "\"content\":";
  }
  payload += "\" ";
  payload += kWords[k & 15];
  payload += '"';
  if (r.chat) payload += '}';
  payload += ",\"logprobs\":null,\"finish_reason\":";
  payload += last ? "\"length\"" : "null";
  payload += "}]}";
  WriteChunk(c, payload, /*stamp=*/true);
  if (c.closed) return;  // the send failed: logged as aborted
  const int64_t sent = Stamp(c, r, static_cast<int>(r.ch.size()));
  r.ch.push_back(sent);
  r.k = k + 1;
  if (!last) return;
  if (!r.usage_json.empty()) WriteChunk(c, r.usage_json);
  WriteChunk(c, "[DONE]");
  Send(c, "0\r\n\r\n", /*stamp=*/true);
  if (c.closed) return;
  r.done = true;
  Finish(r, Stamp(c, r, kSlotEnd));
  CloseIfAsked(c, r);
}

void Server::SendNonStream(Connection& c, Request& r) {
  if (c.closed) return;
  Send(c, Head(200, "application/json", r.body.size(), r.close) + r.body, /*stamp=*/true);
  if (c.closed) return;  // the send failed: logged as aborted
  const int64_t sent = Stamp(c, r, kSlotNonStream);
  r.ch.assign(1, sent);
  r.done = true;
  Finish(r, sent);
  CloseIfAsked(c, r);
}

void Server::CloseIfAsked(Connection& c, const Request& r) {
  if (!r.close || c.closed) return;
  c.close_after_flush = true;  // once the socket took every byte
  if (c.out.empty()) CloseNow(c);
}

// After an answer ended: the next pipelined request, if any. Called only from the loop's own
// frames (never from inside Handle or a send), so no request is freed under a caller.
void Server::Advance(Connection& c) {
  while (!c.closed && c.busy && c.busy->done) {
    if (c.busy->finished && !c.busy->logged) {
      c.waiting.push_back(std::move(c.busy));  // its line awaits a TX stamp
    } else {
      c.busy.reset();
    }
    if (c.pending.empty()) return;
    c.busy = std::move(c.pending.front());
    c.pending.pop_front();
    Handle(c);
  }
}

void Server::Finish(Request& r, int64_t end) {
  r.end = end;
  r.finished = true;
  if (r.pending_stamps == 0) WriteRecord(r);
}

void Server::WriteRecord(Request& r) {
  r.logged = true;
  std::string& o = log_buf_;
  o += "{\"i\":";
  AppendInt(o, r.i);
  o += ",\"c\":";
  AppendInt(o, static_cast<int64_t>(r.cid));
  o += ",\"p\":";
  AppendLatin1String(o, r.path);
  o += ",\"m\":";
  AppendLatin1String(o, r.method);
  o += ",\"aw\":";
  AppendInt(o, r.aw);
  o += ",\"am\":";
  AppendInt(o, r.am);
  o += ",\"b\":";
  AppendInt(o, r.parsed - r.am);
  o += ",\"ua\":";
  AppendInt(o, r.ua);
  o += r.extra;
  if (r.has_ch) {
    o += ",\"ch\":[";
    for (size_t j = 0; j < r.ch.size(); ++j) {
      if (j) o += ',';
      AppendInt(o, r.ch[j]);
    }
    o += ']';
  }
  if (r.role_at) {
    o += ",\"r\":";
    AppendInt(o, *r.role_at);
  }
  if (!r.ch.empty()) {
    o += ",\"f\":";
    AppendInt(o, r.ch.front());
  }
  o += ",\"e\":";
  AppendInt(o, r.end);
  if (r.aborted) o += ",\"ab\":true";
  o += "}\n";
  if (log_buf_.size() >= (1 << 20)) FlushLog();
}

void Server::Schedule(int64_t due, TimerKind kind, uint64_t cid, int64_t request) {
  timers_.push({due, ++timer_seq_, kind, cid, request});
}

void Server::ArmTimer() {
  if (timers_.empty()) return;
  const int64_t due = timers_.top().due;
  if (due == armed_) return;
  itimerspec spec{};
  spec.it_value.tv_sec = due / 1000000000;
  spec.it_value.tv_nsec = due % 1000000000;
  if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) spec.it_value.tv_nsec = 1;
  timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
  armed_ = due;
}

void Server::RunDueTimers() {
  int64_t now = MonoNs();
  while (!timers_.empty() && timers_.top().due <= now) {
    const Timer t = timers_.top();
    timers_.pop();
    switch (t.kind) {
      case TimerKind::kToken: {
        Connection* c = Find(t.cid);
        if (c == nullptr || !c->busy || c->busy->i != t.request) break;
        Request& r = *c->busy;
        SendToken(*c, r);
        if (!r.done && !c->closed) {  // the next token, on the absolute schedule
          Schedule(r.parsed + s_.ttft_ns + r.k * s_.itl_ns, TimerKind::kToken, t.cid, r.i);
        }
        Advance(*c);
        break;
      }
      case TimerKind::kNonStream: {
        Connection* c = Find(t.cid);
        if (c != nullptr && c->busy && c->busy->i == t.request) {
          SendNonStream(*c, *c->busy);
          Advance(*c);
        }
        break;
      }
      case TimerKind::kLagProbe: {
        // How late a timer fires: the loop's lag (no longer inside the arrival stamps).
        const double lag = std::max(0.0, static_cast<double>(now - lag_expected_) / 1e6);
        ++lag_n_;
        lag_sum_ms_ += lag;
        lag_max_ms_ = std::max(lag_max_ms_, lag);
        if (lag > 1.5) ++lag_over_;
        lag_expected_ = now + kLagPeriodNs;
        Schedule(lag_expected_, TimerKind::kLagProbe);
        break;
      }
      case TimerKind::kHousekeeping: {
        FlushLog();
        // The wall clock may be stepped (NTP, settimeofday): re-measure the offset.
        const ClockOffset fresh = MeasureClockOffset();
        clock_drift_max_ns_ =
            std::max(clock_drift_max_ns_, std::abs(fresh.offset_ns - clock_.offset_ns));
        clock_half_width_max_ns_ = std::max(clock_half_width_max_ns_, fresh.half_width_ns);
        clock_ = fresh;
        Schedule(now + kHousekeepingNs, TimerKind::kHousekeeping);
        break;
      }
    }
    now = MonoNs();
  }
}

void Server::Lose(Connection& c) {
  if (c.closed) return;
  // truth_server.py's connection_lost: an unfinished answer is logged as aborted.
  if (c.busy && !c.busy->done) {
    c.busy->aborted = true;
    c.busy->done = true;
    Finish(*c.busy, MonoNs() - c.busy->am);
  }
  CloseNow(c);
}

void Server::CloseNow(Connection& c) {
  if (c.closed) return;
  c.closed = true;
  LogWaiting(c);  // no stamp can be read once the socket is closed
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
  close(c.fd);
  const auto it = conns_.find(c.cid);
  if (it != conns_.end()) {  // freed after this loop iteration: callers still hold it
    graveyard_.push_back(std::move(it->second));
    conns_.erase(it);
  }
}

void Server::FlushLog() {
  if (log_buf_.empty()) return;
  std::fwrite(log_buf_.data(), 1, log_buf_.size(), log_);
  std::fflush(log_);
  log_buf_.clear();
}

void Server::WriteTrailer() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6;
  };
  const int64_t stamped = rx_kernel_ + rx_user_;
  json::object t{
      {"cpu_user_s", secs(ru.ru_utime)},
      {"cpu_sys_s", secs(ru.ru_stime)},
      {"requests", requests_},
      {"conns", static_cast<int64_t>(next_cid_)},
      {"lag_max_ms", lag_max_ms_},
      {"lag_mean_ms", lag_sum_ms_ / static_cast<double>(std::max<int64_t>(1, lag_n_))},
      {"lag_over_1_5ms", lag_over_},
      {"lag_n", lag_n_},
      {"end_wall_ns", WallNs()},
      {"end_mono_ns", MonoNs()},
      {"rx_kernel_stamps", rx_kernel_},
      {"rx_user_stamps", rx_user_},
      {"user_read_after_arrival_us_mean",
       stamped ? ua_sum_us_ / static_cast<double>(stamped) : 0.0},
      {"user_read_after_arrival_us_max", ua_max_us_},
      {"realtime_minus_monotonic_ns", clock_.offset_ns},
      {"clock_offset_error_ns_max", clock_half_width_max_ns_},
      {"clock_offset_step_ns_max", clock_drift_max_ns_},
      {"send_queued", send_queued_},
      {"tx_kernel_stamps", tx_kernel_},
      {"tx_user_stamps", tx_user_},
      {"tx_late_stamps", tx_late_},
  };
  std::fprintf(log_, "{\"trl\":%s}\n", json::serialize(t).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  if (!ParseSettings(argc, argv, settings)) return 2;
  static Server server(settings);  // static: the read buffer is not on the stack
  return server.Run();
}
