#include "record/series_recorder.h"

#include <algorithm>

#include "logging/detail_log.h"

namespace loadgen::record {
namespace {

void AtomicMax(std::atomic<int64_t>& target, int64_t value) {
  int64_t cur = target.load(std::memory_order_relaxed);
  while (cur < value && !target.compare_exchange_weak(cur, value, std::memory_order_acq_rel,
                                                      std::memory_order_relaxed)) {
  }
}

}  // namespace

SeriesRecorder::SeriesRecorder(const schedule::SeriesPlan& plan, const RecorderOptions& options,
                               BoundedMpmcQueue<CompletionError>* errors)
    : plan_(plan),
      options_(options),
      errors_(errors),
      spq_(plan.samples_per_query),
      sample_count_(plan.sample_capacity) {
  // Sized by the plan's capacity: a streamed plan grows while the series runs. Zeroed memory
  // comes from calloc, which maps large blocks on demand, so untouched entries cost nothing.
  const uint64_t n = sample_count_;
  const uint64_t nq = plan.query_capacity;
  state_ = AllocateZeroed<std::atomic<uint8_t>>(n);  // 0 = not issued
  latency_ = AllocateZeroed<int64_t>(n);
  issued_ns_ = AllocateZeroed<int64_t>(nq);
  if (spq_ > 1) {
    remaining_ = AllocateZeroed<std::atomic<uint32_t>>(nq);
    done_ns_ = AllocateZeroed<int64_t>(nq);
  }
  if (options_.use_tokens) {
    ttft_ = AllocateZeroed<int64_t>(n);
    tpot_ = AllocateZeroed<int64_t>(n);
    n_tokens_ = AllocateZeroed<int64_t>(n);
    if (options_.needs_first_token) {
      token_data_ = AllocateZeroed<std::atomic<const uint8_t*>>(n);
      token_size_ = AllocateZeroed<size_t>(n);
    }
  }
  accuracy_capacity_ = plan.accuracy_log_capacity;
  if (accuracy_capacity_ > 0) accuracy_.reset(new AccuracyRecord[accuracy_capacity_]);
}

void SeriesRecorder::MarkIssued(uint64_t q, int64_t scheduled_ns, int64_t issued_ns) noexcept {
  // Server: scheduled_ns is the series start plus the plan's delta (SetSeriesStart), so one
  // store per query is all a long run keeps.
  if (options_.scenario == mlperf::TestScenario::Offline) {
    offline_scheduled_ns_ = scheduled_ns;
  }
  issued_ns_[q] = issued_ns;
  if (spq_ > 1) remaining_[q].store(static_cast<uint32_t>(spq_), std::memory_order_relaxed);
  // Before the states: a completer that sees a sample issued sees it counted.
  issued_samples_.fetch_add(spq_, std::memory_order_release);
  const uint64_t begin = q * spq_;
  for (uint64_t i = begin; i < begin + spq_; ++i) {
    state_[i].store(kIssued, std::memory_order_release);
  }
}

bool SeriesRecorder::QueryDone(uint64_t q) const noexcept {
  if (spq_ > 1) {
    return (state_[q * spq_].load(std::memory_order_acquire) & kIssued) &&
           remaining_[q].load(std::memory_order_acquire) == 0;
  }
  return state_[q].load(std::memory_order_acquire) & kCompleted;
}

int64_t SeriesRecorder::query_done_ns(uint64_t q) const {
  if (spq_ > 1) return done_ns_[q];
  return scheduled_ns(q) + latency_[q];
}

void SeriesRecorder::ReportError(CompletionError::Kind kind, uint64_t a, int64_t now_ns) noexcept {
  CompletionError e{now_ns, logging::CurrentThreadId(), kind, a};
  // A full queue means an error storm: the queue counts the drop and the log pump reports the
  // count (loadgen_error_events_dropped in the detail log).
  errors_->TryPush(e);
}

bool SeriesRecorder::Resolve(uint64_t id, uint64_t* local, CompletionStatus* status,
                             int64_t now_ns) noexcept {
  const uint64_t l = ResponseIdLocal(id);
  if (ResponseIdTag(id) != options_.series_tag) {
    // A well-formed id of another series is stale; anything else is unknown.
    if (l != UINT64_MAX && ResponseIdTag(id) != 0) {
      ++status->stale;
      ReportError(CompletionError::kStale, id, now_ns);
    } else {
      ++status->unknown;
      ReportError(CompletionError::kUnknown, id, now_ns);
    }
    return false;
  }
  if (l >= sample_count_ || !(state_[l].load(std::memory_order_acquire) & kIssued)) {
    ++status->unknown;
    ReportError(CompletionError::kUnknown, id, now_ns);
    return false;
  }
  *local = l;
  return true;
}

void SeriesRecorder::RecordCompletion(uint64_t local, int64_t n_tokens, int64_t now_ns,
                                      bool failed) noexcept {
  const uint64_t q = local / spq_;
  const int64_t latency = now_ns - scheduled_ns(q);
  latency_[local] = latency;
  if (options_.use_tokens && failed) {
    // A failed sample produced no tokens: nothing to report as a token error (the failure is
    // counted instead), and no time per token. Without a first token, the failure stands in.
    if (!(state_[local].load(std::memory_order_acquire) & kFirstToken)) ttft_[local] = latency;
    n_tokens_[local] = 0;
    tpot_[local] = 0;
  } else if (options_.use_tokens) {
    const uint64_t seq = plan_.first_sample_seq + local;
    int64_t first = 0;
    if (options_.needs_first_token) {
      if (state_[local].load(std::memory_order_acquire) & kFirstToken) {
        first = ttft_[local];
      } else {
        ReportError(CompletionError::kNoFirstToken, seq, now_ns);
      }
    }
    int64_t tokens = n_tokens;
    if (tokens == 0) {
      ReportError(CompletionError::kTokensMissing, seq, now_ns);
    } else if (tokens < 0) {
      ReportError(CompletionError::kTokensNegative, seq, now_ns);
      tokens = 0;
    } else if (tokens == 1) {
      ReportError(CompletionError::kTokensOne, seq, now_ns);
      tokens = 0;
    }
    n_tokens_[local] = tokens;
    // The official divides by (n - 1) even when n was forced to 0; kept so verdicts match.
    tpot_[local] = (latency - first) / (tokens - 1);
  }
  if (spq_ > 1) {
    if (remaining_[q].fetch_sub(1, std::memory_order_acq_rel) == 1) {
      done_ns_[q] = now_ns;
      completed_queries_.fetch_add(1, std::memory_order_release);
    }
  } else {
    completed_queries_.fetch_add(1, std::memory_order_release);
  }
}

void SeriesRecorder::PublishAccuracy(uint64_t local, const uint8_t* data, size_t size) noexcept {
  const uint64_t k = accuracy_count_.fetch_add(1, std::memory_order_acq_rel);
  if (k >= accuracy_capacity_) return;  // cannot happen: one entry per logged sample
  AccuracyRecord& r = accuracy_[k];
  r.local = local;
  r.data = data;
  r.size = size;
  r.ready.store(1, std::memory_order_release);
}

void SeriesRecorder::FinishCall(size_t accepted, int64_t now_ns) noexcept {
  if (accepted == 0) return;
  AtomicMax(max_completion_ns_, now_ns);
  // seq_cst, as notify_at_completed_'s store and the waiter's read of the count: either the
  // waiter sees this count or this call sees its threshold.
  const uint64_t completed =
      completed_samples_.fetch_add(accepted, std::memory_order_seq_cst) + accepted;
  // Waking a waiter on every call would cost a futex syscall per call (and a context switch
  // per call for an Offline drain) for nothing: only a load model's concurrency gate waits
  // for partial progress, and it says from which count.
  if (completed >= issued_samples_.load(std::memory_order_acquire) ||
      completed >= notify_at_completed_.load(std::memory_order_seq_cst)) {
    progress_.NotifyAll();
  }
}

CompletionStatus SeriesRecorder::Complete(mlperf::QuerySampleResponse* responses, size_t count,
                                          const mlperf::ResponseCallback& callback,
                                          int64_t now_ns) {
  CompletionStatus status;
  std::exception_ptr callback_error;
  for (size_t i = 0; i < count; ++i) {
    mlperf::QuerySampleResponse& r = responses[i];
    uint64_t local;
    if (!Resolve(r.id, &local, &status, now_ns)) continue;
    const uint8_t prev = state_[local].fetch_or(kCompleted, std::memory_order_acq_rel);
    if (prev & kCompleted) {
      ++status.duplicate;
      ReportError(CompletionError::kDuplicate, plan_.first_sample_seq + local, now_ns);
      continue;
    }
    if (plan_.LogsAccuracy(local)) {
      bool copy = true;
      if (callback) {
        try {
          callback(&r);
        } catch (...) {
          // The sample still counts as completed so the run cannot hang; its data is not
          // trusted, and the error is raised once the whole batch is recorded.
          if (!callback_error) callback_error = std::current_exception();
          ReportError(CompletionError::kCallbackFailed, plan_.first_sample_seq + local, now_ns);
          copy = false;
        }
      }
      const uint8_t* copied =
          copy ? arena_.Copy(reinterpret_cast<const void*>(r.data), r.size) : nullptr;
      PublishAccuracy(local, copied, copy ? r.size : 0);
    }
    RecordCompletion(local, r.n_tokens, now_ns);
    ++status.accepted;
  }
  FinishCall(status.accepted, now_ns);
  if (callback_error) std::rethrow_exception(callback_error);
  return status;
}

CompletionStatus SeriesRecorder::CompleteIds(const uint64_t* ids, size_t count,
                                             const int64_t* n_tokens, int64_t now_ns) noexcept {
  CompletionStatus status;
  for (size_t i = 0; i < count; ++i) {
    uint64_t local;
    if (!Resolve(ids[i], &local, &status, now_ns)) continue;
    const uint8_t prev = state_[local].fetch_or(kCompleted, std::memory_order_acq_rel);
    if (prev & kCompleted) {
      ++status.duplicate;
      ReportError(CompletionError::kDuplicate, plan_.first_sample_seq + local, now_ns);
      continue;
    }
    if (plan_.LogsAccuracy(local)) PublishAccuracy(local, nullptr, 0);
    RecordCompletion(local, n_tokens ? n_tokens[i] : 0, now_ns);
    ++status.accepted;
  }
  FinishCall(status.accepted, now_ns);
  return status;
}

CompletionStatus SeriesRecorder::CompleteFailedIds(const uint64_t* ids, size_t count,
                                                   SampleFailure reason, int64_t now_ns) noexcept {
  if (static_cast<size_t>(reason) >= kSampleFailureCount) reason = SampleFailure::kError;
  CompletionStatus status;
  for (size_t i = 0; i < count; ++i) {
    uint64_t local;
    if (!Resolve(ids[i], &local, &status, now_ns)) continue;
    // One compare-and-swap (a retry only if a first token lands at the same moment), so a
    // repeated call leaves a completed sample's state as it was.
    uint8_t prev = state_[local].load(std::memory_order_acquire);
    while (!(prev & kCompleted) && !state_[local].compare_exchange_weak(
                                       prev, prev | kCompleted | kFailed, std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {
    }
    if (prev & kCompleted) {
      ++status.duplicate;
      ReportError(CompletionError::kDuplicate, plan_.first_sample_seq + local, now_ns);
      continue;
    }
    // The accuracy log keeps one (empty) entry per logged sample, as for an id-only completion.
    if (plan_.LogsAccuracy(local)) PublishAccuracy(local, nullptr, 0);
    RecordCompletion(local, 0, now_ns, true);
    ++status.accepted;
  }
  // Counted before FinishCall wakes a drain, so a finished series reads every failure.
  if (status.accepted > 0) {
    failed_by_reason_[static_cast<size_t>(reason)].fetch_add(status.accepted,
                                                             std::memory_order_release);
  }
  FinishCall(status.accepted, now_ns);
  return status;
}

void SeriesRecorder::RecordFirstToken(uint64_t local, int64_t now_ns) noexcept {
  const uint64_t q = local / spq_;
  if (ttft_) ttft_[local] = now_ns - scheduled_ns(q);
}

CompletionStatus SeriesRecorder::FirstTokens(mlperf::QuerySampleResponse* responses, size_t count,
                                             const mlperf::ResponseCallback& callback,
                                             int64_t now_ns) {
  CompletionStatus status;
  for (size_t i = 0; i < count; ++i) {
    mlperf::QuerySampleResponse& r = responses[i];
    uint64_t local;
    if (!Resolve(r.id, &local, &status, now_ns)) continue;
    const uint8_t prev = state_[local].load(std::memory_order_acquire);
    const uint64_t seq = plan_.first_sample_seq + local;
    if (prev & kCompleted) {
      ++status.duplicate;
      ReportError(CompletionError::kTokenAfterComplete, seq, now_ns);
      continue;
    }
    if (prev & kFirstToken) {
      ++status.duplicate;
      ReportError(CompletionError::kTokenTwice, seq, now_ns);
      continue;
    }
    // The time must be stored before the flag a completing thread reads it by.
    RecordFirstToken(local, now_ns);
    if (token_data_ && plan_.LogsAccuracy(local)) {
      token_size_[local] = r.size;
      token_data_[local].store(arena_.Copy(reinterpret_cast<const void*>(r.data), r.size),
                               std::memory_order_release);
    }
    if (state_[local].fetch_or(kFirstToken, std::memory_order_acq_rel) & kFirstToken) {
      ++status.duplicate;
      ReportError(CompletionError::kTokenTwice, seq, now_ns);
      continue;
    }
    ++status.accepted;
  }
  (void)callback;  // The official never calls it for first tokens; neither do we.
  return status;
}

CompletionStatus SeriesRecorder::FirstTokenIds(const uint64_t* ids, size_t count,
                                               int64_t now_ns) noexcept {
  CompletionStatus status;
  for (size_t i = 0; i < count; ++i) {
    uint64_t local;
    if (!Resolve(ids[i], &local, &status, now_ns)) continue;
    const uint8_t prev = state_[local].load(std::memory_order_acquire);
    const uint64_t seq = plan_.first_sample_seq + local;
    if (prev & (kCompleted | kFirstToken)) {
      ++status.duplicate;
      ReportError(
          prev & kCompleted ? CompletionError::kTokenAfterComplete : CompletionError::kTokenTwice,
          seq, now_ns);
      continue;
    }
    RecordFirstToken(local, now_ns);
    state_[local].fetch_or(kFirstToken, std::memory_order_acq_rel);
    ++status.accepted;
  }
  return status;
}

}  // namespace loadgen::record
