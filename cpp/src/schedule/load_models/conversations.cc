#include "schedule/load_models/conversations.h"

#include <numeric>

namespace loadgen::schedule {

ConversationSchedule DrawConversationSchedule(const ConversationSet& set, uint64_t users,
                                              uint64_t conversations, int64_t think_time_ns,
                                              bool exponential_think, Mt19937& rng) {
  ConversationSchedule out;
  out.users = users;
  out.order.resize(set.count());
  std::iota(out.order.begin(), out.order.end(), 0u);
  Shuffle(out.order, rng);
  if (conversations != 0 && conversations < out.order.size()) out.order.resize(conversations);
  out.first_slot.reserve(out.order.size() + 1);
  out.first_slot.push_back(0);
  for (uint32_t c : out.order) out.first_slot.push_back(out.first_slot.back() + set.turns(c));
  out.think_ns.reserve(out.total_turns());
  const double mean_s = static_cast<double>(think_time_ns) / 1e9;
  for (uint32_t c : out.order) {
    out.think_ns.push_back(0);  // a conversation starts when its user is free
    for (uint64_t t = 1; t < set.turns(c); ++t) {
      if (exponential_think && think_time_ns > 0) {
        out.think_ns.push_back(SecondsToNs(Exponential(rng, 1.0 / mean_s)));
      } else {
        out.think_ns.push_back(think_time_ns);
      }
    }
  }
  return out;
}

}  // namespace loadgen::schedule
