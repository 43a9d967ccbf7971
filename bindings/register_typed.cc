// What the typed `loadgen` API needs beyond the official surface: a run that returns its
// outcome (with a SUT adapter that hands batches over as lists or as zero-copy numpy views),
// the sample plan without a run, the strict config checker and config provenance, and live
// snapshots of the running series.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bindings.h"
#include "common/errors.h"
#include "loadgen/test_already_running.h"
#include "issue/lent_batch.h"
#include "live/live_board.h"
#include "schedule/plan.h"
#include "session/process.h"
#include "settings/config_file.h"
#include "settings/effective_settings.h"

namespace loadgen::python {
namespace {

using mlperf::QuerySample;

// The numpy view reads QuerySample as two uint64 columns.
static_assert(sizeof(QuerySample) == 2 * sizeof(uint64_t) && offsetof(QuerySample, index) == 8 &&
                  sizeof(mlperf::QuerySampleIndex) == sizeof(uint64_t) &&
                  sizeof(mlperf::ResponseId) == sizeof(uint64_t),
              "QuerySample must be two 64-bit fields");

// A capsule owning the engine's batch (shared with the issuer) if `samples` is the batch
// the issuing thread lent, or a copy of `samples` otherwise (a SUT wrapper that passed
// another vector).
std::pair<py::capsule, const QuerySample*> KeepAlive(const std::vector<QuerySample>& samples) {
  const issue::SharedBatch* lent = issue::LentBatch();
  issue::SharedBatch keep;
  if (lent != nullptr && *lent != nullptr && (*lent)->data() == samples.data()) {
    keep = *lent;
  } else {
    keep = std::make_shared<std::vector<QuerySample>>(samples);
  }
  const QuerySample* data = keep->data();
  auto* holder = new issue::SharedBatch(std::move(keep));
  return {py::capsule(holder, [](void* p) { delete static_cast<issue::SharedBatch*>(p); }), data};
}

// The typed API's SUT: `issue` gets either (ids, indices) as lists or one read-only (n, 2)
// uint64 numpy array viewing the engine's batch (kept alive while Python holds a view).
class TypedSut : public mlperf::SystemUnderTest {
 public:
  TypedSut(py::object issue, py::object flush, bool numpy_batch, std::string name)
      : issue_(std::move(issue)),
        flush_(std::move(flush)),
        numpy_batch_(numpy_batch),
        name_(std::move(name)) {}
  TypedSut(const TypedSut&) = delete;
  TypedSut& operator=(const TypedSut&) = delete;
  ~TypedSut() override {
    py::gil_scoped_acquire gil;
    issue_ = py::object();
    flush_ = py::object();
  }

  const std::string& Name() override { return name_; }

