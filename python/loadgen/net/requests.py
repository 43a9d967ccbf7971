"""Request bodies: each QSL sample becomes the bytes of one HTTP request, once, before the run.

The native client (``loadgen.net.endpoint``) sends these bytes as they are, so nothing here runs
per query. Builders by api:

- ``openai``: ``POST /v1/completions`` with ``prompt`` (text, or token ids for an exact input
  length), ``max_tokens``, ``stream`` and, when streaming, ``stream_options.include_usage``;
- ``openai-chat``: ``POST /v1/chat/completions`` with ``messages`` (a prompt becomes one user
  message);
- ``kserve``: ``POST /v2/models/M/infer``, JSON inputs, or the binary-tensor extension (JSON
  header + raw tensor bytes, binary outputs requested);
- ``triton-generate``: ``POST /v2/models/M/generate_stream`` with ``text_input`` and
  ``max_tokens`` as JSON fields.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .datasets import Sample

if TYPE_CHECKING:
    import numpy

__all__ = ["Api", "APIS", "RequestBodies", "build_bodies", "build_body", "request_path"]

Api = Literal["openai", "openai-chat", "kserve", "triton-generate"]
APIS: tuple[Api, ...] = ("openai", "openai-chat", "kserve", "triton-generate")


@dataclass(frozen=True)
class RequestBodies:
    """One body per sample; ``json_lengths[i]`` is the JSON part's size of a binary-tensor
    request (sent as ``Inference-Header-Content-Length``), 0 for a plain JSON body."""

    bodies: tuple[bytes, ...]
    json_lengths: tuple[int, ...]
    content_type: str
    #: openai-chat conversation turns: (sample, conversation, turn, begin, end), the turn's
    #: user message being ``bodies[sample][begin:end]``; the native client puts the history
    #: before it when it sends a later turn (cpp/src/net/conversation_bodies.h).
    conversation_turns: tuple[tuple[int, int, int, int, int], ...] = ()


def request_path(api: Api, model: str | None) -> str:
    """The request target under an endpoint's base URL."""
    if api == "openai":
        return "/v1/completions"
    if api == "openai-chat":
        return "/v1/chat/completions"
    if not model:
        raise ValueError(f"api {api!r} needs a model name")
    if api == "kserve":
        return f"/v2/models/{model}/infer"
    if api == "triton-generate":
        return f"/v2/models/{model}/generate_stream"
    raise ValueError(f"api must be one of {', '.join(APIS)}; got {api!r}")


