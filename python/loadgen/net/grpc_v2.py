"""KServe v2 / Open Inference Protocol over gRPC: the messages, the method paths, request
building (once, before a run), output decoding and how a gRPC status becomes a failure reason.

The messages are the ones ``tritonclient[grpc]`` generates from the v2 proto
(``tritonclient.grpc.service_pb2``, package ``inference``): the ``net`` extra installs it with
``grpcio``. Nothing here is imported by the core package.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import EndpointError, SettingsError
from .datasets import Sample
from .requests import v2_bytes_elements, v2_datatype

if TYPE_CHECKING:
    import grpc

__all__ = [
    "FAILURE_REASONS",
    "GrpcConnectError",
    "GrpcUnavailableError",
    "SERVICE",
    "build_infer_requests",
    "failure_reason",
    "load_messages",
    "metadata_dict",
    "output_bytes",
    "parse_target",
    "stream_piece",
]

#: The gRPC service of the v2 protocol (Triton's name for it; KServe uses the same).
SERVICE = "/inference.GRPCInferenceService/"

#: Failure reasons of the gRPC client: the HTTP client's names where the meaning is the same
#: (docs/net.md), plus ``grpc_error`` for a non-OK status the server returned.
FAILURE_REASONS = (
    "http_4xx",
    "http_5xx",
    "connect_failed",
    "connection_closed",
    "timeout_connect",
    "timeout_first_byte",
    "timeout_total",
    "malformed_response",
    "bad_sample",
    "grpc_error",
)


class GrpcConnectError(EndpointError, ConnectionError):
    """A gRPC endpoint SUT could not start: a server unreachable within ``connect_timeout_s``, or
    (with ``check``) not ready or without the model. Nothing was sent. Both a
    :class:`loadgen.EndpointError` and, as before, a ``ConnectionError``."""


class GrpcUnavailableError(ImportError):
    """grpcio or the v2 messages are not installed."""


def load_messages() -> Any:
    """The generated v2 messages module (``tritonclient.grpc.service_pb2``)."""
    try:
        import grpc  # noqa: F401
        from tritonclient.grpc import service_pb2
    except ImportError as e:
        raise GrpcUnavailableError(
            f"--api kserve-grpc needs grpcio and tritonclient[grpc] ({e}): pip install 'loadgen[net]'"
        ) from None
    return service_pb2


def parse_target(url: str) -> str:
    """``host:port`` from ``grpc://host:port``, ``http://host:port`` or ``host:port``."""
    target = url.split("://", 1)[1] if "://" in url else url
    target = target.rstrip("/")
    host, sep, port = target.rpartition(":")
    if not sep or not host or not port.isdigit() or "/" in target:
        raise ValueError(f"bad gRPC endpoint {url!r}: expected HOST:PORT (or grpc://HOST:PORT)")
    return target


def build_infer_requests(samples: Sequence[Sample], model: str, *, stream: bool) -> list[bytes]:
    """Every sample's serialized ``ModelInferRequest`` (QSL index order), its tensors in
    ``raw_input_contents`` (little-endian elements; BYTES as a 4-byte length and the bytes).
    A streamed request asks Triton for an empty final response, which marks its end on a
    decoupled model. Raises ValueError naming the sample that cannot be built."""
    import numpy as np

    pb = load_messages()
    out = []
    for index, sample in enumerate(samples):
        if not sample.tensors:
            raise ValueError(f"sample {index}: a kserve-grpc request needs tensors")
        request = pb.ModelInferRequest(model_name=model)
        for name, value in sample.tensors.items():
            array = np.asarray(value)
            try:
                datatype = v2_datatype(array)
            except ValueError as e:
                raise ValueError(f"sample {index}: input {name!r}: {e}") from None
            request.inputs.add(name=name, datatype=datatype, shape=list(array.shape))
            if datatype == "BYTES":
                raw = b"".join(struct.pack("<I", len(e)) + e for e in v2_bytes_elements(array))
            else:
                raw = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
            request.raw_input_contents.append(raw)
        if stream:
            request.parameters["triton_enable_empty_final_response"].bool_param = True
        out.append(request.SerializeToString())
    return out


