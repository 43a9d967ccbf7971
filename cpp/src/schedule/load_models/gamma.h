// schedule stage: gamma and normal variates from the engine's Mt19937, written out (no
// <random> distributions) so the same seed gives the same numbers with every standard library.
// They use only + - * /, std::sqrt (exact in IEEE 754) and std::log / std::exp.
#ifndef LOADGEN_SCHEDULE_LOAD_MODELS_GAMMA_H_
#define LOADGEN_SCHEDULE_LOAD_MODELS_GAMMA_H_

#include "schedule/random.h"

namespace loadgen::schedule {

/// A standard normal variate (Marsaglia's polar method; the second value is dropped so every
/// call consumes whole draws).
double StandardNormal(Mt19937& g);

/// A gamma variate of shape `shape` (> 0) and scale 1 (Marsaglia and Tsang, 2000; for shape
/// < 1, Gamma(shape + 1) * U^(1/shape)). Shape 1 is Exponential(g, 1.0), the gap of the
/// Server scenario's Poisson schedule.
double StandardGamma(Mt19937& g, double shape);

}  // namespace loadgen::schedule

#endif  // LOADGEN_SCHEDULE_LOAD_MODELS_GAMMA_H_
