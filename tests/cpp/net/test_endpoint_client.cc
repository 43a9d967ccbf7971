// EndpointSut end to end in C++, against a scripted loopback server: connection reuse, a server
// that closes after each stream (as llama.cpp's does), and responses cut or garbled. No test is
// running, so the engine ignores the completions; the client's records say what happened. The
// last tests run mlperf::StartTest with the SUT: failed requests are failed samples of the run.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "loadgen.h"
#include "loadgen/failure.h"
#include "loopback_server.h"
#include "net/endpoint_sut.h"
#include "test_log_dir.h"

namespace loadgen::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Serves each connection with `answer(request_number_on_connection, socket)`; answer returns
// false to close the connection.
class ScriptedServer {
 public:
  using Answer = std::function<bool(int, tcp::socket&)>;

  explicit ScriptedServer(Answer answer)
      : answer_(std::move(answer)), server_([this](tcp::socket& s) { Connection(s); }) {}
  std::string url() const { return server_.url(); }
  int accepted() const { return server_.accepted(); }

 private:
  // Reads one request (head + Content-Length body); false at the end of the connection.
  static bool ReadRequest(tcp::socket& s, asio::streambuf& buffer) {
    boost::system::error_code ec;
    const size_t head = asio::read_until(s, buffer, "\r\n\r\n", ec);
    if (ec) return false;
    std::string text(asio::buffers_begin(buffer.data()), asio::buffers_begin(buffer.data()) + head);
    buffer.consume(head);
    size_t length = 0;
    const size_t at = text.find("Content-Length: ");
    if (at != std::string::npos) length = std::stoul(text.substr(at + 16));
    while (buffer.size() < length) {
      char chunk[4096];
      const size_t n = s.read_some(asio::buffer(chunk), ec);
      if (ec) return false;
      buffer.commit(asio::buffer_copy(buffer.prepare(n), asio::buffer(chunk, n)));
    }
    buffer.consume(length);
    return true;
  }
  void Connection(tcp::socket& s) {
    asio::streambuf buffer;
    for (int n = 0; ReadRequest(s, buffer); ++n) {
      if (!answer_(n, s)) break;
    }
    boost::system::error_code ignored;
    s.shutdown(tcp::socket::shutdown_both, ignored);
  }

  Answer answer_;
  LoopbackServer server_;  // last: stopped first
};

bool Send(tcp::socket& s, const std::string& bytes) {
  boost::system::error_code ec;
  asio::write(s, asio::buffer(bytes), ec);
  return !ec;
}

