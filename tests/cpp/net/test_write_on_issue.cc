// Write on issue (docs/net.md): IssueQuery writes a one-sample query itself on a connection the
// I/O thread lent it, and hands the rest over. These tests check the hand-over's correctness —
// nothing lost or sent twice when several threads issue at once, one thread's requests leave
// in issue order, the lent connection is used — never how fast it is.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "loopback_server.h"
#include "net/endpoint_sut.h"

namespace loadgen::net {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

// Answers every request with a small keep-alive JSON completion and keeps the bodies it got,
// in arrival order (one thread per connection).
class RecordingServer {
 public:
  std::string url() const { return server_.url(); }
  std::vector<std::string> bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }

 private:
  void Serve(tcp::socket& s) {
    boost::beast::flat_buffer buffer;
    while (true) {
      http::request_parser<http::string_body> request;
      request.body_limit(boost::none);
      boost::system::error_code ec;
      http::read(s, buffer, request, ec);
      if (ec) return;
      {
        std::lock_guard<std::mutex> lock(mu_);
        bodies_.push_back(request.get().body());
      }
      http::response<http::string_body> response(http::status::ok, 11);
      response.set(http::field::content_type, "application/json");
      response.body() = R"({"choices":[{"text":"ok"}],"usage":{"completion_tokens":1}})";
      response.prepare_payload();
      http::write(s, response, ec);
      if (ec) return;
    }
  }

  std::mutex mu_;
  std::vector<std::string> bodies_;
  LoopbackServer server_{[this](tcp::socket& s) { Serve(s); }};  // last: stopped first
};

EndpointConfig Config(const std::string& url) {
  EndpointConfig config;
  config.base_urls = {url};
  config.path = "/v1/completions";
  config.api = ApiKind::kOpenAiCompletions;
  config.report_first_token = false;
  config.total_timeout_ns = 20'000'000'000;
  return config;
}

// One distinct body per sample index.
std::vector<std::string> Bodies(size_t count) {
  std::vector<std::string> bodies;
  for (size_t i = 0; i < count; ++i) bodies.push_back("{\"n\":" + std::to_string(i) + "}");
  return bodies;
}

void WaitForNoneOutstanding(EndpointSut& sut) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (sut.Outstanding() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(sut.Outstanding(), 0u);
}

