"""A small OpenAI-compatible HTTP server that misbehaves on purpose, for the error paths.

It runs an asyncio server on a loopback port in a thread of the test process. The fault of each
request is chosen by the request's ``model`` field, so one server serves every case:

- ``ok``: a well-formed answer (streamed: one chunk per token and a usage chunk, then [DONE]);
- ``no-usage``: the same without usage (streamed or not);
- ``status-400`` ... ``status-503`` (any ``status-NNN``, e.g. ``status-302``, a redirect without
  a ``Location``): that HTTP status with a JSON error;
- ``reset``: the connection is cut by a TCP reset (streamed: after the first chunk; else after
  the response head);
- ``stall``: headers sent, then nothing (the client's timeout must fire);
- ``malformed-sse``: a chunk whose data is not JSON, then [DONE] (not streamed: a body that is
  not JSON).
- ``close``: the connection is closed cleanly (a FIN) before the response ends (streamed: after
  the first chunk, without the last chunk of the chunked body; else halfway through the body);
- ``sse-error``: streamed, one token, then an error event (``data: {"error": {...}}``, as vLLM
  and llama.cpp's server report a failure mid-stream), then [DONE]; not streamed: 200 with an
  ``error`` object instead of choices;
- ``silent``: the request is read and nothing is ever sent (not even the headers).

``GET /v1/models`` lists the names in ``LISTED``; any other name (but ``status-NNN``) is a missing
model: 404.
``GET /health`` answers 200. Headers are parsed by the stdlib (as http.server does).
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

LISTED = (
    "ok",
    "no-usage",
    "status-400",
    "status-429",
    "status-500",
    "status-503",
    "reset",
    "stall",
    "malformed-sse",
    "close",
    "sse-error",
    "silent",
)


class FaultServer:
    """Start with ``start()``; ``url`` is its base URL; ``stop()`` closes it and its connections."""

    def __init__(self, stall_s: float = 30.0) -> None:
        self.stall_s = stall_s
        self.requests: list[Mapping[str, Any]] = []  # bodies received, for assertions
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="fault-server", daemon=True
        )
        self._server: asyncio.AbstractServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultServer:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0), self._loop
        ).result()
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        async def close() -> None:
            assert self._server is not None
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:  # keep-alive: several requests per connection
                request = await _read_request(reader)
                if request is None:
                    break
                method, path, body = request
                if not await self._answer(method, path, body, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass  # stop(): end quietly (a cancelled handler task makes asyncio log a traceback)
        finally:
            if not writer.is_closing():
                writer.close()

    async def _answer(
        self, method: str, path: str, body: bytes, writer: asyncio.StreamWriter
    ) -> bool:
        """Writes the answer; False when the connection must end."""
        if method == "GET" and path == "/health":
            return await _send_json(writer, 200, {"status": "ok"})
        if method == "GET" and path == "/v1/models":
            return await _send_json(
                writer,
                200,
                {"object": "list", "data": [{"id": m, "object": "model"} for m in LISTED]},
            )
        if method != "POST" or path not in ("/v1/completions", "/v1/chat/completions"):
            return await _send_json(
                writer, 404, {"error": {"message": f"no route {method} {path}"}}
            )
        try:
            request = json.loads(body)
        except ValueError:
            return await _send_json(writer, 400, {"error": {"message": "body is not JSON"}})
        self.requests.append(request)
        fault = str(request.get("model", ""))
        chat = path.endswith("chat/completions")
        tokens = int(request.get("max_tokens") or 4)
        if fault == "stall":
            writer.write(_head(200, "text/event-stream", None))
            await writer.drain()
            await asyncio.sleep(self.stall_s)
            return False
        if fault == "silent":
            await asyncio.sleep(self.stall_s)
            return False
        if fault.startswith("status-"):
            status = int(fault.split("-", 1)[1])
            return await _send_json(
                writer, status, {"error": {"message": f"injected {status}", "code": status}}
            )
        if fault not in LISTED:
            return await _send_json(
                writer, 404, {"error": {"message": f"model {fault!r} not found"}}
            )
        usage = {"prompt_tokens": 1, "completion_tokens": tokens, "total_tokens": tokens + 1}
        if not request.get("stream"):
            if fault == "reset":
                writer.write(_head(200, "application/json", 100))
                await writer.drain()
                _reset(writer)
                return False
            if fault == "malformed-sse":
                writer.write(_head(200, "application/json", 8) + b"not json")
                await writer.drain()
                return True
            if fault == "close":
                writer.write(_head(200, "application/json", 100) + b'{"choices": [')
                await writer.drain()
                writer.close()
                return False
            if fault == "sse-error":
                error = {"error": {"message": "injected error", "type": "server_error"}}
                return await _send_json(writer, 200, error)
            text = "".join(_token(i) for i in range(tokens))
            choice = {"index": 0, "finish_reason": "length"}
            choice.update(
                {"message": {"role": "assistant", "content": text}} if chat else {"text": text}
            )
            return await _send_json(
                writer,
                200,
                {
                    "object": "chat.completion" if chat else "text_completion",
                    "model": fault,
                    "choices": [choice],
                    **({} if fault == "no-usage" else {"usage": usage}),
                },
            )
        writer.write(_head(200, "text/event-stream", None))
        if fault == "malformed-sse":
            writer.write(_chunked(b'data: {"choices": [ this is not json\n\n'))
            writer.write(_chunked(b"data: [DONE]\n\n") + b"0\r\n\r\n")
            await writer.drain()
            return True
        if fault == "sse-error":
            writer.write(_chunked(_sse(_stream_chunk(chat, _token(0)))))
            error = {"error": {"message": "injected mid-stream error", "code": 500}}
            writer.write(_chunked(_sse(error)))
            writer.write(_chunked(b"data: [DONE]\n\n") + b"0\r\n\r\n")
            await writer.drain()
            return True
        for i in range(tokens):
            writer.write(_chunked(_sse(_stream_chunk(chat, _token(i)))))
            await writer.drain()
            if fault == "reset":
                _reset(writer)
                return False
            if fault == "close":
                writer.close()  # a FIN, not a reset; the chunked body never ends
                return False
        if fault != "no-usage":
            writer.write(_chunked(_sse({"choices": [], "usage": usage})))
        writer.write(_chunked(b"data: [DONE]\n\n") + b"0\r\n\r\n")
        await writer.drain()
        return True


def _token(i: int) -> str:
    return f"t{i} "


def _stream_chunk(chat: bool, text: str) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "finish_reason": None}
    choice.update({"delta": {"content": text}} if chat else {"text": text})
    return {"object": "chat.completion.chunk" if chat else "text_completion", "choices": [choice]}


def _sse(payload: Mapping[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _chunked(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def _head(status: int, content_type: str, length: int | None) -> bytes:
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: {content_type}\r\n"
        f"{framing}\r\nConnection: keep-alive\r\n\r\n"
    ).encode()


async def _send_json(writer: asyncio.StreamWriter, status: int, payload: Mapping[str, Any]) -> bool:
    body = json.dumps(payload).encode()
    writer.write(_head(status, "application/json", len(body)) + body)
    await writer.drain()
    return True


def _reset(writer: asyncio.StreamWriter) -> None:
    """Closes with a TCP RST instead of a FIN: SO_LINGER on, with a zero timeout."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, bytes] | None:
    """Reads one request with a Content-Length body; None at the end of the connection."""
    import email.parser

    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    request_line, _, header_block = head.decode("latin-1").partition("\r\n")
    method, target, _version = request_line.split(" ", 2)
    headers = email.parser.Parser().parsestr(header_block, headersonly=True)
    length = int(headers.get("Content-Length", "0"))
    body = await reader.readexactly(length) if length else b""
    return method, target.split("?", 1)[0], body
