// The official LoadGen's sample plan: loadable sets (official loadgen/loadgen.cc
// GenerateLoadableSets), query generation (GenerateQueries) and accuracy-log sampling (IssueQueries
// and ResponseDelegateDetailed::SampleComplete); docs/official-behaviour.md#schedule. Every RNG
// is consumed in the official order, so the same settings give the same samples, schedule and
// sequence ids.
#include "schedule/plan.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "common/errors.h"

namespace loadgen::schedule {
namespace {

using mlperf::TestMode;
using mlperf::TestScenario;
using settings::EffectiveSettings;

// Sample indices and set positions are stored as uint32_t to keep a plan at ~4 bytes per sample.
constexpr uint64_t kMaxIndex = UINT32_MAX;
// Generation refuses horizons that would need more queries than this (the official would loop
// for hours or run out of memory).
constexpr double kMaxGeneratedQueries = 4294967296.0;

// The strided positions [0, stride, 2*stride, ... < dist_end] in shuffled order, consumed front to
// back (the official accuracy and "unique" sample distributions).
class ShuffledPositions {
 public:
  ShuffledPositions() = default;
  ShuffledPositions(uint64_t dist_end, uint64_t stride, Mt19937& rng) {
    positions_.reserve((dist_end + stride - 1) / stride);
    for (uint64_t p = 0; p < dist_end; p += stride) positions_.push_back(static_cast<uint32_t>(p));
    Shuffle(positions_, rng);
  }

  uint64_t Next(const char* what) {
    if (next_ == positions_.size()) {
      throw SettingsError(std::string(what) +
                          " has more queries to fill than the loaded set has "
                          "samples; lower min_query_count or disable it");
    }
    return positions_[next_++];
  }

 private:
  std::vector<uint32_t> positions_;
  size_t next_ = 0;
};

// Where the set position of each non-Offline query comes from, in the official precedence.
enum class Source { kUnique, kSame, kEqualIssue, kMain };

uint64_t AccuracyLogCount(const EffectiveSettings& s) {
  // Double arithmetic in the official order, truncated to an integer.
  const double count = s.target_qps * static_cast<double>(s.min_duration_ms) / 1000.0;
  // Saturate instead of the undefined conversion of values out of range.
  uint64_t expected = 0;
  if (count >= 18446744073709551616.0) {
    expected = UINT64_MAX;
  } else if (count > 0) {
    expected = static_cast<uint64_t>(count);
  }
  uint64_t minimum = s.min_sample_count;
  if (s.scenario != TestScenario::Offline) {
    expected *= s.samples_per_query;
    minimum = s.min_query_count * s.samples_per_query;
  }
  return std::max(expected, minimum);
}

int64_t WrappingAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}

void CheckSet(const LoadableSet& set) {
  if (set.samples.empty() || set.dist_end == 0 || set.dist_end > set.samples.size()) {
    throw SettingsError(
        "the loaded sample set is empty: check the QSL sample counts and "
        "performance_sample_count_override");
  }
  if (set.samples.size() > kMaxIndex) {
    throw SettingsError("the loaded sample set has more than 2^32 - 1 entries");
  }
  if (*std::max_element(set.samples.begin(), set.samples.end()) > kMaxIndex) {
    throw SettingsError("QSL sample indices above 2^32 - 1 are not supported");
  }
}

}  // namespace

std::vector<LoadableSet> GenerateLoadableSets(const EffectiveSettings& effective, uint64_t count,
                                              uint64_t qsl_total) {
  const uint64_t universe = std::min(count, qsl_total);
  if (universe > kMaxIndex + 1) {
    throw SettingsError("QSL sample indices above 2^32 - 1 are not supported (the QSL reports " +
                        std::to_string(qsl_total) + " samples)");
  }
  std::vector<uint32_t> order(universe);
  std::iota(order.begin(), order.end(), uint32_t{0});
  Mt19937 qsl_rng(effective.qsl_rng_seed);
  Shuffle(order, qsl_rng);

  // A set size of 0 never completes a chunk, so everything lands in one set.
  const uint64_t set_size = effective.performance_sample_count;
  const uint64_t padding = effective.scenario == TestScenario::MultiStream
                               ? std::max<uint64_t>(effective.samples_per_query, 1) - 1
                               : 0;
  std::vector<LoadableSet> sets;
  for (uint64_t begin = 0; begin < universe;) {
    const uint64_t size = set_size == 0 ? universe : std::min(set_size, universe - begin);
    LoadableSet set;
    set.samples.reserve(size + padding);
    set.samples.assign(order.begin() + begin, order.begin() + begin + size);
    set.dist_end = size;
    // MultiStream queries are contiguous windows, so the first samples are appended again. The
    // official appends element by element, which repeats a short set cyclically.
    for (uint64_t i = 0; i < padding; ++i) set.samples.push_back(set.samples[i]);
    sets.push_back(std::move(set));
    begin += size;
  }
  return sets;
}

