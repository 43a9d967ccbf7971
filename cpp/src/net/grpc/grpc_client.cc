#include "net/grpc/grpc_client.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "common/clock.h"
#include "inference_v2.grpc.pb.h"
#include "loadgen.h"
#include "loadgen/failure.h"
#include "net/grpc/v2_outputs.h"

namespace loadgen::net {

namespace {

constexpr const char* kService = "/inference.GRPCInferenceService/";

void* Tag(GrpcCall* call, uintptr_t op) {
  return reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(call) | op);
}

std::chrono::system_clock::time_point After(int64_t ns) {
  return std::chrono::system_clock::now() + std::chrono::nanoseconds(ns);
}

std::string Seconds(int64_t ns) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", static_cast<double>(ns) * 1e-9);
  return text;
}

// The engine's reason for a failed sample (loadgen/failure.h). A non-OK status the server
// answered has no HTTP counterpart there: it is the engine's generic "error".
SampleFailure ToEngineFailure(FailureReason reason) {
  return reason == FailureReason::kHttpStatus ? SampleFailure::kError : ToSampleFailure(reason);
}

}  // namespace

const char* GrpcStatusName(int32_t code) {
  static constexpr const char* kNames[] = {"OK",
                                           "CANCELLED",
                                           "UNKNOWN",
                                           "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED",
                                           "NOT_FOUND",
                                           "ALREADY_EXISTS",
                                           "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION",
                                           "ABORTED",
                                           "OUT_OF_RANGE",
                                           "UNIMPLEMENTED",
                                           "INTERNAL",
                                           "UNAVAILABLE",
                                           "DATA_LOSS",
                                           "UNAUTHENTICATED"};
  if (code < 0 || code >= static_cast<int32_t>(std::size(kNames))) return "UNKNOWN";
  return kNames[code];
}

const char* GrpcFailureReasonName(FailureReason reason) {
  return reason == FailureReason::kHttpStatus ? "grpc_error" : FailureReasonName(reason);
}

GrpcClient::GrpcClient(GrpcEndpointConfig config, std::vector<std::string> requests)
    : config_(std::move(config)) {
  if (config_.targets.empty()) throw std::invalid_argument("a gRPC endpoint needs a target");
  if (config_.model.empty()) throw std::invalid_argument("a gRPC endpoint needs a model name");
  if (config_.channels == 0) throw std::invalid_argument("channels must be >= 1");
  request_offsets_.reserve(requests.size() + 1);
  size_t total = 0;
  for (const std::string& r : requests) total += r.size();
  requests_.reserve(total);
  for (const std::string& r : requests) {
    request_offsets_.push_back(requests_.size());
    requests_ += r;
  }
  request_offsets_.push_back(requests_.size());
  method_ = std::string(kService) + (config_.stream ? "ModelStreamInfer" : "ModelInfer");

  stats_.per_endpoint.resize(config_.targets.size());
  stats_.closes_after_stream.assign(config_.targets.size(), false);
  for (const std::string& address : config_.targets) {
    auto target = std::make_unique<GrpcTarget>();
    target->index = targets_.size();
    target->target = address;
    for (size_t k = 0; k < config_.channels; ++k) {
      grpc::ChannelArguments args;
      args.SetMaxReceiveMessageSize(-1);
      args.SetMaxSendMessageSize(-1);
      // Distinct arguments keep gRPC from sharing one connection between the channels.
      args.SetInt("loadgen.channel", static_cast<int>(k));
      // A failed request is a failed sample, never resent: no retry filter (it would also keep
      // a copy of every request for a possible retry).
      args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
      auto channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
      target->stubs.push_back(std::make_unique<grpc::GenericStub>(channel));
      target->channels.push_back(std::move(channel));
    }
    stats_.per_endpoint[target->index].connections_opened = config_.channels;
    CheckTarget(*target);
    targets_.push_back(std::move(target));
  }
  cq_thread_ = std::thread([this] { RunQueue(); });
}

GrpcClient::~GrpcClient() {
  CancelAll();
  cq_.Shutdown();
  if (cq_thread_.joinable()) cq_thread_.join();
}

