// issue stage: what an issuing thread measures about itself for the generator self-check
// (docs/self-check.md): how late each scheduled query left against its moment, how long the
// SUT's IssueQuery held the thread, the thread's CPU time, and the outstanding samples it saw.
// One per issuing thread, on its stack; merged into IssueShared when the thread returns. The
// per-query cost is a subtraction, a bit scan and an increment (no clock read of its own:
// the issue loops pass the times they read anyway); nothing allocates or locks.
#ifndef LOADGEN_ISSUE_ISSUE_CHECK_H_
#define LOADGEN_ISSUE_ISSUE_CHECK_H_

#include <array>
#include <cstdint>

namespace loadgen::issue {

/// Log-linear histogram of non-negative durations: 8 sub-buckets per power of two, so a
/// percentile read from it is within 12.5 % of the exact value.
class LatenessHistogram {
 public:
  static constexpr int kSubBits = 3;
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kBuckets = kSub + (63 - kSubBits) * kSub;

  void Add(int64_t ns) noexcept { ++counts_[BucketOf(ns < 0 ? 0 : static_cast<uint64_t>(ns))]; }
  void Merge(const LatenessHistogram& other) noexcept;
  uint64_t count() const noexcept;
  /// The upper edge of the bucket holding the `p` quantile (0 < p <= 1); 0 when empty.
  int64_t Quantile(double p) const noexcept;

  static int BucketOf(uint64_t v) noexcept {
    if (v < static_cast<uint64_t>(kSub)) return static_cast<int>(v);
    const int exponent = 63 - __builtin_clzll(v);  // >= kSubBits
    const int sub = static_cast<int>((v >> (exponent - kSubBits)) & (kSub - 1));
    return kSub + (exponent - kSubBits) * kSub + sub;
  }
  /// Largest value that falls in `bucket`.
  static int64_t UpperEdge(int bucket) noexcept;

 private:
  std::array<uint64_t, kBuckets> counts_{};
};

struct IssueCheck {
  /// Queries with a scheduled moment (Server, open-loop load stages): issue time - moment.
  LatenessHistogram lateness;
  uint64_t timed_queries = 0;
  int64_t lateness_sum_ns = 0;
  int64_t lateness_max_ns = 0;
  int64_t first_scheduled_ns = 0;  // of the timed queries, for the mean inter-arrival time
  int64_t last_scheduled_ns = 0;
  bool has_span = false;
  /// Closed loops (SingleStream, MultiStream): previous query done -> next query issued.
  uint64_t reissue_count = 0;
  int64_t reissue_sum_ns = 0;
  int64_t reissue_max_ns = 0;
  /// Time inside the SUT's IssueQuery (a Python SUT: with the GIL wait), over all threads.
  int64_t callback_ns = 0;
  /// CPU time of the issuing threads while issuing, and their wall time.
  int64_t thread_cpu_ns = 0;
  int64_t thread_wall_ns = 0;
  uint64_t threads = 0;
  /// Most samples issued and not completed, seen right after an issue.
  uint64_t max_outstanding = 0;

  /// One timed query that left `late_ns` after its moment: the issue loops' per-query form,
  /// with the span of moments reported once per loop (NoteScheduledSpan).
  void AddLateness(int64_t late_ns) noexcept {
    const int64_t late = late_ns > 0 ? late_ns : 0;
    ++timed_queries;
    lateness.Add(late);
    lateness_sum_ns += late;
    if (late > lateness_max_ns) lateness_max_ns = late;
  }
  /// The earliest and latest scheduled moments of timed queries added (any order, repeatable).
  void NoteScheduledSpan(int64_t first_ns, int64_t last_ns) noexcept {
    if (!has_span || first_ns < first_scheduled_ns) first_scheduled_ns = first_ns;
    if (!has_span || last_ns > last_scheduled_ns) last_scheduled_ns = last_ns;
    has_span = true;
  }
  void AddLateness(int64_t scheduled_ns, int64_t issued_ns) noexcept {
    AddLateness(issued_ns - scheduled_ns);
    NoteScheduledSpan(scheduled_ns, scheduled_ns);
  }
  void AddReissueGap(int64_t gap_ns) noexcept {
    if (gap_ns < 0) gap_ns = 0;
    ++reissue_count;
    reissue_sum_ns += gap_ns;
    if (gap_ns > reissue_max_ns) reissue_max_ns = gap_ns;
  }
  void SeeOutstanding(uint64_t outstanding) noexcept {
    if (outstanding > max_outstanding) max_outstanding = outstanding;
  }
  void Merge(const IssueCheck& other) noexcept;
};

/// CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID), in nanoseconds.
int64_t ThreadCpuNs() noexcept;

/// Measures one issuing thread from construction to Finish(): CPU and wall time.
class IssueThreadClock {
 public:
  IssueThreadClock() noexcept;
  void Finish(IssueCheck* check) const noexcept;

 private:
  int64_t cpu_start_ns_;
  int64_t wall_start_ns_;
};

}  // namespace loadgen::issue

#endif  // LOADGEN_ISSUE_ISSUE_CHECK_H_
