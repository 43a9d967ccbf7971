// schedule stage: pure, thread-free generation of loadable sets and of each series' queries
// (engine.md §4-§8). Same settings and seeds -> the official LoadGen's exact samples and order,
// on every compiler (our own RNG algorithms, schedule/random.h).
#ifndef LOADGEN_SCHEDULE_PLAN_H_
#define LOADGEN_SCHEDULE_PLAN_H_

#include <cstdint>
#include <vector>

#include "schedule/random.h"
#include "settings/effective_settings.h"

namespace loadgen::schedule {

/// One LoadSamplesToRam unit. `samples` includes the MultiStream padding; `dist_end` is the
/// size before padding.
struct LoadableSet {
  std::vector<uint64_t> samples;
  uint64_t dist_end = 0;
};

/// GenerateLoadableSets: qsl_rng shuffle of [0, min(count, qsl_total)) cut into sets of
/// effective.performance_sample_count, MultiStream-padded.
std::vector<LoadableSet> GenerateLoadableSets(const settings::EffectiveSettings& effective,
                                              uint64_t count, uint64_t qsl_total);

/// Sequence ids and the accuracy-log RNG: shared by all series of one test.
struct SequenceState {
  uint64_t next_query_seq = 0;
  uint64_t next_sample_seq = 0;
  Mt19937 accuracy_rng{5489u};  // never reseeded, as in the official LoadGen
};

/// The generated queries of one series. Every query has `samples_per_query` samples; sample j
/// of query q is `sample_index[q * samples_per_query + j]` and has sequence id
/// `first_sample_seq + q * samples_per_query + j`.
struct SeriesPlan {
  mlperf::TestMode mode = mlperf::TestMode::PerformanceOnly;  // AccuracyOnly or PerformanceOnly
  uint64_t first_query_seq = 0;
  uint64_t first_sample_seq = 0;
  uint64_t samples_per_query = 1;  // generated (possibly padded) spq
  std::vector<uint32_t> sample_index;        // QSL indices, query-major
  std::vector<int64_t> scheduled_delta_ns;   // per query, from the series start
  int64_t generated_duration_ns = 0;         // last delta plus one more gap (official)
  /// Accuracy-log choice per sample (bit i of word i/64). In AccuracyOnly every bit is set.
  std::vector<uint64_t> accuracy_log_bits;

  uint64_t query_count() const { return scheduled_delta_ns.size(); }
  uint64_t sample_count() const { return sample_index.size(); }
  bool LogsAccuracy(uint64_t local_sample) const {
    return (accuracy_log_bits[local_sample >> 6] >> (local_sample & 63)) & 1u;
  }
};

/// The probability used for accuracy-log sampling in performance mode (engine.md §8).
double AccuracyLogProbability(const settings::EffectiveSettings& effective);

/// GenerateQueries for one series. `series_mode` is AccuracyOnly or PerformanceOnly.
/// Advances `sequence` (ids and the accuracy-log RNG) exactly as the official LoadGen does.
SeriesPlan GenerateQueries(const settings::EffectiveSettings& effective, const LoadableSet& set,
                           mlperf::TestMode series_mode, SequenceState& sequence);

}  // namespace loadgen::schedule

#endif  // LOADGEN_SCHEDULE_PLAN_H_