def _dumps(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _merge_extra(body: dict[str, Any], sample: Sample) -> dict[str, Any]:
    if sample.extra_body:
        body.update(sample.extra_body)
    return body


def _openai(sample: Sample, chat: bool, model: str | None, stream: bool, ignore_eos: bool) -> bytes:
    body: dict[str, Any] = {}
    if model:
        body["model"] = model
    if chat:
        if sample.messages is not None:
            body["messages"] = [dict(m) for m in sample.messages]
        elif sample.prompt is not None:
            body["messages"] = [{"role": "user", "content": sample.prompt}]
        else:
            raise ValueError(
                "a chat request needs messages or a prompt (token ids need api 'openai')"
            )
    else:
        if sample.token_ids is not None:
            body["prompt"] = list(sample.token_ids)
        elif sample.prompt is not None:
            body["prompt"] = sample.prompt
        else:
            raise ValueError("a completions request needs a prompt or token_ids")
    if sample.max_tokens is not None:
        body["max_tokens"] = sample.max_tokens
    if ignore_eos:
        body["ignore_eos"] = True
    body["stream"] = stream
    if stream:
        # Token counts from the server, not from counting chunks (servers coalesce tokens).
        body["stream_options"] = {"include_usage": True}
    return _dumps(_merge_extra(body, sample))


def _triton_generate(sample: Sample) -> bytes:
    body: dict[str, Any] = {}
    if sample.prompt is not None:
        body["text_input"] = sample.prompt
    elif sample.messages is not None or sample.token_ids is not None:
        raise ValueError("a triton-generate request takes a text prompt")
    if sample.max_tokens is not None:
        body["max_tokens"] = sample.max_tokens
    return _dumps(_merge_extra(body, sample))


_V2_TYPES = {
    "b": "BOOL",
    "u1": "UINT8",
    "u2": "UINT16",
    "u4": "UINT32",
    "u8": "UINT64",
    "i1": "INT8",
    "i2": "INT16",
    "i4": "INT32",
    "i8": "INT64",
    "f2": "FP16",
    "f4": "FP32",
    "f8": "FP64",
}


def v2_datatype(array: numpy.ndarray) -> str:
    """The KServe v2 datatype of a numpy array (shared by the HTTP and gRPC requests)."""
    kind = array.dtype.kind
    if kind in ("S", "U", "O"):
        return "BYTES"
    key = "b" if kind == "b" else f"{kind}{array.dtype.itemsize}"
    try:
        return _V2_TYPES[key]
    except KeyError:
        raise ValueError(f"numpy dtype {array.dtype} has no KServe v2 datatype") from None


def v2_bytes_elements(array: numpy.ndarray) -> list[bytes]:
    """The elements of a BYTES tensor, row-major, each as bytes."""
    out = []
    for item in array.reshape(-1).tolist():
        out.append(item.encode() if isinstance(item, str) else bytes(item))
    return out


def _kserve(sample: Sample, binary: bool) -> tuple[bytes, int]:
    import numpy as np

    if not sample.tensors:
        raise ValueError("a kserve request needs tensors")
    inputs = []
    blobs = []
    for name, value in sample.tensors.items():
        array = np.asarray(value)
        datatype = v2_datatype(array)
        entry: dict[str, Any] = {"name": name, "shape": list(array.shape), "datatype": datatype}
        if binary:
            if datatype == "BYTES":
                blob = b"".join(struct.pack("<I", len(e)) + e for e in v2_bytes_elements(array))
            else:
                blob = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
            entry["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        elif datatype == "BYTES":
            entry["data"] = [e.decode("utf-8", "replace") for e in v2_bytes_elements(array)]
        else:
            entry["data"] = array.reshape(-1).tolist()
        inputs.append(entry)
    body: dict[str, Any] = {"inputs": inputs}
    if binary:
        body["parameters"] = {"binary_data_output": True}
    header = _dumps(_merge_extra(body, sample))
    if not binary:
        return header, 0
    return header + b"".join(blobs), len(header)


def build_body(
    api: Api,
    sample: Sample,
    *,
    model: str | None = None,
    stream: bool = True,
    ignore_eos: bool = False,
    binary_tensors: bool = False,
) -> tuple[bytes, int]:
    """The body of one request and the size of its JSON part if it is a binary-tensor request
    (else 0). Raises ValueError if the sample lacks what the api needs."""
    if api in ("openai", "openai-chat"):
        return _openai(sample, api == "openai-chat", model, stream, ignore_eos), 0
    if api == "triton-generate":
        return _triton_generate(sample), 0
    if api == "kserve":
        return _kserve(sample, binary_tensors)
    raise ValueError(f"api must be one of {', '.join(APIS)}; got {api!r}")


def build_bodies(
    api: Api,
    samples: Sequence[Sample],
    *,
    model: str | None = None,
    stream: bool = True,
    ignore_eos: bool = False,
    binary_tensors: bool = False,
) -> RequestBodies:
    """Every sample's body, in QSL index order. A sample that cannot be built raises ValueError
    naming its index."""
    bodies = []
    lengths = []
    turns = []
    for index, sample in enumerate(samples):
        try:
            body, json_length = build_body(
                api,
                sample,
                model=model,
                stream=stream,
                ignore_eos=ignore_eos,
                binary_tensors=binary_tensors,
            )
        except ValueError as e:
            raise ValueError(f"sample {index}: {e}") from None
        bodies.append(body)
        lengths.append(json_length)
        if api == "openai-chat" and sample.conversation is not None:
            begin, end = _last_message_span(body, sample)
            turns.append((index, sample.conversation, sample.turn, begin, end))
    content_type = (
        "application/octet-stream" if api == "kserve" and binary_tensors else "application/json"
    )
    return RequestBodies(tuple(bodies), tuple(lengths), content_type, tuple(turns))


def _last_message_span(body: bytes, sample: Sample) -> tuple[int, int]:
    """Where a chat body's last message (the turn's user message) is, in bytes."""
    assert sample.messages is not None  # conversation turns are chat messages
    rendered = [_dumps(dict(m)) for m in sample.messages]
    array = b'"messages":[' + b",".join(rendered) + b"]"
    at = body.find(array)
    if at < 0 or (sample.extra_body and "messages" in sample.extra_body):
        raise ValueError(f"conversation {sample.conversation}: its messages cannot be located")
    begin = at + len(b'"messages":[') + sum(len(r) + 1 for r in rendered[:-1])
    return begin, begin + len(rendered[-1])
