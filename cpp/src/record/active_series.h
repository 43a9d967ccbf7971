// record stage: routes the official free functions (QuerySamplesComplete takes no session) to
// the series being recorded. Completers announce themselves with one counter so a series'
// arrays are never freed under a completing thread.
#ifndef LOADGEN_RECORD_ACTIVE_SERIES_H_
#define LOADGEN_RECORD_ACTIVE_SERIES_H_

#include <atomic>
#include <cstdint>

#include "record/series_recorder.h"

namespace loadgen::record {

class ActiveSeries {
 public:
  /// Errors of completions that arrive while no series is recording go here (may be null).
  void SetErrorSink(BoundedMpmcQueue<CompletionError>* sink) {
    error_sink_.store(sink, std::memory_order_release);
  }
  /// Makes `recorder` the target of completions. Called by the session thread.
  void Publish(SeriesRecorder* recorder) { current_.store(recorder, std::memory_order_seq_cst); }
  /// Stops routing completions to the current recorder and waits until no completing thread is
  /// still inside it. Called by the session thread.
  void Retire();

  /// Thread-safety: any thread. Blocking: never. Allocates: no (accuracy copies aside).
  CompletionStatus Complete(mlperf::QuerySampleResponse* responses, size_t count,
                            const mlperf::ResponseCallback& callback);
  CompletionStatus CompleteIds(const uint64_t* ids, size_t count, const int64_t* n_tokens);
  CompletionStatus FirstTokens(mlperf::QuerySampleResponse* responses, size_t count,
                               const mlperf::ResponseCallback& callback);
  CompletionStatus FirstTokenIds(const uint64_t* ids, size_t count);
  CompletionStatus CompleteFailedIds(const uint64_t* ids, size_t count, SampleFailure reason);

  /// Whether completing `count` more samples may end an engine thread's wait (the closed loop's
  /// previous query, the end-of-series drain): a thread waits, and at most `count` samples are
  /// outstanding. A hint for callers deciding whether to let other threads run while they record
  /// (the Python bindings' GIL). Thread-safety: any thread. Blocking: never.
  bool CompletionAwaited(size_t count);

 private:
  class Guard;
  template <typename GetId>
  CompletionStatus RejectAll(size_t count, GetId&& get_id, int64_t now_ns);

  std::atomic<SeriesRecorder*> current_{nullptr};
  std::atomic<BoundedMpmcQueue<CompletionError>*> error_sink_{nullptr};
  alignas(64) std::atomic<int64_t> inflight_{0};
};

}  // namespace loadgen::record

#endif  // LOADGEN_RECORD_ACTIVE_SERIES_H_