  void IssueQuery(const std::vector<QuerySample>& samples) override {
    py::gil_scoped_acquire gil;
    if (numpy_batch_) {
      // No copy: numpy points into the engine's vector, which the base capsule keeps alive for
      // as long as any view of it exists (a SUT may hand the view to worker threads).
      auto [owner, data] = KeepAlive(samples);
      py::array view(py::dtype::of<uint64_t>(),
                     {static_cast<py::ssize_t>(samples.size()), py::ssize_t{2}},
                     {static_cast<py::ssize_t>(sizeof(QuerySample)),
                      static_cast<py::ssize_t>(sizeof(uint64_t))},
                     data, owner);
      py::detail::array_proxy(view.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
      issue_(view);
      return;
    }
    py::list ids(samples.size());
    py::list indices(samples.size());
    for (size_t i = 0; i < samples.size(); ++i) {
      ids[i] = py::int_(samples[i].id);
      indices[i] = py::int_(samples[i].index);
    }
    issue_(ids, indices);
  }

  void FlushQueries() override {
    py::gil_scoped_acquire gil;
    flush_();
  }

 private:
  py::object issue_;
  py::object flush_;
  const bool numpy_batch_;
  const std::string name_;
};

py::dict StatsDict(const results::LatencyStats& s) {
  py::dict d;
  d["min"] = s.min;
  d["max"] = s.max;
  d["mean"] = s.mean;
  d["at_target"] = s.at_target;
  py::dict p;
  for (size_t i = 0; i < results::kReportedPercentiles.size(); ++i) {
    p[py::float_(results::kReportedPercentiles[i])] = s.at_percentile[i];
  }
  d["percentiles"] = p;
  return d;
}

py::dict SummaryDict(const results::PerformanceSummary& s) {
  py::dict d;
  d["sample_count"] = s.sample_count;
  d["queries_issued"] = s.queries_issued;
  d["max_latency_s"] = s.max_latency_s;
  d["final_query_scheduled_time_s"] = s.final_query_scheduled_time_s;
  d["final_query_issued_time_s"] = s.final_query_issued_time_s;
  d["final_query_all_samples_done_time_s"] = s.final_query_all_samples_done_time_s;
  d["sample_latency"] = StatsDict(s.sample_latency);
  d["query_latency"] = StatsDict(s.query_latency);
  d["first_token_latency"] = StatsDict(s.first_token_latency);
  d["time_per_output_token"] = StatsDict(s.time_per_output_token);
  d["overlatency_query_count"] = s.overlatency_query_count;
  d["token_count"] = s.token_count;
  d["qps_with_loadgen_overhead"] = s.qps_with_loadgen_overhead;
  d["qps_without_loadgen_overhead"] = s.qps_without_loadgen_overhead;
  d["scheduled_samples_per_sec"] = s.scheduled_samples_per_sec;
  d["completed_samples_per_sec"] = s.completed_samples_per_sec;
  d["samples_per_second"] = s.samples_per_second;
  d["token_throughput_with_loadgen_overhead"] = s.token_throughput_with_loadgen_overhead;
  d["token_throughput_without_loadgen_overhead"] = s.token_throughput_without_loadgen_overhead;
  d["completed_tokens_per_second"] = s.completed_tokens_per_second;
  d["tokens_per_second"] = s.tokens_per_second;
  d["inferred_tokens_per_second"] = s.inferred_tokens_per_second;
  d["early_stopping_latency_ss"] = s.early_stopping_latency_ss;
  d["early_stopping_latency_ms"] = s.early_stopping_latency_ms;
  d["early_stopping_text"] = s.early_stopping_text;
  d["early_stopping_ttft_text"] = s.early_stopping_ttft_text;
  d["early_stopping_tpot_text"] = s.early_stopping_tpot_text;
  d["min_duration_met"] = s.min_duration_met;
  d["min_queries_met"] = s.min_queries_met;
  d["perf_constraints_met"] = s.perf_constraints_met;
  d["early_stopping_met"] = s.early_stopping_met;
  d["perf_constraints_recommendation"] = s.perf_constraints_recommendation;
  d["min_duration_recommendation"] = s.min_duration_recommendation;
  d["valid"] = s.valid();
  d["target_latency_percentile"] = s.settings.target_latency_percentile;
  d["target_qps"] = s.settings.target_qps;
  d["target_latency_ns"] = s.settings.target_latency_ns;
  d["samples_per_query"] = s.settings.samples_per_query;
  d["min_query_count"] = s.settings.min_query_count;
  d["min_duration_ms"] = s.settings.min_duration_ms;
  return d;
}

py::dict RunTest(py::object issue, py::object flush, uintptr_t qsl_handle,
                 const mlperf::TestSettings& settings, const mlperf::LogSettings& log_settings,
                 const std::string& audit_config_filename, const std::string& batch,
                 double no_progress_timeout_s, const std::string& sut_name,
                 const py::object& load_model) {
  if (batch != "list" && batch != "numpy") {
    throw py::value_error("batch must be 'list' or 'numpy', got '" + batch + "'");
  }
  if (!(no_progress_timeout_s >= 0) || std::isinf(no_progress_timeout_s)) {
    throw py::value_error("no_progress_timeout_s must be a finite number >= 0");
  }
  if (batch == "numpy") py::module_::import("numpy");  // fails here, not in the first query
  auto sut = std::make_shared<TypedSut>(std::move(issue), std::move(flush), batch == "numpy",
                                        sut_name);
  std::shared_ptr<mlperf::QuerySampleLibrary> qsl = FindQsl(qsl_handle);
  const auto timeout = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(no_progress_timeout_s));
  std::optional<schedule::LoadModel> load;
  if (!load_model.is_none()) load = LoadModelFromPython(load_model);
  session::TestOutcome outcome;
  {
    py::gil_scoped_release release;
    outcome = session::RunProcessTest(sut.get(), qsl.get(), settings, log_settings,
                                      audit_config_filename, timeout, load ? &*load : nullptr);
  }
  py::dict d;
  d["summary_path"] = outcome.log_paths.summary;
  d["detail_path"] = outcome.log_paths.detail;
  d["accuracy_path"] = outcome.log_paths.accuracy;
  d["trace_path"] = outcome.log_paths.trace;
  d["errors"] = outcome.errors;
  d["warnings"] = outcome.warnings;
  d["aborted"] = outcome.aborted;
  d["abort_reason"] = outcome.abort_reason;
  if (outcome.performance) {
    d["performance"] = SummaryDict(*outcome.performance);
  } else {
    d["performance"] = py::none();
  }
  d["stages"] = StageResultsToPython(outcome.stages);
  return d;
}

const char* ScenarioText(mlperf::TestScenario s) {
  switch (s) {
    case mlperf::TestScenario::SingleStream: return "SingleStream";
    case mlperf::TestScenario::MultiStream: return "MultiStream";
    case mlperf::TestScenario::Server: return "Server";
    case mlperf::TestScenario::Offline: return "Offline";
  }
  return "";
}

// The official percentile rule on the (sorted) latency sample: element floor(p * n).
int64_t SamplePercentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<size_t>(p * static_cast<double>(sorted.size()));
  return sorted[std::min(i, sorted.size() - 1)];
}

py::object LiveSnapshot() {
  live::Snapshot s;
  {
    py::gil_scoped_release nogil;
    s = session::GetProcessLiveBoard().Take();
  }
  if (s.series == 0) return py::none();
  const live::SeriesInfo& i = s.info;
  py::dict d;
  d["running"] = s.running;
  d["series"] = s.series;
  d["scenario"] = ScenarioText(i.scenario);
  d["accuracy"] = i.accuracy;
  d["elapsed_s"] = static_cast<double>(s.elapsed_ns) / 1e9;
  d["min_duration_s"] = static_cast<double>(i.min_duration_ms) / 1e3;
  d["max_duration_s"] = static_cast<double>(i.max_duration_ms) / 1e3;
  d["min_query_count"] = i.min_query_count;
  d["samples_per_query"] = i.samples_per_query;
  d["generated_queries"] = i.generated_queries;
  d["target_latency_ns"] = i.target_latency_ns;
  d["target_latency_percentile"] = i.target_latency_percentile;
  d["target_qps"] = i.target_qps;
  d["samples_issued"] = s.samples_issued;
  d["queries_issued"] = s.queries_issued;
  d["samples_completed"] = s.samples_completed;
  d["queries_completed"] = s.queries_completed;
  d["latencies_seen"] = s.latencies_seen;
  d["latency_p50_ns"] = SamplePercentile(s.latency_sample, 0.5);
  d["latency_p90_ns"] = SamplePercentile(s.latency_sample, 0.9);
  d["latency_p99_ns"] = SamplePercentile(s.latency_sample, 0.99);
  d["latency_at_target_ns"] = SamplePercentile(s.latency_sample, i.target_latency_percentile);
  d["early_stopping_queries"] = s.early_stopping_queries;
  // Token runs (use_token_latencies): TTFT and TPOT of the same sampled completions.
  d["use_token_latencies"] = i.use_tokens;
  d["tokens_seen"] = s.tokens_seen;
  d["server_ttft_latency_ns"] = i.use_tokens ? i.target_ttft_ns : 0;
  d["server_tpot_latency_ns"] = i.use_tokens ? i.target_tpot_ns : 0;
  auto percentiles = [&](const std::string& name, const std::vector<int64_t>& sorted) {
    d[py::str(name + "_p50_ns")] = SamplePercentile(sorted, 0.5);
    d[py::str(name + "_p90_ns")] = SamplePercentile(sorted, 0.9);
    d[py::str(name + "_p99_ns")] = SamplePercentile(sorted, 0.99);
    d[py::str(name + "_at_target_ns")] = SamplePercentile(sorted, i.target_latency_percentile);
  };
  percentiles("ttft", s.ttft_sample);
  percentiles("tpot", s.tpot_sample);
  return d;
}

py::list Explain(const mlperf::TestSettings& settings, const std::string& path,
                 const std::string& model, const std::string& scenario, int conf_type) {
  py::list out;
  for (const settings::AppliedKey& k :
       settings::ExplainConfig(settings, path, model, scenario, conf_type)) {
    py::dict d;
    d["field"] = k.field;
    d["key"] = k.key;
    d["file"] = k.file;
    d["line"] = k.line;
    d["value"] = k.value;
    out.append(d);
  }
  return out;
}

py::dict Plan(const mlperf::TestSettings& requested, uint64_t total, uint64_t performance) {
  Diagnostics diagnostics;
  settings::EffectiveSettings e =
      settings::Normalize(requested, performance, total, &diagnostics);
  settings::ValidateForRun(e, requested, performance, total);
  schedule::SequenceState sequence;
  py::list series;
  py::dict d;
  auto add_series = [&](const schedule::LoadableSet& set, mlperf::TestMode mode) {
    schedule::SeriesPlan plan = schedule::GenerateQueries(e, set, mode, sequence);
    py::dict s;
    s["mode"] = mode == mlperf::TestMode::AccuracyOnly ? "AccuracyOnly" : "PerformanceOnly";
    s["loaded"] = set.samples;
    s["samples_per_query"] = plan.samples_per_query;
    s["first_sample_seq"] = plan.first_sample_seq;
    s["first_query_seq"] = plan.first_query_seq;
    s["sample_index"] = py::bytes(reinterpret_cast<const char*>(plan.sample_index.data()),
                                  plan.sample_index.size() * sizeof(uint32_t));
    s["scheduled_delta_ns"] =
        py::bytes(reinterpret_cast<const char*>(plan.scheduled_delta_ns.data()),
                  plan.scheduled_delta_ns.size() * sizeof(int64_t));
    py::list logged;
    for (uint64_t i = 0; i < plan.sample_count(); ++i) {
      if (mode != mlperf::TestMode::AccuracyOnly && plan.LogsAccuracy(i)) logged.append(i);
    }
    s["accuracy_logged"] = logged;
    s["generated_duration_ns"] = plan.generated_duration_ns;
    series.append(s);
  };
  const bool accuracy = e.mode == mlperf::TestMode::AccuracyOnly ||
                        e.mode == mlperf::TestMode::SubmissionRun;
  const bool performance_run = e.mode != mlperf::TestMode::AccuracyOnly;
  if (accuracy) {
    for (const auto& set : schedule::GenerateLoadableSets(e, e.accuracy_sample_count, total)) {
      add_series(set, mlperf::TestMode::AccuracyOnly);
    }
  }
  if (performance_run) {
    auto sets = schedule::GenerateLoadableSets(e, e.performance_sample_count, total);
    add_series(sets.front(), mlperf::TestMode::PerformanceOnly);
  }
  py::list messages;
  for (const Diagnostic& diag : diagnostics) messages.append(diag.message);
  d["series"] = series;
  d["diagnostics"] = messages;
  d["effective_samples_per_query"] = e.samples_per_query;
  d["effective_min_query_count"] = e.min_query_count;
  d["effective_target_qps"] = e.target_qps;
  d["effective_performance_sample_count"] = e.performance_sample_count;
  d["effective_accuracy_sample_count"] = e.accuracy_sample_count;
  return d;
}

py::list Lint(const std::string& path) {
  py::list out;
  for (const settings::ConfigProblem& p : settings::LintConfigFile(path)) {
    py::dict d;
    d["file"] = p.file;
    d["line"] = p.line;
    d["key"] = p.key;
    d["message"] = p.message;
    d["suggestion"] = p.suggestion;
    out.append(d);
  }
  return out;
}

// Reads a Python list/tuple of ints into the thread's reusable buffer (no numpy needed).
const std::vector<uint64_t>& IdsFromSequence(py::handle seq, std::vector<uint64_t>& out) {
  PyObject* fast = PySequence_Fast(seq.ptr(), "ids must be a list, tuple or array of ints");
  if (!fast) throw py::error_already_set();
  py::object owner = py::reinterpret_steal<py::object>(fast);
  const Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
  PyObject** items = PySequence_Fast_ITEMS(fast);
  out.resize(static_cast<size_t>(n));
  for (Py_ssize_t i = 0; i < n; ++i) {
    const unsigned long long v = PyLong_AsUnsignedLongLong(items[i]);
    if (v == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
      PyErr_Clear();
      throw py::type_error("ids must be non-negative ints (response ids from IssueQuery)");
    }
    out[static_cast<size_t>(i)] = v;
  }
  return out;
}

CompletionStatus CompleteIdList(py::handle ids, py::handle n_tokens) {
  std::vector<uint64_t> local_ids;
  std::vector<uint64_t> local_tokens;
  const std::vector<uint64_t>& id_vec = IdsFromSequence(ids, local_ids);
  const int64_t* token_data = nullptr;
  if (!n_tokens.is_none()) {
    IdsFromSequence(n_tokens, local_tokens);
    if (local_tokens.size() != id_vec.size()) {
      throw py::value_error("n_tokens must have one value per id");
    }
    token_data = reinterpret_cast<const int64_t*>(local_tokens.data());
  }
  py::gil_scoped_release nogil;
  return CompleteSampleIds(id_vec.data(), id_vec.size(), token_data);
}

}  // namespace

