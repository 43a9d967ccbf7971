// QuerySample and QuerySampleResponse as native Python types rather than pybind11 classes.
//
// A harness creates one QuerySampleResponse and reads one QuerySample.id per sample, and the
// engine hands it one QuerySample per sample. As pybind11 instances each of these costs
// thousands of instructions (the dispatcher, overload resolution, the instance registry, a
// separately allocated C++ value); as plain structs behind PyObject_HEAD with a vectorcall
// constructor they cost about a hundred. The type_casters below keep the pybind11 bindings
// working with mlperf::QuerySample and mlperf::QuerySampleResponse unchanged: by value as
// copies, and by reference (the Vector* element accessors) as views of the C++ object.
#ifndef LOADGEN_BINDINGS_SAMPLE_TYPES_H_
#define LOADGEN_BINDINGS_SAMPLE_TYPES_H_

#include <pybind11/pybind11.h>

#include "query_sample.h"

namespace loadgen::python {

/// Creates the QuerySample and QuerySampleResponse types and adds them to `m`. Must run before
/// any other function here (module initialisation).
void RegisterSampleTypes(pybind11::module_& m);

/// The value an object holds or views, or null if `object` is not of the type (or a subclass).
/// Requires the GIL.
mlperf::QuerySample* QuerySampleValue(PyObject* object);
mlperf::QuerySampleResponse* ResponseValue(PyObject* object);

/// A new object holding a copy of `value`: a new reference, or null with a Python error set.
/// Requires the GIL.
PyObject* NewQuerySample(const mlperf::QuerySample& value);
PyObject* NewResponse(const mlperf::QuerySampleResponse& value);

/// A new object whose fields read and write `*value`, which must outlive it; `owner` (may be
/// null) is kept alive until the view is destroyed. Requires the GIL.
PyObject* NewQuerySampleView(mlperf::QuerySample* value, PyObject* owner);
PyObject* NewResponseView(mlperf::QuerySampleResponse* value, PyObject* owner);

/// pybind11 conversions of the two value types. Loading accepts the type and its subclasses
/// only (no implicit conversion, as for a bound class). Casting a reference with the
/// reference or reference_internal policy makes a view (owned by the parent), anything else a
/// copy.
template <typename T, T* (*kValue)(PyObject*), PyObject* (*kNew)(const T&),
          PyObject* (*kNewView)(T*, PyObject*)>
class SampleCaster {
 public:
  bool load(pybind11::handle source, bool /*convert*/) {
    value_ = kValue(source.ptr());
    return value_ != nullptr;
  }

  static pybind11::handle cast(const T& source, pybind11::return_value_policy policy,
                               pybind11::handle parent) {
    using pybind11::return_value_policy;
    PyObject* object =
        policy == return_value_policy::reference ||
                policy == return_value_policy::reference_internal
            ? kNewView(const_cast<T*>(&source),
                       policy == return_value_policy::reference_internal ? parent.ptr() : nullptr)
            : kNew(source);
    if (object == nullptr) throw pybind11::error_already_set();
    return object;
  }

  static pybind11::handle cast(const T* source, pybind11::return_value_policy policy,
                               pybind11::handle parent) {
    if (source == nullptr) return pybind11::none().release();
    if (policy == pybind11::return_value_policy::automatic_reference) {
      policy = pybind11::return_value_policy::reference;
    }
    return cast(*source, policy, parent);
  }

  template <typename U>
  using cast_op_type = pybind11::detail::movable_cast_op_type<U>;
  operator T*() { return value_; }
  operator T&() { return *value_; }
  operator T&&() && { return std::move(*value_); }

 private:
  T* value_ = nullptr;
};

}  // namespace loadgen::python

namespace pybind11::detail {

template <>
class type_caster<mlperf::QuerySample>
    : public loadgen::python::SampleCaster<mlperf::QuerySample, loadgen::python::QuerySampleValue,
                                           loadgen::python::NewQuerySample,
                                           loadgen::python::NewQuerySampleView> {
 public:
  static constexpr auto name = const_name("loadgen._core.QuerySample");
};

template <>
class type_caster<mlperf::QuerySampleResponse>
    : public loadgen::python::SampleCaster<
          mlperf::QuerySampleResponse, loadgen::python::ResponseValue, loadgen::python::NewResponse,
          loadgen::python::NewResponseView> {
 public:
  static constexpr auto name = const_name("loadgen._core.QuerySampleResponse");
};

}  // namespace pybind11::detail

#endif  // LOADGEN_BINDINGS_SAMPLE_TYPES_H_
