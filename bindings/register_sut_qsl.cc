// The Vector* classes (the sample types themselves are in sample_types.cc); the Python SUT,
// FastSUT, QDL and QSL adapters and the Construct*/Destroy* functions (as the official
// loadgen/bindings/python_api.cc, ConstructSUT / ConstructFastSUT / ConstructQDL / ConstructQSL;
// tests/data/official_surface.json records the surface).
//
// Handles are Python ints, as in the official module, but they are keys into a registry of
// shared_ptr-owned adapters rather than raw pointers: an unknown, destroyed or wrong-kind handle
// raises ValueError, and a SUT destroyed while a test runs stays alive until the test ends.
#include <pybind11/stl_bind.h>

#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "bindings.h"
#include "common/thread_annotations.h"
#include "query_dispatch_library.h"

namespace loadgen::python {
namespace {

using mlperf::QuerySample;
using mlperf::QuerySampleIndex;
using mlperf::QuerySampleResponse;

// Parameter types: a callable or None (None is accepted, as officially, and fails when called).
using IssueCallback = std::optional<py::typing::Callable<void(py::typing::List<QuerySample>)>>;
using FastIssueCallback = std::optional<
    py::typing::Callable<void(py::typing::List<py::int_>, py::typing::List<py::int_>)>>;
using FlushCallback = std::optional<py::typing::Callable<void()>>;
using NameCallback = std::optional<py::typing::Callable<py::str()>>;
using IndicesCallback = std::optional<py::typing::Callable<void(py::typing::List<py::int_>)>>;

// A Python callable (or None) held by a native adapter. Only used and released with the GIL.
class PyCallback {
 public:
  template <typename Optional>
  PyCallback(const Optional& fn, const char* what)
      : fn_(fn ? py::object(*fn) : py::none()), what_(what) {}
  PyCallback(const PyCallback&) = delete;
  PyCallback& operator=(const PyCallback&) = delete;
  ~PyCallback() {
    py::gil_scoped_acquire gil;
    fn_ = py::object();
  }

  // Requires the GIL. A Python exception propagates as py::error_already_set. A vectorcall:
  // no argument tuple per call.
  template <typename... Objects>
  py::object operator()(const Objects&... args) const {
    if (fn_.is_none()) {
      throw py::type_error(std::string(what_) +
                           " is None, but loadgen needs to call it: pass a callable");
    }
    // Slot 0 is scratch space the callee may use (PY_VECTORCALL_ARGUMENTS_OFFSET).
    PyObject* argv[] = {nullptr, args.ptr()...};
    PyObject* result = PyObject_Vectorcall(
        fn_.ptr(), argv + 1, sizeof...(Objects) | PY_VECTORCALL_ARGUMENTS_OFFSET, nullptr);
    if (result == nullptr) throw py::error_already_set();
    return py::reinterpret_steal<py::object>(result);
  }

 private:
  py::object fn_;
  const char* what_;
};

// The GIL for a callback, taken with PyGILState_Ensure. On the thread that called StartTest
// this only retakes the GIL; pybind11's gil_scoped_acquire also consults its internals, which
// costs several hundred instructions per query in Server and SingleStream.
class CallbackGil {
 public:
  CallbackGil() : state_(PyGILState_Ensure()) {}
  CallbackGil(const CallbackGil&) = delete;
  CallbackGil& operator=(const CallbackGil&) = delete;
  ~CallbackGil() { PyGILState_Release(state_); }

