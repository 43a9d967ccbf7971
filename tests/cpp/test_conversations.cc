// Multi-turn conversations (schedule/load_models/conversations.h, issue/conversation_issuer.h):
// the seeded start order and think times, the plan and what is refused before any load, and
// end to end in a Session: every turn issued only after the previous turn of its
// conversation was answered and its think time passed, latency counted from that moment, at
// most `users` conversations at once, and the per-conversation counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/errors.h"
#include "schedule/load_models/load_plan.h"
#include "session_harness.h"

namespace loadgen {
namespace {

using schedule::ArrivalKind;
using schedule::ConversationSet;
using schedule::StageSpec;
using test_harness::DelayedSut;
using test_harness::LoadedSet;
using test_harness::PlanSettings;

// Conversation c has `turns[c]` turns; its turn t is QSL sample 10 * c + t.
std::shared_ptr<ConversationSet> Conversations(const std::vector<uint64_t>& turns) {
  auto set = std::make_shared<ConversationSet>();
  set->first_turn.push_back(0);
  for (uint64_t c = 0; c < turns.size(); ++c) {
    for (uint64_t t = 0; t < turns[c]; ++t) set->turn_samples.push_back(10 * c + t);
    set->first_turn.push_back(set->turn_samples.size());
  }
  return set;
}

StageSpec ConversationStage(std::shared_ptr<ConversationSet> set, uint64_t users, int64_t think_ns,
                            uint64_t conversations = 0) {
  StageSpec s;
  s.kind = ArrivalKind::kConversations;
  s.conversations = std::move(set);
  s.concurrency = users;
  s.think_time_ns = think_ns;
  s.queries = conversations;
  return s;
}

TEST(ConversationSchedule, IsASeededShuffleWithThinkTimesPerTurn) {
  auto set = Conversations({3, 1, 2, 4, 2});
  schedule::Mt19937 a(7), b(7), c(8);
  const auto first = schedule::DrawConversationSchedule(*set, 2, 0, 500, false, a);
  const auto again = schedule::DrawConversationSchedule(*set, 2, 0, 500, false, b);
  const auto other = schedule::DrawConversationSchedule(*set, 2, 0, 500, false, c);
  EXPECT_EQ(first.order, again.order);
  std::vector<uint32_t> sorted = first.order;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<uint32_t>{0, 1, 2, 3, 4}));  // each conversation once
  EXPECT_NE(first.order, other.order);  // 5! orders: another seed gives another one
  ASSERT_EQ(first.total_turns(), 12u);
  for (size_t p = 0; p < first.order.size(); ++p) {
    const uint64_t begin = first.first_slot[p];
    EXPECT_EQ(first.first_slot[p + 1] - begin, set->turns(first.order[p]));
    EXPECT_EQ(first.think_ns[begin], 0);  // a first turn starts when its user is free
    for (uint64_t k = begin + 1; k < first.first_slot[p + 1]; ++k) {
      EXPECT_EQ(first.think_ns[k], 500);
    }
  }
  // Cut at a count: the first conversations of the same order.
  schedule::Mt19937 d(7);
  const auto cut = schedule::DrawConversationSchedule(*set, 2, 3, 500, false, d);
  EXPECT_EQ(cut.order, std::vector<uint32_t>(first.order.begin(), first.order.begin() + 3));
}

TEST(ConversationSchedule, ExponentialThinkTimesHaveTheirMean) {
  auto set = Conversations(std::vector<uint64_t>(2000, 11));  // 20000 drawn think times
  schedule::Mt19937 rng(3);
  const auto s = schedule::DrawConversationSchedule(*set, 1, 0, 1'000'000, true, rng);
  double sum = 0;
  uint64_t n = 0;
  for (size_t p = 0; p < s.order.size(); ++p) {
    for (uint64_t k = s.first_slot[p] + 1; k < s.first_slot[p + 1]; ++k, ++n) {
      sum += static_cast<double>(s.think_ns[k]);
    }
  }
  ASSERT_EQ(n, 20000u);
  // The mean of 20000 exponential draws is within 3% of 1 ms with probability > 0.99999.
  EXPECT_NEAR(sum / static_cast<double>(n), 1e6, 3e4);
}