void RegisterTyped(py::module_& m) {
  m.def("_complete_id_list", &CompleteIdList, py::arg("ids"), py::arg("n_tokens") = py::none(),
        "complete_sample_ids for a list or tuple of ints (no numpy needed).");
  m.def(
      "_first_token_id_list",
      [](py::handle ids) {
        std::vector<uint64_t> local;
        const std::vector<uint64_t>& v = IdsFromSequence(ids, local);
        py::gil_scoped_release nogil;
        return CompleteFirstTokenIds(v.data(), v.size());
      },
      py::arg("ids"), "complete_first_token_ids for a list or tuple of ints.");
  m.def(
      "_abort",
      [](const std::string& reason) { return session::AbortRunningTest(reason); },
      py::arg("reason"), py::call_guard<py::gil_scoped_release>(),
      "Stop the running test; returns False if none is running.");
  // Engine errors reach Python as these types (subclasses of what a user would catch anyway),
  // from StartTest as from the typed API.
  py::register_exception<SettingsError>(m, "SettingsError", PyExc_ValueError);
  py::register_exception<TestAborted>(m, "TestAborted", PyExc_RuntimeError);
  py::register_exception<LogError>(m, "LogError", PyExc_OSError);
  // A second test while one runs in the process (both APIs; loadgen/test_already_running.h).
  py::register_exception<TestAlreadyRunningError>(m, "TestAlreadyRunningError",
                                                  PyExc_RuntimeError);
  m.def("_run_test", &RunTest, py::arg("issue"), py::arg("flush"), py::arg("qsl"),
        py::arg("settings"), py::arg("log_settings"), py::arg("audit_config_filename"),
        py::arg("batch") = "list", py::arg("no_progress_timeout_s") = 0.0,
        py::arg("sut_name") = "loadgen.run", py::arg("load_model") = py::none(),
        "Run a test like StartTestWithLogSettings and return its outcome as a dict. "
        "issue(ids, indices) gets lists, or with batch='numpy' issue(samples) gets a read-only "
        "(n, 2) uint64 view of the batch.");
  m.def("_live_snapshot", &LiveSnapshot,
        "A reading of the running series (counters and sampled latencies, plus TTFT and TPOT "
        "in token runs), or of how the last one ended (running=False); None before the first "
        "series.");
  m.def("_explain_config", &Explain, py::arg("settings"), py::arg("path"), py::arg("model"),
        py::arg("scenario"), py::arg("conf_type"),
        "The keys FromConfig would apply (field, key, file, line, value), without applying "
        "them.");
  m.def("_plan", &Plan, py::arg("settings"), py::arg("total_sample_count"),
        py::arg("performance_sample_count"),
        "The loadable sets and queries a test with these settings would issue.");
  m.def(
      "_interrupt",
      [](bool hard) {
        return session::AbortRunningTest(
            hard ? "Ctrl-C again: stopped at once."
                 : "Interrupted (Ctrl-C): issuing stopped; outstanding samples had up to 10 s to "
                   "complete.",
            false, !hard);
      },
      py::arg("hard"), py::call_guard<py::gil_scoped_release>(),
      "Stop the running test because of Ctrl-C (graceful the first time).");
  m.def("_lint_config", &Lint, py::arg("path"),
        "Strictly check a config file; returns the problems found.");
}

}  // namespace loadgen::python
