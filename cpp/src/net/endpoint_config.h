// What an EndpointSut is told (EndpointConfig) and what it reports per query (QueryRecord) and
// in total (EndpointStats). No Boost here: a C++ harness includes endpoint_sut.h without it.
#ifndef LOADGEN_NET_ENDPOINT_CONFIG_H_
#define LOADGEN_NET_ENDPOINT_CONFIG_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "loadgen/failure.h"
#include "net/conversation_bodies.h"

namespace loadgen::net {

enum class ApiKind : uint8_t {
  kOpenAiCompletions,  // POST /v1/completions
  kOpenAiChat,         // POST /v1/chat/completions
  kKserveV2,           // POST /v2/models/M/infer (JSON or binary-tensor extension)
  kTritonGenerate,     // POST /v2/models/M/generate_stream (SSE, no [DONE])
};

enum class BalancePolicy : uint8_t { kRoundRobin, kLeastOutstanding };

/// Why a sample failed. Every failed sample is still completed, as failed (loadgen/failure.h).
enum class FailureReason : uint8_t {
  kNone,
  kHttp4xx,            // the server answered 4xx
  kHttp5xx,            // the server answered 5xx
  kConnectFailed,      // TCP connect refused or unreachable
  kConnectionClosed,   // closed or reset by the server before the response was complete
  kConnectTimeout,     // connect_timeout_ns passed
  kFirstByteTimeout,   // first_byte_timeout_ns passed before the response's first byte
  kTotalTimeout,       // total_timeout_ns passed (from IssueQuery) before the response ended
  kMalformedResponse,  // bad HTTP, JSON or SSE, a stream without [DONE], or an error event
  kBadSample,          // the QSL index has no request body
  kCancelled,          // CancelAll (the run ended with the request still in flight)
  kHttpStatus,         // another non-2xx status: 1xx, or 3xx (redirects are not followed)
  kCount,
};

/// The name used in stats and logs ("http_4xx", "timeout_total", ...).
const char* FailureReasonName(FailureReason reason);

/// The engine's reason for a failed sample (loadgen/failure.h; same names).
SampleFailure ToSampleFailure(FailureReason reason);

/// Where a query's token count came from.
enum class TokenSource : uint8_t { kNone, kUsage, kCountedChunks };

struct EndpointConfig {
  /// Base URLs, one per replica: "http://host:port" with an optional path prefix. https is not
  /// supported (no TLS in this client).
  std::vector<std::string> base_urls;
  /// Request target appended to each base URL's path, e.g. "/v1/chat/completions".
  std::string path;
  ApiKind api = ApiKind::kOpenAiChat;
  /// Whether the request bodies ask for a stream (decides nothing on the wire: the response's
  /// Content-Type does; kept for the SUT's name and for checks).
  bool stream = true;
  /// Triton generate_stream: the output field that carries text.
  std::string output_name = "text_output";
  /// The first token is the first chunk with content; reasoning_content chunks do not count
  /// (a thinking model's "first answer token").
  bool first_token_skips_reasoning = false;
  /// Calls FirstTokenComplete on the first token of a streamed response.
  bool report_first_token = true;
  BalancePolicy balance = BalancePolicy::kRoundRobin;
  /// Extra request headers (name, value), e.g. Authorization. Never logged.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type = "application/json";
  int64_t connect_timeout_ns = 10'000'000'000;
  int64_t first_byte_timeout_ns = 0;  // 0: none
  int64_t total_timeout_ns = 0;       // 0: none
  /// Connections per base URL; requests beyond wait in that endpoint's queue.
  size_t max_connections = 64;
  /// Keep each query's chunk arrival times (for inter-token latencies).
  bool record_chunk_times = true;
  /// The I/O thread polls instead of sleeping for this long after its last event, so a query
  /// or a chunk does not wait for the thread to be woken (costs a core while busy). 0: sleep.
  int64_t busy_poll_ns = 0;
  /// IssueQuery writes a one-sample query itself on an idle connection lent by the I/O thread
  /// (docs/net.md, "Write on issue"); false: every request is handed to the I/O thread.
  bool write_on_issue = true;
  /// Multi-turn conversations (OpenAI chat): where each turn's user message sits in its body,
  /// so a later turn is sent with the history (net/conversation_bodies.h). Null: none.
  std::shared_ptr<const ConversationLayout> conversations;
};

/// One query as the client saw it. Times are loadgen::NowNs() (steady clock).
struct QueryRecord {
  uint64_t sample_index = 0;
  uint64_t response_id = 0;    // the engine's id of the sample (mlperf::ResponseId)
  int64_t issued_ns = 0;       // IssueQuery entry (the issuer calls it at the scheduled moment)
  int64_t written_ns = 0;      // request fully written to the socket (last attempt)
  int64_t first_byte_ns = 0;   // response header received
  int64_t first_token_ns = 0;  // first content chunk (0 if none)
  int64_t done_ns = 0;         // completed (successfully or not)
  int64_t tokens = 0;
  int64_t prompt_tokens = -1;  // input tokens from the server's usage.prompt_tokens; -1: unknown
  uint32_t chunk_begin = 0;    // into EndpointSut's chunk-time array
  uint32_t chunk_count = 0;
  uint16_t endpoint = 0;
  uint16_t http_status = 0;
  uint8_t attempts = 0;           // 2 when retried on a fresh connection
  bool written_on_issue = false;  // written by the issuing thread (a lent connection)
  TokenSource token_source = TokenSource::kNone;
  FailureReason failure = FailureReason::kNone;
};

struct EndpointCounts {
  uint64_t issued = 0;
  uint64_t completed = 0;  // including failed
  uint64_t failed = 0;
  uint64_t connections_opened = 0;
  uint64_t retries = 0;  // requests resent after a reused connection closed unanswered
};

struct EndpointStats {
  uint64_t issued = 0;
  uint64_t completed = 0;
  uint64_t failed = 0;
  uint64_t tokens_from_usage = 0;   // queries whose count came from usage
  uint64_t tokens_from_chunks = 0;  // queries whose count came from counting chunks
  uint64_t written_on_issue = 0;    // requests the issuing thread wrote itself
  std::array<uint64_t, static_cast<size_t>(FailureReason::kCount)> failures_by_reason{};
  std::vector<EndpointCounts> per_endpoint;
  /// Whether an endpoint was seen closing connections after streamed responses (llama.cpp's
  /// server does, while advertising keep-alive); its streamed connections are not reused.
  std::vector<bool> closes_after_stream;
  std::string last_failure;  // the message of the most recent failure
};

}  // namespace loadgen::net

#endif  // LOADGEN_NET_ENDPOINT_CONFIG_H_