void GrpcClient::CheckTarget(GrpcTarget& target) const {
  for (const auto& channel : target.channels) {
    if (!channel->WaitForConnected(After(config_.connect_timeout_ns))) {
      throw GrpcStartError("cannot connect to the gRPC endpoint " + target.target + " within " +
                           Seconds(config_.connect_timeout_ns) + " s");
    }
  }
  if (!config_.check_model) return;
  auto stub = inference::GRPCInferenceService::NewStub(target.channels.front());
  auto prepare = [this](grpc::ClientContext* context) {
    context->set_deadline(After(config_.connect_timeout_ns));
    for (const auto& [name, value] : config_.metadata) context->AddMetadata(name, value);
  };
  {
    grpc::ClientContext context;
    prepare(&context);
    inference::ServerReadyResponse ready;
    const grpc::Status status = stub->ServerReady(&context, {}, &ready);
    if (!status.ok() || !ready.ready()) {
      throw GrpcStartError("the gRPC endpoint " + target.target + " is not ready (ServerReady: " +
                           (status.ok() ? std::string("not ready")
                                        : GrpcStatusName(status.error_code()) + std::string(": ") +
                                              status.error_message()) +
                           ")");
    }
  }
  grpc::ClientContext context;
  prepare(&context);
  inference::ModelReadyRequest request;
  request.set_name(config_.model);
  inference::ModelReadyResponse ready;
  const grpc::Status status = stub->ModelReady(&context, request, &ready);
  if (!status.ok() || !ready.ready()) {
    throw GrpcStartError("model '" + config_.model + "' not found or not ready at " +
                         target.target + " (ModelReady: " +
                         (status.ok() ? std::string("not ready")
                                      : GrpcStatusName(status.error_code()) + std::string(": ") +
                                            status.error_message()) +
                         ")");
  }
}

void GrpcClient::RunQueue() {
  pthread_setname_np(pthread_self(), "loadgen-grpc-cq");
  void* tag = nullptr;
  bool ok = false;
  while (cq_.Next(&tag, &ok)) {
    const auto bits = reinterpret_cast<uintptr_t>(tag);
    Handle(reinterpret_cast<GrpcCall*>(bits & ~uintptr_t{7}), static_cast<Op>(bits & 7), ok);
  }
}

GrpcTarget& GrpcClient::Choose() {
  if (targets_.size() == 1) return *targets_.front();
  if (config_.balance == BalancePolicy::kLeastOutstanding) {
    GrpcTarget* best = targets_.front().get();
    for (const auto& t : targets_) {
      if (t->outstanding.load(std::memory_order_relaxed) <
          best->outstanding.load(std::memory_order_relaxed)) {
        best = t.get();
      }
    }
    return *best;
  }
  return *targets_[next_target_.fetch_add(1, std::memory_order_relaxed) % targets_.size()];
}

GrpcCall* GrpcClient::TakeCall() {
  common::MutexLock lock(&calls_mu_);
  GrpcCall* call = nullptr;
  if (free_calls_.empty()) {
    calls_.push_back(std::make_unique<GrpcCall>());  // only when more are in flight than ever
    call = calls_.back().get();
  } else {
    call = free_calls_.back();
    free_calls_.pop_back();
  }
  // Under the lock, so CancelAll never sees a call in flight without its context.
  call->context.emplace();
  call->in_flight = true;
  live_calls_.fetch_add(1, std::memory_order_relaxed);
  return call;
}

void GrpcClient::Issue(const mlperf::QuerySample* samples, size_t count) {
  const int64_t issued_ns = NowNs();
  for (size_t i = 0; i < count; ++i) {
    GrpcCall* call = TakeCall();
    call->id = samples[i].id;
    Start(call, Choose(), samples[i].index, issued_ns);
  }
}

void GrpcClient::Start(GrpcCall* call, GrpcTarget& target, size_t index, int64_t issued_ns) {
  call->record = GrpcQueryRecord();
  QueryRecord& r = call->record.query;
  r.sample_index = index;
  r.response_id = call->id;
  r.issued_ns = issued_ns;
  r.endpoint = static_cast<uint16_t>(target.index);
  r.attempts = 1;
  r.written_on_issue = true;
  call->output.clear();
  call->error.clear();
  call->chunk_ns.clear();
  call->sample_done = false;
  call->status = grpc::Status();
  outstanding_.fetch_add(1, std::memory_order_relaxed);
  target.outstanding.fetch_add(1, std::memory_order_relaxed);
  target.issued.fetch_add(1, std::memory_order_relaxed);
  if (index + 1 >= request_offsets_.size()) {
    call->error = "the QSL index has no request";
    call->pending_ops = 0;
    Complete(call, FailureReason::kBadSample);
    ReleaseIfIdle(call);
    return;
  }

  grpc::ClientContext& context = *call->context;
  for (const auto& [name, value] : config_.metadata) context.AddMetadata(name, value);
  if (config_.total_timeout_ns > 0) {
    context.set_deadline(After(config_.total_timeout_ns - (NowNs() - issued_ns)));
  }
  // The prebuilt bytes go out as they are: a static slice over them, no copy, no serializing.
  const size_t begin = request_offsets_[index];
  grpc::Slice slice(requests_.data() + begin, request_offsets_[index + 1] - begin,
                    grpc::Slice::STATIC_SLICE);
  grpc::ByteBuffer request(&slice, 1);
  call->request.Swap(&request);  // ByteBuffer has no move assignment: a copy would allocate
  grpc::GenericStub& stub =
      *target.stubs[target.next_channel.fetch_add(1, std::memory_order_relaxed) %
                    target.stubs.size()];
  call->pending_ops = 1;
  if (!config_.stream) {
    call->unary = stub.PrepareUnaryCall(&context, method_, call->request, &cq_);
    call->unary->StartCall();
    r.written_ns = NowNs();  // handed to gRPC, which sends it (often on this thread)
    call->unary->Finish(&call->response, &call->status, Tag(call, kUnaryDone));
  } else {
    call->stream = stub.PrepareCall(&context, method_, &cq_);
    call->stream->StartCall(Tag(call, kStreamStarted));
  }
}

