"""The grpcio implementation of the KServe v2 gRPC endpoint SUT: grpcio's asyncio client on an
event-loop thread that the SUT owns. ``GrpcEndpointSut`` (grpc_endpoint.py) uses it only when the
extension was built without the native gRPC client (cpp/src/net/grpc, CMake ``LOADGEN_GRPC``).

It is a Python SUT: the issuer takes the GIL for ``issue``, and the loop thread takes it for every
request and every streamed response (~320 us of client CPU per request; docs/net.md, "gRPC")::

    issuing thread (loadgen)                   the SUT's event-loop thread ("loadgen-grpc")
    issue(batch): stamp issued_ns, copy the    _dispatch: per sample choose a channel, start
      ids/indices, call_soon_threadsafe  --->    the call (a task), deadline = what is left
      (never waits on the network)               of total_timeout_s since issued_ns
                                               response -> stamp time.monotonic_ns() (the
                                                 engine's clock) -> loadgen completion API:
                                                 first token / QuerySamplesComplete with the
                                                 output bytes; failures complete at once

A failed sample (a gRPC status, the server gone, the deadline) is completed with no output and
0 tokens and counted by reason exactly like the HTTP client's (``stats()`` and ``records()`` have
the same keys), so ``loadgen bench`` reports both alike.
"""

from __future__ import annotations

import asyncio
import ctypes
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Optional

from .. import _core
from ._closing import Closing
from .datasets import Sample
from .endpoint import release_handle
from .grpc_v2 import (
    FAILURE_REASONS,
    SERVICE,
    GrpcConnectError,
    build_infer_requests,
    failure_reason,
    load_messages,
    output_bytes,
    refuse_token_latencies_of_unary,
    stream_piece,
)

if TYPE_CHECKING:
    from ..settings import Settings
    from .grpc_endpoint import GrpcEndpoint

__all__ = ["GrpcioEndpointSut"]


class _Channel:
    """One replica: its grpc.aio channels and the counts ``stats()`` reports for it."""

    def __init__(self, index: int, target: str, channels: list[Any], infer: list[Any]) -> None:
        self.index = index
        self.target = target
        self.channels = channels
        self.infer = infer  # per channel: the ModelInfer or ModelStreamInfer method
        self.next = 0
        self.outstanding = 0
        self.counts = {
            "issued": 0,
            "completed": 0,
            "failed": 0,
            "connections_opened": len(channels),
            "retries": 0,
            "closes_after_stream": False,
        }


def _address(data: bytes) -> int:
    """The address of a bytes object's buffer, for QuerySampleResponse (the engine copies what
    it logs before the completion call returns)."""
    return ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value or 0


