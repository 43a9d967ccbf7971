// GrpcEndpointSut: a SystemUnderTest that sends each sample's prebuilt KServe v2 ModelInferRequest
// (serialized once, before the run) over gRPC with gRPC C++, unary ModelInfer or Triton's
// ModelStreamInfer, and completes the sample from the response, all in C++: no Python and no
// GIL per request or per streamed response. IssueQuery starts the calls on the issuing thread;
// the client's completion-queue thread reads the responses and completes the samples. The
// records and stats are the HTTP client's (net/endpoint_config.h). See docs/net.md, "gRPC".
// No gRPC header here: a C++ harness includes this file without them.
#ifndef LOADGEN_NET_GRPC_GRPC_ENDPOINT_SUT_H_
#define LOADGEN_NET_GRPC_GRPC_ENDPOINT_SUT_H_

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "loadgen/failure.h"
#include "net/endpoint_config.h"
#include "system_under_test.h"

namespace loadgen::net {

struct GrpcEndpointConfig {
  /// "host:port", one per replica.
  std::vector<std::string> targets;
  std::string model;
  /// ModelStreamInfer (a decoupled model: each response is a token), else unary ModelInfer.
  bool stream = false;
  BalancePolicy balance = BalancePolicy::kRoundRobin;
  /// Request metadata (lower-case names), e.g. authorization. Never logged.
  std::vector<std::pair<std::string, std::string>> metadata;
  /// How long the start waits for each channel to connect.
  int64_t connect_timeout_ns = 10'000'000'000;
  /// The gRPC deadline of each request, counted from its IssueQuery. 0: none.
  int64_t total_timeout_ns = 0;
  /// Channels (HTTP/2 connections) per target, used in turn.
  size_t channels = 1;
  /// At the start, also ask ServerReady and ModelReady (a server without them, or a model that
  /// is not ready, is a GrpcStartError).
  bool check_model = false;
  /// Calls FirstTokenComplete on the first response of a stream.
  bool report_first_token = true;
  bool record_chunk_times = true;
};

/// A query's record: the HTTP client's, plus the gRPC status it ended with. For the gRPC client
/// FailureReason::kHttpStatus means "the server answered a non-OK gRPC status" and is named
/// `grpc_error` (GrpcFailureReasonName); cancelled calls count as kConnectionClosed.
struct GrpcQueryRecord {
  QueryRecord query;
  int32_t status_code = 0;  // grpc::StatusCode; 0: OK
};

/// The start found the endpoint unusable: nothing was sent.
class GrpcStartError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// "OK", "DEADLINE_EXCEEDED", ... for a grpc::StatusCode value.
const char* GrpcStatusName(int32_t code);
/// The failure reason's name in the gRPC client's stats (kHttpStatus is "grpc_error").
const char* GrpcFailureReasonName(FailureReason reason);

class GrpcClient;  // the channels, the completion-queue thread and the calls (gRPC inside)

class GrpcEndpointSut final : public mlperf::SystemUnderTest, public CancellableSut {
 public:
  /// `requests[i]` is the serialized ModelInferRequest of QSL sample i. Opens the channels and
  /// waits until each is connected (and, with check_model, the model is ready); throws
  /// GrpcStartError saying what is wrong, std::invalid_argument for a bad config.
  GrpcEndpointSut(GrpcEndpointConfig config, std::vector<std::string> requests);
  ~GrpcEndpointSut() override;

  const std::string& Name() override { return name_; }
  /// Starts one call per sample on this thread; never waits on the network.
  void IssueQuery(const std::vector<mlperf::QuerySample>& samples) override;
  void FlushQueries() override {}

  EndpointStats Stats() const;
  void CopyRecords(std::vector<GrpcQueryRecord>* records, std::vector<int64_t>* chunk_times) const;
  void ClearRecords();
  size_t Outstanding() const;
  /// Cancels every call in flight (their samples complete as failed) and returns once every
  /// sample is completed.
  void CancelAll();
  void CancelOutstanding() override { CancelAll(); }

 private:
  std::string name_;
  std::unique_ptr<GrpcClient> client_;
};

}  // namespace loadgen::net

#endif  // LOADGEN_NET_GRPC_GRPC_ENDPOINT_SUT_H_
