// The Kolmogorov-Smirnov distance, for the tests and benchmarks that check an arrival process
// (exponential gaps of a Poisson schedule, gamma gaps of a bursty one).
#ifndef LOADGEN_TESTS_KS_DISTANCE_H_
#define LOADGEN_TESTS_KS_DISTANCE_H_

#include <algorithm>
#include <cmath>
#include <vector>

namespace loadgen::test_support {

// The largest distance between the empirical CDF of `x` and `cdf` (D).
template <typename Cdf>
double KsDistance(std::vector<double> x, Cdf cdf) {
  std::sort(x.begin(), x.end());
  double d = 0;
  const double n = static_cast<double>(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double f = cdf(x[i]);
    d = std::max({d, f - static_cast<double>(i) / n, static_cast<double>(i + 1) / n - f});
  }
  return d;
}

// D of `gaps` (seconds) against Exp(rate).
inline double KsAgainstExponential(std::vector<double> gaps, double rate) {
  return KsDistance(std::move(gaps), [rate](double g) { return 1.0 - std::exp(-rate * g); });
}

}  // namespace loadgen::test_support

#endif  // LOADGEN_TESTS_KS_DISTANCE_H_
