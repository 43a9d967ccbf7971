"""Records the Python surface of an ``mlperf_loadgen`` module as JSON.

Run it with the official wheel's interpreter to (re)generate the committed oracle data::

    /path/to/oracle/venv/bin/python tests/differential/record_surface.py \
        > tests/data/official_surface.json

tests/python/test_compat_surface.py imports ``probe_surface`` from this file and compares our
module's record with the committed one. Only the standard library and numpy are used, and no
test is started (the probes never reach the engine), so recording has no side effects.
"""

from __future__ import annotations

import copy
import json
import operator
import pathlib
import pickle
import re
import sys
from decimal import Decimal
from fractions import Fraction
from types import ModuleType
from typing import Any

import numpy

# Values assigned to every settings and sample attribute. Each probe records either the value
# read back or the exception type.
ATTRIBUTE_VALUES = [
    "0",
    "1",
    "2",
    "-1",
    "2**31 - 1",
    "2**31",
    "-2**31",
    "-2**31 - 1",
    "2**63",
    "2**64 - 1",
    "2**64",
    "0.5",
    "1.5",
    "2.0",
    "-2.5",
    "float('nan')",
    "float('inf')",
    "True",
    "False",
    "None",
    "'1'",
    "''",
    "'out dir'",
    "b'1'",
    "bytearray(b'x')",
    "pathlib.Path('x')",
    "[1]",
    "numpy.int64(5)",
    "numpy.int32(-3)",
    "numpy.uint64(7)",
    "numpy.float64(2.5)",
    "numpy.float32(0.25)",
    "numpy.True_",
    "numpy.bool_(False)",
    "Decimal(3)",
    "Fraction(3, 2)",
    "TestScenario.Server",
    "TestMode.AccuracyOnly",
    "LoggingMode.Synchronous",
    "LogOutputSettings()",
]

SETTINGS_CLASSES = ["TestSettings", "LogSettings", "LogOutputSettings"]
SAMPLE_CLASSES = {
    "QuerySample": "QuerySample(1, 2)",
    "QuerySampleResponse": "QuerySampleResponse(1, 2, 3, 4)",
}
ENUMS = ["TestScenario", "TestMode", "LoggingMode"]