class GrpcioEndpointSut(Closing):
    """The grpcio implementation of :class:`GrpcEndpointSut` (used when the extension was built
    without the native gRPC client). Close it (or use ``with``).

    Usable as the ``sut`` of :func:`loadgen.run` (it is a Python SUT: ``issue`` runs once per
    IssueQuery under the GIL and only queues), and as the SUT handle of the drop-in
    ``mlperf_loadgen.StartTest`` (it converts to a handle made on first use), with the QSL of
    :func:`loadgen.net.endpoint.endpoint_qsl`. Raises ConnectionError at construction if a
    server cannot be reached within ``connect_timeout_s``."""

    def __init__(self, endpoint: GrpcEndpoint, dataset: Sequence[Sample]) -> None:
        if len(dataset) == 0:
            raise ValueError("the dataset is empty")
        import grpc
        import grpc.aio

        self.endpoint = endpoint
        self._grpc = grpc
        self._pb = load_messages()
        self._requests = build_infer_requests(dataset, endpoint.model, stream=endpoint.stream)
        self._metadata = endpoint.metadata() or None
        self._timeout = endpoint.total_timeout_s
        self._name = f"GrpcEndpointSut(kserve-grpc{', stream' if endpoint.stream else ''}, {', '.join(endpoint.urls)})"
        self._stats_lock = threading.Lock()  # the loop thread and stats() readers only
        self._reset_stats()
        self._tasks: set[asyncio.Task[None]] = set()
        self._next = -1  # round-robin position
        self._handle: Optional[int] = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="loadgen-grpc", daemon=True)
        self._thread.start()
        try:
            self._channels: list[_Channel] = self._on_loop(self._open(grpc), None)
        except BaseException:
            self._stop_loop()
            raise

    # ------------------------------------------------------------------- the loop thread

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def _on_loop(self, coro: Any, timeout: Optional[float]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _open(self, grpc: Any) -> list[_Channel]:
        method = "ModelStreamInfer" if self.endpoint.stream else "ModelInfer"
        response = (
            self._pb.ModelStreamInferResponse
            if self.endpoint.stream
            else self._pb.ModelInferResponse
        )
        options = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]
        replicas: list[_Channel] = []
        for target in self.endpoint.targets():
            channels, methods = [], []
            for k in range(self.endpoint.channels):
                # Distinct channel arguments keep grpc from sharing one connection between them.
                channel = grpc.aio.insecure_channel(
                    target, options=[*options, ("loadgen.channel", k)]
                )
                channels.append(channel)
                # Requests are serialized once before the run: bytes go out as they are.
                factory = channel.stream_stream if self.endpoint.stream else channel.unary_unary
                methods.append(
                    factory(
                        SERVICE + method,
                        request_serializer=None,
                        response_deserializer=response.FromString,
                    )
                )
            replicas.append(_Channel(len(replicas), target, channels, methods))
            for channel in channels:
                try:
                    await asyncio.wait_for(channel.channel_ready(), self.endpoint.connect_timeout_s)
                except asyncio.TimeoutError:
                    for r in replicas:
                        for c in r.channels:
                            await c.close()
                    raise GrpcConnectError(
                        f"cannot connect to the gRPC endpoint {target} within "
                        f"{self.endpoint.connect_timeout_s:g} s"
                    ) from None
        return replicas

    def _dispatch(self, ids: list[int], indices: list[int], issued_ns: int) -> None:
        for response_id, index in zip(ids, indices):
            replica = self._choose()
            replica.counts["issued"] += 1
            self._issued += 1
            replica.outstanding += 1
            query = _Query(response_id, index, issued_ns, replica.index)
            if index >= len(self._requests):
                self._finish(query, replica, "bad_sample", "the QSL index has no request", b"", 0)
                continue
            run = self._stream if self.endpoint.stream else self._unary
            task = self._loop.create_task(run(query, replica))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _choose(self) -> _Channel:
        replicas = self._channels
        if len(replicas) == 1:
            return replicas[0]
        if self.endpoint.balance == "least-outstanding":
            return min(replicas, key=lambda r: int(r.outstanding))
        self._next = (self._next + 1) % len(replicas)
        return replicas[self._next]

    def _deadline(self, query: _Query) -> Optional[float]:
        if self._timeout is None:
            return None
        return max(self._timeout - (time.monotonic_ns() - query.issued_ns) * 1e-9, 0.0)

    def _method(self, replica: _Channel) -> Any:
        k = replica.next
        replica.next = (k + 1) % len(replica.infer)
        return replica.infer[k]

    async def _unary(self, query: _Query, replica: _Channel) -> None:
        call = self._method(replica)(
            self._requests[query.index], timeout=self._deadline(query), metadata=self._metadata
        )
        query.written_ns = time.monotonic_ns()  # handed to grpc's core, which writes it
        try:
            response = await call
        except self._grpc.aio.AioRpcError as e:
            self._fail(query, replica, e)
            return
        except asyncio.CancelledError:
            self._finish(query, replica, "connection_closed", "cancelled", b"", 0)
            return
        query.first_byte_ns = time.monotonic_ns()
        self._finish(query, replica, None, "", output_bytes(response), 0)

    async def _stream(self, query: _Query, replica: _Channel) -> None:
        call = self._method(replica)(
            iter((self._requests[query.index],)),
            timeout=self._deadline(query),
            metadata=self._metadata,
        )
        query.written_ns = time.monotonic_ns()
        pieces: list[bytes] = []
        try:
            async for message in call:
                now = time.monotonic_ns()
                if query.first_byte_ns == 0:
                    query.first_byte_ns = now
                if message.error_message:
                    call.cancel()
                    self._finish(query, replica, "grpc_error", message.error_message, b"", 0)
                    return
                piece, final = stream_piece(message.infer_response)
                if piece or message.infer_response.outputs:
                    query.chunk_ns.append(now)
                    pieces.append(piece)
                    if len(query.chunk_ns) == 1:
                        query.first_token_ns = now
                        _core._first_token_id_list([query.id])
                if final:
                    call.cancel()  # our only request is done: end the stream now
                    break
        except self._grpc.aio.AioRpcError as e:
            self._fail(query, replica, e)
            return
        except asyncio.CancelledError:
            self._finish(query, replica, "connection_closed", "cancelled", b"", 0)
            return
        self._finish(query, replica, None, "", b"".join(pieces), len(query.chunk_ns))

    def _fail(self, query: _Query, replica: _Channel, error: Any) -> None:
        code = error.code()
        query.grpc_status = code.name
        reason = failure_reason(code, error.details() or "", connected=True)
        self._finish(query, replica, reason, f"{code.name}: {error.details()}", b"", 0)

    def _finish(
        self,
        query: _Query,
        replica: _Channel,
        failure: Optional[str],
        message: str,
        output: bytes,
        tokens: int,
    ) -> None:
        query.done_ns = time.monotonic_ns()
        replica.outstanding -= 1
        with self._stats_lock:
            self._completed += 1
            replica.counts["completed"] += 1
            if failure is not None:
                self._failed += 1
                replica.counts["failed"] += 1
                self._by_reason[failure] += 1
                self._last_failure = f"{failure}: {message}"
            elif self.endpoint.stream:
                self._tokens_from_chunks += 1
            self._records.append(query.record(failure, self.endpoint.stream))
        # A failed sample completes as failed (no output), as the native clients' do: the run
        # goes on, nothing waits on it, and the engine counts it and marks the run INVALID. A
        # server's non-OK status has no engine reason of its own: "error".
        if failure is not None:
            _core._fail_id_list([query.id], "error" if failure == "grpc_error" else failure)
            return
        response = _core.QuerySampleResponse(
            query.id, _address(output) if output else 0, len(output), tokens
        )
        _core.complete_samples([response])

    # ------------------------------------------------------------------- the SUT

    @property
    def name(self) -> str:
        return self._name

    def issue(self, batch: Any) -> None:
        """Queues the batch for the loop thread; never waits on the network."""
        issued_ns = time.monotonic_ns()
        self._loop.call_soon_threadsafe(
            self._dispatch, list(batch.ids), list(batch.indices), issued_ns
        )

    def flush(self) -> None:
        """Nothing to flush: requests leave as soon as they are issued."""

    def check_settings(self, settings: Settings) -> None:
        """Raises SettingsError for token latencies of unary answers (no first token to time);
        ``loadgen.run`` calls it before any load, as for the HTTP EndpointSut."""
        refuse_token_latencies_of_unary(settings.use_token_latencies, self.endpoint.stream)

    def _issue_query_samples(self, samples: Sequence[Any]) -> None:  # the drop-in's callback
        issued_ns = time.monotonic_ns()
        self._loop.call_soon_threadsafe(
            self._dispatch, [s.id for s in samples], [s.index for s in samples], issued_ns
        )

    def __index__(self) -> int:
        """A SUT handle, so ``mlperf_loadgen.StartTest(sut, qsl, settings)`` accepts this object."""
        if self._handle is None:
            self._handle = int(_core.ConstructSUT(self._issue_query_samples, self.flush))
        return self._handle

    @property
    def outstanding(self) -> int:
        return sum(r.outstanding for r in self._channels)

    def _reset_stats(self) -> None:
        self._issued = self._completed = self._failed = self._tokens_from_chunks = 0
        self._by_reason = {reason: 0 for reason in FAILURE_REASONS}
        self._last_failure = ""
        self._records: list[dict[str, Any]] = []

    def stats(self) -> dict[str, Any]:
        """The same keys as the HTTP EndpointSut's: issued, completed, failed,
        failures_by_reason (its names plus ``grpc_error``), tokens_from_usage/chunks, last_failure
        and per endpoint issued, completed, failed, connections_opened (channels)."""
        with self._stats_lock:
            return {
                "issued": self._issued,
                "completed": self._completed,
                "failed": self._failed,
                "tokens_from_usage": 0,
                "tokens_from_chunks": self._tokens_from_chunks,
                "failures_by_reason": dict(self._by_reason),
                "endpoints": [dict(r.counts) for r in self._channels],
                "last_failure": self._last_failure,
            }

    def records(self) -> dict[str, list[Any]]:
        """Per-query columns in completion order, as the HTTP EndpointSut's, plus grpc_status.
        ``written_ns`` is when the request was handed to grpc's core; ``first_byte_ns`` when the
        (first) response arrived."""
        with self._stats_lock:
            rows = list(self._records)
        columns = (
            "sample_index",
            "issued_ns",
            "written_ns",
            "first_byte_ns",
            "first_token_ns",
            "done_ns",
            "tokens",
            "token_source",
            "failure",
            "endpoint",
            "http_status",
            "attempts",
            "chunk_times_ns",
            "grpc_status",
        )
        return {c: [row[c] for row in rows] for c in columns}

    def clear_records(self) -> None:
        with self._stats_lock:
            self._records.clear()

    def cancel_all(self) -> None:
        """Fails every in-flight request now (their samples complete as failed)."""

        async def cancel() -> None:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        if self._thread.is_alive():
            self._on_loop(cancel(), 30)

    def close(self) -> None:
        if self._handle is not None:
            release_handle(_core.DestroySUT, self._handle)
            self._handle = None
        if not self._thread.is_alive():
            return
        self.cancel_all()

        async def shut() -> None:
            for replica in self._channels:
                for channel in replica.channels:
                    await channel.close()

        self._on_loop(shut(), 30)
        self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        if not self._thread.is_alive():
            self._loop.close()

    def __repr__(self) -> str:
        return self._name


