// Load models for the typed API (python/loadgen/load_models.py): the stage list a Python
// LoadModel describes, converted to schedule::LoadModel; the per-stage results of a run; and
// the plan of a load model without running it (loadgen.plan(..., load=...)).
#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bindings.h"
#include "schedule/load_models/load_plan.h"
#include "session/load_stages.h"
#include "settings/effective_settings.h"

namespace loadgen::python {
namespace {

schedule::ArrivalKind KindOf(const std::string& kind) {
  if (kind == "constant_rate") return schedule::ArrivalKind::kConstantRate;
  if (kind == "gamma") return schedule::ArrivalKind::kGamma;
  if (kind == "concurrency") return schedule::ArrivalKind::kConcurrency;
  if (kind == "trace") return schedule::ArrivalKind::kTrace;
  if (kind == "conversations") return schedule::ArrivalKind::kConversations;
  throw py::value_error("unknown load model kind '" + kind + "'");
}

template <typename T>
T Get(const py::dict& d, const char* key, T fallback) {
  return d.contains(key) && !d[key].is_none() ? d[key].cast<T>() : fallback;
}

py::bytes Bytes(const void* data, size_t size) {
  return py::bytes(static_cast<const char*>(data), size);
}

py::dict PlanDict(const schedule::LoadPlan& load, const schedule::LoadableSet& set) {
  py::dict d;
  const schedule::SeriesPlan& plan = load.plan;
  d["loaded"] = set.samples;
  d["sample_index"] = Bytes(plan.sample_index.data(), plan.sample_index.size() * sizeof(uint32_t));
  d["scheduled_delta_ns"] =
      Bytes(plan.scheduled_delta_ns.data(), plan.scheduled_delta_ns.size() * sizeof(int64_t));
  d["generated_duration_ns"] = plan.generated_duration_ns;
  py::list stages;
  for (const schedule::StagePlan& s : load.stages) {
    py::dict st;
    st["name"] = s.name;
    st["measured"] = s.measured;
    st["first_query"] = s.first_query;
    st["end_query"] = s.end_query;
    st["start_ns"] = s.start_ns;
    st["end_ns"] = s.end_ns;
    st["concurrency"] = s.concurrency;
    stages.append(st);
  }
  d["stages"] = stages;
  return d;
}

}  // namespace

schedule::LoadModel LoadModelFromPython(const py::handle& stage_list) {
  schedule::LoadModel model;
  for (const py::handle& item : stage_list) {
    const py::dict d = py::reinterpret_borrow<py::dict>(item);
    schedule::StageSpec s;
    s.name = Get<std::string>(d, "name", "");
    s.kind = KindOf(d["kind"].cast<std::string>());
    s.rate_qps = Get<double>(d, "rate_qps", 0.0);
    s.end_rate_qps = Get<double>(d, "end_rate_qps", -1.0);
    s.burstiness = Get<double>(d, "burstiness", 1.0);
    s.concurrency = Get<uint64_t>(d, "concurrency", 0);
    s.duration_ns = Get<int64_t>(d, "duration_ns", 0);
    s.queries = Get<uint64_t>(d, "queries", 0);
    s.measured = Get<bool>(d, "measured", true);
    if (s.kind == schedule::ArrivalKind::kTrace) {
      auto trace = std::make_shared<schedule::TraceArrivals>();
      trace->arrival_s = Get<std::vector<double>>(d, "trace_arrival_s", {});
      trace->sample_ids = Get<std::vector<uint64_t>>(d, "trace_sample_ids", {});
      trace->line = Get<std::vector<uint64_t>>(d, "trace_lines", {});
      s.trace = std::move(trace);
      s.time_scale = Get<double>(d, "time_scale", 1.0);
      s.sort_trace = Get<bool>(d, "sort_trace", false);
    }
    if (s.kind == schedule::ArrivalKind::kConversations) {
      auto set = std::make_shared<schedule::ConversationSet>();
      set->turn_samples = Get<std::vector<uint32_t>>(d, "conversation_turn_samples", {});
      set->first_turn = Get<std::vector<uint64_t>>(d, "conversation_first_turn", {});
      s.conversations = std::move(set);
      s.think_time_ns = Get<int64_t>(d, "think_time_ns", 0);
      s.exponential_think = Get<bool>(d, "exponential_think", false);
    }
    model.stages.push_back(std::move(s));
  }
  return model;
}

void RegisterLoadModels(py::module_& m) {
  m.def(
      "_validate_load_model",
      [](const py::list& stages) { schedule::ValidateLoadModel(LoadModelFromPython(stages)); },
      py::arg("stages"), "Raises SettingsError for a stage list that cannot run.");
  m.def(
      "_load_plan",
      [](const mlperf::TestSettings& requested, const py::list& stages, uint64_t total,
         uint64_t performance) {
        const schedule::LoadModel model = LoadModelFromPython(stages);
        Diagnostics diagnostics;
        settings::EffectiveSettings e =
            settings::Normalize(requested, performance, total, &diagnostics);
        settings::ValidateForRun(e, requested, performance, total);
        auto sets = schedule::GenerateLoadableSets(e, e.performance_sample_count, total);
        schedule::SequenceState sequence;
        const schedule::LoadPlan load =
            schedule::GenerateLoadPlan(model, e, sets.front(), sequence);
        return PlanDict(load, sets.front());
      },
      py::arg("settings"), py::arg("stages"), py::arg("total_sample_count"),
      py::arg("performance_sample_count"),
      "The loaded set and the queries (sample indices, scheduled offsets) and stages a load "
      "model's performance series would issue.");
}

}  // namespace loadgen::python
