// Load models (schedule/load_models/): the exact schedules they plan for fixed seeds, their
// statistics (rate, Kolmogorov-Smirnov for Poisson, moments for gamma), ramps, traces, and the
// stage lists that are refused before any load.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "common/errors.h"
#include "ks_distance.h"
#include "schedule/load_models/gamma.h"
#include "schedule/load_models/load_plan.h"
#include "schedule/plan.h"

namespace loadgen::schedule {
namespace {

using mlperf::TestMode;
using mlperf::TestScenario;
using settings::EffectiveSettings;
using test_support::KsDistance;

constexpr uint64_t kScheduleSeed = 16159082839903944936ull;
constexpr uint64_t kSampleSeed = 2747215439041700203ull;

EffectiveSettings Server(double qps) {
  EffectiveSettings s;
  s.scenario = TestScenario::Server;
  s.performance_sample_count = 64;
  s.samples_per_query = 1;
  s.target_qps = qps;
  s.schedule_rng_seed = kScheduleSeed;
  s.sample_index_rng_seed = kSampleSeed;
  return s;
}

LoadableSet Set(uint64_t n) {
  LoadableSet set;
  for (uint64_t i = 0; i < n; ++i) set.samples.push_back(100 + i);
  set.dist_end = n;
  return set;
}

StageSpec Constant(double qps, int64_t duration_ns, uint64_t queries = 0) {
  StageSpec s;
  s.kind = ArrivalKind::kConstantRate;
  s.rate_qps = qps;
  s.duration_ns = duration_ns;
  s.queries = queries;
  return s;
}

StageSpec Gamma(double qps, double burstiness, int64_t duration_ns, uint64_t queries = 0) {
  StageSpec s = Constant(qps, duration_ns, queries);
  s.kind = ArrivalKind::kGamma;
  s.burstiness = burstiness;
  return s;
}

LoadPlan Plan(std::vector<StageSpec> stages, const EffectiveSettings& e = Server(1),
              const LoadableSet& set = Set(64)) {
  SequenceState sequence;
  LoadModel model;
  model.stages = std::move(stages);
  return GenerateLoadPlan(model, e, set, sequence);
}

std::vector<int64_t> Offsets(const LoadPlan& p) { return p.plan.scheduled_delta_ns.ToVector(); }

std::vector<double> Gaps(const LoadPlan& p) {
  std::vector<double> gaps;
  for (uint64_t q = 1; q < p.plan.query_count(); ++q) {
    gaps.push_back(
        static_cast<double>(p.plan.scheduled_delta_ns[q] - p.plan.scheduled_delta_ns[q - 1]) / 1e9);
  }
  return gaps;
}

// FNV-1a over the schedule and the sample indices: the plan's bytes, pinned below so the same
// seeds give the same plan on every machine.
uint64_t Fingerprint(const LoadPlan& p) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xff;
      h *= 1099511628211ull;
    }
  };
  for (int64_t d : p.plan.scheduled_delta_ns) mix(static_cast<uint64_t>(d));
  for (uint32_t s : p.plan.sample_index) mix(s);
  return h;
}

// Critical value of D at the 0.1% level for n samples (asymptotic: 1.949 / sqrt(n)).
double KsCritical(size_t n) { return 1.949 / std::sqrt(static_cast<double>(n)); }

TEST(ConstantRate, PlansEvenlySpacedArrivalsUntilTheDuration) {
  const LoadPlan p = Plan({Constant(1000, 10'000'000)});
  EXPECT_EQ(Offsets(p), (std::vector<int64_t>{0, 1000000, 2000000, 3000000, 4000000, 5000000,
                                              6000000, 7000000, 8000000, 9000000}));
  EXPECT_EQ(p.plan.generated_duration_ns, 10'000'000);
  ASSERT_EQ(p.stages.size(), 1u);
  EXPECT_EQ(p.stages[0].end_query, 10u);
  for (uint32_t s : p.plan.sample_index) EXPECT_TRUE(s >= 100 && s < 164);
}

TEST(ConstantRate, ACountBoundedStageEndsWhereItsNextArrivalWouldBe) {
  const LoadPlan p = Plan({Constant(3, 0, 4), Constant(1000, 0, 2)});
  // 1/3 s steps (truncated to ns), then the next stage from 4/3 s.
  EXPECT_EQ(Offsets(p),
            (std::vector<int64_t>{0, 333333333, 666666666, 1000000000, 1333333333, 1334333333}));
  EXPECT_EQ(p.stages[1].start_ns, 1333333333);
}

TEST(Gamma, BurstinessOneIsTheServerScenariosPoissonSchedule) {
  // Same schedule seed, same rate: the same offsets as the Server scenario's plan.
  EffectiveSettings e = Server(500);
  e.min_query_count = 2000;
  SequenceState sequence;
  const SeriesPlan server = GenerateQueries(e, Set(64), TestMode::PerformanceOnly, sequence);
  const LoadPlan p = Plan({Gamma(500, 1.0, 0, 2000)}, e);
  ASSERT_EQ(p.plan.query_count(), 2000u);
  for (uint64_t q = 0; q < 2000; ++q) {
    ASSERT_EQ(p.plan.scheduled_delta_ns[q], server.scheduled_delta_ns[q]) << q;
  }
}

