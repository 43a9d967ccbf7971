// The official LoadGen's sample plan: loadable sets (engine.md §5), query generation (§7) and
// accuracy-log sampling (§8). Every RNG is consumed in the official order, so the same settings
// give the same samples, schedule and sequence ids.
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
      throw SettingsError(std::string(what) + " has more queries to fill than the loaded set has "
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
    throw SettingsError("the loaded sample set is empty: check the QSL sample counts and "
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

SeriesPlan GenerateQueries(const EffectiveSettings& effective, const LoadableSet& set,
                           TestMode series_mode, SequenceState& sequence) {
  CheckSet(set);
  const TestScenario scenario = effective.scenario;
  const bool accuracy = series_mode == TestMode::AccuracyOnly;
  const bool offline = scenario == TestScenario::Offline;
  const bool server = scenario == TestScenario::Server;
  const bool multi_stream = scenario == TestScenario::MultiStream;
  const bool concatenate = effective.sample_concatenate_permutation;
  const uint64_t set_size = set.samples.size();  // includes the MultiStream padding
  const uint64_t dist_end = set.dist_end;
  const std::vector<uint32_t> loaded(set.samples.begin(), set.samples.end());

  // §7.1: local parameters.
  uint64_t spq = (accuracy && offline) ? dist_end : effective.samples_per_query;
  if (spq == 0) throw SettingsError("samples per query is 0: raise min_query_count");
  int64_t horizon_ns = static_cast<int64_t>(effective.target_duration_ms) * (server ? 1 : 2) *
                       1000000;
  uint64_t min_queries = effective.min_query_count;
  if (accuracy || effective.performance_issue_unique) {
    horizon_ns = 0;
    min_queries = set_size / spq;
  }

  const uint64_t same = effective.performance_issue_same_index;
  Source source = Source::kMain;
  if (effective.performance_issue_unique) {
    source = Source::kUnique;
  } else if (effective.performance_issue_same) {
    source = Source::kSame;
  } else if (concatenate && !multi_stream) {
    source = Source::kEqualIssue;
  }
  if (offline && effective.performance_issue_same) source = Source::kSame;
  if (source == Source::kSame && same + (multi_stream ? spq : 1) > set_size) {
    throw SettingsError("performance_issue_same_index " + std::to_string(same) +
                        " is outside the loaded set of " + std::to_string(dist_end) + " samples");
  }

  // §7.2: the sample RNG runs its construction-time shuffles (accuracy list, unique list,
  // equal-issue permutations) before any query is built. A shuffle whose result is unused and
  // after which sample_rng is never read again cannot change the plan, so it is skipped.
  Mt19937 sample_rng(effective.sample_index_rng_seed);
  Mt19937 schedule_rng(effective.schedule_rng_seed);
  const uint64_t stride = multi_stream ? spq : 1;
  const bool rng_in_loop =
      offline ? (concatenate && source != Source::kSame) : (source == Source::kMain && !accuracy);
  const bool need_equal_issue = (!offline && source == Source::kEqualIssue) || rng_in_loop;
  const bool need_unique = (!offline && source == Source::kUnique) || need_equal_issue;
  const bool need_main = accuracy && ((!offline && source == Source::kMain) || need_unique);

  ShuffledPositions main_positions;
  if (need_main) main_positions = ShuffledPositions(dist_end, stride, sample_rng);
  ShuffledPositions unique_positions;
  if (need_unique) unique_positions = ShuffledPositions(dist_end, stride, sample_rng);
  std::vector<uint32_t> equal_issue;  // ceil(M / |L|) successive shuffles of the positions
  if (need_equal_issue) {
    const bool keep = !offline && source == Source::kEqualIssue;
    std::vector<uint32_t> permutation(set_size);
    std::iota(permutation.begin(), permutation.end(), uint32_t{0});
    for (uint64_t j = 0; j < min_queries; j += set_size) {
      Shuffle(permutation, sample_rng);
      if (keep) equal_issue.insert(equal_issue.end(), permutation.begin(), permutation.end());
    }
    if (keep && equal_issue.empty()) {
      throw SettingsError("sample_concatenate_permutation needs min_query_count > 0");
    }
  }

  // §7.3: equal-issue padding to whole copies of the loaded set.
  if (concatenate && !accuracy) {
    uint64_t& padded = offline ? spq : min_queries;
    if (padded % set_size != 0) padded += set_size - padded % set_size;
  }

  // Schedule: exponential gaps for Server, a fixed period otherwise.
  const double qps = effective.target_qps;
  if (server && !(qps > 0 && std::isfinite(qps))) {
    throw SettingsError("server_target_qps must be a positive, finite number");
  }
  const int64_t fixed_gap_ns = server ? 0 : SecondsToNs(1.0 / qps);
  if (horizon_ns > 0) {
    const double horizon_s = static_cast<double>(horizon_ns) / 1e9;
    const double estimate = server ? horizon_s * qps
                                   : static_cast<double>(horizon_ns) / fixed_gap_ns;
    if (!(fixed_gap_ns > 0 || server) || !(estimate <= kMaxGeneratedQueries)) {
      throw SettingsError("the expected latency or target QPS would generate more than 2^32 "
                          "queries for the minimum duration; check the settings");
    }
  }

  SeriesPlan plan;
  plan.mode = series_mode;
  plan.first_query_seq = sequence.next_query_seq;
  plan.first_sample_seq = sequence.next_sample_seq;
  plan.samples_per_query = spq;
  if (horizon_ns == 0 && min_queries == 0) {
    throw SettingsError("no queries would be generated: raise min_query_count or min_duration_ms"
                        " (or, with performance_issue_unique, load at least one query's samples)");
  }
  // Reserve the expected size up front; growth would double the memory of large plans.
  uint64_t expected_queries = min_queries;
  if (horizon_ns > 0) {
    const double by_horizon = server ? static_cast<double>(horizon_ns) / 1e9 * qps * 1.01 + 64
                                     : static_cast<double>(horizon_ns / fixed_gap_ns) + 2;
    expected_queries = std::max(expected_queries, static_cast<uint64_t>(by_horizon));
  }
  plan.scheduled_delta_ns.reserve(expected_queries);
  plan.sample_index.reserve(expected_queries * spq);

  // §7.4: the generation loop.
  size_t equal_issue_next = 0;
  int64_t timestamp = 0;
  int64_t previous = 0;
  uint64_t generated = 0;
  while (previous < horizon_ns || generated < min_queries) {
    std::vector<uint32_t>& out = plan.sample_index;
    if (offline) {
      if (source == Source::kSame) {
        out.insert(out.end(), spq, loaded[same]);
      } else {
        for (uint64_t block = 0; block < spq / set_size; ++block) {
          const size_t start = out.size();
          out.insert(out.end(), loaded.begin(), loaded.end());
          if (concatenate) Shuffle(out.data() + start, set_size, sample_rng);
        }
        out.insert(out.end(), loaded.begin(), loaded.begin() + spq % set_size);
      }
    } else if (multi_stream) {
      uint64_t start;
      switch (source) {
        case Source::kUnique: start = unique_positions.Next("performance_issue_unique"); break;
        case Source::kSame: start = same; break;
        default:
          start = accuracy ? main_positions.Next("the accuracy run")
                           : UniformInt(sample_rng, 0, dist_end - 1);
      }
      out.insert(out.end(), loaded.begin() + start, loaded.begin() + start + spq);
    } else {
      for (uint64_t i = 0; i < spq; ++i) {
        uint64_t position;
        switch (source) {
          case Source::kUnique: position = unique_positions.Next("performance_issue_unique"); break;
          case Source::kSame: position = same; break;
          case Source::kEqualIssue:
            position = equal_issue[equal_issue_next];
            equal_issue_next = (equal_issue_next + 1) % equal_issue.size();
            break;
          default:
            position = accuracy ? main_positions.Next("the accuracy run")
                                : UniformInt(sample_rng, 0, dist_end - 1);
        }
        out.push_back(loaded[position]);
      }
    }
    plan.scheduled_delta_ns.push_back(timestamp);
    ++generated;
    previous = timestamp;
    const int64_t gap = server ? SecondsToNs(Exponential(schedule_rng, qps)) : fixed_gap_ns;
    timestamp = WrappingAdd(timestamp, gap);
    // Equal issue: while the horizon is not reached, extend the minimum by whole sets.
    if (concatenate && generated >= min_queries && previous < horizon_ns && !offline) {
      min_queries += set_size;
    }
  }
  plan.generated_duration_ns = timestamp;

  // §7.6 and §8: every generated sample takes a sequence id and two draws of the accuracy RNG.
  const uint64_t samples = plan.sample_index.size();
  sequence.next_query_seq += generated;
  sequence.next_sample_seq += samples;
  Mt19937 offset_rng(effective.accuracy_log_rng_seed);
  const double offset = Canonical(offset_rng);
  const double probability = AccuracyLogProbability(effective);
  plan.accuracy_log_bits.assign((samples + 63) / 64, 0);
  for (uint64_t i = 0; i < samples; ++i) {
    // Branch-free: the wrap and the comparison are coin flips for the branch predictor.
    const double value = Canonical(sequence.accuracy_rng) + offset;
    const double wrapped = value - static_cast<double>(value >= 1.0);
    const uint64_t logged = accuracy | (wrapped <= probability);
    plan.accuracy_log_bits[i >> 6] |= logged << (i & 63);
  }
  return plan;
}

}  // namespace loadgen::schedule
