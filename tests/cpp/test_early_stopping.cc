// Early stopping against the reference values of docs/official-behaviour.md#results-early-stopping
// (those marked there were run on the official wheel).
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "results/early_stopping.h"

namespace loadgen::results {
namespace {

std::vector<int64_t> Ascending(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 1000);
  return v;
}

// Latencies with `over` values above the bound 50 and the rest below it.
std::vector<int64_t> WithOverLatency(int64_t n, int64_t over) {
  std::vector<int64_t> v(static_cast<size_t>(n), 10);
  for (int64_t i = 0; i < over; ++i) v[static_cast<size_t>(i)] = 100;
  return v;
}

TEST(EarlyStoppingMath, LogBetaMatchesClosedForm) {
  // B(2, 3) = 1/12.
  EXPECT_NEAR(LogBeta(2, 3), std::log(1.0 / 12), 1e-12);
}

TEST(EarlyStoppingMath, SeriesIsAPolynomialForNegativeIntegerB) {
  // 2F1(1, -2; c; x) = 1 - 2x/c + 2x^2/(c(c+1)).
  const double c = 5, x = -3;
  EXPECT_NEAR(Hypergeometric2F1(-2, c, x), 1 - 2 * x / c + 2 * x * x / (c * (c + 1)), 1e-12);
}

TEST(EarlyStoppingMath, RegularizedBetaMatchesBinomialTail) {
  // I_p(h, 1) = p^h: the chance that h + 0 queries all pass.
  EXPECT_NEAR(RegularizedBeta(0.9, 10, 1), std::pow(0.9, 10), 1e-12);
  // I_p(h, 2) = p^h (1 + h (1 - p)): at most one failure among h + 1.
  EXPECT_NEAR(EarlyStoppingOdds(10, 1, 0.9), std::pow(0.9, 10) * (1 + 10 * 0.1), 1e-12);
}

TEST(EarlyStoppingMinPassing, MinimumQueriesTable) {
  struct Row {
    double p;
    int64_t min_queries;  // SingleStream/MultiStream h_min + 1
    int64_t server_t0;    // Server h for t = 0
  };
  const Row rows[] = {{0.90, 64, 44},   {0.95, 130, 90},     {0.97, 219, 152},
                      {0.99, 662, 459}, {0.999, 6636, 4603}, {0.9990000000000001, 6636, 4603}};
  for (const Row& row : rows) {
    MinPassingFinder ss;
    EXPECT_EQ(ss.Find(1, row.p) + 1, row.min_queries) << row.p;
    MinPassingFinder server;
    EXPECT_EQ(server.Find(0, row.p), row.server_t0) << row.p;
  }
}

TEST(EarlyStoppingMinPassing, ServerTotalsFromAFreshCache) {
  const std::pair<int64_t, int64_t> totals[] = {{0, 459},  {1, 662},   {2, 838},
                                                {5, 1307}, {10, 2010}, {100, 12571}};
  for (const auto& [t, total] : totals) {
    MinPassingFinder finder;
    EXPECT_EQ(finder.Find(t, 0.99) + t, total) << "t=" << t;
  }
}

TEST(EarlyStoppingMinPassing, CachedAnswersAreReused) {
  MinPassingFinder finder;
  EXPECT_EQ(finder.Find(0, 0.99), 459);
  EXPECT_EQ(finder.Find(1, 0.99), 661);  // window [558, 919) from t=0 and the default
  EXPECT_EQ(finder.Find(1, 0.99), 661);
  EXPECT_EQ(finder.Find(1, 0.9), 63);  // separate cache per percentile
}

TEST(EarlyStoppingSingleStream, DiscardCountsAtP90) {
  const std::pair<int64_t, int64_t> expected[] = {{64, 0},     {100, 2},     {1000, 77},
                                                  {3000, 260}, {10000, 929}, {100000, 9778}};
  for (const auto& [n, discarded] : expected) {
    const std::vector<int64_t> sorted = Ascending(n);
    const EarlyStoppingOutcome out = SingleStreamEarlyStopping(sorted, n, 0.9);
    EXPECT_TRUE(out.met);
    const std::string line = " * Would discard " + std::to_string(discarded) + " highest";
    EXPECT_NE(out.text.find(line), std::string::npos) << "n=" << n << "\n" << out.text;
    // The estimate is sorted[n - t] with t = discarded + 1.
    ASSERT_TRUE(out.estimate.has_value());
    EXPECT_EQ(*out.estimate, sorted[static_cast<size_t>(n - discarded - 1)]);
  }
}

TEST(EarlyStoppingSingleStream, TextBelowThe99thPercentileMinimum) {
  const std::vector<int64_t> sorted = Ascending(100);
  const EarlyStoppingOutcome out = SingleStreamEarlyStopping(sorted, 100, 0.9);
  EXPECT_TRUE(out.met);
  EXPECT_EQ(out.text,
            " * Processed at least 64 queries (100).\n"
            " * Would discard 2 highest latency queries.\n"
            " * Early stopping 90.0th percentile estimate: 1097\n"
            " * Not enough queries processed for 99.0th percentile\n"
            " early stopping estimate (would need to process at\n"
            " least 662 total queries).");
  EXPECT_EQ(out.estimate, 1097);
  EXPECT_FALSE(out.estimate_p99.has_value());
}

TEST(EarlyStoppingSingleStream, TextWithThe99thPercentileEstimate) {
  const std::vector<int64_t> sorted = Ascending(1000);
  const EarlyStoppingOutcome out = SingleStreamEarlyStopping(sorted, 1000, 0.9);
  EXPECT_EQ(out.text,
            " * Processed at least 64 queries (1000).\n"
            " * Would discard 77 highest latency queries.\n"
            " * Early stopping 90.0th percentile estimate: 1922\n"
            " * Early stopping 99.0th percentile estimate: 1998");
  EXPECT_EQ(out.estimate_p99, 1998);  // p=0.99, n=1000 discards 1: sorted[998]
}

TEST(EarlyStoppingSingleStream, TooFewQueriesFails) {
  const std::vector<int64_t> sorted = Ascending(63);
  const EarlyStoppingOutcome out = SingleStreamEarlyStopping(sorted, 63, 0.9);
  EXPECT_FALSE(out.met);
  EXPECT_EQ(out.text,
            " * Only processed 63 queries.\n"
            " * Need to process at least 64 queries for early stopping.");
  EXPECT_FALSE(out.estimate.has_value());
}

TEST(EarlyStoppingSingleStream, ShortVectorIsReadWithoutOverrun) {
  // More queries than latencies (e.g. a token vector left short): the last element is used.
  const std::vector<int64_t> sorted = {5, 6, 7};
  const EarlyStoppingOutcome out = SingleStreamEarlyStopping(sorted, 100, 0.9);
  EXPECT_TRUE(out.met);
  EXPECT_EQ(out.estimate, 7);
  EXPECT_EQ(SingleStreamEarlyStopping({}, 100, 0.9).estimate, 0);
}

TEST(EarlyStoppingSingleStream, DegeneratePercentileNeverPasses) {
  const std::vector<int64_t> sorted = Ascending(1000);
  const EarlyStoppingOutcome out = SingleStreamEarlyStopping(sorted, 1000, 1.0);
  EXPECT_FALSE(out.met);
}

TEST(EarlyStoppingMultiStream, DiscardCountsAtP99) {
  const std::pair<int64_t, int64_t> expected[] = {{662, 0}, {1000, 1}, {5000, 32}};
  for (const auto& [n, discarded] : expected) {
    const std::vector<int64_t> sorted = Ascending(n);
    const EarlyStoppingOutcome out = MultiStreamEarlyStopping(sorted, n, 0.99);
    EXPECT_TRUE(out.met);
    EXPECT_EQ(out.text, " * Processed at least 662 queries (" + std::to_string(n) +
                            ").\n * Would discard " + std::to_string(discarded) +
                            " highest latency queries.\n * Early stopping 99.0th percentile "
                            "estimate: " +
                            std::to_string(sorted[static_cast<size_t>(n - discarded - 1)]));
    EXPECT_FALSE(out.estimate_p99.has_value());
  }
  const EarlyStoppingOutcome few = MultiStreamEarlyStopping(Ascending(661), 661, 0.99);
  EXPECT_FALSE(few.met);
  EXPECT_EQ(few.text,
            " * Only processed 661 queries.\n"
            " * Need to process at least 662 queries for early stopping.");
}

TEST(EarlyStoppingServer, VerifiedFailureTexts) {
  EarlyStoppingOutcome out = ServerEarlyStopping(WithOverLatency(1000, 6), 50, 1000, 0.99);
  EXPECT_FALSE(out.met);
  EXPECT_EQ(out.text,
            " * Run unsuccessful.\n"
            " * Processed 1000 queries.\n"
            " * Would need to run at least 453 more queries,\n"
            " with the run being successful if every additional\n"
            " query were under latency.");
  out = ServerEarlyStopping(WithOverLatency(2000, 60), 50, 2000, 0.99);
  EXPECT_FALSE(out.met);
  EXPECT_NE(out.text.find("at least 6053 more queries"), std::string::npos);
  out = ServerEarlyStopping(WithOverLatency(3000, 13), 50, 3000, 0.99);
  EXPECT_TRUE(out.met);
  EXPECT_EQ(out.text, " * Run successful.");
}

TEST(EarlyStoppingServer, BoundIsStrict) {
  // Latencies equal to the bound are not over it: t = 0 needs 459 queries.
  const std::vector<int64_t> at_bound(459, 50);
  EXPECT_TRUE(ServerEarlyStopping(at_bound, 50, 459, 0.99).met);
  const EarlyStoppingOutcome out = ServerEarlyStopping(at_bound, 50, 100, 0.99);
  EXPECT_NE(out.text.find("at least 359 more queries"), std::string::npos);
}

}  // namespace
}  // namespace loadgen::results
