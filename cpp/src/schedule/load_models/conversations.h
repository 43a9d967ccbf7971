// schedule stage: the multi-turn conversation load model (docs/load-models.md, "Multi-turn
// conversations"). A conversation is a sequence of turns, each one QSL sample; `users`
// conversations run at once, and a conversation's next turn is due when its previous answer
// has arrived plus a think time. What can be fixed before the run is fixed here, from the
// seeds: the order in which conversations are started and every turn's think time. When each
// turn is due depends on the answers, so the issuer (issue/conversation_issuer.h) decides it.
#ifndef LOADGEN_SCHEDULE_LOAD_MODELS_CONVERSATIONS_H_
#define LOADGEN_SCHEDULE_LOAD_MODELS_CONVERSATIONS_H_

#include <cstdint>
#include <vector>

#include "schedule/random.h"

namespace loadgen::schedule {

/// The QSL's conversations: the QSL index of every turn, conversation after conversation.
/// Conversation c has turns [first_turn[c], first_turn[c + 1]).
struct ConversationSet {
  std::vector<uint32_t> turn_samples;
  std::vector<uint64_t> first_turn;  // count() + 1 entries
  uint64_t count() const { return first_turn.empty() ? 0 : first_turn.size() - 1; }
  uint64_t turns(uint64_t c) const { return first_turn[c + 1] - first_turn[c]; }
  uint32_t sample(uint64_t c, uint64_t turn) const { return turn_samples[first_turn[c] + turn]; }
};

/// One conversations stage's fixed part. Position i of `order` is the i-th conversation a
/// user starts; its turns take positions [first_slot[i], first_slot[i + 1]) of `think_ns`.
struct ConversationSchedule {
  std::vector<uint32_t> order;       // conversation ids, in the order they are started
  std::vector<uint64_t> first_slot;  // order.size() + 1 entries
  std::vector<int64_t> think_ns;     // think time before each turn (0 before a first turn)
  uint64_t users = 0;
  uint64_t total_turns() const { return first_slot.empty() ? 0 : first_slot.back(); }
};

/// Draws the order (a seeded shuffle of the conversations, cut at `conversations`; 0 = all)
/// and the think times: `think_time_ns` each, or exponentially distributed with that mean
/// when `exponential_think` (drawn in order position, then turn order). Pure: the same
/// inputs and generator state give the same schedule.
ConversationSchedule DrawConversationSchedule(const ConversationSet& set, uint64_t users,
                                              uint64_t conversations, int64_t think_time_ns,
                                              bool exponential_think, Mt19937& rng);

}  // namespace loadgen::schedule

#endif  // LOADGEN_SCHEDULE_LOAD_MODELS_CONVERSATIONS_H_
