// What the typed `loadgen` API needs beyond the official surface: a run that returns its
// outcome (with a SUT adapter that hands batches over as lists or as zero-copy numpy views),
// the sample plan without a run, the strict config checker and config provenance, and live
// snapshots of the running series.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bindings.h"
#include "common/enum_names.h"
#include "common/errors.h"
#include "issue/lent_batch.h"
#include "live/live_board.h"
#include "loadgen/errors.h"
#include "loadgen/failure.h"
#include "results/performance_summary.h"
#include "schedule/plan.h"
#include "selfcheck/generator_check.h"
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

session::TestOutcome RunTest(py::object issue, py::object flush, uintptr_t qsl_handle,
                             const mlperf::TestSettings& settings,
                             const mlperf::LogSettings& log_settings,
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
  // A native SUT (loadgen.net's EndpointSut) comes as its handle: no Python call per query.
  std::shared_ptr<mlperf::SystemUnderTest> sut =
      py::isinstance<py::int_>(issue)
          ? FindSut(issue.cast<uintptr_t>())
          : std::make_shared<TypedSut>(std::move(issue), std::move(flush), batch == "numpy",
                                       sut_name);
  std::shared_ptr<mlperf::QuerySampleLibrary> qsl = FindQsl(qsl_handle);
  const auto timeout = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(no_progress_timeout_s));
  std::optional<schedule::LoadModel> load;
  if (!load_model.is_none()) load = LoadModelFromPython(load_model);
  py::gil_scoped_release release;
  return session::RunProcessTest(sut.get(), qsl.get(), settings, log_settings,
                                 audit_config_filename, timeout, load ? &*load : nullptr,
                                 /*keep_requests=*/true);
}

