#include "schedule/load_models/gamma.h"

#include <cmath>

namespace loadgen::schedule {

double StandardNormal(Mt19937& g) {
  while (true) {
    const double u = 2.0 * Canonical(g) - 1.0;
    const double v = 2.0 * Canonical(g) - 1.0;
    const double s = u * u + v * v;
    if (s >= 1.0 || s == 0.0) continue;
    return u * std::sqrt(-2.0 * std::log(s) / s);
  }
}

double StandardGamma(Mt19937& g, double shape) {
  if (shape == 1.0) return Exponential(g, 1.0);
  if (shape < 1.0) {
    // Boost the shape above 1, then scale back down (Marsaglia and Tsang, section 6).
    const double boosted = StandardGamma(g, shape + 1.0);
    double u = Canonical(g);
    while (u == 0.0) u = Canonical(g);
    return boosted * std::exp(std::log(u) / shape);
  }
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  while (true) {
    double x, v;
    do {
      x = StandardNormal(g);
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = Canonical(g);
    const double x2 = x * x;
    if (u < 1.0 - 0.0331 * x2 * x2) return d * v;
    if (u > 0.0 && std::log(u) < 0.5 * x2 + d * (1.0 - v + std::log(v))) return d * v;
  }
}

}  // namespace loadgen::schedule
