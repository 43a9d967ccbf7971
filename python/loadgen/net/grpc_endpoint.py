"""The KServe v2 gRPC endpoint SUT (``--api kserve-grpc``).

``GrpcEndpointSut`` sends each sample's ``ModelInferRequest`` (serialized once, before the run)
from native code when the extension was built with the gRPC client (cpp/src/net/grpc, gRPC C++;
CMake ``LOADGEN_GRPC``): no Python runs per request or per streamed response, the issuing thread
starts each call itself and the client's completion-queue thread completes the samples. Without
it, the grpcio implementation (grpc_aio_sut.py) runs the same requests on an asyncio loop, and
one log line says so. Both have the same ``stats()`` / ``records()`` keys as the HTTP
``EndpointSut``, so ``loadgen bench`` reports them alike (docs/net.md, "gRPC").
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Optional, Union

from .. import _core
from ..errors import EndpointError
from ._closing import Closing
from .datasets import Sample
from .endpoint import release_handle
from .grpc_aio_sut import GrpcioEndpointSut
from .grpc_v2 import (
    GrpcConnectError,
    build_infer_requests,
    parse_target,
    refuse_token_latencies_of_unary,
    request_headers,
)

if TYPE_CHECKING:
    from ..settings import Settings

__all__ = ["GrpcConnectError", "GrpcEndpoint", "GrpcEndpointSut", "native_grpc_available"]


@dataclass(frozen=True)
class GrpcEndpoint:
    """Where and how to send v2 gRPC requests.

    ``urls``: ``host:port`` (or ``grpc://host:port``), one or several replicas. ``stream``:
    use ``ModelStreamInfer`` (a decoupled model such as Triton's: each response is a token, the
    first one the first token), else unary ``ModelInfer``. ``total_timeout_s``: the gRPC deadline
    of each request, counted from its issue. ``channels``: HTTP/2 connections per URL (a channel
    multiplexes every request on one connection). ``api_key_env``: an environment variable whose
    value is sent as ``authorization: Bearer`` metadata, never logged.
    """

    urls: Union[str, Sequence[str]]
    model: str = ""
    stream: bool = False
    balance: Literal["round-robin", "least-outstanding"] = "round-robin"
    headers: Mapping[str, str] = field(default_factory=dict)
    api_key_env: Optional[str] = None
    connect_timeout_s: float = 10.0
    total_timeout_s: Optional[float] = None
    channels: int = 1

    def __post_init__(self) -> None:
        urls = (self.urls,) if isinstance(self.urls, str) else tuple(self.urls)
        if not urls:
            raise ValueError("GrpcEndpoint needs at least one URL")
        object.__setattr__(self, "urls", urls)
        for url in urls:
            parse_target(url)
        if not self.model:
            raise ValueError("GrpcEndpoint needs a model name")
        if self.balance not in ("round-robin", "least-outstanding"):
            raise ValueError(
                f"balance must be 'round-robin' or 'least-outstanding', got {self.balance!r}"
            )
        if self.channels < 1:
            raise ValueError("channels must be >= 1")
        if self.api_key_env is not None and not os.environ.get(self.api_key_env):
            raise ValueError(f"api_key_env: the environment variable {self.api_key_env} is not set")

    def targets(self) -> tuple[str, ...]:
        return tuple(parse_target(u) for u in self.urls)

    def base_urls(self) -> tuple[str, ...]:
        """The replicas as ``host:port``, in order (what per-URL metrics are labelled with, like
        ``Endpoint.base_urls``)."""
        return self.targets()

    def metadata(self) -> tuple[tuple[str, str], ...]:
        headers = dict(self.headers)
        if self.api_key_env is not None:
            headers["authorization"] = "Bearer " + os.environ[self.api_key_env]
        return request_headers(headers)

    def __repr__(self) -> str:  # headers may carry secrets
        return f"GrpcEndpoint(urls={self.urls!r}, model={self.model!r}, stream={self.stream}, balance={self.balance!r})"


def native_grpc_available() -> bool:
    """Whether this build has the native gRPC client (``loadgen._core.GrpcEndpointSut``)."""
    return hasattr(_core, "GrpcEndpointSut")


_fallback_logged = False


def _log_fallback() -> None:
    global _fallback_logged
    if not _fallback_logged:
        _fallback_logged = True
        logging.getLogger("loadgen.net").warning(
            "kserve-grpc: this loadgen build has no native gRPC client (LOADGEN_GRPC); "
            "using grpcio on a Python event loop (~320 us of client CPU and the GIL per request)"
        )


class GrpcEndpointSut(Closing):
    """A SUT that sends each sample's v2 infer request over gRPC. Close it (or use ``with``).

    Usable as the ``sut`` of :func:`loadgen.run` and as the SUT handle of the drop-in
    ``mlperf_loadgen.StartTest`` (it converts to its handle), with the QSL of
    :func:`loadgen.net.endpoint.endpoint_qsl`. Raises :class:`GrpcConnectError` (a
    :class:`loadgen.EndpointError` and a ``ConnectionError``) at construction if a server cannot
    be reached within ``connect_timeout_s``; ``check=True`` also asks ServerReady and
    ModelReady, so a missing model is that error too (the default leaves it to the run, where
    each sample fails with the server's NOT_FOUND).

    Natively (see the module's doc) the requests never wait for Python; with the grpcio
    fallback this is a Python SUT whose ``issue`` only queues."""

    def __init__(
        self, endpoint: GrpcEndpoint, dataset: Sequence[Sample], *, check: bool = False
    ) -> None:
        if len(dataset) == 0:
            raise ValueError("the dataset is empty")
        self.endpoint = endpoint
        self._native: Any = None
        self._fallback: Optional[GrpcioEndpointSut] = None
        self._handle: Optional[int] = None
        native = getattr(_core, "GrpcEndpointSut", None)
        if native is None:
            _log_fallback()
            self._fallback = GrpcioEndpointSut(endpoint, dataset)
            if check:
                self._check_with_grpcio()
            return
        requests = build_infer_requests(dataset, endpoint.model, stream=endpoint.stream)
        try:
            self._native = native(
                list(endpoint.targets()),
                endpoint.model,
                endpoint.stream,
                requests,
                metadata=list(endpoint.metadata()),
                balance=endpoint.balance,
                connect_timeout_s=endpoint.connect_timeout_s,
                total_timeout_s=endpoint.total_timeout_s or 0.0,
                channels=endpoint.channels,
                check_model=check,
            )
        except _core.GrpcStartError as e:
            raise GrpcConnectError(str(e)) from None
        self._handle = int(self._native.handle)

    def _check_with_grpcio(self) -> None:
        from .grpc_probe import grpc_preflight

        try:
            for url in self.endpoint.urls:
                grpc_preflight(
                    url,
                    self.endpoint.model,
                    headers=dict(self.endpoint.headers),
                    timeout_s=self.endpoint.connect_timeout_s,
                )
        except EndpointError as e:
            self.close()
            raise GrpcConnectError(str(e)) from None

    @property
    def native(self) -> bool:
        """Whether requests go through the native gRPC client (else grpcio)."""
        return self._native is not None

    @property
    def name(self) -> str:
        if self._fallback is not None:
            return self._fallback.name
        return str(self._native.name)

    @property
    def _native_sut_handle(self) -> int:
        """What loadgen.run passes to the engine instead of Python callbacks (native only: the
        grpcio fallback is a Python SUT, and this raises AttributeError)."""
        if self._fallback is not None:
            raise AttributeError("_native_sut_handle")
        if self._handle is None:
            raise ValueError("this GrpcEndpointSut is closed")
        return self._handle

    def issue(self, batch: Any) -> None:
        """Issues the batch's samples (what the engine does natively; the grpcio fallback's
        Python SUT callback). Never waits on the network."""
        if self._fallback is not None:
            self._fallback.issue(batch)
        else:
            self._native.issue(list(batch.ids), list(batch.indices))

    def flush(self) -> None:
        """Nothing to flush: requests leave as soon as they are issued."""

    def check_settings(self, settings: Settings) -> None:
        """Raises SettingsError for token latencies of unary answers (no first token to time);
        ``loadgen.run`` calls it before any load, as for the HTTP EndpointSut."""
        refuse_token_latencies_of_unary(settings.use_token_latencies, self.endpoint.stream)

    def __index__(self) -> int:
        """A SUT handle, so ``mlperf_loadgen.StartTest(sut, qsl, settings)`` accepts this object."""
        if self._fallback is not None:
            return self._fallback.__index__()
        return self._native_sut_handle

    @property
    def outstanding(self) -> int:
        """Requests in flight."""
        if self._fallback is not None:
            return self._fallback.outstanding
        return int(self._native.outstanding)

    def stats(self) -> dict[str, Any]:
        """The same keys as the HTTP EndpointSut's: issued, completed, failed,
        failures_by_reason (its names plus ``grpc_error``), tokens_from_usage/chunks, last_failure
        and per endpoint issued, completed, failed, connections_opened (channels)."""
        if self._fallback is not None:
            return self._fallback.stats()
        return dict(self._native.stats())

    def records(self) -> dict[str, list[Any]]:
        """Per-query columns in completion order, as the HTTP EndpointSut's, plus grpc_status.
        ``written_ns`` is when the request was handed to gRPC; ``first_byte_ns`` when the
        (first) response arrived."""
        if self._fallback is not None:
            return self._fallback.records()
        return dict(self._native.records())

    def clear_records(self) -> None:
        if self._fallback is not None:
            self._fallback.clear_records()
        else:
            self._native.clear_records()

    def cancel_all(self) -> None:
        """Fails every in-flight request now (their samples complete as failed)."""
        if self._fallback is not None:
            self._fallback.cancel_all()
        elif self._native is not None:
            self._native.cancel_all()

    def close(self) -> None:
        if self._fallback is not None:
            self._fallback.close()
            return
        if self._handle is not None:
            # The registry's reference is dropped; the client stops when the last one goes.
            self._native.cancel_all()
            release_handle(_core.DestroySUT, self._handle)
            self._handle = None

    def __repr__(self) -> str:
        return self.name


def grpc_endpoint_sut(
    endpoint: Any, dataset: Sequence[Sample], *, timeout_s: float = 10.0
) -> GrpcEndpointSut:
    """The gRPC SUT for the settings of a ``loadgen.net.endpoint.Endpoint`` (what ``loadgen bench``
    builds from its flags). It streams (ModelStreamInfer) when the model is decoupled, unless
    the endpoint says ``stream=False``. Raises ConnectionError if a server cannot be reached."""
    from .grpc_probe import is_decoupled

    stream = bool(endpoint.stream) and is_decoupled(
        endpoint.urls[0], endpoint.model, headers=dict(endpoint.headers), timeout_s=timeout_s
    )
    grpc_endpoint = GrpcEndpoint(
        endpoint.urls,
        model=endpoint.model,
        stream=stream,
        balance=endpoint.balance,
        headers=dict(endpoint.request_headers()),
        connect_timeout_s=endpoint.connect_timeout_s,
        total_timeout_s=endpoint.total_timeout_s,
    )
    return GrpcEndpointSut(grpc_endpoint, dataset)
