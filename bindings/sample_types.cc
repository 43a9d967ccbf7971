// The QuerySample and QuerySampleResponse Python types (see sample_types.h).
//
// They behave as the pybind11 classes they replace: the same constructors (positional only),
// the same integer conversions (exact ints are read directly, anything else goes through
// pybind11's own int caster, so bool, numpy scalars, __index__ and __int__ objects are
// accepted or refused exactly as before), pickling through __getstate__/__setstate__,
// subclassing, and identity equality. Elements of the Vector* classes are views: objects of a
// hidden subtype, also named QuerySample / QuerySampleResponse, whose fields are the vector's.
#include "sample_types.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

namespace loadgen::python {
namespace {

namespace py = pybind11;
using mlperf::QuerySample;
using mlperf::QuerySampleResponse;

// Every field is a 64-bit integer; only n_tokens is signed.
struct Field {
  const char* name;
  size_t offset;
  bool is_signed;
};

template <typename T>
struct Traits;

template <>
struct Traits<QuerySample> {
  static constexpr const char* kName = "loadgen._core.QuerySample";
  static constexpr Field kFields[] = {
      {"id", offsetof(QuerySample, id), false},
      {"index", offsetof(QuerySample, index), false},
  };
  // Besides the no-argument form, the constructor (and a pickled state) takes from kMinArgs
  // to all fields.
  static constexpr Py_ssize_t kMinArgs = 2;
  static constexpr const char* kForms =
      "    1. loadgen._core.QuerySample()\n"
      "    2. loadgen._core.QuerySample(arg0: int, arg1: int)\n";
  static constexpr const char* kInvalidState =
      "Invalid state for QuerySample: expected the tuple (id, index)";
};

template <>
struct Traits<QuerySampleResponse> {
  static constexpr const char* kName = "loadgen._core.QuerySampleResponse";
  static constexpr Field kFields[] = {
      {"id", offsetof(QuerySampleResponse, id), false},
      {"data", offsetof(QuerySampleResponse, data), false},
      {"size", offsetof(QuerySampleResponse, size), false},
      {"n_tokens", offsetof(QuerySampleResponse, n_tokens), true},
  };
  static constexpr Py_ssize_t kMinArgs = 3;
  static constexpr const char* kForms =
      "    1. loadgen._core.QuerySampleResponse()\n"
      "    2. loadgen._core.QuerySampleResponse(arg0: int, arg1: int, arg2: int)\n"
      "    3. loadgen._core.QuerySampleResponse(arg0: int, arg1: int, arg2: int, arg3: int)\n";
  static constexpr const char* kInvalidState =
      "Invalid state for QuerySampleResponse: expected the tuple (id, data, size[, n_tokens])";
};

// Converts like a pybind11 int argument: a no-conversion pass, then a converting pass.
template <typename Int>
bool LoadThroughPybind(PyObject* value, uint64_t* bits) {
  py::detail::make_caster<Int> caster;
  if (!caster.load(value, false) && !caster.load(value, true)) {
    PyErr_Clear();
    return false;
  }
  *bits = static_cast<uint64_t>(py::detail::cast_op<Int>(caster));
  return true;
}

// The field's bits for `value`, or false (no Python error set) if it is not acceptable.
bool ToBits(PyObject* value, bool is_signed, uint64_t* bits) {
  if (PyLong_CheckExact(value)) {
    // PyLong_As(Unsigned)Long reads the digits directly; the long long variants go through a
    // byte array. Both are 64 bits where long is.
    if (is_signed) {
      const long long v = sizeof(long) == 8 ? PyLong_AsLong(value) : PyLong_AsLongLong(value);
      if (v == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return false;
      }
      *bits = static_cast<uint64_t>(v);
    } else {
      const unsigned long long v =
          sizeof(long) == 8 ? PyLong_AsUnsignedLong(value) : PyLong_AsUnsignedLongLong(value);
      if (v == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
        PyErr_Clear();
        return false;
      }
      *bits = v;
    }
    return true;
  }
  return is_signed ? LoadThroughPybind<int64_t>(value, bits)
                   : LoadThroughPybind<uint64_t>(value, bits);
}

template <typename T>
struct Object {
  PyObject_HEAD T value;
};

template <typename T>
struct ViewObject {
  Object<T> base;  // base.value is unused
  T* target;
  PyObject* owner;
};

template <typename T>
class SampleType {
 public:
  using Fields = Traits<T>;
  static constexpr Py_ssize_t kFieldCount =
      static_cast<Py_ssize_t>(sizeof(Fields::kFields) / sizeof(Field));

