#include "net_records.h"

#ifdef LOADGEN_HAVE_NET

namespace loadgen::python {
namespace {

const char* TokenSourceName(net::TokenSource s) {
  switch (s) {
    case net::TokenSource::kUsage:
      return "usage";
    case net::TokenSource::kCountedChunks:
      return "chunks";
    case net::TokenSource::kNone:
      break;
  }
  return "none";
}

}  // namespace

py::dict EndpointStatsDict(const net::EndpointStats& s, FailureReasonNamer reason_name) {
  py::dict d;
  d["issued"] = s.issued;
  d["completed"] = s.completed;
  d["failed"] = s.failed;
  d["tokens_from_usage"] = s.tokens_from_usage;
  d["tokens_from_chunks"] = s.tokens_from_chunks;
  d["written_on_issue"] = s.written_on_issue;
  py::dict reasons;
  for (size_t r = 1; r < s.failures_by_reason.size(); ++r) {
    reasons[reason_name(static_cast<net::FailureReason>(r))] = s.failures_by_reason[r];
  }
  d["failures_by_reason"] = reasons;
  py::list endpoints;
  for (size_t i = 0; i < s.per_endpoint.size(); ++i) {
    const net::EndpointCounts& c = s.per_endpoint[i];
    py::dict e;
    e["issued"] = c.issued;
    e["completed"] = c.completed;
    e["failed"] = c.failed;
    e["connections_opened"] = c.connections_opened;
    e["retries"] = c.retries;
    e["closes_after_stream"] =
        i < s.closes_after_stream.size() && static_cast<bool>(s.closes_after_stream[i]);
    endpoints.append(e);
  }
  d["endpoints"] = endpoints;
  d["last_failure"] = s.last_failure;
  return d;
}

void RecordColumns::Append(const net::QueryRecord& r, const std::vector<int64_t>& chunk_times) {
  sample_index_.append(r.sample_index);
  issued_.append(r.issued_ns);
  written_.append(r.written_ns);
  first_byte_.append(r.first_byte_ns);
  first_token_.append(r.first_token_ns);
  done_.append(r.done_ns);
  tokens_.append(r.tokens);
  prompt_tokens_.append(r.prompt_tokens);
  written_on_issue_.append(r.written_on_issue);
  response_id_.append(r.response_id);
  token_source_.append(TokenSourceName(r.token_source));
  failure_.append(r.failure == net::FailureReason::kNone ? py::object(py::none())
                                                         : py::str(reason_name_(r.failure)));
  endpoint_.append(r.endpoint);
  http_status_.append(r.http_status);
  attempts_.append(r.attempts);
  py::list times;
  for (uint32_t k = 0; k < r.chunk_count; ++k) times.append(chunk_times[r.chunk_begin + k]);
  chunk_times_.append(times);
}

py::dict RecordColumns::Dict() const {
  py::dict d;
  d["sample_index"] = sample_index_;
  d["issued_ns"] = issued_;
  d["written_ns"] = written_;
  d["first_byte_ns"] = first_byte_;
  d["first_token_ns"] = first_token_;
  d["done_ns"] = done_;
  d["tokens"] = tokens_;
  d["token_source"] = token_source_;
  d["failure"] = failure_;
  d["endpoint"] = endpoint_;
  d["http_status"] = http_status_;
  d["attempts"] = attempts_;
  d["chunk_times_ns"] = chunk_times_;
  d["prompt_tokens"] = prompt_tokens_;
  d["written_on_issue"] = written_on_issue_;
  d["response_id"] = response_id_;
  return d;
}

}  // namespace loadgen::python

#endif  // LOADGEN_HAVE_NET