double AccuracyLogProbability(const EffectiveSettings& effective) {
  if (effective.accuracy_log_sampling_target == 0) return effective.accuracy_log_probability;
  return static_cast<double>(effective.accuracy_log_sampling_target) /
         static_cast<double>(AccuracyLogCount(effective));
}

// The state of the generation loop between steps.
struct QueryGenerator::Loop {
  const EffectiveSettings& effective;
  TestScenario scenario;
  bool accuracy, offline, server, multi_stream, concatenate;
  uint64_t set_size, dist_end, spq, min_queries, same;
  int64_t horizon_ns, fixed_gap_ns;
  double qps;
  Source source;
  std::vector<uint32_t> loaded;
  Mt19937 sample_rng, schedule_rng;
  ShuffledPositions main_positions, unique_positions;
  std::vector<uint32_t> equal_issue;  // ceil(M / |L|) successive shuffles of the positions
  size_t equal_issue_next = 0;
  int64_t timestamp = 0, previous = 0;
  uint64_t generated = 0;
  // Accuracy-log sampling (docs/official-behaviour.md#schedule-accuracy-sampling), applied to
  // each step's new samples.
  Mt19937 offset_rng;
  double offset = 0, probability = 0;
  uint64_t bits_done = 0;

  explicit Loop(const EffectiveSettings& e)
      : effective(e),
        sample_rng(e.sample_index_rng_seed),
        schedule_rng(e.schedule_rng_seed),
        offset_rng(e.accuracy_log_rng_seed) {}

  bool more() const { return previous < horizon_ns || generated < min_queries; }
};

