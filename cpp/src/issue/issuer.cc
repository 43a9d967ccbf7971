#include "issue/issuer.h"

#include <cstdint>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "issue/lent_batch.h"
#include "issue/timer_slack.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LOADGEN_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define LOADGEN_CPU_RELAX() asm volatile("yield")
#else
#define LOADGEN_CPU_RELAX() ((void)0)
#endif

namespace loadgen::issue {
namespace {

using mlperf::TestMode;
using mlperf::TestScenario;

// Sleeping is only precise to tens of microseconds; the last stretch is spun.
constexpr int64_t kSpinWindowNs = 120000;

Diagnostic Message(Severity severity, const char* key, std::string text) {
  Diagnostic d;
  d.severity = severity;
  d.key = key;
  d.message = std::move(text);
  d.file = "issue_query_controller.cc";
  return d;
}

uint64_t ThreadShare(uint64_t total, uint64_t thread_idx, uint64_t stride) {
  return total / stride + (thread_idx < total % stride ? 1 : 0);
}

}  // namespace

int64_t SleepUntil(int64_t deadline_ns, const std::atomic<bool>* abort) {
  int64_t now = NowNs();
  while (deadline_ns - now > kSpinWindowNs) {
    // Sleep in bounded steps so an abort is noticed within a few milliseconds.
    int64_t step = std::min<int64_t>(deadline_ns - now - kSpinWindowNs, 5000000);
    std::this_thread::sleep_for(std::chrono::nanoseconds(step));
    now = NowNs();
    if (abort && abort->load(std::memory_order_relaxed)) return now;
  }
  while (now < deadline_ns) {
    LOADGEN_CPU_RELAX();
    now = NowNs();
  }
  return now;
}

void IssueQueries(const IssueParams& params, IssueShared& shared, uint64_t thread_idx,
                  uint64_t stride) {
  const settings::EffectiveSettings& s = *params.settings;
  record::SeriesRecorder& rec = *params.recorder;
  const schedule::SeriesPlan& plan = rec.plan();
  const TestScenario scenario = s.scenario;
  const bool accuracy = params.series_mode == TestMode::AccuracyOnly;
  const bool coalesce = scenario == TestScenario::Server && s.server_coalesce_queries;
  const uint64_t spq = plan.samples_per_query;
  // A streamed plan's size changes under the generating thread: read only once complete.
  const uint64_t query_count = params.generator ? 0 : plan.query_count();
  const uint64_t min_queries = ThreadShare(s.min_query_count, thread_idx, stride);
  const uint64_t max_queries = ThreadShare(s.max_query_count, thread_idx, stride);
  const int64_t target_duration_ns = static_cast<int64_t>(s.target_duration_ms) * 1000000;
  const int64_t max_duration_ns = static_cast<int64_t>(s.max_duration_ms) * 1000000;
  const bool multi_thread = stride > 1;

  bool ran_out = scenario != TestScenario::Server;
  uint64_t issued = 0;
  uint64_t samples = 0;
  uint64_t last_query = 0;
  int64_t last_issue_ns = 0;
  bool any = false;
  bool aborted = false;
  const int64_t start = shared.start_ns;
  IssueCheck check;
  const IssueThreadClock thread_clock;

  const ScopedTimerSlack precise_sleep(scenario == TestScenario::Server);
  // Shared so an adapter may keep a batch beyond its call (lent_batch.h); then the next query
  // gets a new vector.
  const size_t batch_capacity = scenario == TestScenario::Offline ? plan.sample_count() : spq + 16;
  SharedBatch batch_owner = std::make_shared<std::vector<mlperf::QuerySample>>();
  batch_owner->reserve(batch_capacity);

  auto log = [&](Severity sev, const char* key, std::string text) {
    if (params.log) params.log(Message(sev, key, std::move(text)), NowNs());
  };

  // The series' stop rules as bounds the loop compares against once per query.
  const uint64_t issue_limit = s.max_query_count != 0 ? max_queries : UINT64_MAX;
  const int64_t duration_limit = s.max_duration_ms != 0 ? max_duration_ns : INT64_MAX;
  const bool timed = scenario == TestScenario::Server;
  const uint64_t max_async = s.max_async_queries;
  // A timed (Server) loop reads the clock at the top of every query: that read also ends the
  // previous SUT call, so the self-check's callback time costs no clock read of its own.
  bool call_open = false;
  // Read once: the SUT call between two reads would make the compiler load them again.
  const std::atomic<bool>& abort = *shared.abort;
  const std::atomic<bool>* const decided = shared.decided;

  const schedule::QueryGenerator* generator = params.generator;
  uint64_t available = generator ? generator->published_queries() : query_count;
  for (uint64_t idx = thread_idx;; idx += stride) {
    if (idx >= available) {
      if (generator == nullptr) break;
      // A streamed plan: the generating thread is normally far ahead of the schedule.
      available = generator->WaitFor(idx, [&] { return abort.load(std::memory_order_relaxed); });
      if (idx >= available && !abort.load(std::memory_order_relaxed)) break;
    }
    if (abort.load(std::memory_order_relaxed)) {
      aborted = true;
      break;
    }
    if (decided != nullptr && decided->load(std::memory_order_relaxed)) {
      ran_out = false;  // an intended end: the session logs why (loadgen_series_decided)
      break;
    }
    // Wait for this query's moment (docs/official-behaviour.md#issue-pacing).
    int64_t scheduled;
    int64_t now;
    if (timed) {
      scheduled = start + plan.scheduled_delta_ns[idx];
      now = NowNs();
      if (call_open) check.callback_ns += now - last_issue_ns;
      call_open = false;
      if (now < scheduled) now = SleepUntil(scheduled, &abort);
      if (abort.load(std::memory_order_relaxed)) {
        aborted = true;
        break;
      }
    } else if (scenario == TestScenario::Offline) {
      scheduled = start;
      now = NowNs();
    } else {
      if (any) {
        const uint64_t prev = last_query;
        rec.progress().WaitUntil(
            [&] { return rec.QueryDone(prev) || abort.load(std::memory_order_relaxed); });
        if (abort.load(std::memory_order_relaxed)) {
          aborted = true;
          break;
        }
      }
      now = NowNs();
      scheduled = now;
      if (any) check.AddReissueGap(now - rec.query_done_ns(last_query));  // loadgen's reaction
    }

    if (batch_owner.use_count() > 1) {  // the SUT kept the previous batch
      batch_owner = std::make_shared<std::vector<mlperf::QuerySample>>();
      batch_owner->reserve(batch_capacity);
    }
    std::vector<mlperf::QuerySample>& batch = *batch_owner;
    batch.clear();
    uint64_t per_iter = 1;
    rec.MarkIssued(idx, scheduled, now);
    if (timed) check.AddLateness(now - scheduled);
    for (uint64_t j = 0; j < spq; ++j) {
      const uint64_t local = idx * spq + j;
      batch.push_back({rec.ResponseIdOf(local), plan.sample_index[local]});
    }
    // Server coalescing: overdue queries ride along, each keeping its own scheduled time.
    if (coalesce) {
      while (idx + stride < available && now >= start + plan.scheduled_delta_ns[idx + stride]) {
        idx += stride;
        ++per_iter;
        rec.MarkIssued(idx, start + plan.scheduled_delta_ns[idx], now);
        check.AddLateness(now - (start + plan.scheduled_delta_ns[idx]));
        batch.push_back({rec.ResponseIdOf(idx), plan.sample_index[idx]});
      }
    }
    last_query = idx;
    any = true;
    {
      const ScopedLentBatch lent(&batch_owner);
      params.sut->IssueQuery(batch);
    }
    // How long the SUT held this thread (self-check): untimed loops read the clock here.
    last_issue_ns = now;
    if (timed) {
      call_open = true;
    } else {
      check.callback_ns += NowNs() - now;
    }
    samples += batch.size();
    issued += per_iter;
    // Several issuing threads: only the outstanding profile (selfcheck/) sees their total.
    if (!multi_thread) check.SeeOutstanding(samples - rec.completed_samples());

    if (accuracy) continue;

    const int64_t duration = now - start;
    if (timed) {
      if (max_async != 0) {
        uint64_t total_issued = issued;
        if (multi_thread) {
          common::MutexLock lock(&shared.mu);
          shared.global_issued += per_iter;
          total_issued = shared.global_issued;
        }
        const uint64_t outstanding = total_issued - rec.completed_queries();
        if (outstanding > max_async) {
          log(Severity::kError, "error_runtime",
              "IssueQueryThread " + std::to_string(thread_idx) +
                  " Ending early: Too many outstanding queries. issued " +
                  std::to_string(total_issued) + " outstanding " + std::to_string(outstanding));
          ran_out = false;
          break;
        }
      }
    } else if (issued >= min_queries && duration >= target_duration_ns) {
      log(Severity::kInfo, "generic_message",
          "Ending naturally: Minimum query count and test duration met.");
      ran_out = false;
      break;
    }
    if (issued >= issue_limit) {
      log(Severity::kError, "error_runtime",
          "IssueQueryThread " + std::to_string(thread_idx) +
              " Ending early: Max query count reached. query_count " + std::to_string(issued));
      ran_out = false;
      break;
    }
    if (duration > duration_limit) {
      log(Severity::kError, "error_runtime",
          "IssueQueryThread " + std::to_string(thread_idx) +
              " Ending early: Max test duration reached. duration_ns " + std::to_string(duration));
      ran_out = false;
      break;
    }
  }

  if (call_open) check.callback_ns += NowNs() - last_issue_ns;
  if (timed && any) {
    // A thread's first query is thread_idx; Server moments only grow.
    check.NoteScheduledSpan(start + plan.scheduled_delta_ns[thread_idx],
                            start + plan.scheduled_delta_ns[last_query]);
  }
  thread_clock.Finish(&check);
  common::MutexLock lock(&shared.mu);
  shared.check.Merge(check);
  shared.ran_out |= ran_out && !aborted;
  shared.aborted |= aborted;
  shared.queries_issued += issued;
  shared.samples_issued += samples;
  if (any && (!shared.any_issued || last_query > shared.last_query)) shared.last_query = last_query;
  shared.any_issued |= any;
}

}  // namespace loadgen::issue
