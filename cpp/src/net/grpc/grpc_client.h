// The client behind GrpcEndpointSut: gRPC C++'s asynchronous API, one completion queue drained
// by one thread of our own ("loadgen-grpc-cq"). The issuing thread prepares and starts each call
// itself (the request leaves at the scheduled moment, not when another thread wakes); every
// completion (a unary answer, a stream's start, write, read, end) comes back through the queue
// as a tag, so responses are parsed and samples completed on that one thread. Why this API and
// not the callback API: docs/net.md, "gRPC".
#ifndef LOADGEN_NET_GRPC_GRPC_CLIENT_H_
#define LOADGEN_NET_GRPC_GRPC_CLIENT_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/completion_queue.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/status.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/thread_annotations.h"
#include "inference_v2.pb.h"
#include "net/grpc/grpc_endpoint_sut.h"
#include "query_sample.h"

namespace loadgen::net {

/// One request in flight. Calls are reused; their messages and buffers keep their capacity.
struct GrpcCall {
  mlperf::ResponseId id = 0;
  GrpcQueryRecord record;
  // A ClientContext serves one call only: made anew in place for each (no heap of ours).
  std::optional<grpc::ClientContext> context;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> unary;  // on gRPC's call arena
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> stream;
  grpc::ByteBuffer request;  // the sample's prebuilt bytes (a static slice, not a copy)
  grpc::ByteBuffer response;
  grpc::Status status;
  inference::ModelInferResponse infer_response;         // unary answers
  inference::ModelStreamInferResponse stream_response;  // streamed answers
  std::string output;                                   // what the accuracy log gets
  std::string error;                                    // a failure's message
  std::vector<int64_t> chunk_ns;
  int pending_ops = 0;       // tags of this call still in the queue (the cq thread's count)
  bool sample_done = false;  // the sample was completed (a stream may still be closing)
  bool in_flight = false;    // guarded by GrpcClient::calls_mu_
};

/// One target (replica): its channels and a generic stub per channel.
struct GrpcTarget {
  size_t index = 0;
  std::string target;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs;
  std::atomic<size_t> next_channel{0};
  std::atomic<size_t> outstanding{0};
  std::atomic<uint64_t> issued{0};
};

class GrpcClient {
 public:
  /// Opens the channels and checks them (GrpcStartError), then starts the queue's thread.
  GrpcClient(GrpcEndpointConfig config, std::vector<std::string> requests);
  ~GrpcClient();

  /// Any thread: starts one call per sample.
  void Issue(const mlperf::QuerySample* samples, size_t count);

  EndpointStats Stats() const;
  void CopyRecords(std::vector<GrpcQueryRecord>* records, std::vector<int64_t>* chunk_times) const;
  void ClearRecords();
  size_t Outstanding() const { return outstanding_.load(std::memory_order_acquire); }
  void CancelAll();

 private:
  enum Op : uintptr_t { kUnaryDone, kStreamStarted, kStreamWritten, kStreamRead, kStreamEnded };

  void CheckTarget(GrpcTarget& target) const;  // at the start: connected, and the model ready
  void RunQueue();                             // the completion-queue thread
  void Handle(GrpcCall* call, Op op, bool ok);
  void OnStreamRead(GrpcCall* call);
  GrpcTarget& Choose();
  GrpcCall* TakeCall();
  void Start(GrpcCall* call, GrpcTarget& target, size_t index, int64_t issued_ns);
  /// Completes the call's sample (success when `failure` is kNone).
  void Complete(GrpcCall* call, FailureReason failure);
  void FailFromStatus(GrpcCall* call);
  /// Returns the call to the pool once its last tag came back.
  void ReleaseIfIdle(GrpcCall* call);

  GrpcEndpointConfig config_;
  std::string requests_;                 // every serialized request, back to back
  std::vector<size_t> request_offsets_;  // sample i: [offsets[i], offsets[i+1])
  std::string method_;                   // "/inference.GRPCInferenceService/ModelInfer" or ...
  std::vector<std::unique_ptr<GrpcTarget>> targets_;
  std::atomic<size_t> next_target_{0};
  grpc::CompletionQueue cq_;

  // The pool of calls: taken by the issuing threads, given back by the queue's thread.
  mutable common::Mutex calls_mu_;
  std::vector<std::unique_ptr<GrpcCall>> calls_ LOADGEN_GUARDED_BY(calls_mu_);
  std::vector<GrpcCall*> free_calls_ LOADGEN_GUARDED_BY(calls_mu_);

  std::atomic<size_t> outstanding_{0};  // samples issued and not yet completed
  std::atomic<size_t> live_calls_{0};   // calls not yet back in the pool

  mutable common::Mutex stats_mu_;  // the queue's thread, once per completed sample; readers
  EndpointStats stats_ LOADGEN_GUARDED_BY(stats_mu_);
  std::vector<GrpcQueryRecord> records_ LOADGEN_GUARDED_BY(stats_mu_);
  std::vector<int64_t> chunk_times_ LOADGEN_GUARDED_BY(stats_mu_);

  std::thread cq_thread_;
};

}  // namespace loadgen::net

#endif  // LOADGEN_NET_GRPC_GRPC_CLIENT_H_