  static PyTypeObject* type() { return type_; }

  static T* Value(PyObject* object) {
    PyTypeObject* type = Py_TYPE(object);
    if (type == type_) return &reinterpret_cast<Object<T>*>(object)->value;
    if (type == view_type_) return reinterpret_cast<ViewObject<T>*>(object)->target;
    if (type_ != nullptr && PyType_IsSubtype(type, type_)) {
      return &reinterpret_cast<Object<T>*>(object)->value;
    }
    return nullptr;
  }

  static PyObject* New(const T& value) {
    Object<T>* self = Allocate();
    if (self != nullptr) self->value = value;
    return reinterpret_cast<PyObject*>(self);
  }

  static PyObject* NewView(T* target, PyObject* owner) {
    PyObject* self = PyType_GenericAlloc(view_type_, 0);
    if (self == nullptr) return nullptr;
    auto* view = reinterpret_cast<ViewObject<T>*>(self);
    new (&view->base.value) T();
    view->target = target;
    Py_XINCREF(owner);
    view->owner = owner;
    return self;
  }

  static void Register(py::module_& m) {
    for (Py_ssize_t i = 0; i < kFieldCount; ++i) {
      const Field& field = Fields::kFields[i];
      getset_[i] = {field.name, &GetField, &SetField, nullptr,
                    const_cast<Field*>(&Fields::kFields[i])};
    }
    getset_[kFieldCount] = {};

    static PyMethodDef methods[] = {
        {"__getstate__", &GetState, METH_NOARGS, nullptr},
        {"__setstate__", &SetState, METH_O, nullptr},
        {nullptr, nullptr, 0, nullptr},
    };
    static PyType_Slot slots[] = {
        {Py_tp_new, reinterpret_cast<void*>(&TypeNew)},
        {Py_tp_init, reinterpret_cast<void*>(&Init)},
        {Py_tp_dealloc, reinterpret_cast<void*>(&Dealloc)},
        {Py_tp_getset, getset_},
        {Py_tp_methods, methods},
        {0, nullptr},
    };
    static PyType_Spec spec = {Fields::kName, static_cast<int>(sizeof(Object<T>)), 0,
                               Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, slots};
    PyObject* type = PyType_FromSpec(&spec);
    if (type == nullptr) throw py::error_already_set();
    type_ = reinterpret_cast<PyTypeObject*>(type);
    // Calls of the type itself skip tp_new/tp_init and their argument tuple.
    type_->tp_vectorcall = &Vectorcall;

    static PyMethodDef view_methods[] = {
        {"__reduce__", &ViewReduce, METH_NOARGS, nullptr},
        {nullptr, nullptr, 0, nullptr},
    };
    static PyType_Slot view_slots[] = {
        {Py_tp_new, reinterpret_cast<void*>(&ViewTypeNew)},
        {Py_tp_dealloc, reinterpret_cast<void*>(&ViewDealloc)},
        {Py_tp_methods, view_methods},
        {0, nullptr},
    };
    static PyType_Spec view_spec = {Fields::kName, static_cast<int>(sizeof(ViewObject<T>)), 0,
                                    Py_TPFLAGS_DEFAULT, view_slots};
    PyObject* view_type = PyType_FromSpecWithBases(&view_spec, type);
    if (view_type == nullptr) throw py::error_already_set();
    view_type_ = reinterpret_cast<PyTypeObject*>(view_type);

    const char* dot = std::strrchr(Fields::kName, '.');
    m.add_object(dot + 1, py::reinterpret_borrow<py::object>(type));
  }