std::string JsonResponse(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string Chunk(const std::string& data) {
  char size[16];
  std::snprintf(size, sizeof(size), "%zx", data.size());
  return std::string(size) + "\r\n" + data + "\r\n";
}

const char kSseHead[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";

// Issues `count` queries one after another (like SingleStream) and waits for each.
std::vector<QueryRecord> RunSequentially(EndpointSut& sut, int count) {
  for (int i = 0; i < count; ++i) {
    const std::vector<mlperf::QuerySample> samples{{static_cast<mlperf::ResponseId>(i + 1), 0}};
    sut.IssueQuery(samples);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (sut.Outstanding() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    EXPECT_EQ(sut.Outstanding(), 0u);
  }
  std::vector<QueryRecord> records;
  std::vector<int64_t> chunks;
  sut.CopyRecords(&records, &chunks);
  return records;
}

EndpointConfig Config(const std::string& url, ApiKind api) {
  EndpointConfig config;
  config.base_urls = {url};
  config.path = api == ApiKind::kOpenAiChat ? "/v1/chat/completions" : "/v1/completions";
  config.api = api;
  config.report_first_token = false;
  config.total_timeout_ns = 5'000'000'000;
  return config;
}

TEST(EndpointClient, KeepAliveResponsesReuseOneConnection) {
  ScriptedServer server([](int, tcp::socket& s) {
    return Send(s, JsonResponse(R"({"choices":[{"text":"ok"}],"usage":{"completion_tokens":3}})"));
  });
  EndpointSut sut(Config(server.url(), ApiKind::kOpenAiCompletions), {"{}"});
  const auto records = RunSequentially(sut, 5);
  ASSERT_EQ(records.size(), 5u);
  for (const QueryRecord& r : records) {
    EXPECT_EQ(r.failure, FailureReason::kNone);
    EXPECT_EQ(r.tokens, 3);
    EXPECT_EQ(r.token_source, TokenSource::kUsage);
    EXPECT_EQ(r.attempts, 1);
  }
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(sut.Stats().per_endpoint[0].connections_opened, 1u);
}

TEST(EndpointClient, ServerClosingAfterEachStreamCostsNoFailure) {
  // Keep-alive advertised (HTTP/1.1, no Connection: close), closed after the stream anyway.
  ScriptedServer server([](int, tcp::socket& s) {
    Send(s, std::string(kSseHead) +
                Chunk("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n") +
                Chunk("data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n") +
                Chunk("data: [DONE]\n\n") + "0\r\n\r\n");
    return false;
  });
  EndpointSut sut(Config(server.url(), ApiKind::kOpenAiChat), {"{}"});
  const auto records = RunSequentially(sut, 6);
  ASSERT_EQ(records.size(), 6u);
  for (const QueryRecord& r : records) {
    EXPECT_EQ(r.failure, FailureReason::kNone);
    EXPECT_EQ(r.tokens, 2);
    EXPECT_EQ(r.token_source, TokenSource::kCountedChunks);
    EXPECT_EQ(r.chunk_count, 2u);
  }
  const EndpointStats stats = sut.Stats();
  EXPECT_EQ(stats.failed, 0u);
  EXPECT_TRUE(stats.closes_after_stream[0]);
}

TEST(EndpointClient, CutAndGarbledResponsesFailWithTheirReason) {
  ScriptedServer server([](int, tcp::socket& s) {
    static std::atomic<int> request{0};
    switch (request++) {
      case 0:  // cut inside the stream: no [DONE], no final chunk
        Send(s, std::string(kSseHead) + Chunk("data: {\"choices\":[{\"text\":\"a\"}]}\n\n"));
        return false;
      case 1:
        Send(s, "NOT HTTP AT ALL\r\n\r\n");
        return false;
      case 2:  // a complete stream that forgot [DONE]
        Send(s, std::string(kSseHead) + Chunk("data: {\"choices\":[{\"text\":\"a\"}]}\n\n") +
                    "0\r\n\r\n");
        return true;
      default:
        Send(s, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops");
        return true;
    }
  });
  EndpointSut sut(Config(server.url(), ApiKind::kOpenAiCompletions), {"{}"});
  const auto records = RunSequentially(sut, 4);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].failure, FailureReason::kConnectionClosed);
  EXPECT_EQ(records[1].failure, FailureReason::kMalformedResponse);
  EXPECT_EQ(records[2].failure, FailureReason::kMalformedResponse);
  EXPECT_EQ(records[3].failure, FailureReason::kHttp5xx);
  EXPECT_EQ(records[3].http_status, 500);
  const EndpointStats stats = sut.Stats();
  EXPECT_EQ(stats.failed, 4u);
  EXPECT_EQ(stats.last_failure, "http_5xx: HTTP 500: oops");
}

TEST(EndpointClient, RecordsKeepTheServersPromptTokens) {
  ScriptedServer server([](int, tcp::socket& s) {
    static std::atomic<int> request{0};
    switch (request++) {
      case 0:  // streamed, usage in a last choices-less chunk (include_usage)
        return Send(s, std::string(kSseHead) + Chunk("data: {\"choices\":[{\"text\":\"a\"}]}\n\n") +
                           Chunk("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":13,"
                                 "\"completion_tokens\":1}}\n\n") +
                           Chunk("data: [DONE]\n\n") + "0\r\n\r\n");
      case 1:  // whole body
        return Send(s, JsonResponse("{\"choices\":[{\"text\":\"ab\"}],\"usage\":{"
                                    "\"prompt_tokens\":21,\"completion_tokens\":2}}"));
      default:  // no usage at all
        return Send(s, JsonResponse("{\"choices\":[{\"text\":\"abc\"}]}"));
    }
  });
  EndpointSut sut(Config(server.url(), ApiKind::kOpenAiCompletions), {"{}"});
  const auto records = RunSequentially(sut, 3);
  ASSERT_EQ(records.size(), 3u);
  for (const QueryRecord& r : records) EXPECT_EQ(r.failure, FailureReason::kNone);
  EXPECT_EQ(records[0].prompt_tokens, 13);
  EXPECT_EQ(records[0].tokens, 1);
  EXPECT_EQ(records[1].prompt_tokens, 21);
  EXPECT_EQ(records[1].tokens, 2);
  EXPECT_EQ(records[2].prompt_tokens, -1);  // a reused slot does not keep the last count
  EXPECT_EQ(records[2].token_source, TokenSource::kCountedChunks);
}

TEST(EndpointClient, AKserveJsonLengthThatIsNotANumberIsMalformed) {
  ScriptedServer server([](int, tcp::socket& s) {
    const std::string body =
        R"({"outputs":[{"name":"o","datatype":"INT32","shape":[1],"data":[7]}]})";
    return Send(s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                "Inference-Header-Content-Length: 12abc\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body);
  });
  EndpointConfig config = Config(server.url(), ApiKind::kKserveV2);
  config.path = "/v2/models/m/infer";
  EndpointSut sut(config, {"{}"});
  const auto records = RunSequentially(sut, 1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].failure, FailureReason::kMalformedResponse);
  EXPECT_EQ(sut.Stats().last_failure,
            "malformed_response: invalid Inference-Header-Content-Length '12abc'");
}

// A redirect (not followed) or an interim 1xx is not a server error: it is counted apart.
TEST(EndpointClient, OtherNon2xxStatusesAreNeitherClientNorServerErrors) {
  ScriptedServer server([](int, tcp::socket& s) {
    static std::atomic<int> request{0};
    if (request++ == 0) {
      return Send(s,
                  "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 5\r\n\r\nmoved");
    }
    Send(s, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n");
    return false;
  });
  EndpointSut sut(Config(server.url(), ApiKind::kOpenAiCompletions), {"{}"});
  const auto records = RunSequentially(sut, 2);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].failure, FailureReason::kHttpStatus);
  EXPECT_EQ(records[0].http_status, 302);
  EXPECT_EQ(records[1].failure, FailureReason::kHttpStatus);
  EXPECT_EQ(records[1].http_status, 101);
  const EndpointStats stats = sut.Stats();
  EXPECT_EQ(stats.failed, 2u);
  EXPECT_EQ(stats.failures_by_reason[static_cast<size_t>(FailureReason::kHttpStatus)], 2u);
  EXPECT_EQ(stats.failures_by_reason[static_cast<size_t>(FailureReason::kHttp5xx)], 0u);
  EXPECT_EQ(stats.last_failure, "http_status: HTTP 101: ");
  EXPECT_STREQ(SampleFailureName(ToSampleFailure(FailureReason::kHttpStatus)), "http_status");
}

TEST(EndpointClient, ABurstIsQueuedOnAtMostMaxConnections) {
  ScriptedServer server([](int, tcp::socket& s) {
    return Send(s, JsonResponse(R"({"choices":[{"message":{"content":"x"}}]})"));
  });
  EndpointConfig config = Config(server.url(), ApiKind::kOpenAiChat);
  config.max_connections = 4;
  EndpointSut sut(config, {"{\"a\":1}", "{\"b\":2}"});
  std::vector<mlperf::QuerySample> burst;
  for (size_t i = 0; i < 300; ++i) burst.push_back({static_cast<mlperf::ResponseId>(i + 1), i % 2});
  sut.IssueQuery(burst);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (sut.Outstanding() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(sut.Outstanding(), 0u);
  const EndpointStats stats = sut.Stats();
  EXPECT_EQ(stats.issued, 300u);
  EXPECT_EQ(stats.completed, 300u);
  EXPECT_EQ(stats.failed, 0u) << stats.last_failure;
  EXPECT_EQ(stats.tokens_from_chunks, 300u);  // no usage: one counted chunk each
  EXPECT_LE(server.accepted(), 4);
}

TEST(EndpointClient, BadUrlsAreRejected) {
  EXPECT_THROW(EndpointSut(Config("https://127.0.0.1:1", ApiKind::kOpenAiChat), {"{}"}),
               std::invalid_argument);
  EXPECT_THROW(EndpointSut(Config("127.0.0.1:1", ApiKind::kOpenAiChat), {"{}"}),
               std::invalid_argument);
  EndpointConfig config = Config("http://127.0.0.1:1", ApiKind::kOpenAiChat);
  config.headers = {{"X-Injected", "a\r\nEvil: 1"}};
  EXPECT_THROW(EndpointSut(config, {"{}"}), std::invalid_argument);
}

TEST(EndpointClient, EveryFailureReasonHasTheEngineReasonOfTheSameName) {
  for (size_t i = 1; i < static_cast<size_t>(FailureReason::kCount); ++i) {
    const auto reason = static_cast<FailureReason>(i);
    EXPECT_STREQ(SampleFailureName(ToSampleFailure(reason)), FailureReasonName(reason));
  }
}

class OneSampleQsl : public mlperf::QuerySampleLibrary {
 public:
  const std::string& Name() override { return name_; }
  size_t TotalSampleCount() override { return 1; }
  size_t PerformanceSampleCount() override { return 1; }
  void LoadSamplesToRam(const std::vector<mlperf::QuerySampleIndex>&) override {}
  void UnloadSamplesFromRam(const std::vector<mlperf::QuerySampleIndex>&) override {}

 private:
  std::string name_ = "OneSample";
};

class EndpointRunTest : public ::testing::Test {
 protected:
  EndpointRunTest() { log_settings_.log_output.outdir = logs_.path.string(); }
  std::string Read(const char* name) const { return logs_.Read(name); }
  test_harness::TestLogDir logs_;
  mlperf::LogSettings log_settings_;
  OneSampleQsl qsl_;
};

TEST_F(EndpointRunTest, FailedRequestsAreFailedSamplesAndTheRunIsInvalid) {
  std::atomic<int> request{0};
  ScriptedServer server([&request](int, tcp::socket& s) {
    if (request++ % 2 == 1) {
      return Send(s, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy");
    }
    return Send(s, JsonResponse(R"({"choices":[{"text":"ok"}],"usage":{"completion_tokens":3}})"));
  });
  EndpointSut sut(Config(server.url(), ApiKind::kOpenAiCompletions), {"{}"});
  mlperf::TestSettings settings;
  settings.mode = mlperf::TestMode::PerformanceOnly;
  settings.min_query_count = 6;
  settings.min_duration_ms = 0;
  mlperf::StartTest(&sut, &qsl_, settings, log_settings_);
  EXPECT_EQ(sut.Stats().failed, 3u);
  const std::string detail = Read("mlperf_log_detail.txt");
  EXPECT_NE(detail.find("\"key\": \"result_validity\", \"value\": \"INVALID\","),
            std::string::npos);
  EXPECT_NE(
      detail.find("\"key\": \"loadgen_failed_samples_by_reason\", \"value\": {\"http_5xx\":3},"),
      std::string::npos);
  EXPECT_NE(Read("mlperf_log_summary.txt").find("Result is : INVALID\n"), std::string::npos);
}

// The engine cancels a stopped test's requests still in flight (CancellableSut) instead of
// waiting for them: a server that never answers does not hold the test.
TEST_F(EndpointRunTest, AbortedTestCancelsTheRequestsInFlight) {
  ScriptedServer server([](int, tcp::socket& s) {
    char byte;
    boost::system::error_code ec;
    s.read_some(asio::buffer(&byte, 1), ec);  // until the client closes the connection
    return false;
  });
  EndpointSut sut(Config(server.url(), ApiKind::kOpenAiCompletions), {"{}"});
  mlperf::TestSettings settings;
  settings.scenario = mlperf::TestScenario::Offline;
  settings.mode = mlperf::TestMode::PerformanceOnly;
  settings.min_query_count = 4;
  settings.min_duration_ms = 0;
  settings.offline_expected_qps = 4;
  std::thread aborter([&sut] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (sut.Stats().issued < 4 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    mlperf::AbortTest();
  });
  const auto start = std::chrono::steady_clock::now();
  mlperf::StartTest(&sut, &qsl_, settings, log_settings_);
  aborter.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(sut.Outstanding(), 0u);
  const EndpointStats stats = sut.Stats();
  EXPECT_EQ(stats.failures_by_reason[static_cast<size_t>(FailureReason::kCancelled)], 4u);
  const std::string detail = Read("mlperf_log_detail.txt");
  EXPECT_NE(detail.find("\"by_reason\":{\"cancelled\":4}"), std::string::npos) << detail;
}

}  // namespace
}  // namespace loadgen::net