# Expressions whose result (or exception type) is recorded. None of them starts a test.
EXPRESSIONS = [
    # Enums (pybind11 2.x enum_ semantics).
    "TestScenario(2)",
    "TestScenario(TestScenario.Server)",
    "TestScenario(99)",
    "str(TestScenario(99))",
    "TestScenario(-1)",
    "TestScenario('Server')",
    "TestScenario(1.0)",
    "TestScenario(value=1)",
    "TestScenario()",
    "TestScenario.Server == 2",
    "TestScenario.Server != 2",
    "2 == TestScenario.Server",
    "TestScenario.Server == TestScenario.Server",
    "TestScenario.Server == TestScenario(2)",
    "TestScenario.Server is TestScenario(2)",
    "TestScenario.Server == TestMode.PerformanceOnly",
    "TestScenario.Server != TestMode.PerformanceOnly",
    "TestScenario.Server < TestScenario.Offline",
    "TestScenario.Server + 1",
    "int(TestScenario.Server)",
    "operator.index(TestScenario.Offline)",
    "float(TestScenario.Offline)",
    "TestScenario.Server.value",
    "TestScenario.Server.name",
    "bool(TestScenario.SingleStream)",
    "format(TestScenario.Server)",
    "f'{TestMode.AccuracyOnly}'",
    "hash(TestScenario.Server) == hash(2)",
    "TestScenario.Server in {2}",
    "{TestScenario.Server: 'x'}[TestScenario(2)]",
    "type(TestScenario.__members__).__name__",
    "list(TestScenario.__members__.items())",
    "pickle.loads(pickle.dumps(TestMode.FindPeakPerformance))",
    "copy.copy(TestScenario.Server)",
    "TestScenario.Server.__getstate__()",
    "setattr(TestScenario.Server, 'name', 'x')",
    # Settings objects.
    "TestSettings(scenario=TestScenario.Server)",
    "TestSettings(TestScenario.Server)",
    "LogSettings(1)",
    "copy.copy(TestSettings())",
    "copy.deepcopy(LogSettings())",
    "pickle.dumps(LogOutputSettings())",
    "setattr(TestSettings(), 'no_such_field', 1)",
    "getattr(TestSettings(), 'server_ttft_latency')",
    "getattr(TestSettings(), 'Server_target_qps')",
    "TestSettings() == TestSettings()",
    "TestSettings().FromConfig(pathlib.Path('user.conf'), 'resnet50', 'Offline')",
    "TestSettings().FromConfig('user.conf', 'resnet50', 'Offline', '1')",
    "TestSettings().FromConfig('user.conf', 'resnet50')",
    "_log_output_is_a_view()",
    "_log_output_assignment_copies()",
    # Samples.
    "QuerySample()",
    "QuerySample(1, 2)",
    "QuerySample(id=1, index=2)",
    "QuerySample(1)",
    "QuerySample(-1, 0)",
    "QuerySample(2**64 - 1, 2**64 - 1)",
    "QuerySample(2**64, 0)",
    "QuerySample(1.0, 2)",
    "QuerySample(numpy.uint64(5), numpy.int64(6))",
    "QuerySample(1, 2) == QuerySample(1, 2)",
    "QuerySample(1, 2).__getstate__()",
    "pickle.loads(pickle.dumps(QuerySample(3, 4)))",
    "copy.copy(QuerySample(5, 6))",
    "QuerySampleResponse()",
    "QuerySampleResponse(1, 2, 3)",
    "QuerySampleResponse(1, 2, 3, 4)",
    "QuerySampleResponse(1, 2, 3, -4)",
    "QuerySampleResponse(1, 2)",
    "QuerySampleResponse(1, 2, 3, 4, 5)",
    "QuerySampleResponse(id=1, data=2, size=3)",
    "QuerySampleResponse(-1, 2, 3)",
    "QuerySampleResponse(1, -2, 3)",
    "QuerySampleResponse(1, 2, -3)",
    "QuerySampleResponse(2**64, 2, 3)",
    "QuerySampleResponse(1, 2, 3, 2**63)",
    "QuerySampleResponse(1.0, 2, 3)",
    "QuerySampleResponse(1, 2, 3) == QuerySampleResponse(1, 2, 3)",
    # Functions: argument conversion only (no test runs, so nothing reaches the engine).
    "QuerySamplesComplete([])",
    "QuerySamplesComplete(())",
    "QuerySamplesComplete([], None)",
    "QuerySamplesComplete(responses=[], response_cb=None)",
    "QuerySamplesComplete([], response_cb=print)",
    "QuerySamplesComplete([], 5)",
    "QuerySamplesComplete((r for r in []))",
    "QuerySamplesComplete({})",
    "QuerySamplesComplete(None)",
    "QuerySamplesComplete([1])",
    "QuerySamplesComplete([QuerySample(1, 2)])",
    "QuerySamplesComplete()",
    "FirstTokenComplete([])",
    "FirstTokenComplete((), None)",
    "FirstTokenComplete(responses=[], response_cb=print)",
    "FirstTokenComplete([], 5)",
    "FirstTokenComplete([None])",
    "type(ConstructSUT(None, None)).__name__",
    "type(ConstructSUT(print, print)).__name__",
    "ConstructSUT(1, print)",
    "ConstructSUT(print)",
    "ConstructSUT(arg0=print, arg1=print)",
    "type(ConstructFastSUT(None, None)).__name__",
    "ConstructFastSUT('x', print)",
    "type(ConstructQSL(10, 5, None, None)).__name__",
    "type(ConstructQSL(10, 5, print, print)).__name__",
    "type(ConstructQSL(numpy.int64(10), True, print, print)).__name__",
    "ConstructQSL(-1, 5, print, print)",
    "ConstructQSL(10.0, 5, print, print)",
    "ConstructQSL(10, 5, print)",
    "type(ConstructQDL(None, None, None)).__name__",
    "ConstructQDL(print, print, 'name')",
    "DestroySUT(ConstructSUT(print, print))",
    "DestroyFastSUT(ConstructFastSUT(print, print))",
    "DestroyQSL(ConstructQSL(1, 1, print, print))",
    "DestroyQDL(ConstructQDL(print, print, str))",
    "DestroySUT(-1)",
    "DestroySUT('x')",
    "DestroySUT(arg0=1)",
    "StartTest(1, 1, TestSettings(), pathlib.Path('audit.config'))",
    "StartTest(1, 1, LogSettings())",
    "StartTest(-1, 1, TestSettings())",
    "StartTestWithLogSettings(1, 1, TestSettings(), TestSettings())",
    "StartTestWithLogSettings(1, 1, TestSettings(), LogSettings(), b'x', 5)",
]

FUNCTIONS = [
    "ConstructFastSUT",
    "ConstructQDL",
    "ConstructQSL",
    "ConstructSUT",
    "DestroyFastSUT",
    "DestroyQDL",
    "DestroyQSL",
    "DestroySUT",
    "FirstTokenComplete",
    "QuerySamplesComplete",
    "StartTest",
    "StartTestWithLogSettings",
]

_ADDRESS = re.compile(r"<[\w.]*?(\w+) object at 0x[0-9a-f]+>")


def describe(value: Any) -> str:
    """A stable text for a value: reprs without addresses or module names."""
    name = type(value).__name__
    if name == "QuerySample":
        return f"QuerySample(id={value.id}, index={value.index})"
    if name == "QuerySampleResponse":
        return (
            f"QuerySampleResponse(id={value.id}, data={value.data}, size={value.size}, "
            f"n_tokens={value.n_tokens})"
        )
    if isinstance(value, float):
        return f"float:{value!r}"
    if isinstance(value, bool):
        return f"bool:{value!r}"
    if isinstance(value, int) and type(value) is int:
        return f"int:{value!r}"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(describe(v) for v in value)
        return f"{name}:[{inner}]"
    return _ADDRESS.sub(r"<\1 object>", f"{name}:{value!r}")