 private:
  PyGILState_STATE state_;
};

// Requires the GIL. Built with the C API: these lists carry one object per issued sample.
py::list SampleList(const std::vector<QuerySample>& samples) {
  auto list = py::reinterpret_steal<py::list>(PyList_New(static_cast<Py_ssize_t>(samples.size())));
  if (!list) throw py::error_already_set();
  for (size_t i = 0; i < samples.size(); ++i) {
    PyObject* sample = NewQuerySample(samples[i]);
    if (sample == nullptr) throw py::error_already_set();
    PyList_SET_ITEM(list.ptr(), static_cast<Py_ssize_t>(i), sample);
  }
  return list;
}

// Requires the GIL. `get` maps an element to the uint64 to store.
template <typename Values, typename Get>
py::list IntList(const Values& values, Get&& get) {
  auto list = py::reinterpret_steal<py::list>(PyList_New(static_cast<Py_ssize_t>(values.size())));
  if (!list) throw py::error_already_set();
  for (size_t i = 0; i < values.size(); ++i) {
    PyObject* value = PyLong_FromUnsignedLongLong(get(values[i]));
    if (value == nullptr) throw py::error_already_set();
    PyList_SET_ITEM(list.ptr(), static_cast<Py_ssize_t>(i), value);
  }
  return list;
}

py::list IndexList(const std::vector<QuerySampleIndex>& indices) {
  return IntList(indices, [](QuerySampleIndex index) { return index; });
}

// Requires the GIL. The sample indices of a batch as a list. Indices repeat (a run cycles
// through its loadable set) and ints are immutable, so in a large batch equal indices share one
// object: the list then costs 8 bytes per sample instead of 40.
py::list SampleIndexList(const std::vector<QuerySample>& samples) {
  constexpr size_t kShareFrom = 1024;  // smaller batches are not worth the table
  constexpr size_t kSlots = 4096;      // direct-mapped by index
  if (samples.size() < kShareFrom) {
    return IntList(samples, [](const QuerySample& s) { return s.index; });
  }
  struct Slot {
    QuerySampleIndex index = 0;
    PyObject* object = nullptr;  // borrowed: the list holds it
  };
  std::vector<Slot> slots(kSlots);
  auto list = py::reinterpret_steal<py::list>(PyList_New(static_cast<Py_ssize_t>(samples.size())));
  if (!list) throw py::error_already_set();
  for (size_t i = 0; i < samples.size(); ++i) {
    const QuerySampleIndex index = samples[i].index;
    Slot& slot = slots[index % kSlots];
    if (slot.object != nullptr && slot.index == index) {
      Py_INCREF(slot.object);
    } else {
      PyObject* value = PyLong_FromUnsignedLongLong(index);
      if (value == nullptr) throw py::error_already_set();
      slot = {index, value};
    }
    PyList_SET_ITEM(list.ptr(), static_cast<Py_ssize_t>(i), slot.object);
  }
  return list;
}

// Every callback runs on the calling engine thread with the GIL acquired for its duration.
class PySut : public mlperf::SystemUnderTest {
 public:
  PySut(const IssueCallback& issue, const FlushCallback& flush)
      : issue_(issue, "the issue_query callback (arg0) of ConstructSUT"),
        flush_(flush, "the flush_queries callback (arg1) of ConstructSUT") {}

  const std::string& Name() override { return name_; }

  void IssueQuery(const std::vector<QuerySample>& samples) override {
    CallbackGil gil;
    issue_(SampleList(samples));
  }

  void FlushQueries() override {
    py::gil_scoped_acquire gil;
    flush_();
  }

 private:
  const std::string name_ = "PySUT";
  PyCallback issue_;
  PyCallback flush_;
};

class PyFastSut : public mlperf::SystemUnderTest {
 public:
  PyFastSut(const FastIssueCallback& issue, const FlushCallback& flush)
      : issue_(issue, "the issue_query callback (arg0) of ConstructFastSUT"),
        flush_(flush, "the flush_queries callback (arg1) of ConstructFastSUT") {}

  const std::string& Name() override { return name_; }

  void IssueQuery(const std::vector<QuerySample>& samples) override {
    CallbackGil gil;
    py::list ids = IntList(samples, [](const QuerySample& s) { return s.id; });
    py::list indices = SampleIndexList(samples);
    issue_(ids, indices);
  }

  void FlushQueries() override {
    py::gil_scoped_acquire gil;
    flush_();
  }

 private:
  const std::string name_ = "PyFastSUT";
  PyCallback issue_;
  PyCallback flush_;
};

class PyQdl : public mlperf::QueryDispatchLibrary {
 public:
  PyQdl(const IssueCallback& issue, const FlushCallback& flush, const NameCallback& name)
      : issue_(issue, "the issue_query callback (arg0) of ConstructQDL"),
        flush_(flush, "the flush_queries callback (arg1) of ConstructQDL"),
        name_cb_(name, "the name callback (arg2) of ConstructQDL") {}