void GrpcClient::Handle(GrpcCall* call, Op op, bool ok) {
  --call->pending_ops;
  switch (op) {
    case kUnaryDone:
      if (!call->status.ok()) {
        FailFromStatus(call);
        break;
      }
      call->record.query.first_byte_ns = NowNs();
      {
        call->infer_response.Clear();
        grpc::ProtoBufferReader reader(&call->response);
        if (!call->infer_response.ParseFromZeroCopyStream(&reader)) {
          call->error = "an unparsable ModelInferResponse";
          Complete(call, FailureReason::kMalformedResponse);
          break;
        }
      }
      grpc_v2::AppendUnaryOutputs(call->infer_response, &call->output);
      Complete(call, FailureReason::kNone);
      break;
    case kStreamStarted:
      if (!ok) {  // the call did not start: its status says why
        ++call->pending_ops;
        call->stream->Finish(&call->status, Tag(call, kStreamEnded));
        break;
      }
      call->record.query.written_ns = NowNs();
      call->pending_ops += 2;
      // One request per stream, then the half-close: the stream ends with its last response.
      call->stream->WriteLast(call->request, grpc::WriteOptions(), Tag(call, kStreamWritten));
      call->stream->Read(&call->response, Tag(call, kStreamRead));
      break;
    case kStreamWritten:
      break;  // a failed write shows in the read and the status
    case kStreamRead:
      if (!ok) {  // the server ended the stream
        ++call->pending_ops;
        call->stream->Finish(&call->status, Tag(call, kStreamEnded));
        break;
      }
      OnStreamRead(call);
      break;
    case kStreamEnded:
      if (!call->sample_done) {
        if (call->status.ok()) {
          Complete(call, FailureReason::kNone);  // a stream that just ends, without a final flag
        } else {
          FailFromStatus(call);
        }
      }
      break;
  }
  ReleaseIfIdle(call);
}

void GrpcClient::OnStreamRead(GrpcCall* call) {
  const int64_t now = NowNs();
  QueryRecord& r = call->record.query;
  if (r.first_byte_ns == 0) r.first_byte_ns = now;
  bool end = false;
  call->stream_response.Clear();
  grpc::ProtoBufferReader reader(&call->response);
  if (!call->stream_response.ParseFromZeroCopyStream(&reader)) {
    call->error = "an unparsable ModelStreamInferResponse";
    Complete(call, FailureReason::kMalformedResponse);
    end = true;
  } else if (!call->stream_response.error_message().empty()) {
    // Triton fails one request of a stream this way; the stream's status stays OK.
    call->error = call->stream_response.error_message();
    Complete(call, FailureReason::kHttpStatus);
    end = true;
  } else {
    const size_t before = call->output.size();
    const grpc_v2::StreamPiece piece =
        grpc_v2::AppendStreamPiece(call->stream_response.infer_response(), &call->output);
    if (piece.has_outputs || call->output.size() > before) {
      if (++r.tokens == 1) {
        r.first_token_ns = now;
        if (config_.report_first_token) {
          mlperf::QuerySampleResponse first(
              call->id, reinterpret_cast<uintptr_t>(call->output.data() + before),
              call->output.size() - before);
          mlperf::FirstTokenComplete(&first, 1);
        }
      }
      if (config_.record_chunk_times) call->chunk_ns.push_back(now);
    }
    if (piece.final) {
      Complete(call, FailureReason::kNone);
      end = true;
    }
  }
  if (end) {
    // Our one request is answered: end the stream now rather than wait for the server to.
    call->context->TryCancel();
    ++call->pending_ops;
    call->stream->Finish(&call->status, Tag(call, kStreamEnded));
    return;
  }
  ++call->pending_ops;
  call->stream->Read(&call->response, Tag(call, kStreamRead));
}

