// StartTest, the completion calls and loadgen's own run-time extras (the official module is
// loadgen/bindings/python_api.cc; tests/data/official_surface.json records its surface).
//
// GIL rules: StartTest releases the GIL for the whole test (callbacks take it back, see
// register_sut_qsl.cc); completion calls convert their arguments with the GIL held and release
// it while the engine records if the batch is large or an engine thread waits for completions
// (see Complete); a response_cb runs with the GIL held on the completing thread.
#include <pybind11/numpy.h>
#include <pybind11/warnings.h>

#ifdef __GLIBCXX__
#include <cxxabi.h>
#endif

#include <algorithm>
#include <optional>
#include <string>

#include "bindings.h"
#include "loadgen.h"
#include "loadgen/session.h"
#include "session/process.h"

namespace loadgen::python {

// Any object, shown as Sequence[QuerySampleResponse] in signatures: the completion calls check
// the argument themselves, so that tuples and lists both work.
class ResponseSequence : public py::object {
 public:
  static bool IsAnything(PyObject*) { return true; }
  PYBIND11_OBJECT_DEFAULT(ResponseSequence, py::object, IsAnything)
};

}  // namespace loadgen::python

namespace pybind11::detail {
template <>
struct handle_type_name<loadgen::python::ResponseSequence> {
  static constexpr auto name = const_name("collections.abc.Sequence[") +
                               make_caster<mlperf::QuerySampleResponse>::name + const_name("]");
};
}  // namespace pybind11::detail

namespace loadgen::python {
namespace {

using mlperf::QuerySampleResponse;

using ResponseCb = std::optional<py::typing::Callable<void(QuerySampleResponse)>>;
// Any strides: a column of a batch array (batch.ids) is a strided view, and making it
// contiguous would copy 8 bytes per sample (see CompleteIdArray).
using IdArray = py::array_t<uint64_t, py::array::forcecast>;
using TokenArray = py::array_t<int64_t, py::array::forcecast>;

constexpr const char* kStartTestDoc =
    "Run tests on a SUT created by ConstructSUT() with the provided QSL. Uses default log "
    "settings.";
constexpr const char* kStartTestWithLogSettingsDoc =
    "Run tests on a SUT created by ConstructSUT() with the provided QSL. Accepts custom log "
    "settings.";
// "ofIssueQuery" (no space) is the official text.
constexpr const char* kQuerySamplesCompleteDoc =
    "Called by the SUT to indicate that samples from some combination ofIssueQuery calls have "
    "finished.";
constexpr const char* kFirstTokenCompleteDoc =
    "Called by the SUT to indicate that tokens from some combination ofIssueQuery calls have "
    "finished.";

thread_local std::vector<QuerySampleResponse> t_response_buffer;
thread_local bool t_response_buffer_in_use = false;

// The responses of one completion call, copied out of Python with the GIL held. Uses the
// thread's reusable buffer, so a call allocates nothing once the buffer has grown; a call nested
// in a response_cb on the same thread gets a vector of its own.
class ResponseBatch {
 public:
  ResponseBatch(py::handle responses, const char* function)
      : buffer_(t_response_buffer_in_use ? &own_ : &t_response_buffer),
        uses_thread_buffer_(!t_response_buffer_in_use) {
    if (uses_thread_buffer_) t_response_buffer_in_use = true;
    buffer_->clear();
    try {
      Fill(responses, function);
    } catch (...) {
      Release();
      throw;
    }
  }
  ResponseBatch(const ResponseBatch&) = delete;
  ResponseBatch& operator=(const ResponseBatch&) = delete;
  ~ResponseBatch() { Release(); }

  QuerySampleResponse* data() { return buffer_->data(); }
  size_t size() const { return buffer_->size(); }

 private:
  void Fill(py::handle responses, const char* function) {
    // Lists and tuples first: pybind11's isinstance looks the vector type up by its C++ name,
    // which costs more than converting a one-response list.
    PyObject* object = responses.ptr();
    if (!PyList_CheckExact(object) && !PyTuple_CheckExact(object) &&
        py::isinstance<std::vector<QuerySampleResponse>>(responses)) {
      const auto& vector = responses.cast<const std::vector<QuerySampleResponse>&>();
      buffer_->assign(vector.begin(), vector.end());
      return;
    }
    // Generators, dicts and sets are not sequences: rejected, as officially.
    if (!PySequence_Check(responses.ptr())) {
      throw py::type_error(std::string(function) +
                           "(): responses must be a list or tuple of QuerySampleResponse, not " +
                           TypeName(responses));
    }
    auto items = py::reinterpret_steal<py::object>(
        PySequence_Fast(responses.ptr(), "responses must be a sequence"));
    if (!items) throw py::error_already_set();
    const Py_ssize_t count = PySequence_Fast_GET_SIZE(items.ptr());
    PyObject** item = PySequence_Fast_ITEMS(items.ptr());
    buffer_->reserve(static_cast<size_t>(count));
    for (Py_ssize_t i = 0; i < count; ++i) {
      const QuerySampleResponse* response = ResponseValue(item[i]);
      if (response == nullptr) {
        throw py::type_error(std::string(function) + "(): responses[" + std::to_string(i) +
                             "] is " + TypeName(item[i]) + ", not QuerySampleResponse");
      }
      buffer_->push_back(*response);
    }
  }

