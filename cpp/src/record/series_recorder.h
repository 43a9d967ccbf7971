// record stage: everything one series records about its samples, in arrays sized when the
// series starts. Completion is wait-free: per response one atomic fetch_or on the sample's
// state, plain stores of its timestamps, and per call one atomic add (and a notification when
// no issued sample is left outstanding).
#ifndef LOADGEN_RECORD_SERIES_RECORDER_H_
#define LOADGEN_RECORD_SERIES_RECORDER_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <memory>
#include <new>
#include <type_traits>
#include <vector>

#include "loadgen.h"
#include "loadgen/failure.h"
#include "loadgen/session.h"
#include "record/arena.h"
#include "record/bounded_queue.h"
#include "record/response_id.h"
#include "record/wait_word.h"
#include "schedule/plan.h"

namespace loadgen::record {

/// A problem found on a completing thread, formatted later by the log writer.
struct CompletionError {
  enum Kind : uint16_t {
    kDuplicate,           // a = seq id
    kStale,               // a = response id
    kUnknown,             // a = response id
    kNoFirstToken,        // a = seq id
    kTokensMissing,       // n_tokens == 0
    kTokensNegative,      // n_tokens < 0
    kTokensOne,           // n_tokens == 1
    kTokenAfterComplete,  // a = seq id
    kTokenTwice,          // a = seq id
    kCallbackFailed,      // response callback threw; a = seq id
  };
  int64_t time_ns;
  int32_t tid;
  Kind kind;
  uint64_t a;
};

struct RecorderOptions {
  mlperf::TestScenario scenario = mlperf::TestScenario::SingleStream;
  bool use_tokens = false;         // from the requested settings, as the official logger
  bool needs_first_token = false;  // requested scenario != Offline
  uint32_t series_tag = 1;
};

/// One accuracy-log entry, published in completion order.
struct AccuracyRecord {
  std::atomic<uint8_t> ready{0};
  uint64_t local = 0;
  const uint8_t* data = nullptr;
  size_t size = 0;
};

/// Frees what AllocateZeroed returned.
struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
template <typename T>
using ZeroedArray = std::unique_ptr<T[], FreeDeleter>;

/// n zero-filled values of a trivially constructible type (atomics included), allocated
/// without touching the memory.
template <typename T>
ZeroedArray<T> AllocateZeroed(size_t n) {
  static_assert(std::is_trivially_destructible_v<T>);
  void* p = std::calloc(n == 0 ? 1 : n, sizeof(T));
  if (p == nullptr) throw std::bad_alloc();
  return ZeroedArray<T>(static_cast<T*>(p));
}

class SeriesRecorder {
 public:
  SeriesRecorder(const schedule::SeriesPlan& plan, const RecorderOptions& options,
                 BoundedMpmcQueue<CompletionError>* errors);
  SeriesRecorder(const SeriesRecorder&) = delete;
  SeriesRecorder& operator=(const SeriesRecorder&) = delete;

  const schedule::SeriesPlan& plan() const { return plan_; }
  uint32_t series_tag() const { return options_.series_tag; }
  uint64_t ResponseIdOf(uint64_t local) const {
    return EncodeResponseId(options_.series_tag, local);
  }

  // --- Issuing side (the issuing thread of query q) ---
  /// Marks query q's samples as issued with its scheduled and issue times. Must be called
  /// before the query's ids reach the SUT. In Server, `scheduled_ns` must be the series start
  /// plus the plan's delta for q (only the start, from SetSeriesStart, is kept). Allocates: no.
  void MarkIssued(uint64_t q, int64_t scheduled_ns, int64_t issued_ns) noexcept;
  /// The Server schedule's origin (the plan's deltas count from it). Call before issuing.
  void SetSeriesStart(int64_t start_ns) noexcept { series_start_ns_ = start_ns; }
  /// Coalesced Server queries: the scheduled time stays the query's own.
  bool QueryDone(uint64_t q) const noexcept;

