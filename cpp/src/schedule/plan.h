// schedule stage: pure, thread-free generation of loadable sets and of each series' queries
// (docs/official-behaviour.md#schedule). Same settings and seeds -> the official LoadGen's exact
// samples and order, on every compiler (our own RNG algorithms, schedule/random.h).
#ifndef LOADGEN_SCHEDULE_PLAN_H_
#define LOADGEN_SCHEDULE_PLAN_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "schedule/plan_array.h"
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
///
/// A streamed plan (QueryGenerator) grows while it is issued: readers on other threads use
/// only the queries below QueryGenerator::WaitFor's answer, and query_count() once complete.
struct SeriesPlan {
  mlperf::TestMode mode = mlperf::TestMode::PerformanceOnly;  // AccuracyOnly or PerformanceOnly
  uint64_t first_query_seq = 0;
  uint64_t first_sample_seq = 0;
  uint64_t samples_per_query = 1;         // generated (possibly padded) spq
  PlanArray<uint32_t> sample_index;       // QSL indices, query-major
  PlanArray<int64_t> scheduled_delta_ns;  // per query, from the series start
  int64_t generated_duration_ns = 0;      // last delta plus one more gap (official)
  /// Accuracy-log choice per sample (bit i of word i/64). In AccuracyOnly every bit is set.
  PlanArray<uint64_t> accuracy_log_bits;
  /// Upper bounds of the final counts (what readers may size arrays by) and of the samples
  /// whose accuracy-log bit is set.
  uint64_t query_capacity = 0;
  uint64_t sample_capacity = 0;
  uint64_t accuracy_log_capacity = 0;

  /// Sets the capacities to the contents (a complete plan; also for plans built by hand).
  /// Bits beyond sample_count() must be clear.
  void Seal();

  uint64_t query_count() const { return scheduled_delta_ns.size(); }
  uint64_t sample_count() const { return sample_index.size(); }
  bool LogsAccuracy(uint64_t local_sample) const {
    return (accuracy_log_bits[local_sample >> 6] >> (local_sample & 63)) & 1u;
  }
};

/// The official generation loop (official loadgen/loadgen.cc GenerateQueries;
/// docs/official-behaviour.md#schedule-query-generation) as a resumable generator, so that a long
/// Server series starts issuing at once and holds only what was generated so far, not the
/// whole run (a 600 s series at 100k QPS is 60M queries). The output is the same however it
/// is cut into steps.
class QueryGenerator {
 public:
  /// Plans with more queries than this are streamed (generating 1M Server queries takes about
  /// 50 ms; below that, the whole plan is generated before the first issue, as the official).
  static constexpr uint64_t kStreamFromQueries = uint64_t{1} << 20;

  /// Runs the set-up that precedes the loop (horizon and minimum count, the sample RNG's
  /// construction-time shuffles, padding, checks). Throws SettingsError for settings that cannot
  /// be generated.
  QueryGenerator(const settings::EffectiveSettings& effective, const LoadableSet& set,
                 mlperf::TestMode series_mode, SequenceState& sequence);
  ~QueryGenerator();
  QueryGenerator(const QueryGenerator&) = delete;
  QueryGenerator& operator=(const QueryGenerator&) = delete;

  /// Appends up to `max_queries` queries (with their accuracy-log bits); returns true once
  /// the plan is complete, then advances `sequence` (ids and the accuracy-log RNG).
  bool Generate(uint64_t max_queries);
  /// Generates everything that is left.
  void Finish() { Generate(UINT64_MAX); }
  bool complete() const { return published_complete_.load(std::memory_order_acquire); }

  /// For a streamed plan: freezes the storage (elements never move) at a capacity the loop
  /// cannot exceed, so other threads may read published queries while this one generates.
  /// Only for plans whose accuracy-log bits are all clear (probability 0).
  void PrepareForStreaming();
  /// Whether this series is long enough to stream and can be (performance Server series
  /// without accuracy-log sampling).
  bool ShouldStream(uint64_t threshold = kStreamFromQueries) const;
  /// The number of queries expected (the exact count once complete).
  uint64_t expected_queries() const;

  /// Blocks until query `q` is generated or the plan is complete; returns the number of
  /// queries readable now (may be <= q only once complete, or if `stop` became true).
  template <typename Stop>
  uint64_t WaitFor(uint64_t q, Stop&& stop) const;
  uint64_t published_queries() const { return published_.load(std::memory_order_acquire); }

  SeriesPlan& plan() { return plan_; }
  const SeriesPlan& plan() const { return plan_; }

 private:
  struct Loop;
  void AppendQuerySamples();
  void DrawAccuracyLogBits();
  void Publish(bool done);

  SeriesPlan plan_;
  SequenceState& sequence_;
  std::unique_ptr<Loop> loop_;
  bool streaming_ = false;  // PrepareForStreaming was called
  std::atomic<uint64_t> published_{0};
  std::atomic<bool> published_complete_{false};
};

template <typename Stop>
uint64_t QueryGenerator::WaitFor(uint64_t q, Stop&& stop) const {
  for (int spin = 0;; ++spin) {
    // Complete first: its release store follows the final count's.
    const bool done = published_complete_.load(std::memory_order_acquire);
    const uint64_t available = published_.load(std::memory_order_acquire);
    if (available > q || done || stop()) return available;
    if (spin < 64) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
}

/// The probability used for accuracy-log sampling in performance mode
/// (docs/official-behaviour.md#schedule-accuracy-sampling).
double AccuracyLogProbability(const settings::EffectiveSettings& effective);

/// GenerateQueries for one series. `series_mode` is AccuracyOnly or PerformanceOnly.
/// Advances `sequence` (ids and the accuracy-log RNG) exactly as the official LoadGen does.
SeriesPlan GenerateQueries(const settings::EffectiveSettings& effective, const LoadableSet& set,
                           mlperf::TestMode series_mode, SequenceState& sequence);

/// The series modes a test of `test_mode` starts with, in order: SubmissionRun runs accuracy
/// before performance (as the official RunTests does); FindPeakPerformance starts with one
/// performance series (its later ones depend on the results).
std::vector<mlperf::TestMode> SeriesModes(mlperf::TestMode test_mode);

/// One series of a test planned without running it.
struct PlannedSeries {
  LoadableSet set;
  SeriesPlan plan;
  /// Performance series: the samples (indices into the plan) whose responses the accuracy log
  /// keeps. Empty for accuracy series, which log every response.
  std::vector<uint64_t> accuracy_logged;
};

/// The series a test with these settings issues, in order (SeriesModes): every accuracy set,
/// then the first performance set. Same samples, times and sequence ids as a run.
std::vector<PlannedSeries> GenerateTestPlan(const settings::EffectiveSettings& effective,
                                            uint64_t qsl_total);

}  // namespace loadgen::schedule

#endif  // LOADGEN_SCHEDULE_PLAN_H_
