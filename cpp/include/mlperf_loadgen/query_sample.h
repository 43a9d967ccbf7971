/// \file query_sample.h
/// \brief The per-sample types exchanged between loadgen and a SUT (official names, namespace
/// mlperf).
#ifndef MLPERF_LOADGEN_QUERY_SAMPLE_H_
#define MLPERF_LOADGEN_QUERY_SAMPLE_H_

#include <cstddef>
#include <cstdint>

namespace mlperf {

/// An opaque handle loadgen gives the SUT for each issued sample. The SUT hands it back unchanged
/// when it completes the sample. loadgen validates it before use: an unknown, stale or repeated id
/// is reported, never dereferenced.
using ResponseId = uintptr_t;

/// Never a valid ResponseId.
constexpr ResponseId kResponseIdReserved = 0;

/// Index of a sample in the QuerySampleLibrary.
using QuerySampleIndex = size_t;

/// A latency in nanoseconds.
using QuerySampleLatency = int64_t;

/// One sample of a query: the id to complete it with and the QSL index to run.
struct QuerySample {
  ResponseId id;
  QuerySampleIndex index;
};

/// The SUT's answer for one sample. `data`/`size` point at the response bytes, which loadgen
/// copies (only when it logs them) before QuerySamplesComplete returns. `n_tokens` is the number
/// of generated tokens for LLM token-latency runs.
struct QuerySampleResponse {
  ResponseId id;
  uintptr_t data;
  size_t size;
  int64_t n_tokens;

  QuerySampleResponse(ResponseId id, uintptr_t data, size_t size, int64_t n_tokens)
      : id(id), data(data), size(size), n_tokens(n_tokens) {}
  QuerySampleResponse(ResponseId id, uintptr_t data, size_t size)
      : id(id), data(data), size(size), n_tokens(0) {}
  QuerySampleResponse() : id(0), data(0), size(0), n_tokens(0) {}
};

}  // namespace mlperf

#endif  // MLPERF_LOADGEN_QUERY_SAMPLE_H_
