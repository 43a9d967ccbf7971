// selfcheck: did the generator, not the SUT, limit a performance series? (docs/self-check.md)
// Gathers what the issuing threads measured about themselves (issue/issue_check.h), the
// outstanding samples over time from the recorder, the CPU time of loadgen's other threads
// (the log pump, an endpoint client's I/O thread) and the client's connection waits, and
// applies the rule. Runs on the StartTest thread after a series has drained.
#ifndef LOADGEN_SELFCHECK_GENERATOR_CHECK_H_
#define LOADGEN_SELFCHECK_GENERATOR_CHECK_H_

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "issue/issue_check.h"
#include "loadgen/self_check.h"
#include "record/series_recorder.h"

namespace loadgen::selfcheck {

struct OutstandingPoint {
  double time_s = 0;     // since the series start
  uint64_t samples = 0;  // issued and not completed at that moment
};

struct GeneratorCheck {
  // Schedule keeping (queries with a scheduled moment).
  uint64_t timed_queries = 0;
  int64_t lateness_mean_ns = 0;
  int64_t lateness_p50_ns = 0;
  int64_t lateness_p90_ns = 0;
  int64_t lateness_p99_ns = 0;
  int64_t lateness_max_ns = 0;
  int64_t mean_interarrival_ns = 0;
  int64_t lateness_bound_ns = 0;  // what lateness_p99_ns is held to
  // Closed loops: previous query done -> next issued.
  uint64_t reissue_count = 0;
  int64_t reissue_mean_ns = 0;
  int64_t reissue_max_ns = 0;
  // Threads.
  double series_duration_s = 0;
  uint64_t issue_threads = 0;
  double issue_cpu_share = 0;       // issuing threads' CPU / (their wall time x threads)
  double issue_callback_share = 0;  // time inside the SUT's IssueQuery, same denominator
  double log_thread_cpu_share = 0;  // over the series
  bool has_client = false;
  double client_io_cpu_share = 0;
  uint64_t client_queries = 0;
  uint64_t connection_waits = 0;
  int64_t connection_wait_mean_ns = 0;  // over all the client's queries
  int64_t connection_wait_max_ns = 0;
  // Outstanding samples.
  uint64_t max_outstanding = 0;
  std::vector<OutstandingPoint> outstanding;
  // Verdict.
  bool generator_limited = false;
  std::vector<std::string> reasons;  // "lateness", "client_io_cpu"
  /// Not part of the verdict: "client_connections" (queries queued for a connection long
  /// enough to matter: a capacity setting, max_connections, rather than a starved generator).
  std::vector<std::string> notes;
  std::string cause;  // flagged by lateness: "sut_issue_callback", "issue_thread_cpu", "scheduling"
};

/// What the session measured around one series.
struct SeriesMeasures {
  const issue::IssueCheck* issue = nullptr;
  const record::SeriesRecorder* recorder = nullptr;
  uint64_t queries = 0;  // queries [0, queries) may have been issued
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  int64_t log_thread_cpu_ns = 0;  // over the series
  bool has_client = false;
  ClientLoadFigures client;  // differences over the series
  int64_t mean_latency_ns = 0;
};

/// Figures and verdict of one series.
GeneratorCheck Evaluate(const SeriesMeasures& m);

/// Samples outstanding at `points` evenly spaced moments from `start_ns` to `end_ns`: one
/// pass over the recorder's arrays, no sorting.
std::vector<OutstandingPoint> OutstandingProfile(const record::SeriesRecorder& rec,
                                                 uint64_t queries, int64_t start_ns, int64_t end_ns,
                                                 int points);

/// The detail log's `loadgen_generator_check` value: one JSON object.
std::string ToJson(const GeneratorCheck& check);

/// CPU time of another thread of this process (pthread_getcpuclockid); 0 if unavailable.
int64_t ThreadCpuNs(std::thread::native_handle_type thread);

}  // namespace loadgen::selfcheck

#endif  // LOADGEN_SELFCHECK_GENERATOR_CHECK_H_
