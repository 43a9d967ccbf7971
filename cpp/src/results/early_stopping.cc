#include "results/early_stopping.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "logging/format.h"

namespace loadgen::results {
namespace {

constexpr double kConfidence = 0.99;
constexpr double kTolerance = 0.0;
// A bound no run reaches; the official computation has no such bound (it is undefined where
// this one applies: non-finite search windows, e.g. for a percentile of 1).
constexpr int64_t kUnreachable = int64_t{1} << 62;

// Truncates toward zero like the official double -> int64 conversions, saturating where those
// would be undefined (NaN or out of range).
int64_t TruncSaturated(double v) {
  if (std::isnan(v)) return kUnreachable;
  if (v >= static_cast<double>(kUnreachable)) return kUnreachable;
  if (v <= 0) return 0;
  return static_cast<int64_t>(v);
}

// Bit pattern of p as the cache key: orders every value, NaN included.
uint64_t KeyOf(double p) {
  uint64_t bits;
  std::memcpy(&bits, &p, sizeof(bits));
  return bits;
}

// Lower-bound search for the first h in [lo, hi) whose odds drop below 1 - c; hi if none.
int64_t SearchMinPassing(int64_t lo, int64_t hi, int64_t t, double p) {
  const double alpha = 1.0 - kConfidence;
  int64_t count = hi - lo;
  while (count > 0) {
    const int64_t step = count / 2;
    const int64_t h = lo + step;
    if (EarlyStoppingOdds(h, t, p) < alpha) {
      count = step;
    } else {
      lo = h + 1;
      count -= step + 1;
    }
  }
  return lo;
}

std::string PercentLabel(double percentile) { return logging::FormatFixed(percentile * 100, 1); }

// Element `index` of a sorted vector, or the last one if the vector is shorter (0 if empty).
int64_t ElementOrLast(const std::vector<int64_t>& sorted, int64_t index) {
  if (sorted.empty()) return 0;
  if (index < 0) return sorted.front();
  if (static_cast<uint64_t>(index) >= sorted.size()) return sorted.back();
  return sorted[static_cast<size_t>(index)];
}

// The shared SingleStream/MultiStream estimate for one percentile.
struct PercentileEstimate {
  int64_t min_queries = 0;  // h_min + 1
  bool enough_queries = false;
  int64_t discarded = 0;  // t - 1
  int64_t value = 0;
};

PercentileEstimate EstimatePercentile(MinPassingFinder& finder, const std::vector<int64_t>& sorted,
                                      int64_t n, double p) {
  PercentileEstimate e;
  e.min_queries = finder.Find(1, p) + 1;
  if (n < e.min_queries) return e;
  e.enough_queries = true;
  int64_t t = 1;
  for (int64_t i = 2; i <= n; ++i) {
    const int64_t h = finder.Find(i, p);
    if (n < h + i) {
      t = i - 1;
      break;
    }
  }
  e.discarded = t - 1;
  e.value = ElementOrLast(sorted, n - t);
  return e;
}

int64_t ToSigned(uint64_t n) {
  return static_cast<int64_t>(std::min<uint64_t>(n, static_cast<uint64_t>(kUnreachable)));
}

// The first (failing or estimating) part shared by SingleStream and MultiStream.
EarlyStoppingOutcome TargetPercentileEarlyStopping(MinPassingFinder& finder,
                                                   const std::vector<int64_t>& sorted,
                                                   uint64_t queries_issued, double percentile) {
  EarlyStoppingOutcome out;
  const int64_t n = ToSigned(queries_issued);
  const PercentileEstimate e = EstimatePercentile(finder, sorted, n, percentile);
  if (!e.enough_queries) {
    out.met = false;
    out.text = " * Only processed " + std::to_string(queries_issued) +
               " queries.\n * Need to process at least " + std::to_string(e.min_queries) +
               " queries for early stopping.";
    return out;
  }
  out.estimate = e.value;
  out.text = " * Processed at least " + std::to_string(e.min_queries) + " queries (" +
             std::to_string(queries_issued) + ").\n * Would discard " +
             std::to_string(e.discarded) + " highest latency queries.\n * Early stopping " +
             PercentLabel(percentile) + "th percentile estimate: " + std::to_string(e.value);
  return out;
}

}  // namespace

double LogBeta(double x, double y) { return std::lgamma(x) + std::lgamma(y) - std::lgamma(x + y); }

double Hypergeometric2F1(double b, double c, double x) {
  const double kEpsilon = std::ldexp(1.0, -33);
  double term = 1;
  double sum = 1;
  for (int64_t i = 0; std::fabs(term) > kEpsilon; ++i) {
    const double n = static_cast<double>(i);
    term = term * ((b + n) * x) / (c + n);  // the official grouping, for identical rounding
    sum += term;
  }
  return sum;
}

double RegularizedBeta(double x, double a, double b) {
  const double prefactor =
      std::exp(a * std::log(x) + (b - 1) * std::log(1 - x) - LogBeta(a, b)) / a;
  return prefactor * Hypergeometric2F1(1 - b, 1 + a, x / (x - 1));
}

double EarlyStoppingOdds(int64_t h, int64_t t, double p) {
  return RegularizedBeta(p - kTolerance, static_cast<double>(h), static_cast<double>(1 + t));
}

int64_t MinPassingFinder::Find(int64_t t, double p) {
  std::map<int64_t, int64_t>& solved = cache_[KeyOf(p)];
  if (auto hit = solved.find(t); hit != solved.end()) return hit->second;

  // The two largest solved t below this one, with the official defaults.
  int64_t x1 = 0;
  int64_t y1 = TruncSaturated(std::ceil(std::log(1 - kConfidence) / std::log(p - kTolerance)));
  int64_t x0 = -1;
  int64_t y0 = 0;
  auto below = solved.lower_bound(t);
  if (below != solved.begin()) {
    --below;
    x1 = below->first;
    y1 = below->second;
    if (below != solved.begin()) {
      --below;
      x0 = below->first;
      y0 = below->second;
    }
  }
  const double min_slope = (p - kTolerance) / (1 - p + kTolerance);
  // A product where a slope (quotient) was meant: copied because it sets the search window.
  const double max_slope = static_cast<double>(y1 - y0) * static_cast<double>(x1 - x0);
  const double dt = static_cast<double>(t - x1);
  const int64_t lo = TruncSaturated(dt * min_slope + static_cast<double>(y1));
  const int64_t hi = TruncSaturated(dt * max_slope + static_cast<double>(y1) + 1);
  const int64_t h = SearchMinPassing(lo, hi, t, p);
  solved.emplace(t, h);
  return h;
}

EarlyStoppingOutcome SingleStreamEarlyStopping(const std::vector<int64_t>& sorted_latencies,
                                               uint64_t queries_issued, double percentile) {
  MinPassingFinder finder;
  EarlyStoppingOutcome out =
      TargetPercentileEarlyStopping(finder, sorted_latencies, queries_issued, percentile);
  if (!out.met) return out;

  // The MultiStream-from-SingleStream estimate: a fixed 99th percentile, informative only.
  constexpr double kP99 = 0.99;
  const PercentileEstimate e =
      EstimatePercentile(finder, sorted_latencies, ToSigned(queries_issued), kP99);
  if (!e.enough_queries) {
    out.text += "\n * Not enough queries processed for " + PercentLabel(kP99) +
                "th percentile\n early stopping estimate (would need to process at\n least " +
                std::to_string(e.min_queries) + " total queries).";
  } else {
    out.estimate_p99 = e.value;
    out.text += "\n * Early stopping " + PercentLabel(kP99) +
                "th percentile estimate: " + std::to_string(e.value);
  }
  return out;
}

EarlyStoppingOutcome MultiStreamEarlyStopping(const std::vector<int64_t>& sorted_query_latencies,
                                              uint64_t queries_issued, double percentile) {
  MinPassingFinder finder;
  return TargetPercentileEarlyStopping(finder, sorted_query_latencies, queries_issued, percentile);
}

EarlyStoppingOutcome ServerEarlyStopping(const std::vector<int64_t>& latencies,
                                         int64_t latency_bound, uint64_t queries_issued,
                                         double percentile) {
  const int64_t t = static_cast<int64_t>(
      std::count_if(latencies.begin(), latencies.end(),
                    [latency_bound](int64_t latency) { return latency > latency_bound; }));
  MinPassingFinder finder;
  const int64_t h = finder.Find(t, percentile);
  const int64_t n = ToSigned(queries_issued);
  EarlyStoppingOutcome out;
  if (n >= h + t) {
    out.text = " * Run successful.";
    return out;
  }
  out.met = false;
  out.text = " * Run unsuccessful.\n * Processed " + std::to_string(queries_issued) +
             " queries.\n * Would need to run at least " + std::to_string(h + t - n) +
             " more queries,\n with the run being successful if every additional\n query were "
             "under latency.";
  return out;
}

}  // namespace loadgen::results
