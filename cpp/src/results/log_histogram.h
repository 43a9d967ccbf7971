// results stage: a streaming histogram of non-negative integers (latencies in ns) in bounded
// memory, for data too long to keep (the inter-token latencies of a long endpoint run, any
// column past MetricOptions::exact_limit). No C or C++ HdrHistogram is packaged by Debian or
// PyPI for our build, so this is the same log-linear layout written out: values below 2^kBits
// are counted exactly; above, each power of two is split into 2^kBits equal buckets. A bucket
// is at most 2^-kBits of its lower bound wide, and a percentile reports the bucket's middle, so
// its relative error is at most 2^-(kBits+1) (0.39 %). Memory is fixed at construction
// (about 58 KB); Record allocates nothing and takes no lock (one histogram per writer).
#ifndef LOADGEN_RESULTS_LOG_HISTOGRAM_H_
#define LOADGEN_RESULTS_LOG_HISTOGRAM_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace loadgen::results {

class LogHistogram {
 public:
  static constexpr int kBits = 7;
  /// The largest relative error of a reported percentile (values below 2^kBits: none).
  static constexpr double kRelativeError = 1.0 / (2 << kBits);

  LogHistogram();

  /// Counts `value` (negative values count as 0). Allocates: no.
  void Record(int64_t value) noexcept;
  void Merge(const LogHistogram& other);

  uint64_t count() const { return count_; }
  int64_t min() const { return count_ ? min_ : 0; }
  int64_t max() const { return count_ ? max_ : 0; }
  double mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0; }
  /// The value at percentile `p` (0..1) by the official rule (the element at index
  /// trunc(count * p) of the sorted values), within kRelativeError; 0 when empty.
  int64_t ValueAt(double p) const;

  static size_t BucketOf(int64_t value);
  /// The smallest value of bucket `index`, and its width.
  static int64_t LowerBound(size_t index);
  static int64_t Width(size_t index);

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
  double sum_ = 0;
};

}  // namespace loadgen::results

#endif  // LOADGEN_RESULTS_LOG_HISTOGRAM_H_