TEST(ConversationPlan, HoldsTheTurnsInStartOrderAndRefusesWhatCannotRun) {
  auto set = Conversations({2, 3, 1});
  schedule::LoadModel model;
  model.stages.push_back(ConversationStage(set, 2, 1000));
  schedule::SequenceState sequence;
  const schedule::LoadPlan load =
      schedule::GenerateLoadPlan(model, PlanSettings(), LoadedSet(64), sequence);
  ASSERT_EQ(load.stages.size(), 1u);
  const schedule::StagePlan& stage = load.stages[0];
  ASSERT_TRUE(stage.conversations);
  EXPECT_TRUE(stage.closed_loop());
  EXPECT_EQ(load.plan.query_count(), 6u);
  std::vector<uint32_t> expected;
  for (uint32_t c : stage.conversations->order) {
    for (uint64_t t = 0; t < set->turns(c); ++t) expected.push_back(set->sample(c, t));
  }
  EXPECT_EQ(load.plan.sample_index, expected);

  auto refused = [&](StageSpec spec, const schedule::LoadableSet& loaded, const std::string& why) {
    schedule::LoadModel m;
    m.stages.push_back(std::move(spec));
    schedule::SequenceState seq;
    try {
      schedule::GenerateLoadPlan(m, PlanSettings(), loaded, seq);
      ADD_FAILURE() << "not refused: " << why;
    } catch (const SettingsError& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  };
  refused(ConversationStage(set, 0, 0), LoadedSet(64), "users must be at least 1");
  refused(ConversationStage(set, 1, -1), LoadedSet(64), "think time is negative");
  refused(ConversationStage(set, 1, 0, 4), LoadedSet(64), "only 3");
  refused(ConversationStage(std::make_shared<ConversationSet>(), 1, 0), LoadedSet(64),
          "no conversations");
  // Sample 20 (conversation 2's first turn) is not loaded.
  refused(ConversationStage(set, 1, 0), LoadedSet(15), "is sample 20, which is not in the loaded");
}

// Conversation c's turn t is sample 10 * c + t: a QSL of 100 samples.
class ConversationSessionTest : public test_harness::LoadModelSessionTest {
 protected:
  ConversationSessionTest() : LoadModelSessionTest(100) {}

  // The order the session's plan starts conversations in (the same seeds as the run).
  std::vector<uint32_t> PlannedOrder(const std::vector<StageSpec>& stages) {
    schedule::LoadModel model;
    model.stages = stages;
    Diagnostics diagnostics;
    const settings::EffectiveSettings e = settings::Normalize(settings_, 100, 100, &diagnostics);
    const auto sets = schedule::GenerateLoadableSets(e, e.performance_sample_count, 100);
    schedule::SequenceState sequence;
    return schedule::GenerateLoadPlan(model, e, sets.front(), sequence)
        .stages[0]
        .conversations->order;
  }
};

TEST_F(ConversationSessionTest, OneUserIssuesThePlannedTurnsInOrderAfterEachAnswerAndThink) {
  auto set = Conversations({3, 2, 4, 1});
  const int64_t think = 20'000'000;
  const std::vector<StageSpec> stages = {ConversationStage(set, 1, think)};
  const std::vector<uint32_t> order = PlannedOrder(stages);
  DelayedSut sut(&h_.active, std::chrono::microseconds(1000));
  const session::TestOutcome out = Run(&sut, stages);

  std::vector<size_t> expected;
  for (uint32_t c : order) {
    for (uint64_t t = 0; t < set->turns(c); ++t) expected.push_back(set->sample(c, t));
  }
  EXPECT_EQ(sut.IssuedIndices(), expected);  // exactly: which samples, in which order
  EXPECT_EQ(sut.max_in_flight, 1);
  // Turn k+1 of a conversation leaves at least the think time after turn k's answer; the
  // first turn of the next conversation follows the previous conversation's last answer.
  for (size_t i = 1; i < sut.issued.size(); ++i) {
    const size_t previous = sut.issued[i - 1].index;
    const bool same_conversation = previous / 10 == sut.issued[i].index / 10;
    EXPECT_GE(sut.issued[i].ns - sut.answered_ns[previous], same_conversation ? think : 0)
        << "sample " << sut.issued[i].index;
  }
  ASSERT_EQ(out.stages.size(), 1u);
  EXPECT_EQ(out.stages[0].kind, "conversations");
  EXPECT_EQ(out.stages[0].queries_issued, 10u);
  EXPECT_EQ(out.stages[0].samples_completed, 10u);
  EXPECT_EQ(out.stages[0].conversations_planned, 4u);
  EXPECT_EQ(out.stages[0].conversations_started, 4u);
  EXPECT_EQ(out.stages[0].conversations_completed, 4u);
  // Latency counts from the answer plus the think time, not from the previous issue: about
  // the SUT's 1 ms. From the previous issue, the 6 later turns would each count 22 ms or
  // more, a mean above 13 ms.
  EXPECT_LT(out.stages[0].latency_mean_ns, think / 2);
  EXPECT_EQ(out.errors, 0u);
}

TEST_F(ConversationSessionTest, ManyUsersRunThatManyConversationsAtOnceEachInTurnOrder) {
  std::vector<uint64_t> turns;
  for (int c = 0; c < 9; ++c) turns.push_back(1 + c % 4);  // 1..4 turns, 21 in all
  auto set = Conversations(turns);
  const int64_t think = 2'000'000;
  const std::vector<StageSpec> stages = {ConversationStage(set, 3, think)};
  const std::vector<uint32_t> order = PlannedOrder(stages);
  DelayedSut sut(&h_.active, std::chrono::microseconds(1500));
  const session::TestOutcome out = Run(&sut, stages);

  std::string all;
  for (const auto& e : sut.issued) all += std::to_string(e.index) + " ";
  ASSERT_EQ(sut.issued.size(), 21u) << all;
  std::vector<uint32_t> started;  // conversations in the order of their first turns
  std::map<size_t, int64_t> issued_at;
  for (const auto& e : sut.issued) {
    issued_at[e.index] = e.ns;
    const size_t c = e.index / 10, t = e.index % 10;
    if (t == 0) {
      started.push_back(static_cast<uint32_t>(c));
    } else {
      // The previous turn of the conversation was issued, answered, and thought about.
      ASSERT_TRUE(sut.answered_ns.count(e.index - 1)) << e.index;
      EXPECT_GE(e.ns - sut.answered_ns[e.index - 1], think) << "sample " << e.index;
    }
  }
  EXPECT_EQ(started, order);        // conversations start in the seeded order
  EXPECT_EQ(sut.max_in_flight, 3);  // three users: reached, never exceeded
  // At most three conversations between their first issue and their last answer at once.
  for (const auto& e : sut.issued) {
    int open = 0;
    for (uint32_t c = 0; c < turns.size(); ++c) {
      const int64_t first = issued_at[10 * c];
      const int64_t last = sut.answered_ns[10 * c + turns[c] - 1];
      open += first <= e.ns && e.ns < last ? 1 : 0;
    }
    EXPECT_LE(open, 3) << "at sample " << e.index;
  }
  ASSERT_EQ(out.stages.size(), 1u);
  EXPECT_EQ(out.stages[0].conversations_started, 9u);
  EXPECT_EQ(out.stages[0].conversations_completed, 9u);
  EXPECT_EQ(out.stages[0].samples_completed, 21u);
  EXPECT_EQ(out.errors, 0u);
}

TEST_F(ConversationSessionTest, ADurationCutsTheConversationsThatAreStillRunning) {
  auto set = Conversations(std::vector<uint64_t>(8, 5));
  StageSpec stage = ConversationStage(set, 2, 20'000'000);  // 5 turns, 20 ms apart
  stage.duration_ns = 50'000'000;                           // time for about 3 turns per user
  DelayedSut sut(&h_.active, std::chrono::microseconds(500));
  const session::TestOutcome out = Run(&sut, {stage});
  ASSERT_EQ(out.stages.size(), 1u);
  EXPECT_EQ(out.stages[0].conversations_started, 2u);
  EXPECT_EQ(out.stages[0].conversations_completed, 0u);
  EXPECT_GE(out.stages[0].queries_issued, 2u);
  EXPECT_LE(out.stages[0].queries_issued, 8u);  // 3 turns each by 40 ms + delays, not 5
  for (const auto& e : sut.issued) EXPECT_LT(e.index % 10, 4u);
}

}  // namespace
}  // namespace loadgen
