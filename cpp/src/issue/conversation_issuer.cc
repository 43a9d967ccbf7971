#include "issue/conversation_issuer.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <vector>

#include "common/clock.h"
#include "issue/issuer.h"

namespace loadgen::issue {
namespace {

constexpr uint64_t kNone = std::numeric_limits<uint64_t>::max();
// Closer than this to a turn's moment, the issuer sleeps (and spins) to it instead of
// waiting for completions: a completion in that window is seen right after the issue.
constexpr int64_t kSleepWindowNs = 200'000;
constexpr int64_t kPollNs = 5'000'000;

struct User {
  // The conversation's position in the schedule's order; kNone: the user takes the next one
  // when it issues (so conversations start in order even when users free up out of order).
  uint64_t position = kNone;
  uint64_t turn = 0;
  uint64_t slot = kNone;  // the plan slot of the turn in flight
  int64_t due_ns = 0;     // when the next turn may be issued (valid when none is in flight)
  bool retired = false;   // no conversation left to start
};

}  // namespace

StageEnd IssueConversationStage(const schedule::StagePlan& stage, schedule::SeriesPlan& plan,
                                record::SeriesRecorder& rec, const std::atomic<bool>& abort,
                                int64_t series_start_ns, int64_t begin_ns, int64_t end_ns,
                                StageIssueStats& st, QuerySender& sender) {
  const schedule::ConversationSchedule& schedule = *stage.conversations;
  const schedule::ConversationSet& set = *stage.conversation_set;
  const uint64_t total = schedule.order.size();
  st.slot_conversation.reserve(stage.end_query - stage.first_query);
  std::vector<User> users(schedule.users);
  uint64_t next_position = 0;
  for (User& u : users) u.due_ns = begin_ns;
  uint64_t next_slot = stage.first_query;
  uint64_t in_flight = 0;

  while (true) {
    if (abort.load(std::memory_order_relaxed)) return StageEnd::kAborted;
    // Answers that arrived: the conversation's next turn is due after its think time; a
    // finished conversation frees its user for the next one at once.
    for (User& u : users) {
      if (u.slot == kNone || !rec.SampleCompleted(u.slot)) continue;
      const int64_t answered = rec.query_done_ns(u.slot);
      u.slot = kNone;
      --in_flight;
      ++u.turn;
      const uint32_t conversation = schedule.order[u.position];
      if (u.turn < set.turns(conversation)) {
        u.due_ns = answered + schedule.think_ns[schedule.first_slot[u.position] + u.turn];
      } else {
        u.turn = 0;
        u.position = kNone;
        u.due_ns = answered;
      }
    }
    // The user whose turn is due first (ties: the lower user).
    User* next = nullptr;
    for (User& u : users) {
      if (u.retired || u.slot != kNone) continue;
      if (u.position == kNone && next_position == total) {
        u.retired = true;
        continue;
      }
      if (next == nullptr || u.due_ns < next->due_ns) next = &u;
    }
    if (next == nullptr && in_flight == 0) return StageEnd::kDone;
    int64_t now = NowNs();
    if (now >= end_ns || (next != nullptr && next->due_ns >= end_ns && in_flight == 0)) {
      return StageEnd::kTimeUp;
    }
    if (next == nullptr || now < next->due_ns - kSleepWindowNs) {
      // Wait for an answer or for the next turn's moment, whichever comes first.
      const uint64_t seen = rec.completed_samples();
      const int64_t until =
          std::min(next != nullptr ? next->due_ns - kSleepWindowNs : end_ns, end_ns);
      if (in_flight > 0) rec.NotifyAtCompletedSamples(seen + 1);
      const auto poll = std::chrono::nanoseconds(std::clamp<int64_t>(until - now, 1, kPollNs));
      rec.progress().WaitUntil(
          [&] {
            return rec.completed_samples() != seen || abort.load(std::memory_order_relaxed) ||
                   NowNs() >= until;
          },
          poll);
      continue;
    }
    if (now < next->due_ns) now = SleepUntil(next->due_ns, &abort);
    if (abort.load(std::memory_order_relaxed)) return StageEnd::kAborted;

    if (next->position == kNone) next->position = next_position++;
    const uint64_t slot = next_slot++;
    const uint32_t conversation = schedule.order[next->position];
    plan.sample_index[slot] = set.sample(conversation, next->turn);
    plan.scheduled_delta_ns[slot] = next->due_ns - series_start_ns;  // read at completion
    st.slot_conversation.push_back(static_cast<uint32_t>(next->position));
    if (next->turn == 0) ++st.conversations_started;
    next->slot = slot;
    ++in_flight;
    if (!sender.Send(slot, next->due_ns, now)) return StageEnd::kStopped;
  }
}

}  // namespace loadgen::issue
