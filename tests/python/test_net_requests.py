"""Request bodies built from samples (loadgen.net.requests): what each api puts on the wire."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from loadgen.net.datasets import Sample
from loadgen.net.requests import build_bodies, build_body, request_path


def body(api: str, sample: Sample, **kw: object) -> dict[str, object]:
    data, json_length = build_body(api, sample, **kw)  # type: ignore[arg-type]
    assert json_length == 0
    return json.loads(data)  # type: ignore[no-any-return]


def test_completions_stream_asks_for_usage_and_token_ids_stay_ids() -> None:
    b = body(
        "openai",
        Sample(token_ids=(5, 6, 7), max_tokens=4, extra_body={"temperature": 0}),
        model="m",
        ignore_eos=True,
    )
    assert b == {
        "model": "m",
        "prompt": [5, 6, 7],
        "max_tokens": 4,
        "ignore_eos": True,
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0,
    }
    b = body("openai", Sample(prompt="hi"), stream=False)
    assert b == {"prompt": "hi", "stream": False}


def test_chat_takes_messages_or_makes_one_from_a_prompt() -> None:
    messages = ({"role": "system", "content": "s"}, {"role": "user", "content": "u"})
    assert body("openai-chat", Sample(messages=messages), model="m")["messages"] == list(messages)
    assert body("openai-chat", Sample(prompt="p"))["messages"] == [{"role": "user", "content": "p"}]
    with pytest.raises(ValueError, match="token ids need api 'openai'"):
        build_body("openai-chat", Sample(token_ids=(1, 2)))


def test_triton_generate_fields() -> None:
    assert body(
        "triton-generate", Sample(prompt="x", max_tokens=3, extra_body={"delay_ms": 1.0})
    ) == {"text_input": "x", "max_tokens": 3, "delay_ms": 1.0}


def test_kserve_json_inputs() -> None:
    sample = Sample(
        tensors={"A": np.array([[1.5, 2.0]], np.float32), "S": np.array([b"hi"], dtype=object)}
    )
    b = body("kserve", sample)
    assert b == {
        "inputs": [
            {"name": "A", "shape": [1, 2], "datatype": "FP32", "data": [1.5, 2.0]},
            {"name": "S", "shape": [1], "datatype": "BYTES", "data": ["hi"]},
        ]
    }


def test_kserve_binary_tensors_layout() -> None:
    a = np.array([[1, 2, 3]], np.int32)
    data, json_length = build_body(
        "kserve",
        Sample(tensors={"A": a, "S": np.array([b"xyz"], dtype=object)}),
        binary_tensors=True,
    )
    header = json.loads(data[:json_length])
    assert header["parameters"] == {"binary_data_output": True}
    assert [i["parameters"]["binary_data_size"] for i in header["inputs"]] == [12, 7]
    assert data[json_length:] == a.tobytes() + struct.pack("<I", 3) + b"xyz"
    bodies = build_bodies("kserve", [Sample(tensors={"A": a})], binary_tensors=True)
    assert bodies.content_type == "application/octet-stream" and bodies.json_lengths[0] > 0


def test_errors_name_the_sample() -> None:
    with pytest.raises(
        ValueError, match="sample 1: a completions request needs a prompt or token_ids"
    ):
        build_bodies("openai", [Sample(prompt="ok"), Sample(max_tokens=3)])
    with pytest.raises(ValueError, match="needs tensors"):
        build_body("kserve", Sample(prompt="x"))
    with pytest.raises(ValueError, match="no KServe v2 datatype"):
        build_body("kserve", Sample(tensors={"c": np.array([1j])}))


def test_request_paths() -> None:
    assert request_path("openai", None) == "/v1/completions"
    assert request_path("openai-chat", None) == "/v1/chat/completions"
    assert request_path("kserve", "m") == "/v2/models/m/infer"
    assert request_path("triton-generate", "m") == "/v2/models/m/generate_stream"
    with pytest.raises(ValueError, match="needs a model name"):
        request_path("kserve", None)
