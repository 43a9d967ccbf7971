#include "net/grpc/grpc_endpoint_sut.h"

#include <utility>

#include "net/grpc/grpc_client.h"

namespace loadgen::net {

GrpcEndpointSut::GrpcEndpointSut(GrpcEndpointConfig config, std::vector<std::string> requests) {
  // The name shows the targets, never the metadata (it may carry an API key).
  name_ = std::string("GrpcEndpointSut(kserve-grpc") + (config.stream ? ", stream" : "");
  for (const std::string& target : config.targets) name_ += ", " + target;
  name_ += ")";
  client_ = std::make_unique<GrpcClient>(std::move(config), std::move(requests));
}

GrpcEndpointSut::~GrpcEndpointSut() = default;

void GrpcEndpointSut::IssueQuery(const std::vector<mlperf::QuerySample>& samples) {
  client_->Issue(samples.data(), samples.size());
}

EndpointStats GrpcEndpointSut::Stats() const { return client_->Stats(); }

void GrpcEndpointSut::CopyRecords(std::vector<GrpcQueryRecord>* records,
                                  std::vector<int64_t>* chunk_times) const {
  client_->CopyRecords(records, chunk_times);
}

void GrpcEndpointSut::ClearRecords() { client_->ClearRecords(); }

size_t GrpcEndpointSut::Outstanding() const { return client_->Outstanding(); }

void GrpcEndpointSut::CancelAll() { client_->CancelAll(); }

}  // namespace loadgen::net