  // --- Completing side (any thread) ---
  CompletionStatus Complete(mlperf::QuerySampleResponse* responses, size_t count,
                            const mlperf::ResponseCallback& callback, int64_t now_ns);
  CompletionStatus CompleteIds(const uint64_t* ids, size_t count, const int64_t* n_tokens,
                               int64_t now_ns) noexcept;
  CompletionStatus FirstTokens(mlperf::QuerySampleResponse* responses, size_t count,
                               const mlperf::ResponseCallback& callback, int64_t now_ns);
  CompletionStatus FirstTokenIds(const uint64_t* ids, size_t count, int64_t now_ns) noexcept;
  /// Completes samples as failed for `reason` (loadgen/failure.h).
  CompletionStatus CompleteFailedIds(const uint64_t* ids, size_t count, SampleFailure reason,
                                     int64_t now_ns) noexcept;

  // --- Progress ---
  uint64_t completed_samples() const { return completed_samples_.load(std::memory_order_acquire); }
  uint64_t completed_queries() const { return completed_queries_.load(std::memory_order_acquire); }
  /// Notified when a completion call leaves no issued sample outstanding: the only condition
  /// the engine waits for (the closed loop's previous query, the end-of-series drain). Waiters
  /// with other stop conditions must poll them (WaitUntil's timeout).
  WaitWord& progress() { return progress_; }
  /// Whether a thread waits on progress() now (see WaitWord::HasWaiters).
  bool progress_awaited() const { return progress_.HasWaiters(); }
  uint64_t issued_samples() const { return issued_samples_.load(std::memory_order_acquire); }
  /// Also notify progress() once `completed` samples are complete (a load model's issuer
  /// waiting for a free slot of its concurrency; UINT64_MAX: only when none is outstanding).
  /// Returns the completed count read after the threshold was published (both seq_cst, as
  /// the completer's count and its read of the threshold): if it is below `completed`, a
  /// completion that reaches it will notify.
  uint64_t NotifyAtCompletedSamples(uint64_t completed) noexcept {
    notify_at_completed_.store(completed, std::memory_order_seq_cst);
    return completed_samples_.load(std::memory_order_seq_cst);
  }

  // --- Reading results (after the series drained, or for a partial flush) ---
  bool SampleCompleted(uint64_t local) const {
    return state_[local].load(std::memory_order_acquire) & kCompleted;
  }
  bool SampleFailed(uint64_t local) const {
    return state_[local].load(std::memory_order_acquire) & kFailed;
  }
  /// Samples completed as failed, by reason (indexed by SampleFailure).
  std::array<uint64_t, kSampleFailureCount> failed_by_reason() const {
    std::array<uint64_t, kSampleFailureCount> counts{};
    for (size_t i = 0; i < kSampleFailureCount; ++i) {
      counts[i] = failed_by_reason_[i].load(std::memory_order_acquire);
    }
    return counts;
  }
  int64_t latency(uint64_t local) const { return latency_[local]; }
  /// When query q was due: in Server the series start plus the plan's delta, in Offline the
  /// series start, otherwise its issue time (the closed loop issues when it is due).
  int64_t scheduled_ns(uint64_t q) const {
    if (options_.scenario == mlperf::TestScenario::Server) {
      return series_start_ns_ + plan_.scheduled_delta_ns[q];
    }
    if (options_.scenario == mlperf::TestScenario::Offline) return offline_scheduled_ns_;
    return issued_ns_[q];
  }
  int64_t issued_ns(uint64_t q) const { return issued_ns_[q]; }
  /// When the last sample of query q completed.
  int64_t query_done_ns(uint64_t q) const;
  bool has_first_token(uint64_t local) const {
    return state_[local].load(std::memory_order_acquire) & kFirstToken;
  }
  int64_t ttft(uint64_t local) const { return ttft_[local]; }
  int64_t tpot(uint64_t local) const { return tpot_[local]; }
  int64_t n_tokens(uint64_t local) const { return n_tokens_[local]; }
  int64_t max_completion_ns() const { return max_completion_ns_.load(std::memory_order_acquire); }

