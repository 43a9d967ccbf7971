"""mlperf_loadgen's Python surface against the official wheel's, recorded in
tests/data/official_surface.json by tests/differential/record_surface.py.

Names, docstrings, signatures, enum behaviour, defaults and the type-acceptance rules of every
attribute must match. The deliberate differences (working Vector* classes, QuerySampleResponse
pickling, checked handles) have tests of their own below. None of these tests starts a test run.
"""

from __future__ import annotations

import importlib.util
import json
import pickle
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import loadgen
import loadgen._core as core
import mlperf_loadgen as lg
import pytest

ROOT = Path(__file__).resolve().parents[2]
OFFICIAL: dict[str, Any] = json.loads(
    (ROOT / "tests" / "data" / "official_surface.json").read_text()
)

OFFICIAL_NAMES = [
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
    "LogOutputSettings",
    "LogSettings",
    "LoggingMode",
    "QuerySample",
    "QuerySampleResponse",
    "TestMode",
    "TestScenario",
    "TestSettings",
    "VectorQuerySample",
    "VectorQuerySampleResponse",
]


def _load_recorder() -> ModuleType:
    path = ROOT / "tests" / "differential" / "record_surface.py"
    spec = importlib.util.spec_from_file_location("record_surface", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ours() -> dict[str, Any]:
    record: dict[str, Any] = _load_recorder().probe_surface(lg)
    return record


def test_record_covers_every_probe(ours: dict[str, Any]) -> None:
    # A probe added to record_surface.py needs the JSON regenerated with the oracle.
    for section in ("functions", "enums", "classes", "expressions"):
        assert sorted(ours[section]) == sorted(OFFICIAL[section]), section
    for cls, probes in ours["attribute_probes"].items():
        assert {a: sorted(v) for a, v in probes.items()} == {
            a: sorted(v) for a, v in OFFICIAL["attribute_probes"][cls].items()
        }


def test_dir_is_the_official_names_plus_dunders() -> None:
    public = sorted(name for name in dir(lg) if not name.startswith("__"))
    assert public == sorted(OFFICIAL_NAMES)
    assert public == OFFICIAL["module"]["names"]
    assert all(name.endswith("__") for name in dir(lg) if name.startswith("__"))


def test_module_docstring(ours: dict[str, Any]) -> None:
    assert ours["module"] == OFFICIAL["module"]
    assert lg.__doc__ == "MLPerf Inference load generator."


@pytest.mark.parametrize("function", sorted(OFFICIAL["functions"]))
def test_function_docstring_and_parameters(ours: dict[str, Any], function: str) -> None:
    # The generated signature line names types differently (pybind11 3 vs 2.11); the
    # parameter names, defaults and the description must be the official ones.
    assert ours["functions"][function] == OFFICIAL["functions"][function]


@pytest.mark.parametrize("enum", sorted(OFFICIAL["enums"]))
def test_enum_members_str_repr_hash_doc(ours: dict[str, Any], enum: str) -> None:
    assert ours["enums"][enum] == OFFICIAL["enums"][enum]


@pytest.mark.parametrize("cls", sorted(OFFICIAL["classes"]))
def test_class_attribute_names_and_defaults(ours: dict[str, Any], cls: str) -> None:
    assert ours["classes"][cls] == OFFICIAL["classes"][cls]


@pytest.mark.parametrize(
    ("cls", "attribute"),
    [(c, a) for c, attributes in sorted(OFFICIAL["attribute_probes"].items()) for a in attributes],
)
def test_attribute_accepts_and_rejects_like_official(
    ours: dict[str, Any], cls: str, attribute: str
) -> None:
    assert ours["attribute_probes"][cls][attribute] == OFFICIAL["attribute_probes"][cls][attribute]


@pytest.mark.parametrize("expression", sorted(OFFICIAL["expressions"]))
def test_expression_behaves_like_official(ours: dict[str, Any], expression: str) -> None:
    assert ours["expressions"][expression] == OFFICIAL["expressions"][expression]


def test_settings_spot_checks() -> None:
    # A readable subset of what the JSON comparison covers.
    settings = lg.TestSettings()
    assert settings.ttft_latency == 100_000_000
    assert settings.tpot_latency == 100_000_000
    assert settings.token_latency_scaling_factor == 0
    assert settings.mode == lg.TestMode.PerformanceOnly
    with pytest.raises(TypeError):
        settings.scenario = 2  # type: ignore[assignment]
    with pytest.raises(TypeError):
        settings.min_duration_ms = -1
    settings.server_coalesce_queries = None  # type: ignore[assignment]
    assert settings.server_coalesce_queries is False
    log_settings = lg.LogSettings()
    log_settings.log_output.outdir = b"out"  # type: ignore[assignment]
    assert log_settings.log_output.outdir == "out"


def test_from_config_takes_keywords_and_bytes() -> None:
    # In a child process: FromConfig calls are process-wide state (and reported in the next
    # test's detail log). conf_type 2 reads only `path`; a missing file returns -ENOENT.
    code = (
        "import mlperf_loadgen as lg; s = lg.TestSettings(); "
        "print(s.FromConfig(path=b'/nonexistent/user.conf', model='resnet50', "
        "scenario=b'Offline', conf_type=2))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "-2"


def test_query_sample_response_pickles_round_trip_with_n_tokens() -> None:
    response = lg.QuerySampleResponse(1, 2, 3, -4)
    assert response.__getstate__() == (1, 2, 3, -4)
    copy = pickle.loads(pickle.dumps(response))
    assert (copy.id, copy.data, copy.size, copy.n_tokens) == (1, 2, 3, -4)


def test_query_sample_response_loads_official_three_item_state() -> None:
    response = lg.QuerySampleResponse.__new__(lg.QuerySampleResponse)
    response.__setstate__((7, 8, 9))
    assert (response.id, response.data, response.size, response.n_tokens) == (7, 8, 9, 0)
    bad = lg.QuerySampleResponse.__new__(lg.QuerySampleResponse)
    with pytest.raises(RuntimeError, match="Invalid state for QuerySampleResponse"):
        bad.__setstate__((1, 2))


def test_vector_query_sample_is_a_working_list_like_vector() -> None:
    vector = lg.VectorQuerySample()
    assert len(vector) == 0 and not vector
    vector.append(lg.QuerySample(1, 10))
    vector.extend([lg.QuerySample(2, 20), lg.QuerySample(3, 30)])
    vector.insert(0, lg.QuerySample(0, 0))
    assert [(s.id, s.index) for s in vector] == [(0, 0), (1, 10), (2, 20), (3, 30)]
    vector[1] = lg.QuerySample(9, 90)
    assert (vector[1].id, vector[-1].index) == (9, 30)
    assert [s.id for s in vector[1:3]] == [9, 2]
    del vector[0]
    assert vector.pop().id == 3
    assert len(lg.VectorQuerySample(vector)) == 2
    assert len(lg.VectorQuerySample(s for s in [lg.QuerySample(5, 5)])) == 1
    vector.clear()
    assert len(vector) == 0


def test_vector_query_sample_response_is_a_working_vector() -> None:
    vector = lg.VectorQuerySampleResponse([lg.QuerySampleResponse(1, 2, 3, 4)])
    vector.append(lg.QuerySampleResponse(5, 6, 7))
    assert [(r.id, r.n_tokens) for r in vector] == [(1, 4), (5, 0)]
    # Elements are views into the vector.
    vector[0].size = 99
    assert vector[0].size == 99
    with pytest.raises(TypeError):
        vector.append(lg.QuerySample(1, 2))  # type: ignore[arg-type]


class TestHandles:
    def test_unknown_handle_is_a_value_error(self) -> None:
        with pytest.raises(ValueError, match="not a handle"):
            lg.DestroySUT(10**15)
        with pytest.raises(ValueError, match="not a handle"):
            lg.DestroyQSL(0)

    def test_destroyed_handle_is_a_value_error(self) -> None:
        sut = lg.ConstructSUT(lambda samples: None, lambda: None)
        lg.DestroySUT(sut)
        with pytest.raises(ValueError, match="already destroyed"):
            lg.DestroySUT(sut)
        qsl = lg.ConstructQSL(4, 4, lambda indices: None, lambda indices: None)
        lg.DestroyQSL(qsl)
        with pytest.raises(ValueError, match="already destroyed"):
            lg.StartTest(lg.ConstructSUT(None, None), qsl, lg.TestSettings())

    def test_wrong_kind_of_handle_is_a_value_error(self) -> None:
        sut = lg.ConstructSUT(None, None)
        qsl = lg.ConstructQSL(4, 4, None, None)
        with pytest.raises(ValueError, match=r"is a SUT \(from ConstructSUT\), not a QSL"):
            lg.DestroyQSL(sut)
        with pytest.raises(ValueError, match=r"is a QSL \(from ConstructQSL\), not a SUT"):
            lg.StartTest(qsl, qsl, lg.TestSettings())
        with pytest.raises(ValueError, match="not a QSL"):
            lg.StartTestWithLogSettings(sut, sut, lg.TestSettings(), lg.LogSettings())
        lg.DestroySUT(sut)
        lg.DestroyQSL(qsl)

    def test_sut_family_handles_share_destroy_functions(self) -> None:
        # The official module deletes all three kinds through one base class.
        lg.DestroySUT(lg.ConstructFastSUT(None, None))
        lg.DestroyFastSUT(lg.ConstructQDL(None, None, None))
        lg.DestroyQDL(lg.ConstructSUT(None, None))

    def test_handles_are_distinct_ints(self) -> None:
        handles = [lg.ConstructSUT(None, None) for _ in range(3)]
        assert all(type(h) is int and h > 0 for h in handles)
        assert len(set(handles)) == 3
        for handle in handles:
            lg.DestroySUT(handle)


def test_mlcommons_loadgen_reexports_mlperf_loadgen() -> None:
    import mlcommons_loadgen

    for name in OFFICIAL_NAMES:
        assert getattr(mlcommons_loadgen, name) is getattr(lg, name)


def test_importing_mlcommons_loadgen_first_does_not_hide_mlperf_loadgen() -> None:
    code = "import mlcommons_loadgen, mlperf_loadgen; print(mlperf_loadgen.StartTest.__name__)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "StartTest"


def test_loadgen_package_surface() -> None:
    assert {"__version__", "get_cmake_dir", "run", "Settings", "RunResult"} <= set(loadgen.__all__)
    assert all(hasattr(loadgen, name) for name in loadgen.__all__)
    assert isinstance(loadgen.__version__, str) and loadgen.__version__
    package_dir = Path(loadgen.__file__).resolve().parent
    assert Path(loadgen.get_cmake_dir()) == package_dir / "share" / "cmake" / "loadgen"


def test_core_extras_stay_out_of_mlperf_loadgen() -> None:
    extras = [
        "AbortTest",
        "RegisterIssueQueryThread",
        "CompletionStatus",
        "complete_samples",
        "complete_first_tokens",
        "complete_sample_ids",
        "complete_first_token_ids",
        "_set_mlperf_conf_path",
    ]
    for name in extras:
        assert hasattr(core, name)
        assert not hasattr(lg, name)


def test_completion_status_value_type() -> None:
    status = core.CompletionStatus(accepted=3, unknown=1, stale=2, duplicate=4)
    assert (status.accepted, status.unknown, status.stale, status.duplicate) == (3, 1, 2, 4)
    assert status.rejected == 7
    assert status == core.CompletionStatus(3, 1, 2, 4)
    assert status != core.CompletionStatus()
    assert repr(status) == "CompletionStatus(accepted=3, unknown=1, stale=2, duplicate=4)"


def test_empty_completion_lists_are_no_ops_without_a_test() -> None:
    assert core.complete_samples([]) == core.CompletionStatus()
    assert core.complete_first_tokens(()) == core.CompletionStatus()


def test_completion_arguments_are_checked_before_the_engine() -> None:
    with pytest.raises(TypeError, match=r"responses\[1\] is QuerySample, not QuerySampleResponse"):
        lg.QuerySamplesComplete([lg.QuerySampleResponse(), lg.QuerySample(1, 2)])
    with pytest.raises(TypeError, match="list or tuple of QuerySampleResponse, not generator"):
        lg.FirstTokenComplete(r for r in [lg.QuerySampleResponse()])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="1-D"):
        core.complete_sample_ids([[1, 2]])
    with pytest.raises(ValueError, match="one value per id"):
        core.complete_sample_ids([1, 2], n_tokens=[1])


def test_main_prints_cmake_dir() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "loadgen", "--cmakedir"], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == loadgen.get_cmake_dir()
