// session: what a load model's series adds to a test: which queries are measured (warm-up and
// cool-down stages are not), the per-stage results, and their namespaced detail-log entries
// ("loadgen_load_stage", "loadgen_load_stage_result"; the official keys are unchanged).
#ifndef LOADGEN_SESSION_LOAD_STAGES_H_
#define LOADGEN_SESSION_LOAD_STAGES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "issue/load_issuer.h"
#include "logging/detail_log.h"
#include "record/series_recorder.h"
#include "results/performance_result.h"
#include "schedule/load_models/load_plan.h"

namespace loadgen::session {

/// One stage's outcome. Latencies (ns) count from each query's scheduled moment (open loop)
/// or its issue (closed loop); percentiles use the official rule (element floor(p * n)).
struct StageResult {
  std::string name;
  std::string kind;  // "constant_rate", "gamma", "concurrency", "trace", "conversations"
  bool measured = true;
  uint64_t concurrency = 0;
  uint64_t planned_queries = 0;
  uint64_t queries_issued = 0;
  uint64_t samples_completed = 0;
  double start_s = 0;        // first issue, from the series start
  double duration_s = 0;     // first issue to last completion
  double issued_qps = 0;     // issues per second between the first and the last issue
  double completed_qps = 0;  // completions per second over duration_s
  int64_t latency_min_ns = 0, latency_mean_ns = 0, latency_max_ns = 0;
  std::vector<std::pair<double, int64_t>> latency_percentiles_ns;  // (p, value)
  uint64_t gated_queries = 0;     // open loop with a cap: queries that waited for a slot
  int64_t gate_wait_mean_ns = 0;  // over the gated queries
  int64_t gate_wait_max_ns = 0;
  bool ran_out = false;        // a closed loop used its planned queries before its duration
  int64_t first_issue_ns = 0;  // clock time (common/clock.h) of its first issue; 0: none
  // Conversations (the stage's queries are its turns; `concurrency` is its users): planned,
  // started (first turn issued) and completed (every turn answered, failed answers included).
  uint64_t conversations_planned = 0;
  uint64_t conversations_started = 0;
  uint64_t conversations_completed = 0;
};

/// The percentiles StageResult reports.
inline constexpr double kStagePercentiles[] = {0.5, 0.9, 0.95, 0.99, 0.999};

/// Whether query q belongs to a measured stage.
bool IsMeasured(const schedule::LoadPlan& load, uint64_t q);

/// The measured stages' query count and final-query times (from the first measured query's
/// scheduled moment), for the Server-style summary of a load model's series.
void SetMeasuredWindow(const schedule::LoadPlan& load,
                       const std::vector<issue::StageIssueStats>& stats,
                       const record::SeriesRecorder& recorder, results::PerformanceResult* r);

std::vector<StageResult> SummarizeLoadStages(const record::SeriesRecorder& recorder,
                                             const schedule::LoadPlan& load,
                                             const std::vector<issue::StageIssueStats>& stats);

/// One "loadgen_load_stage" entry per stage: name, kind, measured, its sample sequence ids.
void LogLoadStages(logging::DetailLog& detail, const schedule::LoadPlan& load);
/// One "loadgen_load_stage_result" entry per stage.
void LogLoadStageResults(logging::DetailLog& detail, const std::vector<StageResult>& stages);

}  // namespace loadgen::session

#endif  // LOADGEN_SESSION_LOAD_STAGES_H_
