// The endpoint clients' stats() and records() as Python dicts, shared by the HTTP client
// (register_net.cc) and the gRPC client (register_grpc.cc): the same keys for both.
#ifndef LOADGEN_BINDINGS_NET_RECORDS_H_
#define LOADGEN_BINDINGS_NET_RECORDS_H_

#include "bindings.h"

#ifdef LOADGEN_HAVE_NET

#include <cstdint>
#include <string>
#include <vector>

#include "net/endpoint_config.h"

namespace loadgen::python {

/// How a client names a failure reason in Python (the gRPC client names some differently).
using FailureReasonNamer = const char* (*)(net::FailureReason);

/// stats(): counts, failures by reason, one dict per endpoint URL, the last failure.
py::dict EndpointStatsDict(const net::EndpointStats& s, FailureReasonNamer reason_name);

/// records(): one list per field, one entry per query, in `records`' order.
class RecordColumns {
 public:
  explicit RecordColumns(FailureReasonNamer reason_name) : reason_name_(reason_name) {}
  void Append(const net::QueryRecord& r, const std::vector<int64_t>& chunk_times);
  /// The columns as a dict (records()'s keys).
  py::dict Dict() const;

 private:
  FailureReasonNamer reason_name_;
  py::list sample_index_, issued_, written_, first_byte_, first_token_, done_, tokens_,
      token_source_, failure_, endpoint_, http_status_, attempts_, chunk_times_, prompt_tokens_,
      written_on_issue_, response_id_;
};

}  // namespace loadgen::python

#endif  // LOADGEN_HAVE_NET

#endif  // LOADGEN_BINDINGS_NET_RECORDS_H_
