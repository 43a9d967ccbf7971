// The sample plan against the test vectors of docs/official-behaviour.md#schedule-test-vectors and
// against behaviour recorded from the official wheel. Effective settings are built field by field
// (docs/official-behaviour.md#settings-effective).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <random>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "common/errors.h"
#include "ks_distance.h"
#include "schedule/plan.h"

namespace loadgen::schedule {
namespace {

using mlperf::TestMode;
using mlperf::TestScenario;
using settings::EffectiveSettings;
using test_support::KsAgainstExponential;

constexpr uint64_t kQslSeed = 2085463073848966840ull;
constexpr uint64_t kSampleSeed = 2747215439041700203ull;
constexpr uint64_t kScheduleSeed = 16159082839903944936ull;

// The effective settings for min_duration 0 and the given minimum query count.
EffectiveSettings Effective(TestScenario scenario, uint64_t performance_count,
                            uint64_t accuracy_count, uint64_t min_query_count) {
  EffectiveSettings s;
  s.scenario = scenario;
  s.performance_sample_count = performance_count;
  s.accuracy_sample_count = accuracy_count;
  s.min_query_count = min_query_count;
  s.min_sample_count = min_query_count;
  s.target_qps = 1000;  // 1 ms expected latency
  s.max_async_queries = 1;
  return s;
}

EffectiveSettings WithOfficialSeeds(EffectiveSettings s) {
  s.qsl_rng_seed = kQslSeed;
  s.sample_index_rng_seed = kSampleSeed;
  s.schedule_rng_seed = kScheduleSeed;
  return s;
}

EffectiveSettings MultiStream(uint64_t performance_count, uint64_t total, uint64_t min_queries,
                              uint64_t spq) {
  EffectiveSettings s = Effective(TestScenario::MultiStream, performance_count, total, min_queries);
  s.samples_per_query = spq;
  s.target_qps = 1e9 / 8e6;
  s.min_sample_count = min_queries * spq;
  return s;
}

// Offline as Normalize leaves it: one query of `spq` samples, no duration.
EffectiveSettings Offline(uint64_t performance_count, uint64_t total, uint64_t spq) {
  EffectiveSettings s = Effective(TestScenario::Offline, performance_count, total, 1);
  s.samples_per_query = spq;
  s.min_sample_count = spq;
  s.target_qps = 1;
  return s;
}

std::vector<uint64_t> Prefix(const std::vector<uint64_t>& v, size_t n) {
  return std::vector<uint64_t>(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n));
}

std::vector<uint64_t> Issued(const SeriesPlan& plan) {
  return std::vector<uint64_t>(plan.sample_index.begin(), plan.sample_index.end());
}

// The performance run: the first loadable set of performance_sample_count samples.
std::pair<LoadableSet, SeriesPlan> PerformanceRun(const EffectiveSettings& s, uint64_t total) {
  SequenceState sequence;
  LoadableSet set = GenerateLoadableSets(s, s.performance_sample_count, total).front();
  SeriesPlan plan = GenerateQueries(s, set, TestMode::PerformanceOnly, sequence);
  return {std::move(set), std::move(plan)};
}

TEST(PlanTest, SmallCaseWithSeedsZero) {
  const EffectiveSettings s = Effective(TestScenario::SingleStream, 5, 20, 12);
  auto [set, plan] = PerformanceRun(s, 20);
  EXPECT_EQ(set.samples, (std::vector<uint64_t>{2, 4, 3, 0, 1}));
  EXPECT_EQ(set.dist_end, 5u);
  EXPECT_EQ(Issued(plan), (std::vector<uint64_t>{3, 0, 0, 4, 3, 4, 1, 2, 1, 4, 4, 3}));
  EXPECT_EQ(plan.query_count(), 12u);
  EXPECT_EQ(plan.generated_duration_ns, 12000000);
}

TEST(PlanTest, Tv1SingleStreamOfficialSeeds) {
  const EffectiveSettings s =
      WithOfficialSeeds(Effective(TestScenario::SingleStream, 100, 1000, 20));
  auto [set, plan] = PerformanceRun(s, 1000);
  ASSERT_EQ(set.samples.size(), 100u);
  EXPECT_EQ(Prefix(set.samples, 10), (std::vector<uint64_t>{1, 5, 13, 64, 11, 37, 58, 70, 96, 67}));
  // The performance set is always {0..P-1}; only its order depends on the seed.
  std::vector<uint64_t> sorted = set.samples;
  std::sort(sorted.begin(), sorted.end());
  for (uint64_t i = 0; i < 100; ++i) EXPECT_EQ(sorted[i], i);
  EXPECT_EQ(Issued(plan), (std::vector<uint64_t>{94, 84, 87, 17, 72, 12, 72, 79, 69, 14,
                                                 46, 5,  48, 84, 8,  96, 90, 62, 22, 27}));
  for (uint64_t q = 0; q < plan.query_count(); ++q) {
    EXPECT_EQ(plan.scheduled_delta_ns[q], static_cast<int64_t>(q) * 1000000);
  }
}

TEST(PlanTest, Tv2ServerSchedule) {
  EffectiveSettings s = WithOfficialSeeds(Effective(TestScenario::Server, 100, 1000, 10));
  s.max_async_queries = 0;
  auto [set, plan] = PerformanceRun(s, 1000);
  EXPECT_EQ(Issued(plan), (std::vector<uint64_t>{94, 84, 87, 17, 72, 12, 72, 79, 69, 14}));
  EXPECT_EQ(plan.scheduled_delta_ns,
            (std::vector<int64_t>{0, 1843654, 2301577, 3587439, 4300433, 4686839, 6935180, 8026759,
                                  8128505, 9589851}));
  EXPECT_EQ(plan.generated_duration_ns, 9911224);
}

TEST(PlanTest, ServerHorizonIsOneMinDurationAndAllDeltasBeforeIt) {
  EffectiveSettings s = WithOfficialSeeds(Effective(TestScenario::Server, 50, 500, 10));
  s.target_qps = 5000;
  s.target_duration_ms = s.min_duration_ms = 20;
  auto [set, plan] = PerformanceRun(s, 500);
  // Recorded from the official wheel (srv_duration_driven).
  EXPECT_EQ(plan.query_count(), 94u);
  EXPECT_EQ(plan.generated_duration_ns, 20113265);
  EXPECT_LT(plan.scheduled_delta_ns[92], 20000000);
  EXPECT_GE(plan.scheduled_delta_ns[93], 20000000);
}

// The arrival process is a property of the plan, not of the issue timing (issue 13): the
// Server schedule's gaps, as integer nanoseconds, are exponential at the target rate for any
// seed. D's critical value at the 0.1% level is 1.949 / sqrt(n).
TEST(PlanTest, ServerScheduleGapsAreExponentialAtTheTargetRate) {
  for (const uint64_t seed : {kScheduleSeed, uint64_t{0}, uint64_t{12345}}) {
    EffectiveSettings s = Effective(TestScenario::Server, 1024, 1024, 10000);
    s.max_async_queries = 0;
    s.schedule_rng_seed = seed;
    auto [set, plan] = PerformanceRun(s, 1024);
    ASSERT_EQ(plan.query_count(), 10000u);
    std::vector<double> gaps;
    for (uint64_t q = 1; q < plan.query_count(); ++q) {
      gaps.push_back(
          static_cast<double>(plan.scheduled_delta_ns[q] - plan.scheduled_delta_ns[q - 1]) / 1e9);
    }
    const double critical = 1.949 / std::sqrt(static_cast<double>(gaps.size()));
    EXPECT_LT(KsAgainstExponential(gaps, s.target_qps), critical) << "seed " << seed;
    // A rate 10% off fails the same test: the test can fail.
    EXPECT_GT(KsAgainstExponential(gaps, s.target_qps * 1.1), critical) << "seed " << seed;
  }
}

TEST(PlanTest, Tv3MultiStreamWindowsOfThePaddedSet) {
  const EffectiveSettings s = WithOfficialSeeds(MultiStream(100, 1000, 4, 8));
  auto [set, plan] = PerformanceRun(s, 1000);
  ASSERT_EQ(set.samples.size(), 107u);
  EXPECT_EQ(set.dist_end, 100u);
  EXPECT_EQ(std::vector<uint64_t>(set.samples.end() - 8, set.samples.end()),
            (std::vector<uint64_t>{95, 1, 5, 13, 64, 11, 37, 58}));
  EXPECT_EQ(plan.samples_per_query, 8u);
  EXPECT_EQ(Issued(plan), (std::vector<uint64_t>{19, 16, 45, 0,  39, 30, 8,  28,  //
                                                 65, 54, 35, 51, 7,  20, 60, 17,  //
                                                 76, 93, 29, 72, 88, 71, 56, 84,  //
                                                 5,  13, 64, 11, 37, 58, 70, 96}));
  EXPECT_EQ(plan.generated_duration_ns, 32000000);
}

TEST(PlanTest, MultiStreamPadsShortSetsCyclically) {
  // Recorded from the official wheel: total 10, sets of 4, spq 8.
  EffectiveSettings s = MultiStream(4, 10, 3, 8);
  s.qsl_rng_seed = 3;
  const std::vector<LoadableSet> sets = GenerateLoadableSets(s, 10, 10);
  ASSERT_EQ(sets.size(), 3u);
  EXPECT_EQ(sets[0].samples, (std::vector<uint64_t>{3, 1, 8, 5, 3, 1, 8, 5, 3, 1, 8}));
  EXPECT_EQ(sets[2].samples, (std::vector<uint64_t>{0, 4, 0, 4, 0, 4, 0, 4, 0}));
  EXPECT_EQ(sets[2].dist_end, 2u);
}

TEST(PlanTest, MultiStreamAccuracyStartsAreShuffledMultiplesOfSpq) {
  // Recorded from the official wheel: total 23, sets of 7, spq 3, official seeds.
  const EffectiveSettings s = WithOfficialSeeds(MultiStream(7, 23, 1, 3));
  const std::vector<LoadableSet> sets = GenerateLoadableSets(s, 23, 23);
  ASSERT_EQ(sets.size(), 4u);
  EXPECT_EQ(sets[0].samples, (std::vector<uint64_t>{2, 5, 1, 11, 3, 10, 16, 2, 5}));
  EXPECT_EQ(sets[3].samples, (std::vector<uint64_t>{9, 8, 9, 8}));
  SequenceState sequence;
  const SeriesPlan first = GenerateQueries(s, sets[0], TestMode::AccuracyOnly, sequence);
  // Window starts 0, 6 and 3.
  EXPECT_EQ(Issued(first), (std::vector<uint64_t>{2, 5, 1, 16, 2, 5, 11, 3, 10}));
  GenerateQueries(s, sets[1], TestMode::AccuracyOnly, sequence);
  GenerateQueries(s, sets[2], TestMode::AccuracyOnly, sequence);
  const SeriesPlan last = GenerateQueries(s, sets[3], TestMode::AccuracyOnly, sequence);
  EXPECT_EQ(Issued(last), (std::vector<uint64_t>{9, 8, 9}));
  EXPECT_EQ(last.first_query_seq, 9u);
  EXPECT_EQ(last.first_sample_seq, 27u);
  EXPECT_EQ(sequence.next_sample_seq, 30u);
}

TEST(PlanTest, Tv4OfflineRepeatsTheSetInLoadOrder) {
  const EffectiveSettings s = WithOfficialSeeds(Offline(100, 1000, 250));
  auto [set, plan] = PerformanceRun(s, 1000);
  ASSERT_EQ(plan.query_count(), 1u);
  ASSERT_EQ(plan.sample_count(), 250u);
  for (uint64_t i = 0; i < 250; ++i) EXPECT_EQ(plan.sample_index[i], set.samples[i % 100]);
  EXPECT_EQ(Prefix(Issued(plan), 3), (std::vector<uint64_t>{1, 5, 13}));
  EXPECT_EQ(plan.generated_duration_ns, 1000000000);
}

TEST(PlanTest, OfflineSizingAndRemainder) {
  // Offline with expected QPS 77 and min_duration 1 s: Normalize makes spq trunc(1.1 * 77) = 84.
  EffectiveSettings s = WithOfficialSeeds(Offline(100, 1000, 84));
  s.target_qps = 77;
  s.min_duration_ms = 1000;
  auto [set, plan] = PerformanceRun(s, 1000);
  EXPECT_EQ(plan.sample_count(), 84u);
  EXPECT_EQ(plan.generated_duration_ns, 12987012);  // trunc(1e9 / 77)
  // 45 samples from a set of 30: one full copy then the first 15 (official off_remainder).
  EffectiveSettings r = Offline(30, 100, 45);
  r.qsl_rng_seed = 71;
  auto [set2, plan2] = PerformanceRun(r, 100);
  for (uint64_t i = 0; i < 45; ++i) EXPECT_EQ(plan2.sample_index[i], set2.samples[i % 30]);
}

TEST(PlanTest, Tv5AccuracySetsAndOrder) {
  const EffectiveSettings s = WithOfficialSeeds(Effective(TestScenario::SingleStream, 4, 10, 1));
  const std::vector<LoadableSet> sets = GenerateLoadableSets(s, s.accuracy_sample_count, 10);
  ASSERT_EQ(sets.size(), 3u);
  EXPECT_EQ(sets[0].samples, (std::vector<uint64_t>{1, 5, 7, 6}));
  EXPECT_EQ(sets[1].samples, (std::vector<uint64_t>{0, 8, 3, 2}));
  EXPECT_EQ(sets[2].samples, (std::vector<uint64_t>{9, 4}));
  EXPECT_EQ(sets[2].dist_end, 2u);
  SequenceState sequence;
  const std::vector<std::vector<uint64_t>> expected = {{1, 5, 7, 6}, {0, 8, 3, 2}, {9, 4}};
  for (size_t i = 0; i < sets.size(); ++i) {
    const SeriesPlan plan = GenerateQueries(s, sets[i], TestMode::AccuracyOnly, sequence);
    EXPECT_EQ(Issued(plan), expected[i]);
    EXPECT_EQ(plan.mode, TestMode::AccuracyOnly);
    for (uint64_t j = 0; j < plan.sample_count(); ++j) EXPECT_TRUE(plan.LogsAccuracy(j));
  }
}

TEST(PlanTest, SeriesModesRunAccuracyBeforePerformance) {
  EXPECT_EQ(SeriesModes(TestMode::SubmissionRun),
            (std::vector<TestMode>{TestMode::AccuracyOnly, TestMode::PerformanceOnly}));
  EXPECT_EQ(SeriesModes(TestMode::AccuracyOnly), std::vector<TestMode>{TestMode::AccuracyOnly});
  EXPECT_EQ(SeriesModes(TestMode::PerformanceOnly),
            std::vector<TestMode>{TestMode::PerformanceOnly});
  EXPECT_EQ(SeriesModes(TestMode::FindPeakPerformance),
            std::vector<TestMode>{TestMode::PerformanceOnly});
}

TEST(PlanTest, TestPlanIsTheSeriesARunGenerates) {
  // A submission run: the three accuracy sets of Tv5, then the first performance set, with one
  // SequenceState across them (ids and the accuracy-log RNG continue), as the session runs it.
  EffectiveSettings s = WithOfficialSeeds(Effective(TestScenario::SingleStream, 4, 10, 6));
  s.mode = TestMode::SubmissionRun;
  s.accuracy_log_probability = 0.5;
  const std::vector<PlannedSeries> planned = GenerateTestPlan(s, 10);
  ASSERT_EQ(planned.size(), 4u);
  SequenceState sequence;
  const std::vector<LoadableSet> accuracy_sets = GenerateLoadableSets(s, 10, 10);
  for (size_t i = 0; i < 3; ++i) {
    const SeriesPlan expected =
        GenerateQueries(s, accuracy_sets[i], TestMode::AccuracyOnly, sequence);
    EXPECT_EQ(planned[i].set.samples, accuracy_sets[i].samples);
    EXPECT_EQ(planned[i].plan.mode, TestMode::AccuracyOnly);
    EXPECT_EQ(Issued(planned[i].plan), Issued(expected));
    EXPECT_EQ(planned[i].plan.first_sample_seq, expected.first_sample_seq);
    EXPECT_TRUE(planned[i].accuracy_logged.empty());  // accuracy series log every response
  }
  const LoadableSet performance_set = GenerateLoadableSets(s, 4, 10).front();
  const SeriesPlan expected =
      GenerateQueries(s, performance_set, TestMode::PerformanceOnly, sequence);
  const PlannedSeries& performance = planned[3];
  EXPECT_EQ(performance.plan.mode, TestMode::PerformanceOnly);
  EXPECT_EQ(performance.set.samples, performance_set.samples);
  EXPECT_EQ(Issued(performance.plan), Issued(expected));
  EXPECT_EQ(performance.plan.first_sample_seq, 10u);  // after the 10 accuracy samples
  std::vector<uint64_t> logged;
  for (uint64_t i = 0; i < expected.sample_count(); ++i) {
    if (expected.LogsAccuracy(i)) logged.push_back(i);
  }
  EXPECT_EQ(performance.accuracy_logged, logged);

  s.mode = TestMode::PerformanceOnly;
  ASSERT_EQ(GenerateTestPlan(s, 10).size(), 1u);
  EXPECT_EQ(GenerateTestPlan(s, 10)[0].plan.first_sample_seq, 0u);
}

TEST(PlanTest, AccuracySetsWithSeedsZeroMatchTheWheel) {
  // Official ss_acc_tv5 recording (seeds 0): the order within a set is a shuffle of the set.
  const EffectiveSettings s = Effective(TestScenario::SingleStream, 4, 10, 1);
  const std::vector<LoadableSet> sets = GenerateLoadableSets(s, 10, 10);
  SequenceState sequence;
  EXPECT_EQ(sets[0].samples, (std::vector<uint64_t>{0, 2, 1, 5}));
  EXPECT_EQ(Issued(GenerateQueries(s, sets[0], TestMode::AccuracyOnly, sequence)),
            (std::vector<uint64_t>{0, 1, 2, 5}));
  EXPECT_EQ(Issued(GenerateQueries(s, sets[1], TestMode::AccuracyOnly, sequence)),
            (std::vector<uint64_t>{9, 4, 8, 7}));
}

TEST(PlanTest, LoadableSetSizing) {
  EffectiveSettings s = Effective(TestScenario::SingleStream, 7, 23, 1);
  // Accuracy override larger than the QSL is capped; smaller covers only [0, A).
  std::vector<LoadableSet> sets = GenerateLoadableSets(s, 50, 23);
  ASSERT_EQ(sets.size(), 4u);
  EXPECT_EQ(sets[3].samples.size(), 2u);
  sets = GenerateLoadableSets(s, 10, 23);
  ASSERT_EQ(sets.size(), 2u);
  EXPECT_EQ(sets[1].samples.size(), 3u);
  for (const LoadableSet& set : sets) {
    for (uint64_t index : set.samples) EXPECT_LT(index, 10u);
  }
  // A set size of 0 puts everything in one set; no samples gives no set.
  s.performance_sample_count = 0;
  EXPECT_EQ(GenerateLoadableSets(s, 23, 23).size(), 1u);
  EXPECT_TRUE(GenerateLoadableSets(s, 0, 23).empty());
}

TEST(PlanTest, Tv6AccuracyLogSamplingTarget) {
  EffectiveSettings s = WithOfficialSeeds(Effective(TestScenario::SingleStream, 100, 1000, 500));
  s.accuracy_log_rng_seed = 720381539243781796ull;
  s.accuracy_log_sampling_target = 10;
  EXPECT_DOUBLE_EQ(AccuracyLogProbability(s), 10.0 / 500.0);
  auto [set, plan] = PerformanceRun(s, 1000);
  std::vector<std::pair<uint64_t, uint64_t>> logged;
  for (uint64_t i = 0; i < plan.sample_count(); ++i) {
    if (plan.LogsAccuracy(i)) logged.emplace_back(plan.first_sample_seq + i, plan.sample_index[i]);
  }
  EXPECT_EQ(
      logged,
      (std::vector<std::pair<uint64_t, uint64_t>>{
          {89, 64}, {279, 45}, {289, 50}, {329, 23}, {407, 93}, {412, 37}, {424, 31}, {446, 7}}));
}

TEST(PlanTest, AccuracyLogProbabilityFormula) {
  EffectiveSettings s = Effective(TestScenario::SingleStream, 100, 1000, 50);
  s.accuracy_log_probability = 0.25;
  EXPECT_EQ(AccuracyLogProbability(s), 0.25);
  // The expected count from QPS x min_duration wins over the minimum query count.
  s.accuracy_log_sampling_target = 20;
  s.min_duration_ms = 200;
  EXPECT_EQ(AccuracyLogProbability(s), 20.0 / 200.0);
  // MultiStream counts samples.
  EffectiveSettings m = MultiStream(100, 1000, 50, 8);
  m.accuracy_log_sampling_target = 20;
  EXPECT_EQ(AccuracyLogProbability(m), 20.0 / 400.0);
  // Offline takes the minimum sample count (the query size).
  EffectiveSettings o = Offline(100, 1000, 300);
  o.accuracy_log_sampling_target = 30;
  o.min_duration_ms = 100;
  o.target_qps = 2000;
  EXPECT_EQ(AccuracyLogProbability(o), 30.0 / 300.0);
}

TEST(PlanTest, AccuracyRngIsSharedAndAdvancesTwoDrawsPerSample) {
  EffectiveSettings s = Effective(TestScenario::SingleStream, 5, 20, 12);
  SequenceState sequence;
  const LoadableSet set = GenerateLoadableSets(s, 5, 20).front();
  const SeriesPlan first = GenerateQueries(s, set, TestMode::PerformanceOnly, sequence);
  const SeriesPlan second = GenerateQueries(s, set, TestMode::PerformanceOnly, sequence);
  EXPECT_EQ(second.first_query_seq, 12u);
  EXPECT_EQ(second.first_sample_seq, 12u);
  EXPECT_EQ(sequence.next_query_seq, 24u);
  std::mt19937 reference;  // the default seed 5489, never reseeded
  reference.discard(2 * 24);
  EXPECT_EQ(sequence.accuracy_rng(), reference());
}

TEST(PlanTest, Tv7EqualIssueSingleStream) {
  // Normalize raises min_query_count 10 to 12 (a multiple of the QSL's 6 samples, plus one set).
  EffectiveSettings s = WithOfficialSeeds(Effective(TestScenario::SingleStream, 6, 30, 12));
  s.sample_concatenate_permutation = true;
  auto [set, plan] = PerformanceRun(s, 30);
  EXPECT_EQ(set.samples, (std::vector<uint64_t>{1, 5, 2, 3, 0, 4}));
  EXPECT_EQ(Issued(plan), (std::vector<uint64_t>{5, 2, 4, 0, 3, 1, 2, 4, 1, 0, 3, 5}));
}

TEST(PlanTest, EqualIssueServerBumpsToWholeSetsAndRepeatsThePermutation) {
  // Official srv_equal_issue_duration: 7 loaded samples, min_query_count 3, 10 ms at 5000 QPS.
  EffectiveSettings s = Effective(TestScenario::Server, 7, 60, 3);
  s.target_qps = 5000;
  s.target_duration_ms = s.min_duration_ms = 10;
  s.sample_concatenate_permutation = true;
  s.qsl_rng_seed = 55;
  s.sample_index_rng_seed = 56;
  s.schedule_rng_seed = 57;
  auto [set, plan] = PerformanceRun(s, 60);
  EXPECT_EQ(set.samples, (std::vector<uint64_t>{2, 0, 3, 4, 1, 6, 5}));
  ASSERT_EQ(plan.query_count(), 49u);
  EXPECT_EQ(plan.generated_duration_ns, 11399530);
  // The equal-issue list was sized for 3 queries (one permutation) and wraps around.
  const std::vector<uint64_t> permutation = {2, 3, 6, 5, 0, 4, 1};
  for (uint64_t i = 0; i < 49; ++i) EXPECT_EQ(plan.sample_index[i], permutation[i % 7]);
}

TEST(PlanTest, EqualIssueOfflinePadsToWholeShuffledCopies) {
  // Official off_equal_issue_padded: 50 samples from a set of 30 become two shuffled copies.
  EffectiveSettings s = Offline(30, 100, 50);
  s.sample_concatenate_permutation = true;
  s.qsl_rng_seed = 74;
  s.sample_index_rng_seed = 75;
  auto [set, plan] = PerformanceRun(s, 100);
  EXPECT_EQ(plan.samples_per_query, 60u);
  ASSERT_EQ(plan.sample_count(), 60u);
  EXPECT_EQ(Prefix(Issued(plan), 8), (std::vector<uint64_t>{12, 17, 4, 20, 11, 24, 22, 2}));
  for (int copy = 0; copy < 2; ++copy) {
    std::multiset<uint64_t> block(plan.sample_index.begin() + copy * 30,
                                  plan.sample_index.begin() + (copy + 1) * 30);
    EXPECT_EQ(block, std::multiset<uint64_t>(set.samples.begin(), set.samples.end()));
  }
}

TEST(PlanTest, PerformanceIssueUniqueIssuesEverySampleOnce) {
  EffectiveSettings s = Effective(TestScenario::SingleStream, 10, 30, 50);
  s.performance_issue_unique = true;
  s.qsl_rng_seed = 2;
  s.sample_index_rng_seed = 3;
  auto [set, plan] = PerformanceRun(s, 30);
  // Official ss_unique: min_query_count is replaced by the set size.
  EXPECT_EQ(set.samples, (std::vector<uint64_t>{5, 0, 3, 1, 8, 4, 6, 2, 7, 9}));
  EXPECT_EQ(Issued(plan), (std::vector<uint64_t>{1, 0, 7, 4, 3, 6, 9, 2, 5, 8}));
  // MultiStream: one query per start position multiple of spq.
  EffectiveSettings m = MultiStream(20, 50, 3, 3);
  m.performance_issue_unique = true;
  auto [mset, mplan] = PerformanceRun(m, 50);
  EXPECT_EQ(mplan.query_count(), 7u);  // floor(22 / 3)
  std::set<uint64_t> starts;
  for (uint64_t q = 0; q < 7; ++q) {
    const auto it = std::find(mset.samples.begin(), mset.samples.end(), mplan.sample_index[q * 3]);
    starts.insert(static_cast<uint64_t>(it - mset.samples.begin()));
  }
  EXPECT_EQ(starts, (std::set<uint64_t>{0, 3, 6, 9, 12, 15, 18}));
}

TEST(PlanTest, PerformanceIssueSameRepeatsOneSampleOrWindow) {
  EffectiveSettings s = Effective(TestScenario::SingleStream, 10, 30, 15);
  s.performance_issue_same = true;
  s.performance_issue_same_index = 3;
  auto [set, plan] = PerformanceRun(s, 30);
  for (uint32_t index : plan.sample_index) EXPECT_EQ(index, set.samples[3]);
  // Official ms_same: every query is the window starting at position 5.
  EffectiveSettings m = MultiStream(20, 50, 6, 4);
  m.performance_issue_same = true;
  m.performance_issue_same_index = 5;
  auto [mset, mplan] = PerformanceRun(m, 50);
  ASSERT_EQ(mplan.sample_count(), 24u);
  for (uint64_t i = 0; i < 24; ++i) EXPECT_EQ(mplan.sample_index[i], mset.samples[5 + i % 4]);
  EXPECT_EQ(Prefix(Issued(mplan), 4), (std::vector<uint64_t>{11, 4, 16, 6}));
  // Offline: same wins over unique.
  EffectiveSettings o = Offline(30, 100, 30);
  o.performance_issue_same = true;
  o.performance_issue_unique = true;
  o.performance_issue_same_index = 7;
  auto [oset, oplan] = PerformanceRun(o, 100);
  EXPECT_EQ(oplan.sample_count(), 30u);
  for (uint32_t index : oplan.sample_index) EXPECT_EQ(index, oset.samples[7]);
}

TEST(PlanTest, FixedPeriodUsesTruncatedNanoseconds) {
  EffectiveSettings s = Effective(TestScenario::SingleStream, 20, 100, 1);
  s.target_qps = 1e9 / 1011.0;
  s.target_duration_ms = s.min_duration_ms = 1;
  auto [set, plan] = PerformanceRun(s, 100);
  // The horizon is 2 x min_duration at a 1010 ns period: ceil(2e6 / 1010) + 1 queries.
  EXPECT_EQ(plan.scheduled_delta_ns[1], 1010);
  EXPECT_EQ(plan.query_count(), 1982u);
  EXPECT_EQ(plan.generated_duration_ns, 2001820);
}

TEST(PlanTest, RejectsPlansTheOfficialCrashesOn) {
  EffectiveSettings s = Effective(TestScenario::SingleStream, 5, 20, 0);
  SequenceState sequence;
  const LoadableSet set = GenerateLoadableSets(s, 5, 20).front();
  EXPECT_THROW(GenerateQueries(s, set, TestMode::PerformanceOnly, sequence), SettingsError);
  s.min_query_count = 3;
  s.performance_issue_same = true;
  s.performance_issue_same_index = 5;
  EXPECT_THROW(GenerateQueries(s, set, TestMode::PerformanceOnly, sequence), SettingsError);
  EXPECT_THROW(GenerateQueries(s, LoadableSet{}, TestMode::PerformanceOnly, sequence),
               SettingsError);
  EffectiveSettings server = Effective(TestScenario::Server, 5, 20, 3);
  server.target_qps = 0;
  EXPECT_THROW(GenerateQueries(server, set, TestMode::PerformanceOnly, sequence), SettingsError);
}

TEST(PlanTest, RejectsIndicesAbove32Bits) {
  const EffectiveSettings s = Effective(TestScenario::SingleStream, 5, 20, 3);
  const uint64_t too_many = uint64_t{1} << 33;
  EXPECT_THROW(GenerateLoadableSets(s, too_many, too_many), SettingsError);
  LoadableSet set;
  set.samples = {1, uint64_t{1} << 32};
  set.dist_end = 2;
  SequenceState sequence;
  EXPECT_THROW(GenerateQueries(s, set, TestMode::PerformanceOnly, sequence), SettingsError);
}

TEST(PlanTest, TenMillionOfflineSamplesTakeFourBytesEach) {
  EffectiveSettings s = Offline(1024, 1024, 10000000);
  auto [set, plan] = PerformanceRun(s, 1024);
  ASSERT_EQ(plan.sample_count(), 10000000u);
  EXPECT_EQ(plan.sample_index.capacity(), 10000000u);
  EXPECT_EQ(plan.accuracy_log_bits.size(), (10000000u + 63) / 64);
  EXPECT_EQ(plan.sample_index[9999999], set.samples[9999999 % 1024]);
}

}  // namespace
}  // namespace loadgen::schedule