  // Asks Python every time, as the official module does; the engine calls it on the
  // StartTest thread only, so one stored string per adapter is enough.
  const std::string& Name() override {
    py::gil_scoped_acquire gil;
    py::object name = name_cb_();
    py::detail::make_caster<std::string> caster;
    if (!caster.load(name, false)) {
      throw py::type_error("the name callback (arg2) of ConstructQDL must return str, not " +
                           std::string(py::str(py::type::handle_of(name).attr("__name__"))));
    }
    name_ = py::detail::cast_op<std::string&&>(std::move(caster));
    return name_;
  }

  void IssueQuery(const std::vector<QuerySample>& samples) override {
    CallbackGil gil;
    issue_(SampleList(samples));
  }

  void FlushQueries() override {
    py::gil_scoped_acquire gil;
    flush_();
  }

 private:
  std::string name_;
  PyCallback issue_;
  PyCallback flush_;
  PyCallback name_cb_;
};

class PyQsl : public mlperf::QuerySampleLibrary {
 public:
  PyQsl(size_t total_sample_count, size_t performance_sample_count, const IndicesCallback& load,
        const IndicesCallback& unload)
      : total_sample_count_(total_sample_count),
        performance_sample_count_(performance_sample_count),
        load_(load, "the load_samples_to_ram callback (arg2) of ConstructQSL"),
        unload_(unload, "the unload_samples_from_ram callback (arg3) of ConstructQSL") {}

  const std::string& Name() override { return name_; }
  size_t TotalSampleCount() override { return total_sample_count_; }
  size_t PerformanceSampleCount() override { return performance_sample_count_; }

  void LoadSamplesToRam(const std::vector<QuerySampleIndex>& samples) override {
    py::gil_scoped_acquire gil;
    load_(IndexList(samples));
  }

  void UnloadSamplesFromRam(const std::vector<QuerySampleIndex>& samples) override {
    py::gil_scoped_acquire gil;
    unload_(IndexList(samples));
  }

 private:
  const std::string name_ = "PyQSL";
  const size_t total_sample_count_;
  const size_t performance_sample_count_;
  PyCallback load_;
  PyCallback unload_;
};

enum class Kind { kSut, kFastSut, kQdl, kQsl };

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kSut:
      return "a SUT (from ConstructSUT)";
    case Kind::kFastSut:
      return "a FastSUT (from ConstructFastSUT)";
    case Kind::kQdl:
      return "a QDL (from ConstructQDL)";
    case Kind::kQsl:
      return "a QSL (from ConstructQSL)";
  }
  return "";
}

bool IsSutKind(Kind kind) { return kind != Kind::kQsl; }

struct Entry {
  Kind kind;
  std::shared_ptr<mlperf::SystemUnderTest> sut;
  std::shared_ptr<mlperf::QuerySampleLibrary> qsl;
};

// Handle -> adapter. Handles count up from 1 and are never reused, so a destroyed handle is
// recognised as such.
class Registry {
 public:
  // Never destroyed: adapters still registered at exit hold Python objects, which must not be
  // released after the interpreter is gone.
  static Registry& Get() {
    static Registry* const registry = new Registry;
    return *registry;
  }

  uintptr_t Add(Entry entry) {
    common::MutexLock lock(&mu_);
    const uintptr_t handle = next_handle_++;
    entries_.emplace(handle, std::move(entry));
    return handle;
  }

  // `sut_family` selects the accepted kinds: SUT, FastSUT and QDL, or QSL.
  Entry Find(uintptr_t handle, bool sut_family) {
    common::MutexLock lock(&mu_);
    return Check(handle, sut_family)->second;
  }

  // Unregisters the handle. The caller releases the returned entry (with the GIL held).
  Entry Remove(uintptr_t handle, bool sut_family) {
    common::MutexLock lock(&mu_);
    auto it = Check(handle, sut_family);
    Entry entry = std::move(it->second);
    entries_.erase(it);
    return entry;
  }