QueryGenerator::QueryGenerator(const EffectiveSettings& effective, const LoadableSet& set,
                               TestMode series_mode, SequenceState& sequence)
    : sequence_(sequence), loop_(std::make_unique<Loop>(effective)) {
  CheckSet(set);
  Loop& l = *loop_;
  l.scenario = effective.scenario;
  l.accuracy = series_mode == TestMode::AccuracyOnly;
  l.offline = l.scenario == TestScenario::Offline;
  l.server = l.scenario == TestScenario::Server;
  l.multi_stream = l.scenario == TestScenario::MultiStream;
  l.concatenate = effective.sample_concatenate_permutation;
  l.set_size = set.samples.size();  // includes the MultiStream padding
  l.dist_end = set.dist_end;
  l.loaded.assign(set.samples.begin(), set.samples.end());
  const bool accuracy = l.accuracy, offline = l.offline, server = l.server;
  const bool multi_stream = l.multi_stream, concatenate = l.concatenate;
  const uint64_t set_size = l.set_size, dist_end = l.dist_end;

  // Horizon, minimum count and samples per query of the series
  // (docs/official-behaviour.md#schedule-query-generation).
  l.spq = (accuracy && offline) ? dist_end : effective.samples_per_query;
  if (l.spq == 0) throw SettingsError("samples per query is 0: raise min_query_count");
  l.horizon_ns = static_cast<int64_t>(effective.target_duration_ms) * (server ? 1 : 2) * 1000000;
  l.min_queries = effective.min_query_count;
  if (accuracy || effective.performance_issue_unique) {
    l.horizon_ns = 0;
    l.min_queries = set_size / l.spq;
  }

  l.same = effective.performance_issue_same_index;
  l.source = Source::kMain;
  if (effective.performance_issue_unique) {
    l.source = Source::kUnique;
  } else if (effective.performance_issue_same) {
    l.source = Source::kSame;
  } else if (concatenate && !multi_stream) {
    l.source = Source::kEqualIssue;
  }
  if (offline && effective.performance_issue_same) l.source = Source::kSame;
  if (l.source == Source::kSame && l.same + (multi_stream ? l.spq : 1) > set_size) {
    throw SettingsError("performance_issue_same_index " + std::to_string(l.same) +
                        " is outside the loaded set of " + std::to_string(dist_end) + " samples");
  }

  // The sample RNG runs its construction-time shuffles (accuracy list, unique list,
  // equal-issue permutations) before any query is built. A shuffle whose result is unused and
  // after which sample_rng is never read again cannot change the plan, so it is skipped.
  const uint64_t stride = multi_stream ? l.spq : 1;
  const bool rng_in_loop = offline ? (concatenate && l.source != Source::kSame)
                                   : (l.source == Source::kMain && !accuracy);
  const bool need_equal_issue = (!offline && l.source == Source::kEqualIssue) || rng_in_loop;
  const bool need_unique = (!offline && l.source == Source::kUnique) || need_equal_issue;
  const bool need_main = accuracy && ((!offline && l.source == Source::kMain) || need_unique);

  if (need_main) l.main_positions = ShuffledPositions(dist_end, stride, l.sample_rng);
  if (need_unique) l.unique_positions = ShuffledPositions(dist_end, stride, l.sample_rng);
  if (need_equal_issue) {
    const bool keep = !offline && l.source == Source::kEqualIssue;
    std::vector<uint32_t> permutation(set_size);
    std::iota(permutation.begin(), permutation.end(), uint32_t{0});
    for (uint64_t j = 0; j < l.min_queries; j += set_size) {
      Shuffle(permutation, l.sample_rng);
      if (keep) l.equal_issue.insert(l.equal_issue.end(), permutation.begin(), permutation.end());
    }
    if (keep && l.equal_issue.empty()) {
      throw SettingsError("sample_concatenate_permutation needs min_query_count > 0");
    }
  }

  // Equal-issue padding to whole copies of the loaded set.
  if (concatenate && !accuracy) {
    uint64_t& padded = offline ? l.spq : l.min_queries;
    if (padded % set_size != 0) padded += set_size - padded % set_size;
  }

  // Schedule: exponential gaps for Server, a fixed period otherwise.
  l.qps = effective.target_qps;
  if (server && !(l.qps > 0 && std::isfinite(l.qps))) {
    throw SettingsError("server_target_qps must be a positive, finite number");
  }
  l.fixed_gap_ns = server ? 0 : SecondsToNs(1.0 / l.qps);
  if (l.horizon_ns > 0) {
    const double horizon_s = static_cast<double>(l.horizon_ns) / 1e9;
    const double estimate =
        server ? horizon_s * l.qps : static_cast<double>(l.horizon_ns) / l.fixed_gap_ns;
    if (!(l.fixed_gap_ns > 0 || server) || !(estimate <= kMaxGeneratedQueries)) {
      throw SettingsError(
          "the expected latency or target QPS would generate more than 2^32 "
          "queries for the minimum duration; check the settings");
    }
  }

  plan_.mode = series_mode;
  plan_.first_query_seq = sequence.next_query_seq;
  plan_.first_sample_seq = sequence.next_sample_seq;
  plan_.samples_per_query = l.spq;
  if (l.horizon_ns == 0 && l.min_queries == 0) {
    throw SettingsError(
        "no queries would be generated: raise min_query_count or min_duration_ms"
        " (or, with performance_issue_unique, load at least one query's samples)");
  }
  // Reserve the expected size up front; growth would double the memory of large plans (and
  // untouched capacity costs only address space).
  const uint64_t expected = expected_queries();
  plan_.scheduled_delta_ns.reserve(expected);
  plan_.sample_index.reserve(expected * l.spq);

  l.offset = Canonical(l.offset_rng);
  l.probability = AccuracyLogProbability(effective);
}

QueryGenerator::~QueryGenerator() = default;

uint64_t QueryGenerator::expected_queries() const {
  const Loop& l = *loop_;
  if (!l.more()) return l.generated;
  uint64_t expected = std::max(l.min_queries, l.generated);
  if (l.horizon_ns > 0) {
    const double by_horizon = l.server ? static_cast<double>(l.horizon_ns) / 1e9 * l.qps * 1.01 + 64
                                       : static_cast<double>(l.horizon_ns / l.fixed_gap_ns) + 2;
    expected = std::max(expected, static_cast<uint64_t>(by_horizon));
  }
  return expected;
}