namespace loadgen::schedule {
namespace {

// Everything a plan carries that a run or the logs can see.
void ExpectSamePlan(const SeriesPlan& a, const SeriesPlan& b) {
  EXPECT_EQ(a.sample_index.ToVector(), b.sample_index.ToVector());
  EXPECT_EQ(a.scheduled_delta_ns.ToVector(), b.scheduled_delta_ns.ToVector());
  EXPECT_EQ(a.accuracy_log_bits.ToVector(), b.accuracy_log_bits.ToVector());
  EXPECT_EQ(a.generated_duration_ns, b.generated_duration_ns);
  EXPECT_EQ(a.samples_per_query, b.samples_per_query);
  EXPECT_EQ(a.first_query_seq, b.first_query_seq);
  EXPECT_EQ(a.first_sample_seq, b.first_sample_seq);
}

EffectiveSettings ServerSettings(double qps, uint64_t min_duration_ms, uint64_t min_queries) {
  EffectiveSettings s = WithOfficialSeeds(Effective(TestScenario::Server, 64, 256, min_queries));
  s.target_qps = qps;
  s.min_duration_ms = min_duration_ms;
  s.target_duration_ms = min_duration_ms;
  return s;
}

// Generating in steps (as a streamed series does) gives the plan of one call, and leaves the
// sequence ids and accuracy-log RNG of the next series where they would be.
TEST(QueryGeneratorTest, StepsOfAnySizeGiveTheSamePlan) {
  std::vector<EffectiveSettings> cases = {
      ServerSettings(5000, 1000, 100),
      MultiStream(40, 256, 70, 8),
      WithOfficialSeeds(Effective(TestScenario::SingleStream, 64, 256, 300)),
      Offline(64, 256, 1000),
  };
  EffectiveSettings logged = ServerSettings(2000, 500, 10);
  logged.accuracy_log_probability = 0.3;
  logged.accuracy_log_rng_seed = 77;
  cases.push_back(logged);
  EffectiveSettings equal_issue =
      WithOfficialSeeds(Effective(TestScenario::SingleStream, 64, 256, 100));
  equal_issue.sample_concatenate_permutation = true;
  cases.push_back(equal_issue);
  for (const EffectiveSettings& s : cases) {
    for (uint64_t step : {uint64_t{1}, uint64_t{7}, uint64_t{64}, uint64_t{1000}}) {
      SCOPED_TRACE(::testing::Message()
                   << "scenario " << static_cast<int>(s.scenario) << " step " << step);
      const LoadableSet set = GenerateLoadableSets(s, s.performance_sample_count, 256).front();
      SequenceState whole_sequence;
      whole_sequence.next_query_seq = 5;
      const SeriesPlan whole = GenerateQueries(s, set, TestMode::PerformanceOnly, whole_sequence);
      SequenceState stepped_sequence;
      stepped_sequence.next_query_seq = 5;
      QueryGenerator generator(s, set, TestMode::PerformanceOnly, stepped_sequence);
      uint64_t calls = 0;
      while (!generator.Generate(step)) {
        ++calls;
        EXPECT_EQ(generator.published_queries(), calls * step);
      }
      ExpectSamePlan(generator.plan(), whole);
      EXPECT_EQ(stepped_sequence.next_query_seq, whole_sequence.next_query_seq);
      EXPECT_EQ(stepped_sequence.next_sample_seq, whole_sequence.next_sample_seq);
      EXPECT_EQ(stepped_sequence.accuracy_rng(), whole_sequence.accuracy_rng());
    }
  }
}

TEST(QueryGeneratorTest, OnlyLongServerPerformanceSeriesWithoutAccuracyLoggingStream) {
  const EffectiveSettings long_server = ServerSettings(100000, 600000, 100);  // 60M queries
  const LoadableSet set = GenerateLoadableSets(long_server, 64, 256).front();
  SequenceState sequence;
  EXPECT_TRUE(QueryGenerator(long_server, set, TestMode::PerformanceOnly, sequence).ShouldStream());
  EXPECT_FALSE(QueryGenerator(long_server, set, TestMode::AccuracyOnly, sequence).ShouldStream());
  EXPECT_FALSE(QueryGenerator(ServerSettings(1000, 60000, 100), set, TestMode::PerformanceOnly,
                              sequence)
                   .ShouldStream());  // 60k queries: generated up front
  EffectiveSettings sampled = long_server;
  sampled.accuracy_log_probability = 0.01;  // TEST01: the accuracy log needs the whole plan
  EXPECT_FALSE(QueryGenerator(sampled, set, TestMode::PerformanceOnly, sequence).ShouldStream());
}

// A streamed plan's storage never moves, and its first step is readable while more is
// generated: the issuer reads published queries while the generating thread appends.
TEST(QueryGeneratorTest, StreamedPlanKeepsItsStorageAndBoundsTheCapacity) {
  const EffectiveSettings s = ServerSettings(100000, 20000, 100);  // ~2M queries
  const LoadableSet set = GenerateLoadableSets(s, 64, 256).front();
  SequenceState sequence;
  QueryGenerator generator(s, set, TestMode::PerformanceOnly, sequence);
  ASSERT_TRUE(generator.ShouldStream());
  generator.PrepareForStreaming();
  const SeriesPlan& plan = generator.plan();
  EXPECT_GE(plan.query_capacity, 2000000u);
  EXPECT_LE(plan.query_capacity, 2030000u);  // mean + 12 sd + 1024
  generator.Generate(1000);
  const uint32_t* samples = plan.sample_index.data();
  const int64_t* deltas = plan.scheduled_delta_ns.data();
  std::atomic<bool> stop{false};
  EXPECT_EQ(generator.WaitFor(999, [&] { return stop.load(); }), 1000u);
  std::thread producer([&] { generator.Finish(); });
  EXPECT_GT(generator.WaitFor(500000, [&] { return stop.load(); }), 500000u);
  producer.join();
  EXPECT_TRUE(generator.complete());
  EXPECT_EQ(plan.sample_index.data(), samples);
  EXPECT_EQ(plan.scheduled_delta_ns.data(), deltas);
  EXPECT_LE(plan.query_count(), plan.query_capacity);
  EXPECT_EQ(generator.WaitFor(plan.query_count(), [] { return false; }), plan.query_count());
  SequenceState eager_sequence;
  ExpectSamePlan(plan, GenerateQueries(s, set, TestMode::PerformanceOnly, eager_sequence));
}

}  // namespace
}  // namespace loadgen::schedule
