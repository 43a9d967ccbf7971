// loadgen._core.EndpointSut: the native network client (cpp/src/net) as a SUT object. Queries
// never call into Python: the object is registered under a SUT handle that the drop-in
// StartTest and loadgen.run accept, and the client's I/O thread completes the samples.
#include "bindings.h"

#ifdef LOADGEN_HAVE_NET

#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "net/endpoint_sut.h"
#include "net_records.h"

namespace loadgen::python {
namespace {

using net::EndpointSut;

net::ApiKind ParseApi(const std::string& api) {
  if (api == "openai") return net::ApiKind::kOpenAiCompletions;
  if (api == "openai-chat") return net::ApiKind::kOpenAiChat;
  if (api == "kserve") return net::ApiKind::kKserveV2;
  if (api == "triton-generate") return net::ApiKind::kTritonGenerate;
  throw py::value_error(
      "api must be 'openai', 'openai-chat', 'kserve' or 'triton-generate', got '" + api + "'");
}

int64_t SecondsToNs(double seconds, const char* what) {
  if (!(seconds >= 0) || seconds > 1e9) {
    throw py::value_error(std::string(what) + " must be a number of seconds >= 0");
  }
  return static_cast<int64_t>(seconds * 1e9);
}

// The Python object: the SUT plus its registry handle.
struct NativeEndpointSut {
  std::shared_ptr<EndpointSut> sut;
  uintptr_t handle = 0;
};

py::dict StatsDict(const net::EndpointStats& s) {
  return EndpointStatsDict(s, net::FailureReasonName);
}

py::dict RecordsDict(const EndpointSut& sut) {
  std::vector<net::QueryRecord> records;
  std::vector<int64_t> chunk_times;
  {
    py::gil_scoped_release nogil;
    sut.CopyRecords(&records, &chunk_times);
  }
  RecordColumns columns(net::FailureReasonName);
  for (const net::QueryRecord& r : records) columns.Append(r, chunk_times);
  return columns.Dict();
}

}  // namespace

void RegisterNet(py::module_& m) {
  py::class_<NativeEndpointSut>(m, "EndpointSut",
                                "A SUT that sends each sample's request body to HTTP endpoints "
                                "from a native I/O thread (no Python call per query).")
      .def(py::init([](const std::vector<std::string>& base_urls, const std::string& path,
                       const std::string& api, bool stream, const std::vector<py::bytes>& bodies,
                       const std::vector<size_t>& json_lengths,
                       const std::vector<std::pair<std::string, std::string>>& headers,
                       const std::string& content_type, const std::string& balance,
                       bool first_token_skips_reasoning, bool report_first_token,
                       const std::string& output_name, double connect_timeout_s,
                       double first_byte_timeout_s, double total_timeout_s, size_t max_connections,
                       bool record_chunk_times, double busy_poll_us,
                       const std::vector<std::tuple<uint64_t, uint32_t, uint32_t, size_t, size_t>>&
                           conversation_turns,
                       bool write_on_issue) {
             net::EndpointConfig config;
             config.base_urls = base_urls;
             config.path = path;
             config.api = ParseApi(api);
             config.stream = stream;
             config.headers = headers;
             config.content_type = content_type;
             if (balance == "round-robin") {
               config.balance = net::BalancePolicy::kRoundRobin;
             } else if (balance == "least-outstanding") {
               config.balance = net::BalancePolicy::kLeastOutstanding;
             } else {
               throw py::value_error("balance must be 'round-robin' or 'least-outstanding', got '" +
                                     balance + "'");
             }
             config.first_token_skips_reasoning = first_token_skips_reasoning;
             config.report_first_token = report_first_token;
             config.output_name = output_name;
             config.connect_timeout_ns = SecondsToNs(connect_timeout_s, "connect_timeout_s");
             config.first_byte_timeout_ns =
                 SecondsToNs(first_byte_timeout_s, "first_byte_timeout_s");
             config.total_timeout_ns = SecondsToNs(total_timeout_s, "total_timeout_s");
             config.max_connections = max_connections;
             config.record_chunk_times = record_chunk_times;
             config.busy_poll_ns = SecondsToNs(busy_poll_us / 1e6, "busy_poll_us");
             config.write_on_issue = write_on_issue;
             if (!conversation_turns.empty()) {
               auto layout = std::make_shared<net::ConversationLayout>();
               for (const auto& [sample, conversation, turn, begin, end] : conversation_turns) {
                 layout->turns.push_back({sample, conversation, turn, begin, end});
               }
               config.conversations = std::move(layout);
             }
             std::vector<std::string> body_strings;
             body_strings.reserve(bodies.size());
             for (const py::bytes& b : bodies) body_strings.emplace_back(b);
             std::shared_ptr<EndpointSut> sut;
             try {
               py::gil_scoped_release nogil;  // resolving host names may take a while
               sut = std::make_shared<EndpointSut>(std::move(config), std::move(body_strings),
                                                   json_lengths);
             } catch (const std::invalid_argument& e) {
               throw py::value_error(e.what());
             }
             NativeEndpointSut object;
             object.sut = sut;
             object.handle = AddNativeSut(sut);
             return object;
           }),
           py::arg("base_urls"), py::arg("path"), py::arg("api"), py::arg("stream"),
           py::arg("bodies"), py::kw_only(), py::arg("json_lengths") = std::vector<size_t>(),
           py::arg("headers") = std::vector<std::pair<std::string, std::string>>(),
           py::arg("content_type") = "application/json", py::arg("balance") = "round-robin",
           py::arg("first_token_skips_reasoning") = false, py::arg("report_first_token") = true,
           py::arg("output_name") = "text_output", py::arg("connect_timeout_s") = 10.0,
           py::arg("first_byte_timeout_s") = 0.0, py::arg("total_timeout_s") = 0.0,
           py::arg("max_connections") = 64, py::arg("record_chunk_times") = true,
           py::arg("busy_poll_us") = 0.0,
           py::arg("conversation_turns") =
               std::vector<std::tuple<uint64_t, uint32_t, uint32_t, size_t, size_t>>(),
           py::arg("write_on_issue") = true)
      .def_property_readonly(
          "handle", [](const NativeEndpointSut& s) { return s.handle; },
          "The SUT handle StartTest and loadgen.run accept (DestroySUT releases it).")
      .def_property_readonly("name", [](const NativeEndpointSut& s) { return s.sut->Name(); })
      .def_property_readonly("outstanding",
                             [](const NativeEndpointSut& s) { return s.sut->Outstanding(); })
      .def(
          "stats", [](const NativeEndpointSut& s) { return StatsDict(s.sut->Stats()); },
          "Totals: issued, completed, failed, failures by reason, per-endpoint counts.")
      .def(
          "records", [](const NativeEndpointSut& s) { return RecordsDict(*s.sut); },
          "Per-query records (columns of lists) in completion order.")
      .def("clear_records", [](const NativeEndpointSut& s) { s.sut->ClearRecords(); })
      .def(
          "cancel_all", [](const NativeEndpointSut& s) { s.sut->CancelAll(); },
          py::call_guard<py::gil_scoped_release>(),
          "Fails every queued and in-flight request and closes the connections.");
}

}  // namespace loadgen::python

#else  // built without the network client (LOADGEN_NET=OFF or no Boost)

namespace loadgen::python {
void RegisterNet(py::module_&) {}
}  // namespace loadgen::python

#endif
