// results stage: the official early-stopping estimate (official loadgen/early_stopping.cc and
// results.cc PerformanceSummary::EarlyStopping; docs/official-behaviour.md#results-early-stopping).
// Every formula, grouping and search window is reproduced as the official LoadGen computes it,
// because the submission checker reads the resulting numbers.
#ifndef LOADGEN_RESULTS_EARLY_STOPPING_H_
#define LOADGEN_RESULTS_EARLY_STOPPING_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace loadgen::results {

/// ln B(x, y) = lgamma(x) + lgamma(y) - lgamma(x + y).
double LogBeta(double x, double y);

/// The Gauss series 2F1(1, b; c; x): terms are added while the last one exceeds 2^-33 in
/// magnitude (for a negative integer b it ends where the polynomial does).
double Hypergeometric2F1(double b, double c, double x);

/// Regularized incomplete beta I_x(a, b), via the hypergeometric series.
double RegularizedBeta(double x, double a, double b);

/// Probability of at most `t` over-latency queries among `h` + `t` when each query is under
/// the latency bound with probability `p`.
double EarlyStoppingOdds(int64_t h, int64_t t, double p);

/// MinPassing: the smallest h with EarlyStoppingOdds(h, t, p) < 1 - 0.99, found by a binary
/// search whose window comes from the answers already cached (with the official "product, not
/// quotient" window, which changes answers when the window misses). Use one finder per
/// early-stopping evaluation, as the official does. Not thread-safe.
class MinPassingFinder {
 public:
  int64_t Find(int64_t t, double p);

 private:
  // Keyed by the bit pattern of p, then t -> h.
  std::map<uint64_t, std::map<int64_t, int64_t>> cache_;
};

/// What one early-stopping evaluation decided and reported.
struct EarlyStoppingOutcome {
  bool met = true;
  /// The official text: lines starting with a space, separated (not ended) by '\n'.
  std::string text;
  /// SingleStream/MultiStream: the latency estimate at the target percentile.
  std::optional<int64_t> estimate;
  /// SingleStream only: the estimate at the hard-coded 99th percentile.
  std::optional<int64_t> estimate_p99;
};

/// SingleStream: `sorted_latencies` ascending, `queries_issued` = n. Also appends the
/// 99th-percentile estimate (or why there is none), which never fails the test.
EarlyStoppingOutcome SingleStreamEarlyStopping(const std::vector<int64_t>& sorted_latencies,
                                               uint64_t queries_issued, double percentile);

/// MultiStream: the first SingleStream part only, on the sorted per-query latencies.
EarlyStoppingOutcome MultiStreamEarlyStopping(const std::vector<int64_t>& sorted_query_latencies,
                                              uint64_t queries_issued, double percentile);

/// Server: passes iff `queries_issued` >= MinPassing(t) + t, t = #{latency > latency_bound}.
EarlyStoppingOutcome ServerEarlyStopping(const std::vector<int64_t>& latencies,
                                         int64_t latency_bound, uint64_t queries_issued,
                                         double percentile);

}  // namespace loadgen::results

#endif  // LOADGEN_RESULTS_EARLY_STOPPING_H_