  /// Calls `write(record, token_data, token_size)` for each published accuracy entry not yet
  /// drained, in completion order; stops at the first entry still being written. Single reader.
  template <typename Write>
  void DrainAccuracy(Write&& write) {
    uint64_t end = accuracy_count_.load(std::memory_order_acquire);
    if (end > accuracy_capacity_) end = accuracy_capacity_;
    while (accuracy_drained_ < end) {
      AccuracyRecord& r = accuracy_[accuracy_drained_];
      if (!r.ready.load(std::memory_order_acquire)) break;
      const uint8_t* token_data = nullptr;
      size_t token_size = 0;
      if (token_data_) {
        token_data = token_data_[r.local].load(std::memory_order_acquire);
        token_size = token_size_[r.local];
      }
      write(r, token_data, token_size);
      ++accuracy_drained_;
    }
  }

 private:
  static constexpr uint8_t kIssued = 1;
  static constexpr uint8_t kCompleted = 2;
  static constexpr uint8_t kFirstToken = 4;
  static constexpr uint8_t kFailed = 8;  // set with kCompleted, in the same fetch_or

  /// Returns the local index of a valid id or counts the rejection.
  bool Resolve(uint64_t id, uint64_t* local, CompletionStatus* status, int64_t now_ns) noexcept;
  void RecordCompletion(uint64_t local, int64_t n_tokens, int64_t now_ns,
                        bool failed = false) noexcept;
  void RecordFirstToken(uint64_t local, int64_t now_ns) noexcept;
  void PublishAccuracy(uint64_t local, const uint8_t* data, size_t size) noexcept;
  void ReportError(CompletionError::Kind kind, uint64_t a, int64_t now_ns) noexcept;
  void FinishCall(size_t accepted, int64_t now_ns) noexcept;

  const schedule::SeriesPlan& plan_;
  RecorderOptions options_;
  BoundedMpmcQueue<CompletionError>* errors_;
  uint64_t spq_;
  uint64_t sample_count_;
  // Written before the first issue (a completer sees them through the issued state).
  int64_t series_start_ns_ = 0;
  int64_t offline_scheduled_ns_ = 0;

  ZeroedArray<std::atomic<uint8_t>> state_;
  ZeroedArray<int64_t> latency_;
  ZeroedArray<int64_t> issued_ns_;
  ZeroedArray<std::atomic<uint32_t>> remaining_;  // spq > 1 only
  ZeroedArray<int64_t> done_ns_;                  // spq > 1 only
  ZeroedArray<int64_t> ttft_;                     // token runs only
  ZeroedArray<int64_t> tpot_;
  ZeroedArray<int64_t> n_tokens_;
  ZeroedArray<std::atomic<const uint8_t*>> token_data_;  // token runs, non-Offline
  ZeroedArray<size_t> token_size_;

  std::unique_ptr<AccuracyRecord[]> accuracy_;
  uint64_t accuracy_capacity_ = 0;
  alignas(64) std::atomic<uint64_t> accuracy_count_{0};
  uint64_t accuracy_drained_ = 0;  // reader only
  ByteArena arena_;

  alignas(64) std::atomic<uint64_t> issued_samples_{0};
  alignas(64) std::atomic<uint64_t> completed_samples_{0};
  std::atomic<uint64_t> notify_at_completed_{UINT64_MAX};  // beside the count it is compared to
  alignas(64) std::atomic<uint64_t> completed_queries_{0};
  std::atomic<int64_t> max_completion_ns_{0};
  alignas(64) std::array<std::atomic<uint64_t>, kSampleFailureCount> failed_by_reason_{};
  WaitWord progress_;
};

}  // namespace loadgen::record

#endif  // LOADGEN_RECORD_SERIES_RECORDER_H_
