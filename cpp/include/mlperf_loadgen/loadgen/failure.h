/// \file loadgen/failure.h
/// \brief Completing a sample as failed: the SUT could not produce a response (an endpoint
/// answered 5xx, a connection was reset, a request timed out or was cancelled). A failed sample
/// completes (nothing waits on it) but is counted by reason in the results and the detail log,
/// and a performance run with any failed sample is INVALID.
#ifndef LOADGEN_FAILURE_H_
#define LOADGEN_FAILURE_H_

#include <cstddef>
#include <cstdint>

#include "../query_sample.h"
#include "export.h"
#include "session.h"

namespace loadgen {

/// Why a sample failed. The names (SampleFailureName) are the keys of the detail log's
/// `loadgen_failed_samples_by_reason` and of the Python API.
enum class SampleFailure : uint8_t {
  kError,              ///< "error": unspecified (the SUT's own error)
  kHttp4xx,            ///< "http_4xx"
  kHttp5xx,            ///< "http_5xx"
  kConnectFailed,      ///< "connect_failed"
  kConnectionClosed,   ///< "connection_closed": closed or reset before the response ended
  kTimeoutConnect,     ///< "timeout_connect"
  kTimeoutFirstByte,   ///< "timeout_first_byte"
  kTimeoutTotal,       ///< "timeout_total"
  kMalformedResponse,  ///< "malformed_response": bad HTTP, JSON or event stream
  kBadSample,          ///< "bad_sample": the SUT has no input for the sample
  kCancelled,          ///< "cancelled": still in flight when the run was stopped
  kHttpStatus,         ///< "http_status": another non-2xx status (1xx, 3xx: not followed)
  kCount,
};

inline constexpr size_t kSampleFailureCount = static_cast<size_t>(SampleFailure::kCount);

/// "http_5xx", "cancelled", ...; "unknown" for an out-of-range value.
LOADGEN_EXPORT const char* SampleFailureName(SampleFailure reason);

/// The reason named `name`; false if there is none.
LOADGEN_EXPORT bool SampleFailureFromName(const char* name, SampleFailure* reason);

/// Completes samples as failed, all for `reason`. Ids are validated as by CompleteSampleIds
/// (unknown, stale and repeated ids are counted, logged and returned, never dereferenced). A
/// failed sample's latency is the time to the failure; it carries no output (an accuracy-log
/// entry is empty) and, in a token run, 0 tokens without a token error.
/// Thread-safety: any thread. Blocking: never (no lock). Allocates: no. One compare-and-swap per
/// sample; per call, the failure count's atomic add beside those of CompleteSampleIds.
LOADGEN_EXPORT CompletionStatus CompleteFailedIds(const uint64_t* ids, size_t count,
                                                  SampleFailure reason);

/// One failed sample.
inline CompletionStatus CompleteFailed(mlperf::ResponseId id, SampleFailure reason) {
  const uint64_t id64 = id;
  return CompleteFailedIds(&id64, 1, reason);
}

/// A SUT that can give up the samples it still works on. A SystemUnderTest that also derives
/// from this is told when a test stops early (AbortTest, Ctrl-C, a failed callback, the
/// watchdog): once issuing has stopped and before the engine waits for outstanding samples,
/// it calls CancelOutstanding, which should complete every outstanding sample at once as failed
/// (SampleFailure::kCancelled), so the logs are written without waiting. Called on the
/// StartTest thread; may block until the cancellation is done.
class LOADGEN_EXPORT CancellableSut {
 public:
  virtual ~CancellableSut();
  virtual void CancelOutstanding() = 0;
};

}  // namespace loadgen

#endif  // LOADGEN_FAILURE_H_