TEST(Gamma, PoissonGapsPassAKolmogorovSmirnovTest) {
  const double qps = 1000;
  const LoadPlan p = Plan({Gamma(qps, 1.0, 0, 20000)});
  const std::vector<double> gaps = Gaps(p);
  const double d = KsDistance(gaps, [qps](double x) { return 1.0 - std::exp(-qps * x); });
  EXPECT_LT(d, KsCritical(gaps.size()));
  // A wrong rate fails the same test: the test can fail.
  const double wrong = KsDistance(gaps, [](double x) { return 1.0 - std::exp(-1100.0 * x); });
  EXPECT_GT(wrong, KsCritical(gaps.size()));
}

TEST(Gamma, GapsHaveMeanOneOverRateAndSquaredCvEqualToTheBurstiness) {
  for (double burstiness : {0.25, 4.0}) {
    const LoadPlan p = Plan({Gamma(2000, burstiness, 0, 100000)});
    const std::vector<double> gaps = Gaps(p);
    const double n = static_cast<double>(gaps.size());
    const double mean = std::accumulate(gaps.begin(), gaps.end(), 0.0) / n;
    double var = 0;
    for (double g : gaps) var += (g - mean) * (g - mean);
    var /= n - 1;
    EXPECT_NEAR(mean, 1.0 / 2000, 0.02 / 2000) << burstiness;
    EXPECT_NEAR(var / (mean * mean), burstiness, 0.05 * burstiness) << burstiness;
  }
}

TEST(Gamma, StandardGammaMatchesTheGammaCdfForShapeTwo) {
  // Gamma(2) has the closed-form CDF 1 - e^-x (1 + x).
  Mt19937 g(7);
  std::vector<double> x(20000);
  for (double& v : x) v = StandardGamma(g, 2.0);
  const double d = KsDistance(x, [](double v) { return 1.0 - std::exp(-v) * (1.0 + v); });
  EXPECT_LT(d, KsCritical(x.size()));
}

