// loadgen._core.GrpcEndpointSut: the native KServe v2 gRPC client (cpp/src/net/grpc) as a SUT
// object, registered under a SUT handle like _core.EndpointSut. Queries never call into Python.
#include "bindings.h"

#ifdef LOADGEN_HAVE_GRPC

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "net/grpc/grpc_endpoint_sut.h"
#include "net_records.h"

namespace loadgen::python {
namespace {

using net::GrpcEndpointSut;

struct NativeGrpcEndpointSut {
  std::shared_ptr<GrpcEndpointSut> sut;
  uintptr_t handle = 0;
};

int64_t ToNs(double seconds, const char* what) {
  if (!(seconds >= 0) || seconds > 1e9) {
    throw py::value_error(std::string(what) + " must be a number of seconds >= 0");
  }
  return static_cast<int64_t>(seconds * 1e9);
}

// The HTTP client's keys (net_records.h); the reasons as the gRPC client names them.
py::dict GrpcStatsDict(const net::EndpointStats& s) {
  return EndpointStatsDict(s, net::GrpcFailureReasonName);
}

// The HTTP client's columns, plus each call's gRPC status.
py::dict GrpcRecordsDict(const GrpcEndpointSut& sut) {
  std::vector<net::GrpcQueryRecord> records;
  std::vector<int64_t> chunk_times;
  {
    py::gil_scoped_release nogil;
    sut.CopyRecords(&records, &chunk_times);
  }
  RecordColumns columns(net::GrpcFailureReasonName);
  py::list grpc_status;
  for (const net::GrpcQueryRecord& g : records) {
    columns.Append(g.query, chunk_times);
    grpc_status.append(net::GrpcStatusName(g.status_code));
  }
  py::dict d = columns.Dict();
  d["grpc_status"] = grpc_status;
  return d;
}

}  // namespace

void RegisterGrpc(py::module_& m) {
  py::register_exception<net::GrpcStartError>(m, "GrpcStartError", PyExc_RuntimeError);
  py::class_<NativeGrpcEndpointSut>(m, "GrpcEndpointSut",
                                    "A SUT that sends each sample's prebuilt KServe v2 "
                                    "ModelInferRequest over gRPC from native code (gRPC C++; no "
                                    "Python call per query or per streamed response).")
      .def(py::init([](const std::vector<std::string>& targets, const std::string& model,
                       bool stream, const std::vector<py::bytes>& requests,
                       const std::vector<std::pair<std::string, std::string>>& metadata,
                       const std::string& balance, double connect_timeout_s, double total_timeout_s,
                       size_t channels, bool check_model, bool record_chunk_times) {
             net::GrpcEndpointConfig config;
             config.targets = targets;
             config.model = model;
             config.stream = stream;
             config.metadata = metadata;
             if (balance == "round-robin") {
               config.balance = net::BalancePolicy::kRoundRobin;
             } else if (balance == "least-outstanding") {
               config.balance = net::BalancePolicy::kLeastOutstanding;
             } else {
               throw py::value_error("balance must be 'round-robin' or 'least-outstanding', got '" +
                                     balance + "'");
             }
             config.connect_timeout_ns = ToNs(connect_timeout_s, "connect_timeout_s");
             config.total_timeout_ns = ToNs(total_timeout_s, "total_timeout_s");
             config.channels = channels;
             config.check_model = check_model;
             config.record_chunk_times = record_chunk_times;
             std::vector<std::string> request_bytes;
             request_bytes.reserve(requests.size());
             for (const py::bytes& b : requests) request_bytes.emplace_back(b);
             std::shared_ptr<GrpcEndpointSut> sut;
             try {
               py::gil_scoped_release nogil;  // connecting may take up to connect_timeout_s
               sut = std::make_shared<GrpcEndpointSut>(std::move(config), std::move(request_bytes));
             } catch (const std::invalid_argument& e) {
               throw py::value_error(e.what());
             }
             NativeGrpcEndpointSut object;
             object.sut = sut;
             object.handle = AddNativeSut(sut);
             return object;
           }),
           py::arg("targets"), py::arg("model"), py::arg("stream"), py::arg("requests"),
           py::kw_only(), py::arg("metadata") = std::vector<std::pair<std::string, std::string>>(),
           py::arg("balance") = "round-robin", py::arg("connect_timeout_s") = 10.0,
           py::arg("total_timeout_s") = 0.0, py::arg("channels") = 1,
           py::arg("check_model") = false, py::arg("record_chunk_times") = true)
      .def_property_readonly(
          "handle", [](const NativeGrpcEndpointSut& s) { return s.handle; },
          "The SUT handle StartTest and loadgen.run accept (DestroySUT releases it).")
      .def_property_readonly("name", [](const NativeGrpcEndpointSut& s) { return s.sut->Name(); })
      .def_property_readonly("outstanding",
                             [](const NativeGrpcEndpointSut& s) { return s.sut->Outstanding(); })
      .def(
          "issue",
          [](const NativeGrpcEndpointSut& s, const std::vector<uint64_t>& ids,
             const std::vector<size_t>& indices) {
            if (ids.size() != indices.size()) {
              throw py::value_error("issue: ids and indices differ in length");
            }
            std::vector<mlperf::QuerySample> samples(ids.size());
            for (size_t i = 0; i < ids.size(); ++i) samples[i] = {ids[i], indices[i]};
            py::gil_scoped_release nogil;
            s.sut->IssueQuery(samples);
          },
          py::arg("ids"), py::arg("indices"),
          "Issues samples directly (what the engine's IssueQuery does), e.g. outside a test.")
      .def(
          "stats", [](const NativeGrpcEndpointSut& s) { return GrpcStatsDict(s.sut->Stats()); },
          "Totals: issued, completed, failed, failures by reason, per-endpoint counts.")
      .def(
          "records", [](const NativeGrpcEndpointSut& s) { return GrpcRecordsDict(*s.sut); },
          "Per-query records (columns of lists) in completion order.")
      .def("clear_records", [](const NativeGrpcEndpointSut& s) { s.sut->ClearRecords(); })
      .def(
          "cancel_all", [](const NativeGrpcEndpointSut& s) { s.sut->CancelAll(); },
          py::call_guard<py::gil_scoped_release>(),
          "Cancels every call in flight (their samples complete as failed) and waits for them.");
}

}  // namespace loadgen::python

#else  // built without the native gRPC client (LOADGEN_GRPC=OFF, or no gRPC C++)

namespace loadgen::python {
void RegisterGrpc(py::module_&) {}
}  // namespace loadgen::python

#endif