_TYPED_FIELDS = {
    "BOOL": ("bool_contents", "?"),
    "INT8": ("int_contents", "<i1"),
    "INT16": ("int_contents", "<i2"),
    "INT32": ("int_contents", "<i4"),
    "INT64": ("int64_contents", "<i8"),
    "UINT8": ("uint_contents", "<u1"),
    "UINT16": ("uint_contents", "<u2"),
    "UINT32": ("uint_contents", "<u4"),
    "UINT64": ("uint64_contents", "<u8"),
    "FP32": ("fp32_contents", "<f4"),
    "FP64": ("fp64_contents", "<f8"),
}


def output_bytes(response: Any) -> bytes:
    """A ``ModelInferResponse``'s outputs, in response order, in the binary-tensor layout (as the
    HTTP client logs them): ``raw_output_contents`` as sent, or typed ``contents`` (KServe's
    Python server answers with those) converted."""
    if response.raw_output_contents:
        return b"".join(response.raw_output_contents)
    parts = []
    for output in response.outputs:
        contents = output.contents
        if output.datatype == "BYTES":
            parts.append(b"".join(struct.pack("<I", len(e)) + e for e in contents.bytes_contents))
            continue
        field_and_type = _TYPED_FIELDS.get(output.datatype)
        if field_and_type is None:
            continue  # FP16/BF16 come only as raw contents
        import numpy as np

        field, dtype = field_and_type
        parts.append(np.asarray(list(getattr(contents, field)), dtype=dtype).tobytes())
    return b"".join(parts)


def stream_piece(response: Any) -> tuple[bytes, bool]:
    """What one response of a decoupled model adds to the output, and whether it is the final
    (empty) one. The piece is the text of a BYTES output (its elements without their length
    prefixes, like Triton's generate_stream text), else the raw output bytes."""
    final = False
    if "triton_final_response" in response.parameters:
        final = response.parameters["triton_final_response"].bool_param
    if not response.outputs:
        return b"", final
    raw = response.raw_output_contents
    pieces = []
    for i, output in enumerate(response.outputs):
        data = raw[i] if i < len(raw) else b""
        if output.datatype == "BYTES":
            at = 0
            while at + 4 <= len(data):
                (n,) = struct.unpack_from("<I", data, at)
                pieces.append(data[at + 4 : at + 4 + n])
                at += 4 + n
            if not raw:
                pieces.extend(output.contents.bytes_contents)
        else:
            pieces.append(data)
    return b"".join(pieces), final


def metadata_dict(response: Any) -> dict[str, Any]:
    """A ``ModelMetadataResponse`` as the JSON of ``GET /v2/models/M`` (what random_tensors
    takes)."""

    def tensors(items: Any) -> list[dict[str, Any]]:
        return [
            {"name": t.name, "datatype": t.datatype, "shape": [int(d) for d in t.shape]}
            for t in items
        ]

    return {
        "name": response.name,
        "versions": list(response.versions),
        "platform": response.platform,
        "inputs": tensors(response.inputs),
        "outputs": tensors(response.outputs),
    }


def failure_reason(code: grpc.StatusCode, details: str, connected: bool) -> str:
    """The failure reason of a call that ended with a non-OK status.

    DEADLINE_EXCEEDED is the request timeout (``timeout_total``, counted from the issue);
    UNAVAILABLE is ``connect_failed`` when the channel never reached the server, otherwise
    ``connection_closed`` (reset, server gone); CANCELLED is ``connection_closed`` (cancel_all);
    every other status is the server's answer: ``grpc_error`` (the record keeps the code)."""
    import grpc

    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return "timeout_total"
    if code == grpc.StatusCode.UNAVAILABLE:
        return "connection_closed" if connected else "connect_failed"
    if code == grpc.StatusCode.CANCELLED:
        return "connection_closed"
    return "grpc_error"


def request_headers(headers: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """Extra headers as gRPC metadata (keys must be lower case)."""
    return tuple((k.lower(), v) for k, v in headers.items())


def refuse_token_latencies_of_unary(use_token_latencies: bool, stream: bool) -> None:
    """Raises SettingsError for token latencies of unary answers (no first token to time): the
    gRPC SUTs' check_settings, which ``loadgen.run`` calls before any load."""
    if use_token_latencies and not stream:
        raise SettingsError(
            "token latencies need streamed answers, and this GrpcEndpointSut's unary "
            "ModelInfer answers arrive whole: set use_token_latencies=False, or stream=True "
            "for a decoupled model (nothing was sent: the test did not start)"
        )
