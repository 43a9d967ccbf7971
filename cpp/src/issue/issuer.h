// issue stage: turns one series' plan into IssueQuery calls at the right moments
// (docs/official-behaviour.md#issue): closed loop for SingleStream/MultiStream, the Poisson
// schedule for Server, one query for Offline. Owns no global state; one call per series (per
// thread).
#ifndef LOADGEN_ISSUE_ISSUER_H_
#define LOADGEN_ISSUE_ISSUER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "common/diagnostic.h"
#include "common/thread_annotations.h"
#include "issue/issue_check.h"
#include "record/series_recorder.h"
#include "settings/effective_settings.h"
#include "system_under_test.h"

namespace loadgen::schedule {
class LoadPlanGenerator;  // schedule/load_models/load_plan.h
}  // namespace loadgen::schedule

namespace loadgen::issue {

/// Shared by every thread issuing one series.
struct IssueShared {
  int64_t start_ns = 0;
  std::atomic<bool>* abort = nullptr;  // set by AbortTest or a failing callback
  /// Set when a decision policy has seen enough (Session::EndSeriesDecided): issuing stops
  /// as at a natural end, and the issued samples still complete. Null: never (accuracy).
  const std::atomic<bool>* decided = nullptr;
  common::Mutex mu;
  // The totals: each issuing thread adds its own under `mu` as it returns; the session reads
  // them only after every issuing thread has returned (not expressible as an annotation).
  uint64_t queries_issued = 0;
  uint64_t samples_issued = 0;
  uint64_t last_query = 0;  // highest issued query index
  bool any_issued = false;
  bool ran_out = false;
  bool aborted = false;
  /// The self-check figures of every issuing thread (issue_check.h), merged like the totals.
  IssueCheck check;
  // Multi-thread Server max_async accounting, read while the threads issue.
  uint64_t global_issued LOADGEN_GUARDED_BY(mu) = 0;
};

struct IssueParams {
  const settings::EffectiveSettings* settings = nullptr;
  mlperf::TestMode series_mode = mlperf::TestMode::PerformanceOnly;
  mlperf::SystemUnderTest* sut = nullptr;
  record::SeriesRecorder* recorder = nullptr;
  /// Set when the plan is streamed: queries are issued as they are generated.
  const schedule::QueryGenerator* generator = nullptr;
  /// The same for a streamed load plan (IssueLoadPlan).
  const schedule::LoadPlanGenerator* load_generator = nullptr;
  /// Receives the loop's detail-log messages ("Ending naturally...", early-end errors).
  std::function<void(const Diagnostic&, int64_t time_ns)> log;
};

/// Issues queries thread_idx, thread_idx + stride, ... of the series. Exceptions thrown by the
/// SUT propagate (the caller aborts the test).
void IssueQueries(const IssueParams& params, IssueShared& shared, uint64_t thread_idx,
                  uint64_t stride);

/// Sleeps until `deadline_ns` (loadgen::NowNs clock), then spins for the last stretch so the
/// issue lag stays in microseconds. Returns the time it woke at.
int64_t SleepUntil(int64_t deadline_ns, const std::atomic<bool>* abort);

}  // namespace loadgen::issue

#endif  // LOADGEN_ISSUE_ISSUER_H_