 private:
  static Object<T>* Allocate() {
    auto* self = static_cast<Object<T>*>(PyObject_Malloc(sizeof(Object<T>)));
    if (self == nullptr) {
      PyErr_NoMemory();
      return nullptr;
    }
    PyObject_Init(reinterpret_cast<PyObject*>(self), type_);
    new (&self->value) T();
    return self;
  }

  static bool ArgCountOk(Py_ssize_t n) {
    return n == 0 || (n >= Fields::kMinArgs && n <= kFieldCount);
  }

  static bool Fill(T* value, PyObject* const* args, Py_ssize_t n) {
    auto* bytes = reinterpret_cast<unsigned char*>(value);
    for (Py_ssize_t i = 0; i < n; ++i) {
      uint64_t bits;
      if (!ToBits(args[i], Fields::kFields[i].is_signed, &bits)) return false;
      std::memcpy(bytes + Fields::kFields[i].offset, &bits, sizeof(bits));
    }
    return true;
  }

  static void ConstructorError() {
    PyErr_Format(PyExc_TypeError,
                 "__init__(): incompatible constructor arguments. The following argument types "
                 "are supported:\n%s",
                 Fields::kForms);
  }

  static PyObject* Vectorcall(PyObject* /*type*/, PyObject* const* args, size_t nargsf,
                              PyObject* kwnames) {
    const Py_ssize_t n = PyVectorcall_NARGS(nargsf);
    if ((kwnames != nullptr && PyTuple_GET_SIZE(kwnames) != 0) || !ArgCountOk(n)) {
      ConstructorError();
      return nullptr;
    }
    Object<T>* self = Allocate();
    if (self == nullptr) return nullptr;
    if (!Fill(&self->value, args, n)) {
      Py_DECREF(self);
      ConstructorError();
      return nullptr;
    }
    return reinterpret_cast<PyObject*>(self);
  }

  // Subclasses and QuerySample.__new__ (unpickling) come here; the value starts zeroed.
  static PyObject* TypeNew(PyTypeObject* subtype, PyObject* /*args*/, PyObject* /*kwargs*/) {
    PyObject* self = subtype->tp_alloc(subtype, 0);
    if (self != nullptr) new (&reinterpret_cast<Object<T>*>(self)->value) T();
    return self;
  }

  static int Init(PyObject* self, PyObject* args, PyObject* kwargs) {
    const Py_ssize_t n = PyTuple_GET_SIZE(args);
    if ((kwargs != nullptr && PyDict_GET_SIZE(kwargs) != 0) || !ArgCountOk(n)) {
      ConstructorError();
      return -1;
    }
    T value{};
    if (!Fill(&value, &PyTuple_GET_ITEM(args, 0), n)) {
      ConstructorError();
      return -1;
    }
    *Value(self) = value;
    return 0;
  }

  static void Dealloc(PyObject* self) {
    PyTypeObject* type = Py_TYPE(self);
    type->tp_free(self);
    Py_DECREF(type);
  }

  static PyObject* ViewTypeNew(PyTypeObject*, PyObject*, PyObject*) {
    PyErr_SetString(PyExc_TypeError, "element views are created by the Vector* classes only");
    return nullptr;
  }

  static void ViewDealloc(PyObject* self) {
    Py_XDECREF(reinterpret_cast<ViewObject<T>*>(self)->owner);
    Dealloc(self);
  }

  static PyObject* GetField(PyObject* self, void* closure) {
    const Field& field = *static_cast<const Field*>(closure);
    uint64_t bits;
    std::memcpy(&bits, reinterpret_cast<unsigned char*>(Value(self)) + field.offset, sizeof(bits));
    return field.is_signed ? PyLong_FromLongLong(static_cast<int64_t>(bits))
                           : PyLong_FromUnsignedLongLong(bits);
  }