class _Query:
    __slots__ = (
        "id",
        "index",
        "issued_ns",
        "endpoint",
        "written_ns",
        "first_byte_ns",
        "first_token_ns",
        "done_ns",
        "chunk_ns",
        "grpc_status",
    )

    def __init__(self, response_id: int, index: int, issued_ns: int, endpoint: int) -> None:
        self.id = response_id
        self.index = index
        self.issued_ns = issued_ns
        self.endpoint = endpoint
        self.written_ns = self.first_byte_ns = self.first_token_ns = self.done_ns = 0
        self.chunk_ns: list[int] = []
        self.grpc_status = "OK"

    def record(self, failure: Optional[str], stream: bool) -> dict[str, Any]:
        return {
            "sample_index": self.index,
            "issued_ns": self.issued_ns,
            "written_ns": self.written_ns,
            "first_byte_ns": self.first_byte_ns,
            "first_token_ns": self.first_token_ns,
            "done_ns": self.done_ns,
            "tokens": len(self.chunk_ns) if failure is None else 0,
            "token_source": "chunks" if stream and failure is None else "none",
            "failure": failure,
            "endpoint": self.endpoint,
            "http_status": 0,
            "attempts": 1,
            "chunk_times_ns": self.chunk_ns,
            "grpc_status": self.grpc_status,
        }
