#include "record/active_series.h"

#include <thread>

#include "common/clock.h"
#include "logging/detail_log.h"

namespace loadgen::record {

class ActiveSeries::Guard {
 public:
  explicit Guard(std::atomic<int64_t>& inflight) : inflight_(inflight) {
    inflight_.fetch_add(1, std::memory_order_seq_cst);
  }
  ~Guard() { inflight_.fetch_sub(1, std::memory_order_release); }

 private:
  std::atomic<int64_t>& inflight_;
};

void ActiveSeries::Retire() {
  current_.store(nullptr, std::memory_order_seq_cst);
  while (inflight_.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
}

template <typename GetId>
CompletionStatus ActiveSeries::RejectAll(size_t count, GetId&& get_id, int64_t now_ns) {
  CompletionStatus status;
  BoundedMpmcQueue<CompletionError>* sink = error_sink_.load(std::memory_order_acquire);
  for (size_t i = 0; i < count; ++i) {
    const uint64_t id = get_id(i);
    const bool well_formed = ResponseIdTag(id) != 0 && ResponseIdLocal(id) != UINT64_MAX;
    well_formed ? ++status.stale : ++status.unknown;
    if (sink) {
      sink->TryPush(
          CompletionError{now_ns, logging::CurrentThreadId(),
                          well_formed ? CompletionError::kStale : CompletionError::kUnknown, id});
    }
  }
  return status;
}

CompletionStatus ActiveSeries::Complete(mlperf::QuerySampleResponse* responses, size_t count,
                                        const mlperf::ResponseCallback& callback) {
  const int64_t now = NowNs();
  if (count == 0) return {};
  Guard guard(inflight_);
  SeriesRecorder* rec = current_.load(std::memory_order_seq_cst);
  if (!rec) return RejectAll(count, [&](size_t i) { return responses[i].id; }, now);
  return rec->Complete(responses, count, callback, now);
}

CompletionStatus ActiveSeries::CompleteIds(const uint64_t* ids, size_t count,
                                           const int64_t* n_tokens) {
  const int64_t now = NowNs();
  if (count == 0) return {};
  Guard guard(inflight_);
  SeriesRecorder* rec = current_.load(std::memory_order_seq_cst);
  if (!rec) return RejectAll(count, [&](size_t i) { return ids[i]; }, now);
  return rec->CompleteIds(ids, count, n_tokens, now);
}

CompletionStatus ActiveSeries::FirstTokens(mlperf::QuerySampleResponse* responses, size_t count,
                                           const mlperf::ResponseCallback& callback) {
  const int64_t now = NowNs();
  if (count == 0) return {};
  Guard guard(inflight_);
  SeriesRecorder* rec = current_.load(std::memory_order_seq_cst);
  if (!rec) return RejectAll(count, [&](size_t i) { return responses[i].id; }, now);
  return rec->FirstTokens(responses, count, callback, now);
}

CompletionStatus ActiveSeries::FirstTokenIds(const uint64_t* ids, size_t count) {
  const int64_t now = NowNs();
  if (count == 0) return {};
  Guard guard(inflight_);
  SeriesRecorder* rec = current_.load(std::memory_order_seq_cst);
  if (!rec) return RejectAll(count, [&](size_t i) { return ids[i]; }, now);
  return rec->FirstTokenIds(ids, count, now);
}

CompletionStatus ActiveSeries::CompleteFailedIds(const uint64_t* ids, size_t count,
                                                 SampleFailure reason) {
  const int64_t now = NowNs();
  if (count == 0) return {};
  Guard guard(inflight_);
  SeriesRecorder* rec = current_.load(std::memory_order_seq_cst);
  if (!rec) return RejectAll(count, [&](size_t i) { return ids[i]; }, now);
  return rec->CompleteFailedIds(ids, count, reason, now);
}

bool ActiveSeries::CompletionAwaited(size_t count) {
  Guard guard(inflight_);
  SeriesRecorder* rec = current_.load(std::memory_order_seq_cst);
  return rec != nullptr && rec->progress_awaited() &&
         rec->completed_samples() + count >= rec->issued_samples();
}

}  // namespace loadgen::record