 private:
  std::unordered_map<uintptr_t, Entry>::iterator Check(uintptr_t handle, bool sut_family)
      LOADGEN_REQUIRES(mu_) {
    auto it = entries_.find(handle);
    if (it == entries_.end()) {
      if (handle != 0 && handle < next_handle_) {
        throw py::value_error("handle " + std::to_string(handle) +
                              " was already destroyed; construct a new one");
      }
      throw py::value_error(
          std::to_string(handle) + " is not a handle: pass the value returned by " +
          (sut_family ? "ConstructSUT, ConstructFastSUT or ConstructQDL" : "ConstructQSL"));
    }
    if (IsSutKind(it->second.kind) != sut_family) {
      throw py::value_error("handle " + std::to_string(handle) + " is " +
                            KindName(it->second.kind) + ", not " +
                            (sut_family ? "a SUT, FastSUT or QDL" : "a QSL"));
    }
    return it;
  }

  common::Mutex mu_;
  uintptr_t next_handle_ LOADGEN_GUARDED_BY(mu_) = 1;
  std::unordered_map<uintptr_t, Entry> entries_ LOADGEN_GUARDED_BY(mu_);
};

uintptr_t AddSut(Kind kind, std::shared_ptr<mlperf::SystemUnderTest> sut) {
  return Registry::Get().Add(Entry{kind, std::move(sut), nullptr});
}

// Any SUT-family destroy function accepts any SUT-family handle: the official module deletes
// all of them through the same base class.
void DestroySutHandle(uintptr_t handle) {
  // The adapter is released here, with the GIL, unless a running test still holds it.
  Registry::Get().Remove(handle, /*sut_family=*/true);
}

void RegisterSamples(py::module_& m) {
  RegisterSampleTypes(m);
  // Registered globally, as before the sample types stopped being pybind11 classes.
  py::bind_vector<std::vector<QuerySample>>(m, "VectorQuerySample", py::module_local(false));
  py::bind_vector<std::vector<QuerySampleResponse>>(m, "VectorQuerySampleResponse",
                                                    py::module_local(false));
}

void RegisterConstructors(py::module_& m) {
  m.def(
      "ConstructSUT",
      [](const IssueCallback& issue, const FlushCallback& flush) {
        return AddSut(Kind::kSut, std::make_shared<PySut>(issue, flush));
      },
      "Construct the system under test.");
  m.def("DestroySUT", &DestroySutHandle, "Destroy the object created by ConstructSUT.");

  m.def(
      "ConstructFastSUT",
      [](const FastIssueCallback& issue, const FlushCallback& flush) {
        return AddSut(Kind::kFastSut, std::make_shared<PyFastSut>(issue, flush));
      },
      "Construct the system under test, fast issue query");
  m.def("DestroyFastSUT", &DestroySutHandle, "Destroy the object created by ConstructFastSUT.");

  m.def(
      "ConstructQSL",
      [](size_t total_sample_count, size_t performance_sample_count, const IndicesCallback& load,
         const IndicesCallback& unload) {
        auto qsl =
            std::make_shared<PyQsl>(total_sample_count, performance_sample_count, load, unload);
        return Registry::Get().Add(Entry{Kind::kQsl, nullptr, std::move(qsl)});
      },
      "Construct the query sample library.");
  m.def(
      "DestroyQSL", [](uintptr_t handle) { Registry::Get().Remove(handle, /*sut_family=*/false); },
      "Destroy the object created by ConstructQSL.");

  m.def(
      "ConstructQDL",
      [](const IssueCallback& issue, const FlushCallback& flush, const NameCallback& name) {
        return AddSut(Kind::kQdl, std::make_shared<PyQdl>(issue, flush, name));
      },
      "Construct the query sample library, communicating with the SUT over the network.");
  m.def("DestroyQDL", &DestroySutHandle, "Destroy the object created by ConstructQDL.");
}

}  // namespace

uintptr_t AddNativeSut(std::shared_ptr<mlperf::SystemUnderTest> sut) {
  return AddSut(Kind::kSut, std::move(sut));
}

std::shared_ptr<mlperf::SystemUnderTest> FindSut(uintptr_t handle) {
  return Registry::Get().Find(handle, /*sut_family=*/true).sut;
}

std::shared_ptr<mlperf::QuerySampleLibrary> FindQsl(uintptr_t handle) {
  return Registry::Get().Find(handle, /*sut_family=*/false).qsl;
}

void RegisterSutQsl(py::module_& m) {
  RegisterSamples(m);
  RegisterConstructors(m);
}

}  // namespace loadgen::python
