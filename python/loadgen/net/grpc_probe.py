"""``loadgen probe`` and the start-of-run check for ``--api kserve-grpc``: server live and ready,
the model's metadata (and whether it is decoupled, i.e. streams), one request, the stream. A
handful of blocking gRPC calls (grpcio's synchronous API): not a hot path."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Optional

from .grpc_v2 import (
    SERVICE,
    GrpcUnavailableError,
    build_infer_requests,
    load_messages,
    metadata_dict,
    output_bytes,
    parse_target,
    request_headers,
    stream_piece,
)
from .probe import Check, EndpointError, Preflight, ProbeReport, Status

__all__ = ["grpc_preflight", "grpc_probe"]


class _Client:
    """Blocking v2 gRPC calls whose failures are EndpointErrors that say what went wrong."""

    def __init__(self, url: str, headers: Mapping[str, str], timeout_s: float) -> None:
        try:
            self.pb = load_messages()
        except GrpcUnavailableError as e:
            raise EndpointError(str(e)) from None
        import grpc

        self.grpc = grpc
        try:
            self.target = parse_target(url)
        except ValueError as e:
            raise EndpointError(str(e)) from None
        self.timeout_s = timeout_s
        self.metadata = request_headers(headers) or None
        self.channel = grpc.insecure_channel(self.target)

    def close(self) -> None:
        self.channel.close()

    def wait_connected(self) -> float:
        start = time.perf_counter()
        try:
            self.grpc.channel_ready_future(self.channel).result(timeout=self.timeout_s)
        except self.grpc.FutureTimeoutError:
            raise EndpointError(
                f"cannot connect to the gRPC endpoint {self.target} within {self.timeout_s:g} s "
                "(is the server running, and is this its gRPC port?)"
            ) from None
        return time.perf_counter() - start

    def call(self, method: str, request: Any, response: Any) -> Any:
        rpc = self.channel.unary_unary(
            SERVICE + method,
            request_serializer=type(request).SerializeToString,
            response_deserializer=response.FromString,
        )
        try:
            return rpc(request, timeout=self.timeout_s, metadata=self.metadata)
        except self.grpc.RpcError as e:
            raise EndpointError(f"{method}: {e.code().name}: {e.details()}") from None

    def stream(self, request: bytes) -> list[tuple[float, Any]]:
        """(seconds since the request, ModelStreamInferResponse) per response, to the end."""
        rpc = self.channel.stream_stream(
            SERVICE + "ModelStreamInfer",
            request_serializer=None,
            response_deserializer=self.pb.ModelStreamInferResponse.FromString,
        )
        start = time.perf_counter()
        out = []
        try:
            for message in rpc(iter((request,)), timeout=self.timeout_s, metadata=self.metadata):
                out.append((time.perf_counter() - start, message))
                if message.error_message:
                    raise EndpointError(
                        f"ModelStreamInfer: the server answered an error: {message.error_message}"
                    )
                if stream_piece(message.infer_response)[1]:
                    break
        except self.grpc.RpcError as e:
            raise EndpointError(f"ModelStreamInfer: {e.code().name}: {e.details()}") from None
        return out


def _model(client: _Client, model: Optional[str]) -> tuple[dict[str, Any], bool]:
    """The model's metadata (as the REST JSON) and whether it is decoupled."""
    pb = client.pb
    if not client.call("ServerReady", pb.ServerReadyRequest(), pb.ServerReadyResponse).ready:
        raise EndpointError(f"{client.target}: ServerReady says the server is not ready")
    if not model:
        raise EndpointError("--model is required with --api kserve-grpc")
    try:
        metadata = client.call(
            "ModelMetadata", pb.ModelMetadataRequest(name=model), pb.ModelMetadataResponse
        )
    except EndpointError as e:
        raise EndpointError(f"model {model!r} not found: {e}") from None
    if not client.call("ModelReady", pb.ModelReadyRequest(name=model), pb.ModelReadyResponse).ready:
        raise EndpointError(f"model {model!r} is not ready (ModelReady)")
    decoupled = False
    try:  # Triton's extension; a plain KServe server may not have it
        config = client.call(
            "ModelConfig", pb.ModelConfigRequest(name=model), pb.ModelConfigResponse
        )
        decoupled = bool(config.config.model_transaction_policy.decoupled)
    except EndpointError:
        pass
    return metadata_dict(metadata), decoupled


def grpc_preflight(
    url: str,
    model: Optional[str],
    *,
    headers: Optional[Mapping[str, str]] = None,
    timeout_s: float = 10.0,
) -> Preflight:
    """The start-of-run check: connects, asks ServerReady, ModelMetadata and ModelReady; raises
    EndpointError with a clear message. Sends no inference request."""
    client = _Client(url, headers or {}, timeout_s)
    try:
        client.wait_connected()
        metadata, _ = _model(client, model)
        assert model
        return Preflight(model, metadata)
    finally:
        client.close()


def is_decoupled(
    url: str, model: str, *, headers: Optional[Mapping[str, str]] = None, timeout_s: float = 10.0
) -> bool:
    """Whether the model streams (Triton's decoupled transaction policy)."""
    client = _Client(url, headers or {}, timeout_s)
    try:
        client.wait_connected()
        return _model(client, model)[1]
    finally:
        client.close()