TEST(Ramp, PlansTheIntegralOfTheRateAndSpeedsUp) {
  StageSpec ramp = Constant(0, 1'000'000'000);
  ramp.end_rate_qps = 1000;  // 0 -> 1000 qps over 1 s: 500 arrivals
  const LoadPlan p = Plan({ramp});
  EXPECT_EQ(p.plan.query_count(), 500u);
  // Lambda(t) = 500 t^2: 125 arrivals before 0.5 s.
  const auto half = std::lower_bound(p.plan.scheduled_delta_ns.begin(),
                                     p.plan.scheduled_delta_ns.end(), int64_t{500'000'000});
  EXPECT_EQ(half - p.plan.scheduled_delta_ns.begin(), 125);
  EXPECT_EQ(p.plan.scheduled_delta_ns[1], 44721359);  // sqrt(1 / 500) s
}

TEST(Ramp, APoissonRampDownFollowsItsRate) {
  StageSpec ramp = Gamma(4000, 1.0, 2'000'000'000);
  ramp.end_rate_qps = 0;  // 4000 expected arrivals, three quarters in the first second
  const LoadPlan p = Plan({ramp});
  const double n = static_cast<double>(p.plan.query_count());
  EXPECT_NEAR(n, 4000, 4 * std::sqrt(4000.0));
  const auto first_second =
      std::lower_bound(p.plan.scheduled_delta_ns.begin(), p.plan.scheduled_delta_ns.end(),
                       int64_t{1'000'000'000}) -
      p.plan.scheduled_delta_ns.begin();
  EXPECT_NEAR(static_cast<double>(first_second), 3000, 4 * std::sqrt(3000.0));
}

TEST(Stages, FollowEachOtherAndKeepTheirRanges) {
  StageSpec warm = Constant(100, 100'000'000);
  warm.measured = false;
  warm.name = "warmup";
  StageSpec closed;
  closed.kind = ArrivalKind::kConcurrency;
  closed.concurrency = 4;
  closed.queries = 7;
  const LoadPlan p = Plan({warm, Gamma(1000, 2.0, 50'000'000), closed});
  ASSERT_EQ(p.stages.size(), 3u);
  EXPECT_EQ(p.stages[0].end_query, 10u);
  EXPECT_FALSE(p.stages[0].measured);
  EXPECT_EQ(p.stages[1].first_query, 10u);
  EXPECT_EQ(p.stages[1].start_ns, 100'000'000);
  EXPECT_EQ(p.plan.scheduled_delta_ns[10], 100'000'000);
  EXPECT_EQ(p.stages[2].end_query - p.stages[2].first_query, 7u);
  EXPECT_EQ(p.stages[2].start_ns, 150'000'000);
  EXPECT_TRUE(std::is_sorted(p.plan.scheduled_delta_ns.begin(), p.plan.scheduled_delta_ns.end()));
}

TEST(Determinism, TheSameSeedsGiveByteIdenticalPlans) {
  StageSpec ramp = Gamma(100, 3.0, 3'000'000'000);
  ramp.end_rate_qps = 900;
  const std::vector<StageSpec> stages = {Gamma(800, 0.5, 0, 1000), ramp,
                                         Constant(250, 1'000'000'000)};
  const LoadPlan a = Plan(stages);
  const LoadPlan b = Plan(stages);
  EXPECT_EQ(Offsets(a), Offsets(b));
  EXPECT_EQ(a.plan.sample_index.ToVector(), b.plan.sample_index.ToVector());
  // Pinned: a change of algorithm or a platform difference shows here.
  EXPECT_EQ(a.plan.query_count(), 2688u);
  EXPECT_EQ(Fingerprint(a), 0x546293bf8096b6cull);
  EffectiveSettings other = Server(1);
  other.schedule_rng_seed = 1;
  EXPECT_NE(Offsets(Plan(stages, other)), Offsets(a));
}

std::shared_ptr<TraceArrivals> Trace(std::vector<double> t, std::vector<uint64_t> ids = {}) {
  auto trace = std::make_shared<TraceArrivals>();
  trace->arrival_s = std::move(t);
  trace->sample_ids = std::move(ids);
  for (uint64_t i = 0; i < trace->arrival_s.size(); ++i) trace->line.push_back(i + 2);  // a header
  return trace;
}

StageSpec Replay(std::shared_ptr<TraceArrivals> trace, double scale = 1, bool sort = false) {
  StageSpec s;
  s.kind = ArrivalKind::kTrace;
  s.trace = std::move(trace);
  s.time_scale = scale;
  s.sort_trace = sort;
  return s;
}

TEST(TraceReplay, ReplaysOffsetsFromTheFirstArrivalScaled) {
  const LoadPlan p = Plan({Replay(Trace({100.0, 100.5, 101.25}), 0.5)});
  EXPECT_EQ(Offsets(p), (std::vector<int64_t>{0, 250000000, 625000000}));
}

TEST(TraceReplay, UsesTheTracesSampleIdsAndRefusesIdsNotLoaded) {
  const LoadPlan p = Plan({Replay(Trace({0, 1, 2}, {105, 100, 163}))});
  EXPECT_EQ(p.plan.sample_index.ToVector(), (std::vector<uint32_t>{105, 100, 163}));
  try {
    Plan({Replay(Trace({0, 1, 2}, {105, 7, 163}))});
    FAIL() << "an id outside the loaded set was accepted";
  } catch (const SettingsError& e) {
    EXPECT_NE(std::string(e.what()).find("line 3: sample id 7"), std::string::npos) << e.what();
  }
}

TEST(TraceReplay, BackwardsTimestampsAreRefusedWithTheirLineOrSorted) {
  try {
    Plan({Replay(Trace({0, 2, 1, 3}))});
    FAIL() << "a backwards timestamp was accepted";
  } catch (const SettingsError& e) {
    EXPECT_NE(std::string(e.what()).find("line 4"), std::string::npos) << e.what();
  }
  const LoadPlan sorted = Plan({Replay(Trace({0, 2, 1, 3}, {100, 102, 101, 103}), 1, true)});
  EXPECT_EQ(Offsets(sorted), (std::vector<int64_t>{0, 1000000000, 2000000000, 3000000000}));
  EXPECT_EQ(sorted.plan.sample_index.ToVector(), (std::vector<uint32_t>{100, 101, 102, 103}));
}

TEST(TraceReplay, IsCutAtItsDurationOrCount) {
  StageSpec s = Replay(Trace({0, 1, 2, 3, 4}));
  s.duration_ns = 2'500'000'000;
  EXPECT_EQ(Plan({s}).plan.query_count(), 3u);
  s.duration_ns = 0;
  s.queries = 2;
  EXPECT_EQ(Plan({s}).plan.query_count(), 2u);
}

void ExpectRefused(StageSpec s, const std::string& words) {
  try {
    Plan({Constant(10, 1'000'000), s});
    FAIL() << "refused nothing; expected: " << words;
  } catch (const SettingsError& e) {
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("stage 1"), std::string::npos) << e.what();
  }
}

TEST(Validation, RefusesStagesThatCannotRun) {
  ExpectRefused(Constant(10, 0), "duration");
  ExpectRefused(Constant(-5, 1'000'000), "rate");
  ExpectRefused(Constant(0, 1'000'000), "rate");
  ExpectRefused(Gamma(10, 0, 1'000'000), "burstiness");
  StageSpec ramp = Constant(10, 0, 100);
  ramp.end_rate_qps = 20;
  ExpectRefused(ramp, "a ramp needs a duration");
  StageSpec closed;
  closed.kind = ArrivalKind::kConcurrency;
  closed.queries = 5;
  ExpectRefused(closed, "concurrency");
  StageSpec negative = Constant(10, -1);
  ExpectRefused(negative, "negative");
  EXPECT_THROW(ValidateLoadModel(LoadModel{}), SettingsError);
}

}  // namespace
}  // namespace loadgen::schedule
