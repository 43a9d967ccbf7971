#include "results/log_histogram.h"

#include <algorithm>

#include "results/performance_summary.h"

namespace loadgen::results {
namespace {

constexpr int64_t kSub = int64_t{1} << LogHistogram::kBits;  // buckets per power of two
// Exact buckets [0, kSub), then kSub buckets for each exponent kBits..62.
constexpr size_t kBucketCount = static_cast<size_t>((63 - LogHistogram::kBits + 1) * kSub);

int HighestBit(uint64_t v) { return 63 - __builtin_clzll(v); }

}  // namespace

LogHistogram::LogHistogram() : counts_(kBucketCount, 0) {}

size_t LogHistogram::BucketOf(int64_t value) {
  if (value < kSub) return static_cast<size_t>(value < 0 ? 0 : value);
  const int shift = HighestBit(static_cast<uint64_t>(value)) - kBits;
  const int64_t sub = (value >> shift) - kSub;  // in [0, kSub)
  return static_cast<size_t>((shift + 1) * kSub + sub);
}

int64_t LogHistogram::LowerBound(size_t index) {
  const auto i = static_cast<int64_t>(index);
  if (i < kSub) return i;
  const int64_t shift = i / kSub - 1;
  return (kSub + i % kSub) << shift;
}

int64_t LogHistogram::Width(size_t index) {
  const auto i = static_cast<int64_t>(index);
  return i < kSub ? 1 : int64_t{1} << (i / kSub - 1);
}

void LogHistogram::Record(int64_t value) noexcept {
  if (value < 0) value = 0;
  ++counts_[BucketOf(value)];
  if (count_ == 0 || value < min_) min_ = value;
  if (count_ == 0 || value > max_) max_ = value;
  ++count_;
  sum_ += static_cast<double>(value);
}

void LogHistogram::Merge(const LogHistogram& other) {
  if (other.count_ == 0) return;
  for (size_t i = 0; i < kBucketCount; ++i) counts_[i] += other.counts_[i];
  min_ = count_ ? std::min(min_, other.min_) : other.min_;
  max_ = count_ ? std::max(max_, other.max_) : other.max_;
  count_ += other.count_;
  sum_ += other.sum_;
}

int64_t LogHistogram::ValueAt(double p) const {
  if (count_ == 0) return 0;
  const uint64_t rank = PercentileIndex(count_, p);  // 0-based
  uint64_t seen = 0;
  for (size_t i = 0; i < kBucketCount; ++i) {
    seen += counts_[i];
    if (seen > rank) {
      const int64_t middle = LowerBound(i) + (Width(i) - 1) / 2;
      return std::clamp(middle, min_, max_);
    }
  }
  return max_;
}

}  // namespace loadgen::results