std::optional<live::Snapshot> LiveSnapshot() {
  live::Snapshot s;
  {
    py::gil_scoped_release nogil;
    s = session::GetProcessLiveBoard().Take();
  }
  if (s.series == 0) return std::nullopt;
  return s;
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

// What _plan returns: the series a test would issue and how its settings were normalized.
struct PlannedTest {
  std::vector<schedule::PlannedSeries> series;
  std::vector<std::string> diagnostics;
  settings::EffectiveSettings effective;
};

PlannedTest Plan(const mlperf::TestSettings& requested, uint64_t total, uint64_t performance) {
  Diagnostics diagnostics;
  PlannedTest out;
  out.effective = settings::Normalize(requested, performance, total, &diagnostics);
  settings::ValidateForRun(out.effective, requested, performance, total);
  out.series = schedule::GenerateTestPlan(out.effective, total);
  for (const Diagnostic& diag : diagnostics) out.diagnostics.push_back(diag.message);
  return out;
}

template <typename T>
py::bytes ArrayBytes(const T* data, size_t size) {
  return py::bytes(reinterpret_cast<const char*>(data), size * sizeof(T));
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

// Failure counts as {reason name: count}, the reasons with a count only.
std::map<std::string, uint64_t> FailureCounts(
    const std::array<uint64_t, kSampleFailureCount>& counts) {
  std::map<std::string, uint64_t> out;
  for (size_t i = 0; i < kSampleFailureCount; ++i) {
    if (counts[i] != 0) out[SampleFailureName(static_cast<SampleFailure>(i))] = counts[i];
  }
  return out;
}

SampleFailure SampleFailureArg(const std::string& reason) {
  SampleFailure r;
  if (SampleFailureFromName(reason.c_str(), &r)) return r;
  std::string names;
  for (size_t i = 0; i < kSampleFailureCount; ++i) {
    names += (i ? ", " : "") + std::string(SampleFailureName(static_cast<SampleFailure>(i)));
  }
  throw py::value_error("unknown failure reason '" + reason + "'; one of: " + names);
}

// The result types the typed API reads: read-only views of the engine's own structs.
void RegisterResultTypes(py::module_& m) {
  using results::LatencyStats;
  using results::PerformanceSummary;
  py::class_<LatencyStats>(m, "LatencyStats", "Order statistics of one latency vector (ns).")
      .def_readonly("min", &LatencyStats::min)
      .def_readonly("max", &LatencyStats::max)
      .def_readonly("mean", &LatencyStats::mean)
      .def_readonly("at_target", &LatencyStats::at_target, "At the target percentile.")
      .def_property_readonly(
          "percentiles",
          [](const LatencyStats& s) {
            std::map<double, int64_t> out;
            for (size_t i = 0; i < results::kReportedPercentiles.size(); ++i) {
              out[results::kReportedPercentiles[i]] = s.at_percentile[i];
            }
            return out;
          },
          "The reported percentiles (0.5 ... 0.999) -> value.");

  py::class_<PerformanceSummary>(m, "PerformanceSummary",
                                 "The metrics and checks of one performance series.")
      .def_readonly("sample_count", &PerformanceSummary::sample_count)
      .def_readonly("queries_issued", &PerformanceSummary::queries_issued)
      .def_readonly("max_latency_s", &PerformanceSummary::max_latency_s)
      .def_readonly("final_query_scheduled_time_s",
                    &PerformanceSummary::final_query_scheduled_time_s)
      .def_readonly("final_query_issued_time_s", &PerformanceSummary::final_query_issued_time_s)
      .def_readonly("final_query_all_samples_done_time_s",
                    &PerformanceSummary::final_query_all_samples_done_time_s)
      .def_readonly("sample_latency", &PerformanceSummary::sample_latency)
      .def_readonly("query_latency", &PerformanceSummary::query_latency)
      .def_readonly("first_token_latency", &PerformanceSummary::first_token_latency)
      .def_readonly("time_per_output_token", &PerformanceSummary::time_per_output_token)
      .def_readonly("overlatency_query_count", &PerformanceSummary::overlatency_query_count)
      .def_readonly("token_count", &PerformanceSummary::token_count)
      .def_readonly("qps_with_loadgen_overhead", &PerformanceSummary::qps_with_loadgen_overhead)
      .def_readonly("qps_without_loadgen_overhead",
                    &PerformanceSummary::qps_without_loadgen_overhead)
      .def_readonly("scheduled_samples_per_sec", &PerformanceSummary::scheduled_samples_per_sec)
      .def_readonly("completed_samples_per_sec", &PerformanceSummary::completed_samples_per_sec)
      .def_readonly("samples_per_second", &PerformanceSummary::samples_per_second)
      .def_readonly("token_throughput_with_loadgen_overhead",
                    &PerformanceSummary::token_throughput_with_loadgen_overhead)
      .def_readonly("token_throughput_without_loadgen_overhead",
                    &PerformanceSummary::token_throughput_without_loadgen_overhead)
      .def_readonly("completed_tokens_per_second", &PerformanceSummary::completed_tokens_per_second)
      .def_readonly("tokens_per_second", &PerformanceSummary::tokens_per_second)
      .def_readonly("inferred_tokens_per_second", &PerformanceSummary::inferred_tokens_per_second)
      .def_readonly("early_stopping_latency_ss", &PerformanceSummary::early_stopping_latency_ss)
      .def_readonly("early_stopping_latency_ms", &PerformanceSummary::early_stopping_latency_ms)
      .def_readonly("early_stopping_text", &PerformanceSummary::early_stopping_text)
      .def_readonly("early_stopping_ttft_text", &PerformanceSummary::early_stopping_ttft_text)
      .def_readonly("early_stopping_tpot_text", &PerformanceSummary::early_stopping_tpot_text)
      .def_readonly("min_duration_met", &PerformanceSummary::min_duration_met)
      .def_readonly("min_queries_met", &PerformanceSummary::min_queries_met)
      .def_readonly("perf_constraints_met", &PerformanceSummary::perf_constraints_met)
      .def_readonly("early_stopping_met", &PerformanceSummary::early_stopping_met)
      .def_readonly("perf_constraints_recommendation",
                    &PerformanceSummary::perf_constraints_recommendation)
      .def_readonly("min_duration_recommendation", &PerformanceSummary::min_duration_recommendation)
      .def_readonly("min_queries_recommendation", &PerformanceSummary::min_queries_recommendation)
      .def_readonly("failed_samples", &PerformanceSummary::failed_samples)
      .def_property_readonly(
          "failed_by_reason",
          [](const PerformanceSummary& s) { return FailureCounts(s.failed_by_reason); })
      .def_readonly("failed_samples_recommendation",
                    &PerformanceSummary::failed_samples_recommendation)
      .def_property_readonly("valid", &PerformanceSummary::valid);

  py::class_<session::TestOutcome>(m, "TestOutcome", "What _run_test returns.")
      .def_property_readonly("summary_path",
                             [](const session::TestOutcome& o) { return o.log_paths.summary; })
      .def_property_readonly("detail_path",
                             [](const session::TestOutcome& o) { return o.log_paths.detail; })
      .def_property_readonly("accuracy_path",
                             [](const session::TestOutcome& o) { return o.log_paths.accuracy; })
      .def_property_readonly("trace_path",
                             [](const session::TestOutcome& o) { return o.log_paths.trace; })
      .def_readonly("performance", &session::TestOutcome::performance,
                    "None without a performance series (AccuracyOnly).")
      .def_readonly("stages", &session::TestOutcome::stages)
      .def_readonly("errors", &session::TestOutcome::errors)
      .def_readonly("warnings", &session::TestOutcome::warnings)
      .def_readonly("aborted", &session::TestOutcome::aborted)
      .def_readonly("abort_reason", &session::TestOutcome::abort_reason)
      .def_readonly("rejected_responses", &session::TestOutcome::rejected_responses)
      .def_readonly("failed_samples", &session::TestOutcome::failed_samples)
      .def_property_readonly(
          "failed_by_reason",
          [](const session::TestOutcome& o) { return FailureCounts(o.failed_by_reason); })
      .def_property_readonly(
          "generator_check_json",
          [](const session::TestOutcome& o) -> std::optional<std::string> {
            if (!o.generator) return std::nullopt;
            return selfcheck::ToJson(*o.generator);
          },
          "The generator self-check as the detail log's loadgen_generator_check JSON; None "
          "without a performance series.")
      .def_readonly("decided_reason", &session::TestOutcome::decided_reason,
                    "Why a decision policy ended the performance series early; empty if none.");

  using live::Snapshot;
  auto info = [](auto field) { return [field](const Snapshot& s) { return s.info.*field; }; };
  // `name`_p50_ns, _p90_ns, _p99_ns and _at_target_ns of one sampled vector.
  auto percentiles = [](py::class_<Snapshot>& c, const std::string& name,
                        std::vector<int64_t> Snapshot::*sample) {
    for (const auto& [suffix, p] :
         {std::pair<const char*, double>{"_p50_ns", 0.5}, {"_p90_ns", 0.9}, {"_p99_ns", 0.99}}) {
      const double q = p;
      c.def_property_readonly((name + suffix).c_str(), [sample, q](const Snapshot& s) {
        return live::SampledPercentile(s.*sample, q);
      });
    }
    c.def_property_readonly((name + "_at_target_ns").c_str(), [sample](const Snapshot& s) {
      return live::SampledPercentile(s.*sample, s.info.target_latency_percentile);
    });
  };
  py::class_<Snapshot> snapshot(
      m, "LiveSnapshot",
      "A reading of the running series, or (running=False) of how the last one ended. The "
      "percentiles are of a sample of the completed latencies.");
  snapshot.def_readonly("running", &Snapshot::running)
      .def_readonly("series", &Snapshot::series)
      .def_property_readonly("scenario",
                             [](const Snapshot& s) { return ScenarioName(s.info.scenario); })
      .def_property_readonly("accuracy", info(&live::SeriesInfo::accuracy))
      .def_property_readonly(
          "elapsed_s", [](const Snapshot& s) { return static_cast<double>(s.elapsed_ns) / 1e9; })
      .def_property_readonly(
          "min_duration_s",
          [](const Snapshot& s) { return static_cast<double>(s.info.min_duration_ms) / 1e3; })
      .def_property_readonly(
          "max_duration_s",
          [](const Snapshot& s) { return static_cast<double>(s.info.max_duration_ms) / 1e3; })
      .def_property_readonly("min_query_count", info(&live::SeriesInfo::min_query_count))
      .def_property_readonly("samples_per_query", info(&live::SeriesInfo::samples_per_query))
      .def_property_readonly("generated_queries", info(&live::SeriesInfo::generated_queries))
      .def_property_readonly("target_latency_ns", info(&live::SeriesInfo::target_latency_ns))
      .def_property_readonly("target_latency_percentile",
                             info(&live::SeriesInfo::target_latency_percentile))
      .def_property_readonly("target_qps", info(&live::SeriesInfo::target_qps))
      .def_readonly("samples_issued", &Snapshot::samples_issued)
      .def_readonly("queries_issued", &Snapshot::queries_issued)
      .def_readonly("samples_completed", &Snapshot::samples_completed)
      .def_readonly("queries_completed", &Snapshot::queries_completed)
      .def_readonly("latencies_seen", &Snapshot::latencies_seen)
      .def_readonly("early_stopping_queries", &Snapshot::early_stopping_queries,
                    "Queries early stopping would need for the current over-latency estimate.")
      .def_property_readonly("use_token_latencies", info(&live::SeriesInfo::use_tokens))
      .def_property_readonly("load_model", info(&live::SeriesInfo::load_model))
      .def_readonly("tokens_seen", &Snapshot::tokens_seen)
      .def_property_readonly(
          "server_ttft_latency_ns",
          [](const Snapshot& s) { return s.info.use_tokens ? s.info.target_ttft_ns : 0; })
      .def_property_readonly("server_tpot_latency_ns", [](const Snapshot& s) {
        return s.info.use_tokens ? s.info.target_tpot_ns : 0;
      });
  // The sampled values themselves (ascending), for decision policies that test a bound.
  snapshot.def_readonly("latency_sample_ns", &Snapshot::latency_sample)
      .def_readonly("ttft_sample_ns", &Snapshot::ttft_sample)
      .def_readonly("tpot_sample_ns", &Snapshot::tpot_sample);
  percentiles(snapshot, "latency", &Snapshot::latency_sample);
  percentiles(snapshot, "ttft", &Snapshot::ttft_sample);
  percentiles(snapshot, "tpot", &Snapshot::tpot_sample);

  using schedule::PlannedSeries;
  py::class_<PlannedSeries>(m, "PlannedSeries", "One series of a planned test.")
      .def_property_readonly("mode", [](const PlannedSeries& s) { return ModeName(s.plan.mode); })
      .def_property_readonly(
          "loaded", [](const PlannedSeries& s) { return s.set.samples; },
          "The QSL indices loaded for the series.")
      .def_property_readonly("samples_per_query",
                             [](const PlannedSeries& s) { return s.plan.samples_per_query; })
      .def_property_readonly("first_sample_seq",
                             [](const PlannedSeries& s) { return s.plan.first_sample_seq; })
      .def_property_readonly("first_query_seq",
                             [](const PlannedSeries& s) { return s.plan.first_query_seq; })
      .def_property_readonly(
          "sample_index",
          [](const PlannedSeries& s) {
            return ArrayBytes(s.plan.sample_index.data(), s.plan.sample_index.size());
          },
          "The issued QSL indices, query-major, as native uint32.")
      .def_property_readonly(
          "scheduled_delta_ns",
          [](const PlannedSeries& s) {
            return ArrayBytes(s.plan.scheduled_delta_ns.data(), s.plan.scheduled_delta_ns.size());
          },
          "Each query's scheduled time from the series start, as native int64.")
      .def_readonly("accuracy_logged", &PlannedSeries::accuracy_logged)
      .def_property_readonly("generated_duration_ns",
                             [](const PlannedSeries& s) { return s.plan.generated_duration_ns; });

  py::class_<PlannedTest>(m, "PlannedTest", "What _plan returns.")
      .def_readonly("series", &PlannedTest::series)
      .def_readonly("diagnostics", &PlannedTest::diagnostics)
      .def_property_readonly("effective_samples_per_query",
                             [](const PlannedTest& p) { return p.effective.samples_per_query; })
      .def_property_readonly("effective_min_query_count",
                             [](const PlannedTest& p) { return p.effective.min_query_count; })
      .def_property_readonly("effective_target_qps",
                             [](const PlannedTest& p) { return p.effective.target_qps; })
      .def_property_readonly(
          "effective_performance_sample_count",
          [](const PlannedTest& p) { return p.effective.performance_sample_count; })
      .def_property_readonly("effective_accuracy_sample_count", [](const PlannedTest& p) {
        return p.effective.accuracy_sample_count;
      });
}

}  // namespace

void RegisterTyped(py::module_& m) {
  RegisterResultTypes(m);
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
      "_fail_id_list",
      [](py::handle ids, const std::string& reason) {
        const SampleFailure r = SampleFailureArg(reason);
        std::vector<uint64_t> local;
        const std::vector<uint64_t>& v = IdsFromSequence(ids, local);
        py::gil_scoped_release nogil;
        return CompleteFailedIds(v.data(), v.size(), r);
      },
      py::arg("ids"), py::arg("reason"),
      "Completes samples as failed for `reason` (a name of SAMPLE_FAILURE_REASONS).");
  {
    py::tuple names(kSampleFailureCount);
    for (size_t i = 0; i < kSampleFailureCount; ++i) {
      names[i] = py::str(SampleFailureName(static_cast<SampleFailure>(i)));
    }
    m.attr("SAMPLE_FAILURE_REASONS") = names;
  }
  m.def(
      "_abort",
      [](const std::string& reason, bool graceful) {
        return session::AbortRunningTest(reason, /*is_error=*/false, graceful);
      },
      py::arg("reason"), py::arg("graceful") = false, py::call_guard<py::gil_scoped_release>(),
      "Stop the running test; returns False if none is running. graceful: issuing stops, "
      "outstanding samples get up to _DRAIN_TIMEOUT_S to complete.");
  m.def("_end_series_decided", &session::EndRunningSeriesDecided, py::arg("reason"),
        py::call_guard<py::gil_scoped_release>(),
        "End the running performance series as at its planned end (not an abort): issuing "
        "stops, issued samples complete, logs are written. Returns False if none is running.");
  m.attr("_DRAIN_TIMEOUT_S") =
      std::chrono::duration<double>(session::Session::kDrainTimeout).count();
  // Engine errors reach Python as these types (subclasses of what a user would catch anyway),
  // from StartTest as from the typed API.
  py::register_exception<SettingsError>(m, "SettingsError", PyExc_ValueError);
  py::register_exception<TestAborted>(m, "TestAborted", PyExc_RuntimeError);
  py::register_exception<LogError>(m, "LogError", PyExc_OSError);
  // A second test while one runs in the process (both APIs; loadgen/errors.h).
  py::register_exception<TestAlreadyRunningError>(m, "TestAlreadyRunningError", PyExc_RuntimeError);
  m.def("_run_test", &RunTest, py::arg("issue"), py::arg("flush"), py::arg("qsl"),
        py::arg("settings"), py::arg("log_settings"), py::arg("audit_config_filename"),
        py::arg("batch") = "list", py::arg("no_progress_timeout_s") = 0.0,
        py::arg("sut_name") = "loadgen.run", py::arg("load_model") = py::none(),
        "Run a test like StartTestWithLogSettings and return its outcome. "
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
  m.def("_lint_config", &Lint, py::arg("path"),
        "Strictly check a config file; returns the problems found.");
}

}  // namespace loadgen::python