def grpc_probe(
    url: str,
    model: Optional[str],
    *,
    headers: Optional[Mapping[str, str]] = None,
    timeout_s: float = 10.0,
    max_tokens: int = 8,
) -> ProbeReport:
    """Every check for a v2 gRPC endpoint; a failed check says what is wrong."""
    report = ProbeReport(url, "kserve-grpc", model)
    try:
        client = _Client(url, headers or {}, timeout_s)
    except EndpointError as e:
        report.checks.append(Check("arguments", Status.FAIL, str(e)))
        return report
    try:
        _probe_steps(client, model, max_tokens, report)
    finally:
        client.close()
    return report


def _probe_steps(
    client: _Client, model: Optional[str], max_tokens: int, report: ProbeReport
) -> None:
    pb = client.pb
    names = ("reachable", "model", "request", "streaming", "token counting")

    def skip_rest(after: int) -> None:
        for name in names[after:]:
            report.checks.append(Check(name, Status.SKIP, "not checked after the failure above"))

    try:
        took = client.wait_connected()
        live = client.call("ServerLive", pb.ServerLiveRequest(), pb.ServerLiveResponse).live
        ready = client.call("ServerReady", pb.ServerReadyRequest(), pb.ServerReadyResponse).ready
        if not (live and ready):
            raise EndpointError(f"{client.target}: ServerLive {live}, ServerReady {ready}")
        report.checks.append(
            Check(
                "reachable",
                Status.OK,
                f"{client.target} is live and ready (connected in {took * 1e3:.1f} ms)",
            )
        )
    except EndpointError as e:
        report.checks.append(Check("reachable", Status.FAIL, str(e)))
        skip_rest(1)
        return
    try:
        metadata, decoupled = _model(client, model)
    except EndpointError as e:
        report.checks.append(Check("model", Status.FAIL, str(e)))
        skip_rest(2)
        return
    inputs = ", ".join(f"{i['name']} {i['datatype']} {i['shape']}" for i in metadata["inputs"])
    kind = "decoupled (streams responses)" if decoupled else "one response per request"
    report.checks.append(
        Check("model", Status.OK, f"{model!r} is ready, {kind}; inputs: {inputs or 'none listed'}")
    )
    assert model
    try:
        request = _random_request(metadata, model, decoupled, max_tokens)
    except (ValueError, ImportError) as e:
        report.checks.append(
            Check("request", Status.SKIP, f"cannot make an input for this model: {e}")
        )
        skip_rest(3)
        return
    if not decoupled:
        try:
            start = time.perf_counter()
            response = client.call(
                "ModelInfer", pb.ModelInferRequest.FromString(request), pb.ModelInferResponse
            )
            took = time.perf_counter() - start
            outputs = ", ".join(f"{o.name} {o.datatype} {list(o.shape)}" for o in response.outputs)
            report.checks.append(
                Check(
                    "request",
                    Status.OK,
                    f"ModelInfer with random inputs in {took * 1e3:.1f} ms: "
                    f"outputs {outputs or 'none'} ({len(output_bytes(response))} bytes)",
                )
            )
        except EndpointError as e:
            report.checks.append(Check("request", Status.FAIL, str(e)))
        report.checks.append(
            Check("streaming", Status.SKIP, "the model is not decoupled: unary ModelInfer")
        )
        report.checks.append(
            Check("token counting", Status.SKIP, "v2 inference responses carry no token counts")
        )
        return
    report.checks.append(
        Check(
            "request", Status.SKIP, "a decoupled model answers only ModelStreamInfer: see streaming"
        )
    )
    try:
        responses = client.stream(request)
    except EndpointError as e:
        report.checks.append(Check("streaming", Status.FAIL, str(e)))
        report.checks.append(Check("token counting", Status.SKIP, "no stream to count"))
        return
    tokens = [at for at, m in responses if m.infer_response.outputs]
    if not tokens:
        report.checks.append(
            Check(
                "streaming",
                Status.FAIL,
                f"ModelStreamInfer: {len(responses)} responses, none with outputs",
            )
        )
        report.checks.append(Check("token counting", Status.SKIP, "no stream to count"))
        return
    end = responses[-1][0]
    report.checks.append(
        Check(
            "streaming",
            Status.OK,
            f"ModelStreamInfer: {len(tokens)} responses with outputs, "
            f"first after {tokens[0] * 1e3:.1f} ms, ended after {end * 1e3:.1f} ms",
        )
    )
    report.checks.append(
        Check(
            "token counting",
            Status.WARN,
            f"v2 responses carry no usage: tokens are counted responses ({len(tokens)} here)",
        )
    )


def _random_request(
    metadata: Mapping[str, Any], model: str, decoupled: bool, max_tokens: int
) -> bytes:
    from .datasets import DatasetError, Sample, random_tensors

    try:
        sample = random_tensors(metadata, 1, dynamic_dim=4)[0]
    except DatasetError as e:
        raise ValueError(str(e)) from None
    tensors = dict(sample.tensors or {})
    if "max_tokens" in tensors:  # an LLM-like model: ask for a known number of tokens
        tensors["max_tokens"] = tensors["max_tokens"] * 0 + max_tokens
    return build_infer_requests([Sample(tensors=tensors)], model, stream=decoupled)[0]
