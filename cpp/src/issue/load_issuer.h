// issue stage: issues a load model's plan (schedule/load_models/load_plan.h), stage by stage:
// open-loop stages as the Server scenario issues (sleep until each query's moment, latency
// from that moment), optionally gated by a concurrency cap; closed-loop stages with N queries
// in flight, the next issued the moment one completes (latency from the issue).
#ifndef LOADGEN_ISSUE_LOAD_ISSUER_H_
#define LOADGEN_ISSUE_LOAD_ISSUER_H_

#include <cstdint>
#include <vector>

#include "issue/issuer.h"
#include "schedule/load_models/load_plan.h"

namespace loadgen::issue {

/// What issuing measured per stage (index = stage).
struct StageIssueStats {
  uint64_t queries_issued = 0;
  int64_t first_issue_ns = 0;
  int64_t last_issue_ns = 0;
  /// Open loop with a cap: the queries that found no free slot when their turn came, and how
  /// long after their scheduled moment they were issued.
  uint64_t gated_queries = 0;
  int64_t gate_wait_total_ns = 0;
  int64_t gate_wait_max_ns = 0;
  /// A closed loop bounded by a duration that used up its planned queries first.
  bool ran_out = false;
  /// Conversations: those started (first turn issued), and for each issued slot of the
  /// stage, its conversation's position in the start order (issue/conversation_issuer.h).
  uint64_t conversations_started = 0;
  std::vector<uint32_t> slot_conversation;
};

/// Issues every stage of `plan` on the calling thread. `plan` must be the plan the recorder of
/// `params` reads: a closed loop's (and what follows a count-bounded closed loop) scheduled
/// offsets are rewritten to when they were issued, before the query reaches the SUT.
/// `stats` is sized to the stages. SUT exceptions propagate.
void IssueLoadPlan(const IssueParams& params, IssueShared& shared, schedule::LoadPlan& plan,
                   std::vector<StageIssueStats>& stats);

}  // namespace loadgen::issue

#endif  // LOADGEN_ISSUE_LOAD_ISSUER_H_
