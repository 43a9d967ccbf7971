// Request metrics for the typed API (python/loadgen/metrics.py, docs/metrics.md): the engine's
// per-stage results and results::ComputeRequestMetrics over a test's request table or over an
// endpoint's records, as read-only classes with stubs in _core.pyi.
#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "bindings.h"
#include "results/log_histogram.h"
#include "results/request_metrics.h"
#include "session/session.h"

namespace loadgen::python {
namespace {

using results::Distribution;
using results::MetricOptions;
using results::RequestMetrics;
using results::RequestRow;
using results::TierGoodput;

// (name, ttft_ns, tpot_ns, e2e_ns), -1 for no limit.
using TierTuple = std::tuple<std::string, int64_t, int64_t, int64_t>;

MetricOptions Options(const std::vector<double>& percentiles, const std::vector<TierTuple>& tiers,
                      size_t exact_limit) {
  MetricOptions o;
  o.percentiles = percentiles;
  for (const auto& [name, ttft, tpot, e2e] : tiers) o.tiers.push_back({name, ttft, tpot, e2e});
  o.exact_limit = exact_limit;
  try {
    results::ValidateMetricOptions(o);
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  }
  return o;
}

RequestMetrics OutcomeMetrics(const session::TestOutcome& outcome,
                              const std::vector<double>& percentiles,
                              const std::vector<TierTuple>& tiers, int32_t stage,
                              const std::vector<int64_t>& itl_ns,
                              const std::vector<int64_t>& input_tokens, size_t exact_limit,
                              std::optional<std::vector<uint64_t>> response_ids) {
  const MetricOptions o = Options(percentiles, tiers, exact_limit);
  py::gil_scoped_release nogil;
  if (input_tokens.empty() && !response_ids)
    return results::ComputeRequestMetrics(outcome.requests, itl_ns, o, stage);
  std::vector<RequestRow> rows;
  if (response_ids) {
    // Only the rows of these samples (one endpoint URL's), timed from their scheduled moments
    // like the run's.
    std::sort(response_ids->begin(), response_ids->end());
    for (size_t i = 0; i < outcome.requests.size() && i < outcome.request_ids.size(); ++i) {
      if (std::binary_search(response_ids->begin(), response_ids->end(), outcome.request_ids[i])) {
        rows.push_back(outcome.requests[i]);
      }
    }
  } else {
    rows = outcome.requests;
  }
  // The input length of each request's sample, where the SUT knows it (an endpoint's dataset).
  for (RequestRow& r : rows) {
    if (r.sample_index < input_tokens.size()) {
      r.input_tokens = static_cast<int32_t>(input_tokens[r.sample_index]);
    }
  }
  return results::ComputeRequestMetrics(rows, itl_ns, o, stage);
}

// Endpoint records as columns (lists of equal length).
RequestMetrics ColumnMetrics(const std::vector<int64_t>& scheduled_ns,
                             const std::vector<int64_t>& e2e_ns,
                             const std::vector<int64_t>& ttft_ns,
                             const std::vector<int64_t>& output_tokens,
                             const std::vector<int64_t>& input_tokens,
                             const std::vector<bool>& failed, const std::vector<int64_t>& itl_ns,
                             const std::vector<double>& percentiles,
                             const std::vector<TierTuple>& tiers, size_t exact_limit) {
  const size_t n = scheduled_ns.size();
  if (e2e_ns.size() != n || ttft_ns.size() != n || output_tokens.size() != n ||
      input_tokens.size() != n || failed.size() != n) {
    throw py::value_error("the request columns must have the same length");
  }
  const MetricOptions o = Options(percentiles, tiers, exact_limit);
  std::vector<RequestRow> rows(n);
  for (size_t i = 0; i < n; ++i) {
    RequestRow& r = rows[i];
    r.scheduled_ns = scheduled_ns[i];
    r.e2e_ns = e2e_ns[i];
    r.ttft_ns = ttft_ns[i];
    r.output_tokens = static_cast<int32_t>(output_tokens[i]);
    r.input_tokens = static_cast<int32_t>(input_tokens[i]);
    r.failed = failed[i];
  }
  py::gil_scoped_release nogil;
  return results::ComputeRequestMetrics(rows, itl_ns, o);
}

}  // namespace

void RegisterMetrics(py::module_& m) {
  using session::StageResult;
  py::class_<StageResult>(m, "StageResult", "One stage of a load model's run.")
      .def_readonly("name", &StageResult::name)
      .def_readonly("kind", &StageResult::kind)
      .def_readonly("measured", &StageResult::measured)
      .def_readonly("concurrency", &StageResult::concurrency)
      .def_readonly("planned_queries", &StageResult::planned_queries)
      .def_readonly("queries_issued", &StageResult::queries_issued)
      .def_readonly("samples_completed", &StageResult::samples_completed)
      .def_readonly("start_s", &StageResult::start_s)
      .def_readonly("duration_s", &StageResult::duration_s)
      .def_readonly("issued_qps", &StageResult::issued_qps)
      .def_readonly("completed_qps", &StageResult::completed_qps)
      .def_readonly("latency_min_ns", &StageResult::latency_min_ns)
      .def_readonly("latency_mean_ns", &StageResult::latency_mean_ns)
      .def_readonly("latency_max_ns", &StageResult::latency_max_ns)
      .def_property_readonly("latency_percentiles_ns",
                             [](const StageResult& s) {
                               py::dict d;
                               for (const auto& [p, v] : s.latency_percentiles_ns) {
                                 d[py::float_(p)] = v;
                               }
                               return d;
                             })
      .def_readonly("gated_queries", &StageResult::gated_queries)
      .def_readonly("gate_wait_mean_ns", &StageResult::gate_wait_mean_ns)
      .def_readonly("gate_wait_max_ns", &StageResult::gate_wait_max_ns)
      .def_readonly("ran_out", &StageResult::ran_out)
      .def_readonly("first_issue_ns", &StageResult::first_issue_ns)
      .def_readonly("conversations_planned", &StageResult::conversations_planned)
      .def_readonly("conversations_started", &StageResult::conversations_started)
      .def_readonly("conversations_completed", &StageResult::conversations_completed);

  py::class_<Distribution>(m, "Distribution", "One figure's distribution (docs/metrics.md).")
      .def_readonly("count", &Distribution::count)
      .def_readonly("min", &Distribution::min)
      .def_readonly("max", &Distribution::max)
      .def_readonly("mean", &Distribution::mean)
      .def_readonly("percentiles", &Distribution::percentiles)
      .def_readonly("approximate", &Distribution::approximate);
  py::class_<TierGoodput>(m, "TierGoodput", "Goodput against one SLO tier.")
      .def_readonly("name", &TierGoodput::name)
      .def_readonly("met", &TierGoodput::met)
      .def_readonly("share", &TierGoodput::share)
      .def_readonly("rate_per_s", &TierGoodput::rate_per_s);
  py::class_<RequestMetrics>(m, "RequestMetrics", "results::ComputeRequestMetrics's result.")
      .def_readonly("requests", &RequestMetrics::requests)
      .def_readonly("failed", &RequestMetrics::failed)
      .def_readonly("duration_s", &RequestMetrics::duration_s)
      .def_readonly("output_tokens", &RequestMetrics::output_tokens)
      .def_readonly("input_tokens", &RequestMetrics::input_tokens)
      .def_readonly("input_tokens_known", &RequestMetrics::input_tokens_known)
      .def_readonly("request_throughput", &RequestMetrics::request_throughput)
      .def_readonly("output_token_throughput", &RequestMetrics::output_token_throughput)
      .def_readonly("total_token_throughput", &RequestMetrics::total_token_throughput)
      .def_readonly("e2e_ns", &RequestMetrics::e2e_ns)
      .def_readonly("ttft_ns", &RequestMetrics::ttft_ns)
      .def_readonly("tpot_ns", &RequestMetrics::tpot_ns)
      .def_readonly("itl_ns", &RequestMetrics::itl_ns)
      .def_readonly("output_tokens_per_s_per_user", &RequestMetrics::output_tokens_per_s_per_user)
      .def_readonly("goodput", &RequestMetrics::goodput);

  m.def(
      "_requests_origin_ns", [](const session::TestOutcome& o) { return o.requests_origin_ns; },
      py::arg("outcome"), "The clock time the request table's scheduled_ns count from.");
  m.def(
      "_request_count",
      [](const session::TestOutcome& o) { return static_cast<uint64_t>(o.requests.size()); },
      py::arg("outcome"), "Rows in the outcome's request table.");
  m.def(
      "_request_metrics", &OutcomeMetrics, py::arg("outcome"), py::arg("percentiles"),
      py::arg("tiers"), py::arg("stage") = results::kMeasuredRows,
      py::arg("itl_ns") = std::vector<int64_t>{}, py::arg("input_tokens") = std::vector<int64_t>{},
      py::arg("exact_limit") = MetricOptions{}.exact_limit, py::arg("response_ids") = std::nullopt,
      "Metrics of the outcome's measured requests (stage -1) or of one stage's; `itl_ns`: "
      "the inter-token gaps seen for them (an endpoint SUT's chunk times); `input_tokens`: "
      "the input length per QSL index (-1: unknown), if the SUT knows them; `response_ids`: "
      "only the rows of these samples (an endpoint URL's records).");
  m.def("_column_metrics", &ColumnMetrics, py::arg("scheduled_ns"), py::arg("e2e_ns"),
        py::arg("ttft_ns"), py::arg("output_tokens"), py::arg("input_tokens"), py::arg("failed"),
        py::arg("itl_ns"), py::arg("percentiles"), py::arg("tiers"),
        py::arg("exact_limit") = MetricOptions{}.exact_limit,
        "Metrics of requests given as columns (an endpoint's records; -1: unknown).");
  m.attr("HISTOGRAM_RELATIVE_ERROR") = results::LogHistogram::kRelativeError;
}

}  // namespace loadgen::python