bool QueryGenerator::ShouldStream(uint64_t threshold) const {
  const Loop& l = *loop_;
  return l.server && !l.accuracy && l.probability <= 0.0 && !l.concatenate &&
         expected_queries() > threshold;
}

void QueryGenerator::PrepareForStreaming() {
  const Loop& l = *loop_;
  // The Poisson count up to the horizon exceeds its mean by 12 standard deviations with a
  // probability far below 1e-30; the loop checks the bound anyway.
  const double mean = static_cast<double>(l.horizon_ns) / 1e9 * l.qps;
  const uint64_t bound =
      std::max<uint64_t>(l.min_queries, static_cast<uint64_t>(mean + 12 * std::sqrt(mean)) + 1024);
  plan_.scheduled_delta_ns.reserve(bound);
  plan_.sample_index.reserve(bound * l.spq);
  plan_.accuracy_log_bits.reserve((bound * l.spq + 63) / 64 + 1);
  streaming_ = true;
  plan_.scheduled_delta_ns.freeze();
  plan_.sample_index.freeze();
  plan_.accuracy_log_bits.freeze();
  plan_.query_capacity = bound;
  plan_.sample_capacity = bound * l.spq;
  // Probability 0 sets a bit only if a draw lands exactly on 1 - offset: room for a few.
  plan_.accuracy_log_capacity = 64;
}

void QueryGenerator::Publish(bool done) {
  published_.store(plan_.query_count(), std::memory_order_release);
  if (done) published_complete_.store(true, std::memory_order_release);
}

// Appends the sample indices of the next query: the whole query for Offline, a consecutive
// run of loaded samples for MultiStream, one draw per sample otherwise.
void QueryGenerator::AppendQuerySamples() {
  Loop& l = *loop_;
  const uint64_t spq = l.spq, set_size = l.set_size, dist_end = l.dist_end;
  const std::vector<uint32_t>& loaded = l.loaded;
  PlanArray<uint32_t>& out = plan_.sample_index;
  if (l.offline) {
    if (l.source == Source::kSame) {
      out.append(spq, loaded[l.same]);
    } else {
      for (uint64_t block = 0; block < spq / set_size; ++block) {
        const size_t start = out.size();
        out.append(loaded.data(), loaded.data() + set_size);
        if (l.concatenate) Shuffle(out.data() + start, set_size, l.sample_rng);
      }
      out.append(loaded.data(), loaded.data() + spq % set_size);
    }
  } else if (l.multi_stream) {
    uint64_t start;
    switch (l.source) {
      case Source::kUnique:
        start = l.unique_positions.Next("performance_issue_unique");
        break;
      case Source::kSame:
        start = l.same;
        break;
      default:
        start = l.accuracy ? l.main_positions.Next("the accuracy run")
                           : UniformInt(l.sample_rng, 0, dist_end - 1);
    }
    out.append(loaded.data() + start, loaded.data() + start + spq);
  } else {
    for (uint64_t i = 0; i < spq; ++i) {
      uint64_t position;
      switch (l.source) {
        case Source::kUnique:
          position = l.unique_positions.Next("performance_issue_unique");
          break;
        case Source::kSame:
          position = l.same;
          break;
        case Source::kEqualIssue:
          position = l.equal_issue[l.equal_issue_next];
          l.equal_issue_next = (l.equal_issue_next + 1) % l.equal_issue.size();
          break;
        default:
          position = l.accuracy ? l.main_positions.Next("the accuracy run")
                                : UniformInt(l.sample_rng, 0, dist_end - 1);
      }
      out.push_back(loaded[position]);
    }
  }
}

