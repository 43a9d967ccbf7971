// TestSettings, LogSettings, LogOutputSettings and the enums, with the official attribute names,
// defaults and conversion rules (official loadgen/bindings/python_api.cc and
// test_settings.h; tests/data/official_surface.json records the surface).
#include <string>

#include "bindings.h"
#include "settings/config_file.h"
#include "test_settings.h"

namespace loadgen::python {
namespace {

using mlperf::LoggingMode;
using mlperf::LogOutputSettings;
using mlperf::LogSettings;
using mlperf::TestMode;
using mlperf::TestScenario;
using mlperf::TestSettings;

constexpr const char* kFromConfigDoc =
    "This function configures settings from the given user configuration file, model, and "
    "scenario. The conf_type flag should be set to 1 for loading user.conf or else only the "
    "default mlperf_conf file will be loaded by the loadgen.";

// py::enum_ (not py::native_enum) on purpose: harnesses rely on its pybind11 2.x behaviour
// (str "TestScenario.Server", hash = value, no equality with int, __members__ dict).
void RegisterEnums(py::module_& m) {
  py::enum_<TestScenario>(m, "TestScenario")
      .value("SingleStream", TestScenario::SingleStream)
      .value("MultiStream", TestScenario::MultiStream)
      .value("Server", TestScenario::Server)
      .value("Offline", TestScenario::Offline);

  py::enum_<TestMode>(m, "TestMode")
      .value("SubmissionRun", TestMode::SubmissionRun)
      .value("AccuracyOnly", TestMode::AccuracyOnly)
      .value("PerformanceOnly", TestMode::PerformanceOnly)
      .value("FindPeakPerformance", TestMode::FindPeakPerformance);

  py::enum_<LoggingMode>(m, "LoggingMode")
      .value("AsyncPoll", LoggingMode::AsyncPoll)
      .value("EndOfTestOnly", LoggingMode::EndOfTestOnly)
      .value("Synchronous", LoggingMode::Synchronous);
}

void RegisterTestSettings(py::module_& m) {
  py::class_<TestSettings>(m, "TestSettings")
      .def(py::init<>())
      .def_readwrite("scenario", &TestSettings::scenario)
      .def_readwrite("mode", &TestSettings::mode)
      .def_readwrite("single_stream_expected_latency_ns",
                     &TestSettings::single_stream_expected_latency_ns)
      .def_readwrite("single_stream_target_latency_percentile",
                     &TestSettings::single_stream_target_latency_percentile)
      .def_readwrite("multi_stream_expected_latency_ns",
                     &TestSettings::multi_stream_expected_latency_ns)
      .def_readwrite("multi_stream_target_latency_percentile",
                     &TestSettings::multi_stream_target_latency_percentile)
      .def_readwrite("multi_stream_samples_per_query",
                     &TestSettings::multi_stream_samples_per_query)
      .def_readwrite("server_target_qps", &TestSettings::server_target_qps)
      .def_readwrite("server_target_latency_ns", &TestSettings::server_target_latency_ns)
      .def_readwrite("server_target_latency_percentile",
                     &TestSettings::server_target_latency_percentile)
      .def_readwrite("server_coalesce_queries", &TestSettings::server_coalesce_queries)
      .def_readwrite("server_find_peak_qps_decimals_of_precision",
                     &TestSettings::server_find_peak_qps_decimals_of_precision)
      .def_readwrite("server_find_peak_qps_boundary_step_size",
                     &TestSettings::server_find_peak_qps_boundary_step_size)
      .def_readwrite("server_max_async_queries", &TestSettings::server_max_async_queries)
      .def_readwrite("server_num_issue_query_threads",
                     &TestSettings::server_num_issue_query_threads)
      .def_readwrite("offline_expected_qps", &TestSettings::offline_expected_qps)
      .def_readwrite("sample_concatenate_permutation",
                     &TestSettings::sample_concatenate_permutation)
      .def_readwrite("min_duration_ms", &TestSettings::min_duration_ms)
      .def_readwrite("max_duration_ms", &TestSettings::max_duration_ms)
      .def_readwrite("min_query_count", &TestSettings::min_query_count)
      .def_readwrite("max_query_count", &TestSettings::max_query_count)
      .def_readwrite("qsl_rng_seed", &TestSettings::qsl_rng_seed)
      .def_readwrite("sample_index_rng_seed", &TestSettings::sample_index_rng_seed)
      .def_readwrite("schedule_rng_seed", &TestSettings::schedule_rng_seed)
      .def_readwrite("accuracy_log_rng_seed", &TestSettings::accuracy_log_rng_seed)
      .def_readwrite("accuracy_log_probability", &TestSettings::accuracy_log_probability)
      .def_readwrite("accuracy_log_sampling_target", &TestSettings::accuracy_log_sampling_target)
      .def_readwrite("test05", &TestSettings::test05)
      .def_readwrite("test05_qsl_rng_seed", &TestSettings::test05_qsl_rng_seed)
      .def_readwrite("test05_sample_index_rng_seed", &TestSettings::test05_sample_index_rng_seed)
      .def_readwrite("test05_schedule_rng_seed", &TestSettings::test05_schedule_rng_seed)
      .def_readwrite("print_timestamps", &TestSettings::print_timestamps)
      .def_readwrite("performance_issue_unique", &TestSettings::performance_issue_unique)
      .def_readwrite("performance_issue_same", &TestSettings::performance_issue_same)
      .def_readwrite("performance_issue_same_index", &TestSettings::performance_issue_same_index)
      .def_readwrite("performance_sample_count_override",
                     &TestSettings::performance_sample_count_override)
      .def_readwrite("accuracy_sample_count_override",
                     &TestSettings::accuracy_sample_count_override)
      .def_readwrite("use_token_latencies", &TestSettings::use_token_latencies)
      // The official Python names of the two Server token-latency targets.
      .def_readwrite("ttft_latency", &TestSettings::server_ttft_latency)
      .def_readwrite("tpot_latency", &TestSettings::server_tpot_latency)
      .def_readwrite("infer_token_latencies", &TestSettings::infer_token_latencies)
      .def_readwrite("token_latency_scaling_factor", &TestSettings::token_latency_scaling_factor)
      .def("FromConfig", &TestSettings::FromConfig, py::arg("path"), py::arg("model"),
           py::arg("scenario"), py::arg("conf_type") = 1, kFromConfigDoc);
}

void RegisterLogSettings(py::module_& m) {
  py::class_<LogOutputSettings>(m, "LogOutputSettings")
      .def(py::init<>())
      .def_readwrite("outdir", &LogOutputSettings::outdir)
      .def_readwrite("prefix", &LogOutputSettings::prefix)
      .def_readwrite("suffix", &LogOutputSettings::suffix)
      .def_readwrite("prefix_with_datetime", &LogOutputSettings::prefix_with_datetime)
      .def_readwrite("copy_detail_to_stdout", &LogOutputSettings::copy_detail_to_stdout)
      .def_readwrite("copy_summary_to_stdout", &LogOutputSettings::copy_summary_to_stdout);

  // def_readwrite returns class members by reference_internal: `ls.log_output.outdir = x`
  // changes `ls`, as harnesses expect.
  py::class_<LogSettings>(m, "LogSettings")
      .def(py::init<>())
      .def_readwrite("log_output", &LogSettings::log_output)
      .def_readwrite("log_mode", &LogSettings::log_mode)
      .def_readwrite("log_mode_async_poll_interval_ms",
                     &LogSettings::log_mode_async_poll_interval_ms)
      .def_readwrite("enable_trace", &LogSettings::enable_trace);
}

}  // namespace

void RegisterSettings(py::module_& m) {
  RegisterEnums(m);
  RegisterTestSettings(m);
  RegisterLogSettings(m);
  m.def("_set_mlperf_conf_path", &settings::SetMlperfConfPath, py::arg("path"),
        "Sets the mlperf.conf file that FromConfig applies (the Python package calls this at "
        "import with the copy it ships).");
}

}  // namespace loadgen::python
