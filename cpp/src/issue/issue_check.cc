#include "issue/issue_check.h"

#include <algorithm>
#include <cmath>
#include <ctime>

#include "common/clock.h"

namespace loadgen::issue {

void LatenessHistogram::Merge(const LatenessHistogram& other) noexcept {
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
}

uint64_t LatenessHistogram::count() const noexcept {
  uint64_t n = 0;
  for (uint64_t c : counts_) n += c;
  return n;
}

int64_t LatenessHistogram::UpperEdge(int bucket) noexcept {
  if (bucket < kSub) return bucket;
  const int exponent = (bucket - kSub) / kSub + kSubBits;
  const int sub = (bucket - kSub) % kSub;
  const uint64_t lower = static_cast<uint64_t>(kSub + sub) << (exponent - kSubBits);
  return static_cast<int64_t>(lower + (uint64_t{1} << (exponent - kSubBits)) - 1);
}

int64_t LatenessHistogram::Quantile(double p) const noexcept {
  const uint64_t total = count();
  if (total == 0) return 0;
  // The rank of the p quantile without interpolation, as the results stage reads percentiles.
  const uint64_t rank = std::min<uint64_t>(
      total,
      std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(p * static_cast<double>(total)))));
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return UpperEdge(i);
  }
  return UpperEdge(kBuckets - 1);
}

void IssueCheck::Merge(const IssueCheck& o) noexcept {
  if (o.has_span) NoteScheduledSpan(o.first_scheduled_ns, o.last_scheduled_ns);
  lateness.Merge(o.lateness);
  timed_queries += o.timed_queries;
  lateness_sum_ns += o.lateness_sum_ns;
  lateness_max_ns = std::max(lateness_max_ns, o.lateness_max_ns);
  reissue_count += o.reissue_count;
  reissue_sum_ns += o.reissue_sum_ns;
  reissue_max_ns = std::max(reissue_max_ns, o.reissue_max_ns);
  callback_ns += o.callback_ns;
  thread_cpu_ns += o.thread_cpu_ns;
  thread_wall_ns = std::max(thread_wall_ns, o.thread_wall_ns);
  threads += o.threads;
  max_outstanding = std::max(max_outstanding, o.max_outstanding);
}

int64_t ThreadCpuNs() noexcept {
  timespec ts{};
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

IssueThreadClock::IssueThreadClock() noexcept
    : cpu_start_ns_(ThreadCpuNs()), wall_start_ns_(NowNs()) {}

void IssueThreadClock::Finish(IssueCheck* check) const noexcept {
  check->thread_cpu_ns += ThreadCpuNs() - cpu_start_ns_;
  check->thread_wall_ns = std::max(check->thread_wall_ns, NowNs() - wall_start_ns_);
  check->threads += 1;
}

}  // namespace loadgen::issue