  void Release() {
    if (uses_thread_buffer_) {
      t_response_buffer_in_use = false;
      uses_thread_buffer_ = false;
    }
  }

  static std::string TypeName(py::handle object) {
    return py::str(py::type::handle_of(object).attr("__name__"));
  }

  std::vector<QuerySampleResponse> own_;
  std::vector<QuerySampleResponse>* buffer_;
  bool uses_thread_buffer_;
};

// Below this many responses a completion call records with the GIL held. Releasing it lets
// other Python threads run while the engine records (about 8 ns per response, so 33 µs here),
// but when one is waiting for the GIL, the hand-over and the way back cost two thread wake-ups:
// with two completing threads and lists of 64 or 1024, releasing made the pair 20 % slower
// than one thread.
constexpr size_t kReleaseGilFrom = 4096;

// Wraps a Python response_cb (null: none) for the engine. The callable stays referenced by the
// caller's argument for the whole call, so the wrapper holds a plain pointer and copying it
// needs no GIL (nor any allocation: the lambda fits std::function's inline storage).
mlperf::ResponseCallback WrapResponseCallback(PyObject* callable) {
  if (callable == nullptr) return {};
  return [callable](QuerySampleResponse* response) {
    py::gil_scoped_acquire gil;
    // Python gets a copy, not a pointer into the batch, and its changes are copied back: the
    // callback may point data/size at a host copy of device memory.
    auto python_response = py::reinterpret_steal<py::object>(NewResponse(*response));
    if (!python_response) throw py::error_already_set();
    const py::handle function(callable);
    function(python_response);
    *response = *ResponseValue(python_response.ptr());
  };
}

PyObject* CallableOrNull(const ResponseCb& response_cb) {
  return response_cb ? response_cb->ptr() : nullptr;
}

CompletionStatus Complete(py::handle responses, PyObject* response_cb, bool first_token,
                          const char* function) {
  ResponseBatch batch(responses, function);
  if (batch.size() == 0) return {};
  const mlperf::ResponseCallback callback = WrapResponseCallback(response_cb);
  auto record = [&] {
    return first_token ? CompleteFirstTokens(batch.data(), batch.size(), callback)
                       : CompleteSamples(batch.data(), batch.size(), callback);
  };
  // Also released when the batch may end an engine thread's wait (a SingleStream or MultiStream
  // closed loop, the end-of-series drain): its next IssueQuery needs the GIL at once, and
  // holding it would cost that thread a second wake-up (SingleStream with a worker-thread SUT
  // on a busy 2-core machine: p50 10 µs instead of 6 µs).
  if (batch.size() < kReleaseGilFrom &&
      !session::GetProcessActiveSeries().CompletionAwaited(batch.size())) {
    return record();
  }
  py::gil_scoped_release nogil;
  return record();
}

// The official calls return nothing, so ignored ids would go unnoticed without a warning.
void WarnIfRejected(const CompletionStatus& status, size_t count, const char* function) {
  if (status.rejected() == 0) return;
  const std::string message =
      std::string(function) + " ignored " + std::to_string(status.rejected()) + " of " +
      std::to_string(count) + " responses: " + std::to_string(status.unknown) + " unknown, " +
      std::to_string(status.stale) + " stale and " + std::to_string(status.duplicate) +
      " duplicate ids (details in the detail log)";
  py::warnings::warn(message.c_str(), PyExc_RuntimeWarning, /*stack_level=*/1);
}

void CompatComplete(py::handle responses, PyObject* response_cb, bool first_token,
                    const char* function) {
  const CompletionStatus status = Complete(responses, response_cb, first_token, function);
  WarnIfRejected(status, status.accepted + status.rejected(), function);
}

bool ArgumentError(const char* function, const char* problem) {
  PyErr_Format(PyExc_TypeError,
               "%s(): incompatible function arguments (%s). The supported arguments are "
               "(responses: Sequence[QuerySampleResponse], response_cb: "
               "Callable[[QuerySampleResponse], None] | None = None)",
               function, problem);
  return false;
}

// The arguments of the pybind11 signature (responses, response_cb=None), positional or by
// keyword. `response_cb` is null for None.
bool ParseCompletionArguments(const char* function, PyObject* const* args, Py_ssize_t nargs,
                              PyObject* kwnames, PyObject** responses, PyObject** response_cb) {
  static const char* const kNames[] = {"responses", "response_cb"};
  PyObject* values[2] = {nullptr, nullptr};
  if (nargs > 2) return ArgumentError(function, "too many arguments");
  for (Py_ssize_t i = 0; i < nargs; ++i) values[i] = args[i];
  const Py_ssize_t keywords = kwnames == nullptr ? 0 : PyTuple_GET_SIZE(kwnames);
  for (Py_ssize_t k = 0; k < keywords; ++k) {
    PyObject* name = PyTuple_GET_ITEM(kwnames, k);
    int slot = -1;
    for (int j = 0; j < 2; ++j) {
      if (PyUnicode_CompareWithASCIIString(name, kNames[j]) == 0) slot = j;
    }
    if (slot < 0) return ArgumentError(function, "unexpected keyword argument");
    if (values[slot] != nullptr) return ArgumentError(function, "argument given twice");
    values[slot] = args[nargs + k];
  }
  if (values[0] == nullptr) return ArgumentError(function, "missing responses");
  *responses = values[0];
  *response_cb = values[1] == Py_None ? nullptr : values[1];
  if (*response_cb != nullptr && !PyCallable_Check(*response_cb)) {
    return ArgumentError(function, "response_cb is neither callable nor None");
  }
  return true;
}

// QuerySamplesComplete and FirstTokenComplete as METH_FASTCALL functions. Server and
// SingleStream harnesses call them once per query, and pybind11's dispatcher (overload
// resolution, argument casters) costs more than the rest of a one-response call.
template <bool kFirstToken>
PyObject* FastCompatComplete(PyObject* /*module*/, PyObject* const* args, Py_ssize_t nargs,
                             PyObject* kwnames) {
  const char* function = kFirstToken ? "FirstTokenComplete" : "QuerySamplesComplete";
  PyObject* responses = nullptr;
  PyObject* response_cb = nullptr;
  if (!ParseCompletionArguments(function, args, nargs, kwnames, &responses, &response_cb)) {
    return nullptr;
  }
  try {
    CompatComplete(responses, response_cb, kFirstToken, function);
  } catch (py::error_already_set& e) {
    e.restore();
    return nullptr;
#ifdef __GLIBCXX__
  } catch (abi::__forced_unwind&) {  // thread cancellation must propagate
    throw;
#endif
  } catch (...) {
    py::detail::try_translate_exceptions();
    return nullptr;
  }
  Py_RETURN_NONE;
}

// Replaces the function pybind11 defined as `name` with `fast`, keeping its docstring (the
// generated signature line and the official description).
void ReplaceWithFastCall(py::module_& m, const char* name,
                         PyObject* (*fast)(PyObject*, PyObject* const*, Py_ssize_t, PyObject*)) {
  // Function objects keep pointers to their PyMethodDef and docstring: both live forever.
  auto* doc = new std::string(py::str(m.attr(name).attr("__doc__")));
  auto* def =
      new PyMethodDef{name, reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(fast)),
                      METH_FASTCALL | METH_KEYWORDS, doc->c_str()};
  py::object module_name = m.attr("__name__");
  auto function =
      py::reinterpret_steal<py::object>(PyCFunction_NewEx(def, nullptr, module_name.ptr()));
  if (!function) throw py::error_already_set();
  m.attr(name) = function;
}

void RunTest(uintptr_t sut_handle, uintptr_t qsl_handle, const mlperf::TestSettings& test_settings,
             const mlperf::LogSettings& log_settings, const std::string& audit_config_filename) {
  // Holding the adapters keeps them alive even if Python destroys the handles mid-test; they
  // are released after the GIL is back.
  const std::shared_ptr<mlperf::SystemUnderTest> sut = FindSut(sut_handle);
  const std::shared_ptr<mlperf::QuerySampleLibrary> qsl = FindQsl(qsl_handle);
  // Copies, because other Python threads may change the settings objects during the test.
  const mlperf::TestSettings settings = test_settings;
  const mlperf::LogSettings logs = log_settings;
  // Ctrl-C stops the test with the logs written (the official hangs until the SUT calls back);
  // KeyboardInterrupt is raised once StartTest has returned.
  py::object sigint = py::module_::import("loadgen._interrupt").attr("compat_sigint_watch")();
  sigint.attr("__enter__")();
  try {
    py::gil_scoped_release nogil;
    mlperf::StartTest(sut.get(), qsl.get(), settings, logs, audit_config_filename);
  } catch (...) {
    sigint.attr("__exit__")(py::none(), py::none(), py::none());
    throw;
  }
  sigint.attr("__exit__")(py::none(), py::none(), py::none());
  if (sigint.attr("interrupted").cast<bool>()) {
    PyErr_SetNone(PyExc_KeyboardInterrupt);
    throw py::error_already_set();
  }
}

size_t CheckIds(const IdArray& ids) {
  if (ids.ndim() != 1) {
    throw py::value_error("ids must be a 1-D array, got " + std::to_string(ids.ndim()) +
                          " dimensions");
  }
  return static_cast<size_t>(ids.shape(0));
}

bool IsContiguous(const py::array& a) {
  return a.ndim() == 1 &&
         (a.shape(0) <= 1 || a.strides(0) == static_cast<py::ssize_t>(a.itemsize()));
}

// Records ids (and token counts) without the GIL: contiguous arrays in one call, strided views
// through a small stack buffer, so nothing is allocated per sample.
template <typename Record>
CompletionStatus CompleteIdArray(const IdArray& ids, const TokenArray* tokens, size_t count,
                                 Record&& record) {
  if (IsContiguous(ids) && (tokens == nullptr || IsContiguous(*tokens))) {
    const uint64_t* id_data = ids.data();
    const int64_t* token_data = tokens ? tokens->data() : nullptr;
    py::gil_scoped_release nogil;
    return record(id_data, count, token_data);
  }
  const auto id_view = ids.unchecked<1>();
  std::optional<py::detail::unchecked_reference<int64_t, 1>> token_view;
  if (tokens) token_view.emplace(tokens->unchecked<1>());
  constexpr size_t kChunk = 2048;
  uint64_t id_chunk[kChunk];
  int64_t token_chunk[kChunk];
  CompletionStatus total;
  py::gil_scoped_release nogil;
  for (size_t begin = 0; begin < count; begin += kChunk) {
    const size_t n = std::min(kChunk, count - begin);
    for (size_t i = 0; i < n; ++i) {
      id_chunk[i] = id_view(static_cast<py::ssize_t>(begin + i));
      if (token_view) token_chunk[i] = (*token_view)(static_cast<py::ssize_t>(begin + i));
    }
    const CompletionStatus part = record(id_chunk, n, token_view ? token_chunk : nullptr);
    total.accepted += part.accepted;
    total.unknown += part.unknown;
    total.stale += part.stale;
    total.duplicate += part.duplicate;
  }
  return total;
}

void RegisterOfficialFunctions(py::module_& m) {
  m.def(
      "StartTest",
      [](uintptr_t sut, uintptr_t qsl, const mlperf::TestSettings& test_settings,
         const std::string& audit_config_filename) {
        RunTest(sut, qsl, test_settings, mlperf::LogSettings(), audit_config_filename);
      },
      py::arg("sut"), py::arg("qsl"), py::arg("test_settings"),
      py::arg("audit_config_filename") = "audit.config", kStartTestDoc);
  m.def("StartTestWithLogSettings", &RunTest, py::arg("sut"), py::arg("qsl"),
        py::arg("test_settings"), py::arg("log_settings"),
        py::arg("audit_config_filename") = "audit.config", kStartTestWithLogSettingsDoc);
  m.def(
      "QuerySamplesComplete",
      [](const ResponseSequence& responses, const ResponseCb& response_cb) {
        CompatComplete(responses, CallableOrNull(response_cb), /*first_token=*/false,
                       "QuerySamplesComplete");
      },
      py::arg("responses"), py::arg("response_cb") = py::none(), kQuerySamplesCompleteDoc);
  m.def(
      "FirstTokenComplete",
      [](const ResponseSequence& responses, const ResponseCb& response_cb) {
        CompatComplete(responses, CallableOrNull(response_cb), /*first_token=*/true,
                       "FirstTokenComplete");
      },
      py::arg("responses"), py::arg("response_cb") = py::none(), kFirstTokenCompleteDoc);
  ReplaceWithFastCall(m, "QuerySamplesComplete", &FastCompatComplete<false>);
  ReplaceWithFastCall(m, "FirstTokenComplete", &FastCompatComplete<true>);
}

void RegisterExtras(py::module_& m) {
  py::class_<CompletionStatus>(m, "CompletionStatus",
                               "What a completion call did with its responses.")
      .def(py::init([](size_t accepted, size_t unknown, size_t stale, size_t duplicate) {
             CompletionStatus status;
             status.accepted = accepted;
             status.unknown = unknown;
             status.stale = stale;
             status.duplicate = duplicate;
             return status;
           }),
           py::arg("accepted") = 0, py::arg("unknown") = 0, py::arg("stale") = 0,
           py::arg("duplicate") = 0)
      .def(
          "__eq__",
          [](const CompletionStatus& a, const CompletionStatus& b) {
            return a.accepted == b.accepted && a.unknown == b.unknown && a.stale == b.stale &&
                   a.duplicate == b.duplicate;
          },
          py::is_operator())
      .def_readonly("accepted", &CompletionStatus::accepted)
      .def_readonly("unknown", &CompletionStatus::unknown,
                    "Ids that are 0, malformed, out of range, or given while no test runs.")
      .def_readonly("stale", &CompletionStatus::stale, "Ids of an earlier series or test.")
      .def_readonly("duplicate", &CompletionStatus::duplicate, "Ids already completed.")
      .def_property_readonly("rejected", &CompletionStatus::rejected, "unknown + stale + duplicate")
      .def("__repr__", [](const CompletionStatus& s) {
        return "CompletionStatus(accepted=" + std::to_string(s.accepted) +
               ", unknown=" + std::to_string(s.unknown) + ", stale=" + std::to_string(s.stale) +
               ", duplicate=" + std::to_string(s.duplicate) + ")";
      });

  m.def("AbortTest", &mlperf::AbortTest, py::call_guard<py::gil_scoped_release>(),
        "Stops the running test from any thread: issuing stops, outstanding samples are "
        "abandoned, the logs are written and StartTest returns.");
  m.def("RegisterIssueQueryThread", &mlperf::RegisterIssueQueryThread,
        py::call_guard<py::gil_scoped_release>(),
        "Makes the calling thread a Server issue thread (see "
        "TestSettings.server_num_issue_query_threads). Blocks, without the GIL, until the "
        "process's tests are over; issue_query runs on this thread.");
  m.def(
      "complete_samples",
      [](const ResponseSequence& responses, const ResponseCb& response_cb) {
        return Complete(responses, CallableOrNull(response_cb), /*first_token=*/false,
                        "complete_samples");
      },
      py::arg("responses"), py::arg("response_cb") = py::none(),
      "QuerySamplesComplete that returns a CompletionStatus instead of warning about ids it "
      "ignored.");
  m.def(
      "complete_first_tokens",
      [](const ResponseSequence& responses, const ResponseCb& response_cb) {
        return Complete(responses, CallableOrNull(response_cb), /*first_token=*/true,
                        "complete_first_tokens");
      },
      py::arg("responses"), py::arg("response_cb") = py::none(),
      "FirstTokenComplete that returns a CompletionStatus instead of warning about ids it "
      "ignored.");
  m.def(
      "complete_sample_ids",
      [](const IdArray& ids, const std::optional<TokenArray>& n_tokens) {
        const size_t count = CheckIds(ids);
        if (n_tokens && (n_tokens->ndim() != 1 || static_cast<size_t>(n_tokens->size()) != count)) {
          throw py::value_error("n_tokens must be a 1-D array with one value per id");
        }
        return CompleteIdArray(ids, n_tokens ? &*n_tokens : nullptr, count,
                               [](const uint64_t* id, size_t n, const int64_t* tokens) {
                                 return CompleteSampleIds(id, n, tokens);
                               });
      },
      py::arg("ids"), py::arg("n_tokens") = py::none(),
      "Completes samples given only their ids (a numpy array or any buffer of uint64), without "
      "response data; n_tokens optionally gives each sample's token count. Converts without "
      "QuerySampleResponse objects and records without the GIL.");
  m.def(
      "complete_first_token_ids",
      [](const IdArray& ids) {
        const size_t count = CheckIds(ids);
        return CompleteIdArray(ids, nullptr, count,
                               [](const uint64_t* id, size_t n, const int64_t*) {
                                 return CompleteFirstTokenIds(id, n);
                               });
      },
      py::arg("ids"), "Records the first token of each sample given only their ids.");
}

}  // namespace

void RegisterRun(py::module_& m) {
  RegisterOfficialFunctions(m);
  RegisterExtras(m);
}

}  // namespace loadgen::python
