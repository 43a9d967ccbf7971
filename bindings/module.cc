// The native module loadgen._core. Each register_*.cc file binds one part of the API.
#include "bindings.h"

PYBIND11_MODULE(_core, m) {
  m.doc() = "MLPerf Inference load generator.";
  loadgen::python::RegisterSettings(m);
  loadgen::python::RegisterSutQsl(m);
  loadgen::python::RegisterRun(m);
  loadgen::python::RegisterTyped(m);
  loadgen::python::RegisterNet(m);
  loadgen::python::RegisterGrpc(m);
  loadgen::python::RegisterLoadModels(m);
  loadgen::python::RegisterMetrics(m);
  loadgen::python::RegisterTestSuts(m);
}
