#include "session/load_stages.h"

#include <algorithm>

#include "logging/format.h"

namespace loadgen::session {
namespace {

using logging::JsonValue;

const char* KindName(schedule::ArrivalKind kind) {
  switch (kind) {
    case schedule::ArrivalKind::kConstantRate:
      return "constant_rate";
    case schedule::ArrivalKind::kGamma:
      return "gamma";
    case schedule::ArrivalKind::kConcurrency:
      return "concurrency";
    case schedule::ArrivalKind::kTrace:
      return "trace";
    case schedule::ArrivalKind::kConversations:
      return "conversations";
  }
  return "";
}

// The last query a stage issued (stages issue their queries in order, from the first).
uint64_t LastIssued(const schedule::StagePlan& stage, const issue::StageIssueStats& st) {
  return stage.first_query + st.queries_issued - 1;
}

// Conversations whose every turn was issued and answered.
uint64_t CompletedConversations(const record::SeriesRecorder& recorder,
                                const schedule::StagePlan& stage,
                                const issue::StageIssueStats& st) {
  const schedule::ConversationSchedule& schedule = *stage.conversations;
  std::vector<uint64_t> answered(st.conversations_started, 0);
  for (uint64_t k = 0; k < st.slot_conversation.size(); ++k) {
    const uint32_t position = st.slot_conversation[k];
    if (recorder.SampleCompleted(stage.first_query + k) && position < answered.size()) {
      ++answered[position];
    }
  }
  uint64_t completed = 0;
  for (uint64_t p = 0; p < answered.size(); ++p) {
    const uint64_t turns = schedule.first_slot[p + 1] - schedule.first_slot[p];
    completed += answered[p] == turns ? 1 : 0;
  }
  return completed;
}

}  // namespace

bool IsMeasured(const schedule::LoadPlan& load, uint64_t q) {
  // The stage whose range holds q: the last one starting at or before it.
  auto it =
      std::upper_bound(load.stages.begin(), load.stages.end(), q,
                       [](uint64_t v, const schedule::StagePlan& s) { return v < s.first_query; });
  return it != load.stages.begin() && std::prev(it)->measured;
}

void SetMeasuredWindow(const schedule::LoadPlan& load,
                       const std::vector<issue::StageIssueStats>& stats,
                       const record::SeriesRecorder& recorder, results::PerformanceResult* r) {
  r->queries_issued = 0;
  bool any = false;
  int64_t origin = 0;
  uint64_t final_query = 0;
  for (size_t i = 0; i < load.stages.size(); ++i) {
    if (!load.stages[i].measured || stats[i].queries_issued == 0) continue;
    if (!any) origin = recorder.scheduled_ns(load.stages[i].first_query);
    any = true;
    r->queries_issued += stats[i].queries_issued;
    final_query = LastIssued(load.stages[i], stats[i]);
  }
  if (!any) return;
  auto seconds = [origin](int64_t t) { return static_cast<double>(t - origin) / 1e9; };
  r->final_query_scheduled_time_s = seconds(recorder.scheduled_ns(final_query));
  r->final_query_issued_time_s = seconds(recorder.issued_ns(final_query));
  if (recorder.QueryDone(final_query)) {
    r->final_query_all_samples_done_time_s = seconds(recorder.query_done_ns(final_query));
  }
}

std::vector<StageResult> SummarizeLoadStages(const record::SeriesRecorder& recorder,
                                             const schedule::LoadPlan& load,
                                             const std::vector<issue::StageIssueStats>& stats) {
  std::vector<StageResult> out;
  std::vector<int64_t> latencies;
  const int64_t series_start = recorder.scheduled_ns(0) - load.plan.scheduled_delta_ns[0];
  for (size_t i = 0; i < load.stages.size(); ++i) {
    const schedule::StagePlan& stage = load.stages[i];
    const issue::StageIssueStats& st = stats[i];
    StageResult s;
    s.name = stage.name;
    s.kind = KindName(stage.kind);
    s.measured = stage.measured;
    s.concurrency = stage.concurrency;
    s.planned_queries = stage.end_query - stage.first_query;
    s.queries_issued = st.queries_issued;
    s.gated_queries = st.gated_queries;
    s.gate_wait_max_ns = st.gate_wait_max_ns;
    s.gate_wait_mean_ns =
        st.gated_queries ? st.gate_wait_total_ns / static_cast<int64_t>(st.gated_queries) : 0;
    s.ran_out = st.ran_out;
    if (st.queries_issued > 0) s.first_issue_ns = st.first_issue_ns;
    if (stage.conversations) {
      s.conversations_planned = stage.conversations->order.size();
      s.conversations_started = st.conversations_started;
      s.conversations_completed = CompletedConversations(recorder, stage, st);
    }
    latencies.clear();
    int64_t last_done = st.first_issue_ns;
    for (uint64_t q = stage.first_query; q < stage.first_query + st.queries_issued; ++q) {
      if (!recorder.SampleCompleted(q)) continue;
      latencies.push_back(recorder.latency(q));
      last_done = std::max(last_done, recorder.query_done_ns(q));
    }
    s.samples_completed = latencies.size();
    if (st.queries_issued > 0) {
      s.start_s = static_cast<double>(st.first_issue_ns - series_start) / 1e9;
      s.duration_s = static_cast<double>(last_done - st.first_issue_ns) / 1e9;
      const int64_t issue_span = st.last_issue_ns - st.first_issue_ns;
      if (issue_span > 0) {
        s.issued_qps =
            static_cast<double>(st.queries_issued - 1) / (static_cast<double>(issue_span) / 1e9);
      }
      if (s.duration_s > 0)
        s.completed_qps = static_cast<double>(s.samples_completed) / s.duration_s;
    }
    if (!latencies.empty()) {
      std::sort(latencies.begin(), latencies.end());
      int64_t sum = 0;
      for (int64_t l : latencies) sum += l;
      s.latency_min_ns = latencies.front();
      s.latency_max_ns = latencies.back();
      s.latency_mean_ns = sum / static_cast<int64_t>(latencies.size());
      for (double p : kStagePercentiles) {
        const auto k = static_cast<size_t>(p * static_cast<double>(latencies.size()));
        s.latency_percentiles_ns.emplace_back(p, latencies[std::min(k, latencies.size() - 1)]);
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

void LogLoadStages(logging::DetailLog& detail, const schedule::LoadPlan& load) {
  for (size_t i = 0; i < load.stages.size(); ++i) {
    const schedule::StagePlan& s = load.stages[i];
    std::string v =
        "{\"index\":" + std::to_string(i) + ",\"name\":" + logging::JsonQuote(s.name) +
        ",\"kind\":\"" + KindName(s.kind) + "\",\"measured\":" + (s.measured ? "true" : "false") +
        ",\"first_sample_seq\":" + std::to_string(load.plan.first_sample_seq + s.first_query) +
        ",\"sample_count\":" + std::to_string(s.end_query - s.first_query) +
        ",\"planned_start_ns\":" + std::to_string(s.start_ns) +
        ",\"planned_end_ns\":" + std::to_string(s.end_ns) +
        ",\"concurrency\":" + std::to_string(s.concurrency) + "}";
    detail.Log("loadgen_load_stage", JsonValue::Raw(std::move(v)), Severity::kInfo,
               "load_stages.cc");
  }
}

void LogLoadStageResults(logging::DetailLog& detail, const std::vector<StageResult>& stages) {
  for (size_t i = 0; i < stages.size(); ++i) {
    const StageResult& s = stages[i];
    std::string v = "{\"index\":" + std::to_string(i) + ",\"name\":" + logging::JsonQuote(s.name) +
                    ",\"measured\":" + (s.measured ? "true" : "false") +
                    ",\"queries_issued\":" + std::to_string(s.queries_issued) +
                    ",\"samples_completed\":" + std::to_string(s.samples_completed) +
                    ",\"issued_qps\":" + logging::FormatG6(s.issued_qps) +
                    ",\"latency_mean_ns\":" + std::to_string(s.latency_mean_ns) +
                    ",\"latency_max_ns\":" + std::to_string(s.latency_max_ns) +
                    ",\"gated_queries\":" + std::to_string(s.gated_queries) +
                    ",\"gate_wait_max_ns\":" + std::to_string(s.gate_wait_max_ns);
    if (s.kind == "conversations") {
      v += ",\"conversations_started\":" + std::to_string(s.conversations_started) +
           ",\"conversations_completed\":" + std::to_string(s.conversations_completed);
    }
    v += "}";
    detail.Log("loadgen_load_stage_result", JsonValue::Raw(std::move(v)), Severity::kInfo,
               "load_stages.cc");
  }
}

}  // namespace loadgen::session