// Every generated sample takes two draws of the accuracy RNG, in order
// (docs/official-behaviour.md#schedule-sequence-ids).
void QueryGenerator::DrawAccuracyLogBits() {
  Loop& l = *loop_;
  const uint64_t samples = plan_.sample_index.size();
  plan_.accuracy_log_bits.resize((samples + 63) / 64);
  for (uint64_t i = l.bits_done; i < samples; ++i) {
    // Branch-free: the wrap and the comparison are coin flips for the branch predictor.
    const double value = Canonical(sequence_.accuracy_rng) + l.offset;
    const double wrapped = value - static_cast<double>(value >= 1.0);
    const uint64_t logged = l.accuracy | (wrapped <= l.probability);
    plan_.accuracy_log_bits[i >> 6] |= logged << (i & 63);
  }
  l.bits_done = samples;
}

bool QueryGenerator::Generate(uint64_t max_queries) {
  Loop& l = *loop_;
  if (published_complete_.load(std::memory_order_relaxed)) return true;
  const uint64_t set_size = l.set_size;

  // The generation loop.
  for (uint64_t step = 0; step < max_queries && l.more(); ++step) {
    if (streaming_ && l.generated >= plan_.query_capacity) {
      throw SettingsError("internal: the streamed plan outgrew its bound of " +
                          std::to_string(plan_.query_capacity) + " queries");
    }
    AppendQuerySamples();
    plan_.scheduled_delta_ns.push_back(l.timestamp);
    ++l.generated;
    l.previous = l.timestamp;
    const int64_t gap = l.server ? SecondsToNs(Exponential(l.schedule_rng, l.qps)) : l.fixed_gap_ns;
    l.timestamp = WrappingAdd(l.timestamp, gap);
    // Equal issue: while the horizon is not reached, extend the minimum by whole sets.
    if (l.concatenate && l.generated >= l.min_queries && l.previous < l.horizon_ns && !l.offline) {
      l.min_queries += set_size;
    }
  }

  DrawAccuracyLogBits();
  const uint64_t samples = plan_.sample_index.size();

  const bool done = !l.more();
  if (done) {
    plan_.generated_duration_ns = l.timestamp;
    sequence_.next_query_seq += l.generated;
    sequence_.next_sample_seq += samples;
    if (!streaming_) plan_.Seal();
  }
  Publish(done);
  return done;
}

void SeriesPlan::Seal() {
  query_capacity = query_count();
  sample_capacity = sample_count();
  accuracy_log_capacity = 0;
  for (uint64_t word : accuracy_log_bits) {
    accuracy_log_capacity += static_cast<uint64_t>(__builtin_popcountll(word));
  }
}

SeriesPlan GenerateQueries(const EffectiveSettings& effective, const LoadableSet& set,
                           TestMode series_mode, SequenceState& sequence) {
  QueryGenerator generator(effective, set, series_mode, sequence);
  generator.Finish();
  return std::move(generator.plan());
}

std::vector<TestMode> SeriesModes(TestMode test_mode) {
  switch (test_mode) {
    case TestMode::SubmissionRun:
      return {TestMode::AccuracyOnly, TestMode::PerformanceOnly};
    case TestMode::AccuracyOnly:
      return {TestMode::AccuracyOnly};
    case TestMode::PerformanceOnly:
    case TestMode::FindPeakPerformance:
      return {TestMode::PerformanceOnly};
  }
  return {};
}

std::vector<PlannedSeries> GenerateTestPlan(const EffectiveSettings& effective,
                                            uint64_t qsl_total) {
  SequenceState sequence;
  std::vector<PlannedSeries> out;
  auto add = [&](LoadableSet set, TestMode mode) {
    PlannedSeries series;
    series.plan = GenerateQueries(effective, set, mode, sequence);
    series.set = std::move(set);
    if (mode != TestMode::AccuracyOnly) {
      for (uint64_t i = 0; i < series.plan.sample_count(); ++i) {
        if (series.plan.LogsAccuracy(i)) series.accuracy_logged.push_back(i);
      }
    }
    out.push_back(std::move(series));
  };
  for (TestMode mode : SeriesModes(effective.mode)) {
    if (mode == TestMode::AccuracyOnly) {
      for (LoadableSet& set :
           GenerateLoadableSets(effective, effective.accuracy_sample_count, qsl_total)) {
        add(std::move(set), mode);
      }
    } else {
      add(std::move(GenerateLoadableSets(effective, effective.performance_sample_count, qsl_total)
                        .front()),
          mode);
    }
  }
  return out;
}

}  // namespace loadgen::schedule
