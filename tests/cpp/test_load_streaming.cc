// Streamed load plans (schedule::LoadPlanGenerator with session::PlanStreamer): the plan is the
// same however generation is cut into steps; while a long plan is issued, generation stays at
// most PlanStreamer::kLead + kStep queries ahead of the issuer (so the plan's memory follows
// what was issued, by construction, not by timing); and a streamed multi-stage plan runs end to
// end in a Session with the samples of the plan generated in one go.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/errors.h"
#include "schedule/load_models/load_plan.h"
#include "session/plan_streamer.h"
#include "session_harness.h"

namespace loadgen {
namespace {

using schedule::ArrivalKind;
using schedule::LoadModel;
using schedule::LoadPlan;
using schedule::LoadPlanGenerator;
using schedule::StageSpec;
using session::PlanStreamer;
using test_harness::LoadedSet;
using test_harness::PlanSettings;

StageSpec Open(ArrivalKind kind, double qps, int64_t duration_ns, uint64_t queries = 0) {
  StageSpec s;
  s.kind = kind;
  s.rate_qps = qps;
  s.duration_ns = duration_ns;
  s.queries = queries;
  return s;
}

LoadModel EveryKind() {
  LoadModel m;
  StageSpec ramp = Open(ArrivalKind::kGamma, 100, 2'000'000'000);
  ramp.end_rate_qps = 700;
  ramp.burstiness = 3;
  m.stages.push_back(Open(ArrivalKind::kGamma, 800, 0, 1000));
  m.stages.push_back(ramp);
  StageSpec closed;
  closed.kind = ArrivalKind::kConcurrency;
  closed.concurrency = 3;
  closed.queries = 500;
  m.stages.push_back(closed);
  StageSpec trace;
  trace.kind = ArrivalKind::kTrace;
  auto arrivals = std::make_shared<schedule::TraceArrivals>();
  for (int i = 0; i < 300; ++i) arrivals->arrival_s.push_back(0.001 * ((i * 7) % 300));
  trace.trace = arrivals;
  trace.sort_trace = true;
  m.stages.push_back(trace);
  StageSpec conversations;
  conversations.kind = ArrivalKind::kConversations;
  conversations.concurrency = 2;
  auto set = std::make_shared<schedule::ConversationSet>();
  set->first_turn = {0, 2, 5};
  set->turn_samples = {1, 2, 3, 4, 5};
  conversations.conversations = set;
  m.stages.push_back(conversations);
  m.stages.push_back(Open(ArrivalKind::kConstantRate, 250, 1'000'000'000));
  return m;
}

TEST(LoadPlanGenerator, GivesTheSamePlanHoweverGenerationIsCut) {
  const LoadModel model = EveryKind();
  schedule::SequenceState whole_sequence;
  const LoadPlan whole =
      schedule::GenerateLoadPlan(model, PlanSettings(), LoadedSet(64), whole_sequence);
  for (uint64_t step : {uint64_t{1}, uint64_t{7}, uint64_t{1000}}) {
    schedule::SequenceState sequence;
    const settings::EffectiveSettings settings = PlanSettings();
    const schedule::LoadableSet set = LoadedSet(64);
    LoadPlanGenerator generator(model, settings, set, sequence);
    uint64_t steps = 0;
    while (!generator.Generate(step)) {
      ++steps;
      // Queries are published only with their stages: a published query's stage has started.
      ASSERT_LE(generator.complete_stages(), generator.started_stages());
    }
    EXPECT_GT(steps, whole.plan.query_count() / step - 2);
    const LoadPlan& cut = generator.load();
    EXPECT_EQ(cut.plan.scheduled_delta_ns.ToVector(), whole.plan.scheduled_delta_ns.ToVector());
    EXPECT_EQ(cut.plan.sample_index.ToVector(), whole.plan.sample_index.ToVector());
    EXPECT_EQ(cut.plan.accuracy_log_bits.ToVector(), whole.plan.accuracy_log_bits.ToVector());
    EXPECT_EQ(cut.plan.generated_duration_ns, whole.plan.generated_duration_ns);
    ASSERT_EQ(cut.stages.size(), whole.stages.size());
    for (size_t i = 0; i < cut.stages.size(); ++i) {
      EXPECT_EQ(cut.stages[i].first_query, whole.stages[i].first_query) << i;
      EXPECT_EQ(cut.stages[i].end_query, whole.stages[i].end_query) << i;
      EXPECT_EQ(cut.stages[i].start_ns, whole.stages[i].start_ns) << i;
      EXPECT_EQ(cut.stages[i].end_ns, whole.stages[i].end_ns) << i;
    }
    EXPECT_EQ(sequence.next_query_seq, whole_sequence.next_query_seq);
    EXPECT_EQ(generator.published_queries(), whole.plan.query_count());
  }
}

TEST(LoadPlanGenerator, StreamsOnlyLongPlansWithoutAccuracySampling) {
  const schedule::LoadableSet set = LoadedSet(64);
  schedule::SequenceState sequence;
  LoadModel small = EveryKind();
  const settings::EffectiveSettings settings = PlanSettings();
  EXPECT_FALSE(LoadPlanGenerator(small, settings, set, sequence).ShouldStream(1 << 20));
  LoadModel long_run;
  long_run.stages.push_back(Open(ArrivalKind::kConstantRate, 100'000, 600'000'000'000));
  LoadPlanGenerator generator(long_run, settings, set, sequence);
  EXPECT_EQ(generator.query_bound(), 60'000'002u);  // 100k/s for 600 s, and 2 to spare
  EXPECT_TRUE(generator.ShouldStream(1 << 20));
  settings::EffectiveSettings sampled = settings;
  sampled.accuracy_log_probability = 0.1;
  EXPECT_FALSE(LoadPlanGenerator(long_run, sampled, set, sequence).ShouldStream(1 << 20));
}

// Waits (without asserting any duration) until `done`, for at most a minute.
template <typename Done>
bool Eventually(Done done) {
  for (int i = 0; i < 60000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return done();
}

TEST(LoadPlanGenerator, AStreamedPlanStaysABoundedNumberOfQueriesAheadOfTheIssuer) {
  // 600 s at 100k queries/s: 60M queries, 960 MB materialised.
  LoadModel model;
  model.stages.push_back(Open(ArrivalKind::kGamma, 100'000, 600'000'000'000));
  const settings::EffectiveSettings settings = PlanSettings();
  const schedule::LoadableSet set = LoadedSet(64);
  schedule::SequenceState sequence;
  LoadPlanGenerator generator(model, settings, set, sequence);
  ASSERT_TRUE(generator.ShouldStream(1 << 20));
  generator.PrepareForStreaming();
  const schedule::SeriesPlan& plan = generator.load().plan;
  // The arrays are reserved (address space) once and never move; only what is generated is
  // written.
  const int64_t* storage = plan.scheduled_delta_ns.data();
  std::atomic<uint64_t> issued{0};
  constexpr uint64_t kMostAhead = PlanStreamer::kLead + PlanStreamer::kStep;
  {
    PlanStreamer streamer(generator, [&] { return issued.load(); }, [](const std::string&) {});
    for (uint64_t target : {uint64_t{0}, 3 * PlanStreamer::kStep, 5 * PlanStreamer::kLead}) {
      issued.store(target);
      // Generation runs until it is kLead ahead, then waits for the issuer.
      ASSERT_TRUE(
          Eventually([&] { return generator.published_queries() > target + PlanStreamer::kLead; }));
      for (int check = 0; check < 20; ++check) {
        EXPECT_LE(generator.published_queries(), target + kMostAhead);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      EXPECT_LE(plan.query_count(), target + kMostAhead);
    }
    streamer.Stop();
  }
  EXPECT_EQ(plan.scheduled_delta_ns.data(), storage);
  EXPECT_FALSE(generator.complete());
  EXPECT_LE(plan.query_count(), 5 * PlanStreamer::kLead + kMostAhead);
  // Abandoned: the stage ends where generation stopped.
  generator.Truncate();
  EXPECT_EQ(generator.load().stages[0].end_query, plan.query_count());
}

// Completes every query inside IssueQuery and records the samples in issue order.
class InlineSut : public mlperf::SystemUnderTest {
 public:
  explicit InlineSut(record::ActiveSeries* active) : active_(active) {}
  const std::string& Name() override { return name_; }
  void IssueQuery(const std::vector<mlperf::QuerySample>& samples) override {
    for (const mlperf::QuerySample& s : samples) {
      indices.push_back(static_cast<uint32_t>(s.index));
      mlperf::QuerySampleResponse r{s.id, 0, 0};
      active_->Complete(&r, 1, {});
    }
  }
  void FlushQueries() override {}
  std::vector<uint32_t> indices;

 private:
  record::ActiveSeries* active_;
  std::string name_ = "InlineSut";
};

using LoadPlanStreaming = test_harness::LoadModelSessionTest;

TEST_F(LoadPlanStreaming, ALongMultiStagePlanRunsStreamedWithThePlansSamples) {
  // 1.2M queries due within 0.3 s (more than the 2^20 that are generated before issuing),
  // then a closed loop of 1000: the stages after a streamed one start when it is generated.
  StageSpec closed;
  closed.kind = ArrivalKind::kConcurrency;
  closed.concurrency = 2;
  closed.queries = 1000;
  InlineSut sut(&h_.active);
  const session::TestOutcome out =
      Run(&sut, {Open(ArrivalKind::kConstantRate, 4'000'000, 300'000'000), closed});

  // The same plan generated in one go, from the effective settings the session used.
  Diagnostics diagnostics;
  const settings::EffectiveSettings e = settings::Normalize(settings_, 64, 64, &diagnostics);
  const auto sets = schedule::GenerateLoadableSets(e, e.performance_sample_count, 64);
  schedule::SequenceState sequence;
  LoadPlanGenerator check(model_, e, sets.front(), sequence);
  ASSERT_TRUE(check.ShouldStream(schedule::QueryGenerator::kStreamFromQueries));
  check.Finish();
  const schedule::SeriesPlan& plan = check.load().plan;
  ASSERT_EQ(plan.query_count(), 1'201'000u);
  EXPECT_EQ(sut.indices, plan.sample_index.ToVector());
  ASSERT_EQ(out.stages.size(), 2u);
  EXPECT_EQ(out.stages[0].queries_issued, 1'200'000u);
  EXPECT_EQ(out.stages[0].samples_completed, 1'200'000u);
  EXPECT_EQ(out.stages[1].queries_issued, 1000u);
  EXPECT_EQ(out.errors, 0u);
}

}  // namespace
}  // namespace loadgen
