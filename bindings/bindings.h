// Shared declarations of the loadgen._core binding files.
#ifndef LOADGEN_BINDINGS_BINDINGS_H_
#define LOADGEN_BINDINGS_BINDINGS_H_

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/typing.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "query_sample.h"
#include "query_sample_library.h"
#include "sample_types.h"
#include "schedule/load_models/load_model.h"
#include "session/load_stages.h"
#include "system_under_test.h"

// The Vector* classes are bound as real opaque vectors. Without this, stl.h's automatic list
// conversion competes with the bound type (the official wheel recurses forever on construction).
// Every binding file includes this header, so all of them agree on it.
PYBIND11_MAKE_OPAQUE(std::vector<mlperf::QuerySample>)
PYBIND11_MAKE_OPAQUE(std::vector<mlperf::QuerySampleResponse>)

namespace loadgen::python {

namespace py = pybind11;

void RegisterSettings(py::module_& m);
void RegisterSutQsl(py::module_& m);
void RegisterRun(py::module_& m);
void RegisterTyped(py::module_& m);
void RegisterNet(py::module_& m);  // register_net.cc (empty without LOADGEN_HAVE_NET)
void RegisterLoadModels(py::module_& m);
void RegisterMetrics(py::module_& m);   // register_metrics.cc
void RegisterTestSuts(py::module_& m);  // register_test_suts.cc: SUTs of known capacity
// register_grpc.cc: the native gRPC client (empty without LOADGEN_HAVE_GRPC)
void RegisterGrpc(py::module_& m);

/// The stage list of a Python LoadModel (dicts, python/loadgen/load_models.py).
schedule::LoadModel LoadModelFromPython(const py::handle& stage_list);

/// The SUT (from ConstructSUT, ConstructFastSUT or ConstructQDL) behind a handle.
/// Throws py::value_error naming the problem if the handle is unknown, destroyed or a QSL.
std::shared_ptr<mlperf::SystemUnderTest> FindSut(uintptr_t handle);

/// Registers a SUT implemented in C++ (e.g. loadgen.net's EndpointSut) under a handle that
/// StartTest, loadgen.run and DestroySUT accept.
uintptr_t AddNativeSut(std::shared_ptr<mlperf::SystemUnderTest> sut);

/// The QSL behind a handle from ConstructQSL; throws py::value_error otherwise.
std::shared_ptr<mlperf::QuerySampleLibrary> FindQsl(uintptr_t handle);

}  // namespace loadgen::python

#endif  // LOADGEN_BINDINGS_BINDINGS_H_