TEST(WriteOnIssue, ConcurrentIssuersLoseNothingAndSendNothingTwice) {
  RecordingServer server;
  constexpr size_t kThreads = 4;
  constexpr size_t kPerThread = 400;
  constexpr size_t kCount = kThreads * kPerThread;
  EndpointConfig config = Config(server.url());
  config.max_connections = 6;  // fewer than can be in flight: lending, queueing and reclaiming
  EndpointSut sut(config, Bodies(kCount));
  std::vector<std::thread> issuers;
  for (size_t t = 0; t < kThreads; ++t) {
    issuers.emplace_back([&sut, t] {
      std::mt19937 random(static_cast<unsigned>(t));
      for (size_t i = 0; i < kPerThread;) {
        // Mostly one sample (the write-on-issue path), sometimes a batch (always queued),
        // sometimes a pause so that connections go idle and are lent.
        const size_t n = random() % 8 == 0 ? std::min<size_t>(3, kPerThread - i) : 1;
        std::vector<mlperf::QuerySample> samples;
        for (size_t k = 0; k < n; ++k, ++i) {
          const size_t index = i * kThreads + t;
          samples.push_back({static_cast<mlperf::ResponseId>(index + 1), index});
        }
        sut.IssueQuery(samples);
        if (random() % 4 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    });
  }
  for (auto& t : issuers) t.join();
  WaitForNoneOutstanding(sut);

  const EndpointStats stats = sut.Stats();
  EXPECT_EQ(stats.issued, kCount);
  EXPECT_EQ(stats.completed, kCount);
  EXPECT_EQ(stats.failed, 0u) << stats.last_failure;
  std::vector<QueryRecord> records;
  std::vector<int64_t> chunks;
  sut.CopyRecords(&records, &chunks);
  ASSERT_EQ(records.size(), kCount);
  std::vector<int> completed(kCount, 0);
  size_t written_on_issue = 0;
  for (const QueryRecord& r : records) {
    ASSERT_LT(r.sample_index, kCount);
    ++completed[r.sample_index];
    EXPECT_EQ(r.failure, FailureReason::kNone);
    EXPECT_GT(r.written_ns, 0);
    EXPECT_GE(r.written_ns, r.issued_ns);
    written_on_issue += r.written_on_issue ? 1 : 0;
  }
  EXPECT_EQ(std::count(completed.begin(), completed.end(), 1), static_cast<long>(kCount));
  EXPECT_EQ(stats.written_on_issue, written_on_issue);

  // The server got every body exactly once.
  std::vector<std::string> got = server.bodies();
  std::vector<std::string> expected = Bodies(kCount);
  std::sort(got.begin(), got.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(got, expected);
}

// One connection: whichever path each request takes (written on issue when the connection is
// idle and lent, queued behind it otherwise), the server gets them in issue order. Issued about as
// fast as the connection serves them, so that it often turns idle (and is lent) just as
// queries are queued for it.
TEST(WriteOnIssue, OneThreadsRequestsArriveInIssueOrder) {
  RecordingServer server;
  constexpr size_t kCount = 3000;
  EndpointConfig config = Config(server.url());
  config.max_connections = 1;
  EndpointSut sut(config, Bodies(kCount));
  std::mt19937 random(7);
  for (size_t i = 0; i < kCount; ++i) {
    sut.IssueQuery({{static_cast<mlperf::ResponseId>(i + 1), i}});
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(random() % 80);
    while (std::chrono::steady_clock::now() < until) {
    }
  }
  WaitForNoneOutstanding(sut);
  const std::vector<std::string> got = server.bodies();
  const std::vector<std::string> expected = Bodies(kCount);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < kCount; ++i) ASSERT_EQ(got[i], expected[i]) << "request " << i;
  EXPECT_EQ(sut.Stats().failed, 0u);
}

// An idle connection is lent: a query issued while it is idle is written by the issuing
// thread. With write_on_issue off, none is.
TEST(WriteOnIssue, AnIdleConnectionIsWrittenOnByTheIssuingThread) {
  for (const bool enabled : {true, false}) {
    RecordingServer server;
    EndpointConfig config = Config(server.url());
    config.write_on_issue = enabled;
    EndpointSut sut(config, Bodies(1));
    constexpr int kCount = 10;
    for (int i = 0; i < kCount; ++i) {
      // Long enough for the I/O thread to finish the previous response and lend its connection.
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      sut.IssueQuery({{static_cast<mlperf::ResponseId>(i + 1), 0}});
      WaitForNoneOutstanding(sut);
    }
    const EndpointStats stats = sut.Stats();
    EXPECT_EQ(stats.completed, static_cast<uint64_t>(kCount));
    EXPECT_EQ(stats.failed, 0u);
    EXPECT_EQ(stats.per_endpoint[0].connections_opened, 1u);  // one kept-alive connection
    if (enabled) {
      EXPECT_GT(stats.written_on_issue, 0u);
    } else {
      EXPECT_EQ(stats.written_on_issue, 0u);
    }
  }
}

// A body larger than the socket buffer: the issuing thread's non-blocking send writes what
// fits, the I/O thread writes the rest from there (ContinueWritten). The server must get every
// byte, in order.
TEST(WriteOnIssue, ABodyLargerThanTheSocketBufferIsFinishedByTheIoThread) {
  RecordingServer server;
  std::vector<std::string> bodies;
  for (char fill : {'a', 'b', 'c'}) {
    std::string body = "{\"pad\":\"";
    for (size_t i = 0; i < (8u << 20); ++i) body.push_back(static_cast<char>(fill + i % 7));
    body += "\"}";
    bodies.push_back(std::move(body));
  }
  EndpointSut sut(Config(server.url()), bodies);
  for (size_t i = 0; i < bodies.size(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the connection is lent
    sut.IssueQuery({{static_cast<mlperf::ResponseId>(i + 1), i}});
    WaitForNoneOutstanding(sut);
  }
  const EndpointStats stats = sut.Stats();
  EXPECT_EQ(stats.failed, 0u) << stats.last_failure;
  EXPECT_GT(stats.written_on_issue, 0u);
  const std::vector<std::string> got = server.bodies();
  ASSERT_EQ(got.size(), bodies.size());
  for (size_t i = 0; i < bodies.size(); ++i) EXPECT_TRUE(got[i] == bodies[i]) << "body " << i;
}

}  // namespace
}  // namespace loadgen::net
