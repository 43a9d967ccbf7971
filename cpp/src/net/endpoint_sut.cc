#include "net/endpoint_sut.h"

#include <utility>

#include "net/client.h"

namespace loadgen::net {

namespace {

const char* ApiName(ApiKind api) {
  switch (api) {
    case ApiKind::kOpenAiCompletions:
      return "openai";
    case ApiKind::kOpenAiChat:
      return "openai-chat";
    case ApiKind::kKserveV2:
      return "kserve";
    case ApiKind::kTritonGenerate:
      return "triton-generate";
  }
  return "?";
}

}  // namespace

EndpointSut::EndpointSut(EndpointConfig config, std::vector<std::string> bodies,
                         std::vector<size_t> json_lengths) {
  // The name shows the API and the URLs, never the headers (they may carry an API key).
  name_ = std::string("EndpointSut(") + ApiName(config.api) + (config.stream ? ", stream" : "");
  for (const std::string& url : config.base_urls) name_ += ", " + url;
  name_ += ")";
  client_ = std::make_unique<Client>(std::move(config), std::move(bodies), std::move(json_lengths));
}

EndpointSut::~EndpointSut() = default;

void EndpointSut::IssueQuery(const std::vector<mlperf::QuerySample>& samples) {
  client_->Issue(samples.data(), samples.size());
}

EndpointStats EndpointSut::Stats() const { return client_->Stats(); }

void EndpointSut::CopyRecords(std::vector<QueryRecord>* records,
                              std::vector<int64_t>* chunk_times) const {
  client_->CopyRecords(records, chunk_times);
}

void EndpointSut::ClearRecords() { client_->ClearRecords(); }

size_t EndpointSut::Outstanding() const { return client_->Outstanding(); }

void EndpointSut::CancelAll() { client_->CancelAll(); }

}  // namespace loadgen::net
