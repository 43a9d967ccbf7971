// What the typed `loadgen` API needs beyond the official surface: a run that returns its
// outcome, the sample plan without a run, and the strict config checker.
#include <pybind11/stl.h>

#include "bindings.h"
#include "common/errors.h"
#include "schedule/plan.h"
#include "session/process.h"
#include "settings/config_file.h"
#include "settings/effective_settings.h"

namespace loadgen::python {
namespace {

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

py::dict RunTest(uintptr_t sut_handle, uintptr_t qsl_handle,
                 const mlperf::TestSettings& settings, const mlperf::LogSettings& log_settings,
                 const std::string& audit_config_filename) {
  std::shared_ptr<mlperf::SystemUnderTest> sut = FindSut(sut_handle);
  std::shared_ptr<mlperf::QuerySampleLibrary> qsl = FindQsl(qsl_handle);
  session::TestOutcome outcome;
  {
    py::gil_scoped_release release;
    outcome = session::RunProcessTest(sut.get(), qsl.get(), settings, log_settings,
                                      audit_config_filename);
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
  return d;
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
  static py::exception<SettingsError> settings_error(m, "SettingsError", PyExc_ValueError);
  static py::exception<TestAborted> test_aborted(m, "TestAborted", PyExc_RuntimeError);
  static py::exception<LogError> log_error(m, "LogError", PyExc_OSError);
  m.def("_run_test", &RunTest, py::arg("sut"), py::arg("qsl"), py::arg("settings"),
        py::arg("log_settings"), py::arg("audit_config_filename"),
        "Run a test like StartTestWithLogSettings and return its outcome as a dict.");
  m.def("_plan", &Plan, py::arg("settings"), py::arg("total_sample_count"),
        py::arg("performance_sample_count"),
        "The loadable sets and queries a test with these settings would issue.");
  m.def(
      "_interrupt",
      [](bool hard) {
        return session::AbortRunningTest(
            hard ? "Interrupted (Ctrl-C twice): stopped at once." 
                 : "Interrupted (Ctrl-C): issuing stopped; outstanding samples were drained.",
            false, !hard);
      },
      py::arg("hard"), py::call_guard<py::gil_scoped_release>(),
      "Stop the running test because of Ctrl-C (graceful the first time).");
  m.def("_lint_config", &Lint, py::arg("path"),
        "Strictly check a config file; returns the problems found.");
}

}  // namespace loadgen::python
