#include "issue/load_issuer.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include "common/clock.h"
#include "issue/conversation_issuer.h"
#include "issue/issue_check.h"
#include "issue/lent_batch.h"
#include "issue/timer_slack.h"
#include "schedule/load_models/load_plan.h"

namespace loadgen::issue {
namespace {

Diagnostic Message(Severity severity, const char* key, std::string text) {
  Diagnostic d;
  d.severity = severity;
  d.key = key;
  d.message = std::move(text);
  d.file = "load_issuer.cc";
  return d;
}

constexpr int64_t kNoEnd = std::numeric_limits<int64_t>::max();

// The send step runs once per query; called from two places, the compiler would not inline it.
#if defined(__GNUC__)
#define LOADGEN_PER_QUERY inline __attribute__((always_inline))
#else
#define LOADGEN_PER_QUERY inline
#endif

// Sends one query of a load plan: the batch the SUT gets, the stage's counts, and the
// series' stop rules (max query count, max duration).
class LoadSender final : public QuerySender {
 public:
  LoadSender(const IssueParams& params, const schedule::SeriesPlan& plan, int64_t start)
      : params_(params),
        rec_(*params.recorder),
        sut_(params.sut),
        plan_(plan),
        issue_limit_(params.settings->max_query_count != 0 ? params.settings->max_query_count
                                                           : UINT64_MAX),
        duration_limit_ns_(params.settings->max_duration_ms != 0
                               ? static_cast<int64_t>(params.settings->max_duration_ms) * 1000000
                               : kNoEnd),
        start_(start) {
    batch_owner_ = std::make_shared<std::vector<mlperf::QuerySample>>();
    batch_owner_->reserve(16);
  }
  void SetStage(StageIssueStats* stats) { stats_ = stats; }

  // A conversation's turn: counted in its stage here, the SUT call timed on its own.
  bool Send(uint64_t idx, int64_t scheduled, int64_t now) override {
    StageIssueStats& st = *stats_;
    if (st.queries_issued == 0) st.first_issue_ns = now;
    st.last_issue_ns = now;
    ++st.queries_issued;
    const bool more = SendQuery(idx, scheduled, now);
    EndCall(NowNs());
    return more;
  }
  // Non-virtual, for the load issuer's own loop (inlined there: the issue path's cost). The
  // stage's counts are the loop's to keep (CountStage), and the SUT call stays open until the
  // caller's next clock read (EndCall): an open loop reads the clock for every query anyway.
  LOADGEN_PER_QUERY bool SendQuery(uint64_t idx, int64_t scheduled, int64_t now) {
    if (batch_owner_.use_count() > 1) {  // the SUT kept the previous batch (lent_batch.h)
      batch_owner_ = std::make_shared<std::vector<mlperf::QuerySample>>();
      batch_owner_->reserve(16);
    }
    std::vector<mlperf::QuerySample>& batch = *batch_owner_;
    batch.clear();
    rec_.MarkIssued(idx, scheduled, now);
    batch.push_back({rec_.ResponseIdOf(idx), plan_.sample_index[idx]});
    last_query = idx;
    any = true;
    {
      const ScopedLentBatch lent(&batch_owner_);
      sut_->IssueQuery(batch);
    }
    call_start_ns_ = now;
    call_open_ = true;
    ++issued;
    check.SeeOutstanding(issued - rec_.completed_samples());

    if (issued >= issue_limit_) {
      EndCall(NowNs());
      Log(Severity::kError, "error_runtime",
          "Ending early: Max query count reached. query_count " + std::to_string(issued));
      return false;
    }
    if (now - start_ > duration_limit_ns_) {
      EndCall(NowNs());
      Log(Severity::kError, "error_runtime",
          "Ending early: Max test duration reached. duration_ns " + std::to_string(now - start_));
      return false;
    }
    return true;
  }
  /// The last SUT call ended by `now` (self-check: how long the SUT held this thread).
  LOADGEN_PER_QUERY void EndCall(int64_t now) {
    if (call_open_) check.callback_ns += now - call_start_ns_;
    call_open_ = false;
  }
  /// Before a wait: the last SUT call's end is read now, not after the wait.
  void CloseCall() {
    if (call_open_) EndCall(NowNs());
  }
  /// Adds the queries [first, last] the loop sent in a stage to its counts.
  void CountStage(uint64_t first, uint64_t last) {
    StageIssueStats& st = *stats_;
    if (st.queries_issued == 0) st.first_issue_ns = rec_.issued_ns(first);
    st.last_issue_ns = rec_.issued_ns(last);
    st.queries_issued += last - first + 1;
  }