def outcome(thunk: Any) -> str:
    try:
        return describe(thunk())
    except BaseException as error:  # noqa: BLE001 - the exception type is what is recorded
        return f"raises {type(error).__name__}"


def parse_signature(doc: str) -> dict[str, Any]:
    """Parameter names and defaults from a pybind11 docstring's first line."""
    first = doc.split("\n", 1)[0]
    match = re.fullmatch(r"(\w+)\((.*)\) -> .*", first)
    assert match, first
    params, depth, current = [], 0, ""
    for char in match.group(2):
        if char == "," and depth == 0:
            params.append(current.strip())
            current = ""
            continue
        depth += char in "[("
        depth -= char in "])"
        current += char
    if current.strip():
        params.append(current.strip())
    parsed = []
    for param in params:
        name = param.split(":", 1)[0].strip()
        default = param.split(" = ", 1)[1] if " = " in param else None
        parsed.append({"name": name, "default": default})
    return {"name": match.group(1), "params": parsed}


def description(doc: str) -> str:
    """The docstring without its generated signature line."""
    return doc.split("\n", 1)[1].strip()


def namespace(module: ModuleType) -> dict[str, Any]:
    ns: dict[str, Any] = {
        name: getattr(module, name) for name in dir(module) if not name.startswith("_")
    }
    ns.update(
        numpy=numpy,
        pathlib=pathlib,
        pickle=pickle,
        copy=copy,
        operator=operator,
        Decimal=Decimal,
        Fraction=Fraction,
    )

    def log_output_is_a_view() -> str:
        settings = module.LogSettings()
        settings.log_output.outdir = "changed"
        return settings.log_output.outdir

    def log_output_assignment_copies() -> str:
        settings = module.LogSettings()
        output = module.LogOutputSettings()
        settings.log_output = output
        output.outdir = "changed later"
        return settings.log_output.outdir

    ns["_log_output_is_a_view"] = log_output_is_a_view
    ns["_log_output_assignment_copies"] = log_output_assignment_copies
    return ns


def probe_surface(module: ModuleType) -> dict[str, Any]:
    ns = namespace(module)
    record: dict[str, Any] = {
        "module": {
            "names": sorted(n for n in dir(module) if not n.startswith("__")),
            "doc": module.__doc__,
        },
        "functions": {},
        "enums": {},
        "classes": {},
        "attribute_probes": {},
        "expressions": {},
    }
    for name in FUNCTIONS:
        doc = getattr(module, name).__doc__
        record["functions"][name] = {"doc": description(doc), **parse_signature(doc)}
    from_config = module.TestSettings.FromConfig.__doc__
    record["functions"]["TestSettings.FromConfig"] = {
        "doc": description(from_config),
        **parse_signature(from_config),
    }

    for name in ENUMS:
        enum = getattr(module, name)
        members = enum.__members__
        record["enums"][name] = {
            "doc": enum.__doc__,
            "members": {k: int(v) for k, v in members.items()},
            "str": {k: str(v) for k, v in members.items()},
            "repr": {k: repr(v) for k, v in members.items()},
            "hash": {k: hash(v) for k, v in members.items()},
            "equals_int": {k: v == int(v) for k, v in members.items()},
            "attributes": sorted(
                k for k in vars(enum) if not k.startswith("_") or k in ("__members__",)
            ),
        }

    for name in [*SETTINGS_CLASSES, *SAMPLE_CLASSES]:
        cls = getattr(module, name)
        instance = eval(SAMPLE_CLASSES.get(name, f"{name}()"), ns)  # noqa: S307
        attributes = sorted(a for a in dir(cls) if not a.startswith("_"))
        record["classes"][name] = {
            "attributes": attributes,
            "values": {a: describe(getattr(instance, a)) for a in attributes if a != "FromConfig"},
        }
        probes: dict[str, dict[str, str]] = {}
        for attribute in attributes:
            if attribute == "FromConfig":
                continue
            results = {}
            for value in ATTRIBUTE_VALUES:

                def assign(attribute: str = attribute, value: str = value, name: str = name) -> Any:
                    target = eval(SAMPLE_CLASSES.get(name, f"{name}()"), ns)  # noqa: S307
                    setattr(target, attribute, eval(value, ns))  # noqa: S307
                    return getattr(target, attribute)

                results[value] = outcome(assign)
            probes[attribute] = results
        record["attribute_probes"][name] = probes

    for expression in EXPRESSIONS:
        record["expressions"][expression] = outcome(
            lambda expression=expression: eval(expression, ns)  # noqa: S307
        )
    return record


def main() -> None:
    import mlperf_loadgen

    json.dump(probe_surface(mlperf_loadgen), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