void GrpcClient::FailFromStatus(GrpcCall* call) {
  const grpc::StatusCode code = call->status.error_code();
  call->record.status_code = static_cast<int32_t>(code);
  call->error = std::string(GrpcStatusName(code)) + ": " + call->status.error_message();
  FailureReason reason = FailureReason::kHttpStatus;  // the server's answer: "grpc_error"
  if (code == grpc::StatusCode::DEADLINE_EXCEEDED) {
    reason = FailureReason::kTotalTimeout;
  } else if (code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::CANCELLED) {
    reason = FailureReason::kConnectionClosed;  // server gone, reset, or CancelAll
  }
  Complete(call, reason);
}

void GrpcClient::Complete(GrpcCall* call, FailureReason failure) {
  QueryRecord& r = call->record.query;
  r.done_ns = NowNs();
  r.failure = failure;
  call->sample_done = true;
  const bool failed = failure != FailureReason::kNone;
  if (failed) {
    r.tokens = 0;
  } else if (config_.stream) {
    r.token_source = TokenSource::kCountedChunks;
  }
  {
    common::MutexLock lock(&stats_mu_);
    ++stats_.completed;
    EndpointCounts& counts = stats_.per_endpoint[r.endpoint];
    ++counts.completed;
    if (failed) {
      ++stats_.failed;
      ++counts.failed;
      ++stats_.failures_by_reason[static_cast<size_t>(failure)];
      stats_.last_failure = std::string(GrpcFailureReasonName(failure)) + ": " + call->error;
    } else if (config_.stream) {
      ++stats_.tokens_from_chunks;
    }
    ++stats_.written_on_issue;
    r.chunk_begin = static_cast<uint32_t>(chunk_times_.size());
    r.chunk_count = failed ? 0 : static_cast<uint32_t>(call->chunk_ns.size());
    if (!failed)
      chunk_times_.insert(chunk_times_.end(), call->chunk_ns.begin(), call->chunk_ns.end());
    records_.push_back(call->record);
  }
  if (r.endpoint < targets_.size()) {
    targets_[r.endpoint]->outstanding.fetch_sub(1, std::memory_order_relaxed);
  }
  // A failed sample completes as failed (no output): the run goes on, nothing waits on it, and
  // the engine counts it by reason and marks the run INVALID.
  if (failed) {
    CompleteFailed(call->id, ToEngineFailure(failure));
  } else {
    mlperf::QuerySampleResponse response(call->id, reinterpret_cast<uintptr_t>(call->output.data()),
                                         call->output.size(), r.tokens);
    mlperf::QuerySamplesComplete(&response, 1);
  }
  outstanding_.fetch_sub(1, std::memory_order_acq_rel);
}

void GrpcClient::ReleaseIfIdle(GrpcCall* call) {
  if (call->pending_ops != 0 || !call->sample_done) return;
  {
    common::MutexLock lock(&calls_mu_);
    call->in_flight = false;  // CancelAll no longer touches its context
  }
  call->unary.reset();  // before the context, which holds the call
  call->stream.reset();
  call->context.reset();
  call->request.Clear();
  call->response.Clear();
  {
    common::MutexLock lock(&calls_mu_);
    free_calls_.push_back(call);
  }
  live_calls_.fetch_sub(1, std::memory_order_acq_rel);
}

EndpointStats GrpcClient::Stats() const {
  EndpointStats stats;
  {
    common::MutexLock lock(&stats_mu_);
    stats = stats_;
  }
  stats.issued = 0;
  for (const auto& t : targets_) {
    const uint64_t issued = t->issued.load(std::memory_order_relaxed);
    stats.per_endpoint[t->index].issued = issued;
    stats.issued += issued;
  }
  return stats;
}

void GrpcClient::CopyRecords(std::vector<GrpcQueryRecord>* records,
                             std::vector<int64_t>* chunk_times) const {
  common::MutexLock lock(&stats_mu_);
  *records = records_;
  *chunk_times = chunk_times_;
}

void GrpcClient::ClearRecords() {
  common::MutexLock lock(&stats_mu_);
  records_.clear();
  chunk_times_.clear();
}

void GrpcClient::CancelAll() {
  {
    common::MutexLock lock(&calls_mu_);
    for (const auto& call : calls_) {
      if (call->in_flight) call->context->TryCancel();  // thread-safe; the status: CANCELLED
    }
  }
  // Every cancelled call comes back through the queue as failed; wait for their completions.
  const int64_t give_up = NowNs() + 30'000'000'000;
  while ((outstanding_.load(std::memory_order_acquire) != 0 ||
          live_calls_.load(std::memory_order_acquire) != 0) &&
         NowNs() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace loadgen::net