  void Log(Severity severity, const char* key, std::string text) const {
    if (params_.log) params_.log(Message(severity, key, std::move(text)), NowNs());
  }

  uint64_t issued = 0;  // queries (one sample each)
  uint64_t last_query = 0;
  bool any = false;
  IssueCheck check;  // the generator self-check's figures (docs/self-check.md)

 private:
  const IssueParams& params_;
  record::SeriesRecorder& rec_;
  mlperf::SystemUnderTest* const sut_;
  const schedule::SeriesPlan& plan_;
  // The series' stop rules as bounds, read once (the loop checks them after every query).
  const uint64_t issue_limit_;
  const int64_t duration_limit_ns_;
  const int64_t start_;
  StageIssueStats* stats_ = nullptr;
  SharedBatch batch_owner_;
  int64_t call_start_ns_ = 0;
  bool call_open_ = false;
};

}  // namespace

void IssueLoadPlan(const IssueParams& params, IssueShared& shared, schedule::LoadPlan& load,
                   std::vector<StageIssueStats>& stats) {
  record::SeriesRecorder& rec = *params.recorder;
  schedule::SeriesPlan& plan = load.plan;
  const std::atomic<bool>& abort = *shared.abort;
  const std::atomic<bool>* const decided = shared.decided;  // read once (see issuer.cc)
  const int64_t start = shared.start_ns;
  const ScopedTimerSlack precise_sleep(true);
  LoadSender sender(params, plan, start);
  const uint64_t& issued = sender.issued;
  const IssueThreadClock thread_clock;

  bool aborted = false;
  bool stopped = false;
  // How much later than planned the current stage started: non-zero only after a closed loop
  // bounded by a count, whose length is not known in advance.
  int64_t shift = 0;
  // Waits until fewer than `limit` queries are in flight (or `until`, or an abort). Returns
  // whether a slot is free.
  auto wait_for_slot = [&](uint64_t limit, int64_t until) {
    if (issued - rec.completed_samples() < limit) return true;
    if (issued - rec.NotifyAtCompletedSamples(issued - limit + 1) < limit) return true;
    const auto poll = std::chrono::milliseconds(5);
    rec.progress().WaitUntil(
        [&] {
          return issued - rec.completed_samples() < limit ||
                 abort.load(std::memory_order_relaxed) || (until != kNoEnd && NowNs() >= until);
        },
        poll);
    return issued - rec.completed_samples() < limit;
  };

  // A streamed plan (params.load_generator): stage si's fields are read once it has started,
  // its end once it is complete, and queries once published.
  const schedule::LoadPlanGenerator* streamed = params.load_generator;
  auto stop = [&] { return abort.load(std::memory_order_relaxed); };
  for (size_t si = 0; si < load.stages.size() && !stopped; ++si) {
    if (streamed != nullptr && !streamed->WaitForStage(si, stop)) {
      aborted = stop();
      break;
    }
    const schedule::StagePlan& stage = load.stages[si];
    StageIssueStats& st = stats[si];
    sender.SetStage(&st);
    // Whether stage si has query idx (false at its end, or on an abort).
    // Read once where they cannot change (the SUT call in between would reload them).
    const uint64_t planned_end = stage.end_query;  // a streamed stage's may still grow
    const uint64_t cap = stage.concurrency;
    auto has_query = [&](uint64_t idx) {
      if (streamed == nullptr) return idx < planned_end;
      while (true) {
        const uint64_t published = streamed->published_queries();  // before the stage count
        if (streamed->complete_stages() > si) return idx < stage.end_query;
        if (idx < published) return true;
        streamed->WaitFor(idx, stop);
        if (stop()) return false;
      }
    };
    if (si > 0 && load.stages[si - 1].closed_loop() && !load.stages[si - 1].ends_by_time) {
      shift = std::max(shift, NowNs() - start - stage.start_ns);
    }
    const bool closed = stage.closed_loop();
    const int64_t stage_end = stage.ends_by_time ? start + shift + stage.end_ns : kNoEnd;
    if (stage.kind == schedule::ArrivalKind::kConversations) {
      // The issuer fills in the stage's slots as it goes: the generator must be done with them.
      while (streamed != nullptr && streamed->complete_stages() <= si && !stop()) {
        streamed->WaitFor(streamed->published_queries(), stop);
      }
      const StageEnd end = IssueConversationStage(
          stage, plan, rec, abort, start, start + shift + stage.start_ns, stage_end, st, sender);
      if (end == StageEnd::kAborted) {
        aborted = true;
        break;
      }
      stopped = end == StageEnd::kStopped;
      if (stage.ends_by_time && !stopped && NowNs() < stage_end) SleepUntil(stage_end, &abort);
      continue;
    }
    uint64_t idx = stage.first_query;
    bool exhausted = false;  // every planned query of the stage was issued
    const uint64_t issued_before = issued;
    uint64_t last_timed = UINT64_MAX;  // the stage's last open-loop query that reached its moment
    for (;; ++idx) {
      if (!has_query(idx)) {
        if (stop()) {
          aborted = true;
        } else {
          exhausted = true;
        }
        break;
      }
      if (abort.load(std::memory_order_relaxed)) {
        aborted = true;
        break;
      }
      if (decided != nullptr && decided->load(std::memory_order_relaxed)) {
        stopped = true;  // decided: an intended end, logged by the session
        break;
      }
      int64_t scheduled;
      int64_t now;
      if (closed) {
        sender.CloseCall();
        if (!wait_for_slot(cap, stage_end)) {
          if (abort.load(std::memory_order_relaxed)) aborted = true;
          break;  // the stage's time is up
        }
        now = NowNs();
        if (now >= stage_end) break;
        scheduled = now;
        plan.scheduled_delta_ns[idx] = now - start;  // read by the recorder at completion
      } else {
        if (shift != 0) plan.scheduled_delta_ns[idx] += shift;
        scheduled = start + plan.scheduled_delta_ns[idx];
        now = NowNs();
        sender.EndCall(now);
        if (now < scheduled) now = SleepUntil(scheduled, &abort);
        if (abort.load(std::memory_order_relaxed)) {
          aborted = true;
          break;
        }
        // Before a cap's gate: waiting for a free slot is the cap working, not the issuer late.
        sender.check.AddLateness(now - scheduled);
        last_timed = idx;
        if (cap != 0 && issued - rec.completed_samples() >= cap) {
          // The cap gates: the query waits for a free slot; its latency still counts from its
          // scheduled moment.
          ++st.gated_queries;
          wait_for_slot(cap, kNoEnd);
          if (abort.load(std::memory_order_relaxed)) {
            aborted = true;
            break;
          }
          // The wait counts from the query's moment: queries behind a gated one wait too.
          now = NowNs();
          st.gate_wait_total_ns += now - scheduled;
          st.gate_wait_max_ns = std::max(st.gate_wait_max_ns, now - scheduled);
        }
      }
      if (!sender.SendQuery(idx, scheduled, now)) {
        stopped = true;
        break;
      }
    }
    sender.CloseCall();
    if (issued != issued_before) sender.CountStage(stage.first_query, sender.last_query);
    if (last_timed != UINT64_MAX) {
      // Open-loop moments only grow within a stage: its first and its last timed query.
      sender.check.NoteScheduledSpan(start + plan.scheduled_delta_ns[stage.first_query],
                                     start + plan.scheduled_delta_ns[last_timed]);
    }
    if (aborted) break;
    if (closed && stage.ends_by_time && exhausted && !stopped) {
      st.ran_out = true;
      sender.Log(Severity::kWarning, "warning_generic_message",
                 "Load stage " + std::to_string(si) + " ('" + stage.name + "') issued all of its " +
                     std::to_string(stage.end_query - stage.first_query) +
                     " planned queries before its duration ended; give it a larger query count");
    }
    // A closed loop bounded by time ends at its end even if it ran out early.
    if (closed && stage.ends_by_time && !stopped && NowNs() < stage_end) {
      SleepUntil(stage_end, &abort);
    }
  }
  rec.NotifyAtCompletedSamples(UINT64_MAX);

  sender.CloseCall();
  thread_clock.Finish(&sender.check);
  common::MutexLock lock(&shared.mu);
  shared.check.Merge(sender.check);
  shared.aborted |= aborted;
  shared.queries_issued += issued;
  shared.samples_issued += issued;
  if (sender.any && (!shared.any_issued || sender.last_query > shared.last_query)) {
    shared.last_query = sender.last_query;
  }
  shared.any_issued |= sender.any;
}

}  // namespace loadgen::issue