  static int SetField(PyObject* self, PyObject* value, void* closure) {
    const Field& field = *static_cast<const Field*>(closure);
    if (value == nullptr) {
      PyErr_Format(PyExc_AttributeError, "can't delete attribute '%s'", field.name);
      return -1;
    }
    uint64_t bits;
    if (!ToBits(value, field.is_signed, &bits)) {
      PyErr_Format(PyExc_TypeError, "%s must be an int from %s, not %R", field.name,
                   field.is_signed ? "-2**63 to 2**63 - 1" : "0 to 2**64 - 1", value);
      return -1;
    }
    std::memcpy(reinterpret_cast<unsigned char*>(Value(self)) + field.offset, &bits, sizeof(bits));
    return 0;
  }

  static PyObject* GetState(PyObject* self, PyObject* /*unused*/) {
    PyObject* state = PyTuple_New(kFieldCount);
    if (state == nullptr) return nullptr;
    for (Py_ssize_t i = 0; i < kFieldCount; ++i) {
      PyObject* item = GetField(self, const_cast<Field*>(&Fields::kFields[i]));
      if (item == nullptr) {
        Py_DECREF(state);
        return nullptr;
      }
      PyTuple_SET_ITEM(state, i, item);
    }
    return state;
  }

  static PyObject* SetState(PyObject* self, PyObject* state) {
    if (!PyTuple_Check(state)) {
      PyErr_Format(PyExc_TypeError, "__setstate__(): the state must be a tuple, not %s",
                   Py_TYPE(state)->tp_name);
      return nullptr;
    }
    const Py_ssize_t n = PyTuple_GET_SIZE(state);
    if (n == 0 || !ArgCountOk(n)) {
      PyErr_SetString(PyExc_RuntimeError, Fields::kInvalidState);
      return nullptr;
    }
    T value{};
    auto* bytes = reinterpret_cast<unsigned char*>(&value);
    for (Py_ssize_t i = 0; i < n; ++i) {
      PyObject* item = PyTuple_GET_ITEM(state, i);
      uint64_t bits;
      if (!ToBits(item, Fields::kFields[i].is_signed, &bits)) {
        PyErr_Format(PyExc_RuntimeError,
                     "Unable to cast Python instance of type %R to C++ type '%s'",
                     reinterpret_cast<PyObject*>(Py_TYPE(item)),
                     Fields::kFields[i].is_signed ? "int64_t" : "uint64_t");
        return nullptr;
      }
      std::memcpy(bytes + Fields::kFields[i].offset, &bits, sizeof(bits));
    }
    *Value(self) = value;
    Py_RETURN_NONE;
  }

  // Copies and pickles of a view are ordinary objects.
  static PyObject* ViewReduce(PyObject* self, PyObject* /*unused*/) {
    PyObject* state = GetState(self, nullptr);
    if (state == nullptr) return nullptr;
    return Py_BuildValue("(O()N)", reinterpret_cast<PyObject*>(type_), state);
  }

  static inline PyTypeObject* type_ = nullptr;
  static inline PyTypeObject* view_type_ = nullptr;
  static inline PyGetSetDef getset_[kFieldCount + 1] = {};
};

using SampleTypeImpl = SampleType<QuerySample>;
using ResponseTypeImpl = SampleType<QuerySampleResponse>;

}  // namespace

void RegisterSampleTypes(py::module_& m) {
  SampleTypeImpl::Register(m);
  ResponseTypeImpl::Register(m);
}

QuerySample* QuerySampleValue(PyObject* object) { return SampleTypeImpl::Value(object); }
QuerySampleResponse* ResponseValue(PyObject* object) { return ResponseTypeImpl::Value(object); }

PyObject* NewQuerySample(const QuerySample& value) { return SampleTypeImpl::New(value); }
PyObject* NewResponse(const QuerySampleResponse& value) { return ResponseTypeImpl::New(value); }

PyObject* NewQuerySampleView(QuerySample* value, PyObject* owner) {
  return SampleTypeImpl::NewView(value, owner);
}
PyObject* NewResponseView(QuerySampleResponse* value, PyObject* owner) {
  return ResponseTypeImpl::NewView(value, owner);
}

}  // namespace loadgen::python
