/// \file loadgen/session.h
/// \brief loadgen's own extensions beside the official API: completion calls that report what
/// they rejected, id-array completion for batch harnesses, and the result of a run.
/// The official declarations in loadgen.h are unchanged.
#ifndef LOADGEN_SESSION_H_
#define LOADGEN_SESSION_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../loadgen.h"
#include "errors.h"
#include "export.h"

namespace loadgen {

/// What a completion call did with its responses.
struct CompletionStatus {
  size_t accepted = 0;
  size_t unknown = 0;    ///< 0, malformed or out-of-range ids, or no test running
  size_t stale = 0;      ///< ids of an earlier series or test
  size_t duplicate = 0;  ///< ids already completed
  size_t rejected() const { return unknown + stale + duplicate; }
};

/// mlperf::QuerySamplesComplete that reports rejected ids (they are also logged as errors).
/// Thread-safety: any thread. Blocking: never (no lock). Allocates: only for accuracy-log copies,
/// as mlperf::QuerySamplesComplete.
/// If `response_cb` throws, the whole batch is still recorded, then the exception propagates.
LOADGEN_EXPORT CompletionStatus CompleteSamples(mlperf::QuerySampleResponse* responses,
                                                size_t count,
                                                const mlperf::ResponseCallback& response_cb = {});

/// mlperf::FirstTokenComplete that reports rejected ids.
LOADGEN_EXPORT CompletionStatus
CompleteFirstTokens(mlperf::QuerySampleResponse* responses, size_t count,
                    const mlperf::ResponseCallback& response_cb = {});

/// Completes samples given only their ids (no response data; `n_tokens` may be null).
/// The fast path for batch harnesses: one call per batch, no QuerySampleResponse objects.
LOADGEN_EXPORT CompletionStatus CompleteSampleIds(const uint64_t* ids, size_t count,
                                                  const int64_t* n_tokens = nullptr);

/// Records first tokens given only their ids.
LOADGEN_EXPORT CompletionStatus CompleteFirstTokenIds(const uint64_t* ids, size_t count);

/// Asks the running test (if any) to stop because of `message` (for example a callback that
/// failed on another thread). StartTest then throws loadgen::TestAborted (loadgen/errors.h) with
/// that message after writing the logs. Thread-safe; returns false if no test is running.
LOADGEN_EXPORT bool AbortTestWithError(const std::string& message);

}  // namespace loadgen

#endif  // LOADGEN_SESSION_H_
