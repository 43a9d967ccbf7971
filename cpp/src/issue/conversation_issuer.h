// issue stage: a conversations stage of a load plan (schedule/load_models/conversations.h).
// Each user runs one conversation at a time; a turn is issued once the previous turn of its
// conversation has been answered and its think time has passed, and its latency counts from
// that moment (the answer plus the think time), not from its issue. Plan slots are filled in
// issue order: slot k of the stage is the k-th turn issued, whatever its conversation.
#ifndef LOADGEN_ISSUE_CONVERSATION_ISSUER_H_
#define LOADGEN_ISSUE_CONVERSATION_ISSUER_H_

#include <atomic>
#include <cstdint>

#include "issue/load_issuer.h"
#include "record/series_recorder.h"
#include "schedule/load_models/load_plan.h"

namespace loadgen::issue {

/// What the stage loop needs from the load issuer: sends query `idx` (marks it issued, calls
/// the SUT); returns false when the series must stop (max query count or duration).
class QuerySender {
 public:
  virtual bool Send(uint64_t idx, int64_t scheduled_ns, int64_t now_ns) = 0;

 protected:
  ~QuerySender() = default;
};

enum class StageEnd { kDone, kTimeUp, kAborted, kStopped };

/// Issues the conversations of `stage`, starting at `begin_ns` (absolute) and issuing nothing
/// at or after `end_ns` (absolute; INT64_MAX: no time limit). Writes each issued slot's
/// sample and scheduled offset (from `series_start_ns`) into `plan` before sending it, and
/// the conversation of each slot into `stats.slot_conversation`.
StageEnd IssueConversationStage(const schedule::StagePlan& stage, schedule::SeriesPlan& plan,
                                record::SeriesRecorder& recorder, const std::atomic<bool>& abort,
                                int64_t series_start_ns, int64_t begin_ns, int64_t end_ns,
                                StageIssueStats& stats, QuerySender& sender);

}  // namespace loadgen::issue

#endif  // LOADGEN_ISSUE_CONVERSATION_ISSUER_H_
