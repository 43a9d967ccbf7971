"""Checks an endpoint before a benchmark: reachable, model listed, one request, streaming, token
counting. Plain Python over the standard library's http.client: a handful of requests, not a
hot path.

:func:`preflight` is the part ``loadgen bench`` runs before any load (it raises
:class:`EndpointError` with a clear message); :func:`probe` runs every check and returns a
:class:`ProbeReport` that says what it found.
"""

from __future__ import annotations

import enum
import http.client
import json
import socket
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Tuple
from urllib.parse import urlsplit

from ..errors import EndpointError

__all__ = [
    "APIS",
    "Check",
    "EndpointError",
    "Preflight",
    "ProbeReport",
    "Status",
    "preflight",
    "probe",
]

#: The api kinds of ``loadgen probe`` / ``loadgen bench``.
APIS = ("openai", "openai-chat", "kserve", "kserve-grpc", "triton-generate")


class Status(enum.Enum):
    OK = "ok"
    WARN = "warn"  # works, with a caveat the user should know about
    FAIL = "FAIL"
    SKIP = "skip"  # not applicable, or not reached after an earlier failure


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str


@dataclass
class ProbeReport:
    url: str
    api: str
    model: str | None
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.status is not Status.FAIL for c in self.checks)

    def format(self) -> str:
        lines = [f"probe {self.url} (api {self.api}, model {self.model or '?'})"]
        lines += [f"  {c.status.value:4}  {c.name:15} {c.detail}" for c in self.checks]
        failed = [c.name for c in self.checks if c.status is Status.FAIL]
        lines.append(
            "result: " + (f"FAILED ({', '.join(failed)})" if failed else "the endpoint is ready")
        )
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Preflight:
    """What the start-of-run check learned: the model name to send (the one listed when none
    was given) and, for KServe v2, the model's metadata (input names, datatypes, shapes)."""

    model: str
    metadata: Mapping[str, Any] | None = None


# ------------------------------------------------------------------------------- HTTP access


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    prefix: str  # path prefix of the base URL, without a trailing slash

    @classmethod
    def parse(cls, url: str, api: str) -> _Target:
        if "://" not in url:
            url = "http://" + url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https", "grpc") or not parts.hostname:
            raise EndpointError(f"bad endpoint URL {url!r}: expected http://HOST:PORT[/PATH]")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as e:
            raise EndpointError(f"bad endpoint URL {url!r}: {e}") from None
        prefix = parts.path.rstrip("/")
        if api.startswith("openai") and prefix.endswith("/v1"):
            prefix = prefix[: -len("/v1")]  # accept the OpenAI SDK's base_url form too
        return cls(parts.scheme, parts.hostname, port, prefix)

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


class _Http:
    def __init__(self, target: _Target, headers: Mapping[str, str], timeout_s: float) -> None:
        self.target = target
        self.headers = dict(headers)
        self.timeout_s = timeout_s

    def _connect(self) -> http.client.HTTPConnection:
        kind = (
            http.client.HTTPSConnection
            if self.target.scheme == "https"
            else http.client.HTTPConnection
        )
        return kind(self.target.host, self.target.port, timeout=self.timeout_s)

    def _send(
        self, conn: http.client.HTTPConnection, method: str, path: str, body: Any
    ) -> http.client.HTTPResponse:
        headers = {"Accept": "*/*", **self.headers}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, self.target.prefix + path, body=data, headers=headers)
            return conn.getresponse()
        except (socket.timeout, TimeoutError):
            raise EndpointError(f"{method} {path}: no answer within {self.timeout_s:g} s") from None
        except ConnectionRefusedError:
            raise EndpointError(
                f"cannot connect to {self.target.where}: connection refused"
            ) from None
        except OSError as e:
            raise EndpointError(f"cannot reach {self.target.where}: {e.strerror or e}") from None
        except http.client.HTTPException as e:
            raise EndpointError(
                f"{method} {path}: not an HTTP answer ({type(e).__name__})"
            ) from None

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, bytes, float]:
        """Status, body and seconds taken; connection problems raise EndpointError."""
        conn = self._connect()
        start = time.perf_counter()
        try:
            response = self._send(conn, method, path, body)
            try:
                payload = response.read()
            except (socket.timeout, TimeoutError):
                raise EndpointError(
                    f"{method} {path}: no answer within {self.timeout_s:g} s"
                ) from None
            except (OSError, http.client.HTTPException) as e:
                raise EndpointError(
                    f"{method} {path}: the answer broke off ({type(e).__name__})"
                ) from None
            return response.status, payload, time.perf_counter() - start
        finally:
            conn.close()

    def stream(self, path: str, body: Any) -> Iterator[tuple[float, str | None]]:
        """POSTs and yields (seconds since the request, SSE data) per event, then
        (seconds, None) when the stream ends. A non-200 answer raises EndpointError."""
        conn = self._connect()
        start = time.perf_counter()
        try:
            response = self._send(conn, "POST", path, body)
            if response.status != 200:
                raise EndpointError(
                    f"POST {path}: HTTP {response.status} {_error_text(response.read())}"
                )
            data: list[str] = []
            while True:
                try:
                    raw = response.readline()
                except (socket.timeout, TimeoutError):
                    raise EndpointError(
                        f"POST {path}: the stream stalled for {self.timeout_s:g} s"
                    ) from None
                except (OSError, http.client.HTTPException) as e:
                    raise EndpointError(
                        f"POST {path}: the stream broke off ({type(e).__name__})"
                    ) from None
                if not raw:
                    yield time.perf_counter() - start, None
                    return
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if line.startswith("data:"):
                    value = line[5:]
                    data.append(value[1:] if value.startswith(" ") else value)
                elif not line and data:  # a blank line ends an event
                    yield time.perf_counter() - start, "\n".join(data)
                    data = []
        finally:
            conn.close()


def _error_text(payload: bytes) -> str:
    """The server's error message, if its answer has one, else the start of the body."""
    try:
        parsed = json.loads(payload)
    except ValueError:
        return payload[:200].decode("utf-8", "replace").strip()
    if isinstance(parsed, dict):
        error = parsed.get("error")
        if isinstance(error, dict) and "message" in error:
            return str(error["message"])
        if isinstance(error, str):
            return error
    return json.dumps(parsed)[:200]


def _json(payload: bytes, what: str) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        raise EndpointError(f"{what}: the answer is not JSON: {payload[:120]!r}") from None


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


# ---------------------------------------------------------------------------- preflight


def preflight(
    url: str,
    api: str,
    model: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    timeout_s: float = 10.0,
) -> Preflight:
    """Checks that the endpoint answers and lists the model; raises :class:`EndpointError`
    with a message that says what is wrong. Sends no inference request."""
    if api not in APIS:
        raise EndpointError(f"unknown api {api!r}; choose from {', '.join(APIS)}")
    target = _Target.parse(url, api)
    if api == "kserve-grpc":
        from .grpc_probe import grpc_preflight

        return grpc_preflight(url, model, headers=headers, timeout_s=timeout_s)
    client = _Http(target, headers or {}, timeout_s)
    if api.startswith("openai"):
        return Preflight(_openai_model(client, model)[0])
    return Preflight(*_v2_model(client, model))


def _openai_model(client: _Http, model: str | None) -> tuple[str, str]:
    """The model to use and what /v1/models said."""
    status, payload, took = client.call("GET", "/v1/models")
    if status != 200:
        raise EndpointError(f"GET /v1/models: HTTP {status} {_error_text(payload)}")
    listing = _json(payload, "GET /v1/models")
    entries = listing.get("data") if isinstance(listing, dict) else None
    if not isinstance(entries, list):
        raise EndpointError("GET /v1/models: no 'data' list in the answer")
    names = [str(e.get("id")) for e in entries if isinstance(e, dict) and "id" in e]
    shown = ", ".join(names) if names else "none"
    if model is None:
        if not names:
            raise EndpointError("the server lists no model in /v1/models; give a model name")
        return names[
            0
        ], f"none given: using {names[0]!r}, the first of {len(names)} listed ({shown})"
    if model not in names:
        raise EndpointError(f"model {model!r} is not listed by GET /v1/models (listed: {shown})")
    return model, f"{model!r} is listed (GET /v1/models in {_ms(took)}: {shown})"


def _v2_model(client: _Http, model: str | None) -> tuple[str, Mapping[str, Any]]:
    status, payload, _ = client.call("GET", "/v2/health/ready")
    if status != 200:
        raise EndpointError(f"GET /v2/health/ready: HTTP {status}: the server is not ready")
    if not model:
        raise EndpointError("--model is required with KServe v2 and Triton endpoints")
    status, payload, _ = client.call("GET", f"/v2/models/{model}")
    if status != 200:
        raise EndpointError(
            f"model {model!r} not found: GET /v2/models/{model}: HTTP {status} {_error_text(payload)}"
        )
    metadata = _json(payload, f"GET /v2/models/{model}")
    status, payload, _ = client.call("GET", f"/v2/models/{model}/ready")
    if status != 200:
        raise EndpointError(
            f"model {model!r} is not ready: GET /v2/models/{model}/ready: HTTP {status}"
        )
    if not isinstance(metadata, dict):
        raise EndpointError(f"GET /v2/models/{model}: the metadata is not a JSON object")
    return model, metadata


# ---------------------------------------------------------------------------------- probe


def probe(
    url: str,
    api: str = "openai",
    model: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    timeout_s: float = 10.0,
    max_tokens: int = 8,
) -> ProbeReport:
    """Runs every check that applies to the api and reports what it found; never raises for a
    problem of the endpoint (a failed check says it)."""
    report = ProbeReport(url, api, model)
    try:
        target = _Target.parse(url, api)
        if api not in APIS:
            raise EndpointError(f"unknown api {api!r}; choose from {', '.join(APIS)}")
    except EndpointError as e:
        report.checks.append(Check("arguments", Status.FAIL, str(e)))
        return report
    if api == "kserve-grpc":
        from .grpc_probe import grpc_probe

        return grpc_probe(url, model, headers=headers, timeout_s=timeout_s, max_tokens=max_tokens)
    client = _Http(target, headers or {}, timeout_s)
    steps = _OPENAI_STEPS if api.startswith("openai") else _V2_STEPS
    state = _ProbeState(client, api, model, max_tokens)
    for name, step in steps:
        if state.stopped:
            report.checks.append(Check(name, Status.SKIP, "not checked after the failure above"))
            continue
        try:
            status, detail = step(state)
        except EndpointError as e:
            status, detail = Status.FAIL, str(e)
            state.stopped = name in ("reachable", "model")  # nothing after makes sense
        report.checks.append(Check(name, status, detail))
    report.model = state.model
    return report


@dataclass
class _ProbeState:
    client: _Http
    api: str
    model: str | None
    max_tokens: int
    stopped: bool = False
    stream_tokens: int | None = None  # content chunks of the streamed request
    stream_usage: int | None = None  # completion_tokens reported in the stream
    metadata: Mapping[str, Any] | None = None


def _reachable_openai(s: _ProbeState) -> tuple[Status, str]:
    status, _, took = s.client.call("GET", "/v1/models")
    return (
        Status.OK,
        f"{s.client.target.where} answers (GET /v1/models: HTTP {status} in {_ms(took)})",
    )


def _model_openai(s: _ProbeState) -> tuple[Status, str]:
    s.model, detail = _openai_model(s.client, s.model)
    return Status.OK, detail


def _openai_body(s: _ProbeState, stream: bool) -> tuple[str, dict[str, Any]]:
    body: dict[str, Any] = {"model": s.model, "max_tokens": s.max_tokens}
    if s.api == "openai-chat":
        path = "/v1/chat/completions"
        body["messages"] = [{"role": "user", "content": "Say hello."}]
    else:
        path = "/v1/completions"
        body["prompt"] = "Say hello."
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return path, body


def _request_openai(s: _ProbeState) -> tuple[Status, str]:
    path, body = _openai_body(s, stream=False)
    status, payload, took = s.client.call("POST", path, body)
    if status != 200:
        raise EndpointError(f"POST {path}: HTTP {status} {_error_text(payload)}")
    answer = _json(payload, f"POST {path}")
    try:
        choice = answer["choices"][0]
        text = choice["message"]["content"] if s.api == "openai-chat" else choice["text"]
    except (KeyError, IndexError, TypeError):
        raise EndpointError(
            f"POST {path}: no choices[0] {'message.content' if s.api == 'openai-chat' else 'text'} in the answer"
        ) from None
    usage = answer.get("usage") or {}
    tokens = (
        f", {usage['completion_tokens']} tokens (usage)"
        if "completion_tokens" in usage
        else ", no usage"
    )
    return Status.OK, f"POST {path}: HTTP 200 in {_ms(took)}{tokens}, text {str(text)[:40]!r}"


def _streaming_openai(s: _ProbeState) -> tuple[Status, str]:
    path, body = _openai_body(s, stream=True)
    chunks = content = 0
    first: float | None = None
    done = False
    end = 0.0
    for at, data in s.client.stream(path, body):
        end = at
        if data is None:
            break
        if data == "[DONE]":
            done = True
            continue
        chunks += 1
        try:
            event = json.loads(data)
        except ValueError:
            raise EndpointError(f"POST {path}: a stream event is not JSON: {data[:80]!r}") from None
        if not isinstance(event, dict):
            raise EndpointError(f"POST {path}: a stream event is not a JSON object: {data[:80]!r}")
        if event.get("usage"):
            s.stream_usage = event["usage"].get("completion_tokens")
        for choice in event.get("choices") or ():
            piece = (
                (choice.get("delta") or {}).get("content")
                if s.api == "openai-chat"
                else choice.get("text")
            )
            if piece:
                content += 1
                first = at if first is None else first
    s.stream_tokens = content
    if content == 0:
        raise EndpointError(f"POST {path}: the stream ({chunks} events) carried no content")
    detail = f"{chunks} events, {content} with content, first token after {_ms(first or 0.0)}, ended after {_ms(end)}"
    if not done:
        return Status.WARN, detail + ", no [DONE] before the end"
    return Status.OK, detail + ", then [DONE]"


def _tokens_openai(s: _ProbeState) -> tuple[Status, str]:
    if s.stream_tokens is None:
        return Status.SKIP, "no stream to count"
    if s.stream_usage is None:
        return Status.WARN, (
            f"no usage in the stream: tokens will be counted from content chunks ({s.stream_tokens} here), "
            "which undercounts when the server puts several tokens in one chunk"
        )
    agreement = "matches" if s.stream_usage == s.stream_tokens else "differs from"
    return (
        Status.OK,
        f"usage in the stream: completion_tokens={s.stream_usage} ({agreement} {s.stream_tokens} content chunks)",
    )


def _reachable_v2(s: _ProbeState) -> tuple[Status, str]:
    status, payload, took = s.client.call("GET", "/v2/health/ready")
    if status != 200:
        raise EndpointError(f"GET /v2/health/ready: HTTP {status}: the server is not ready")
    return Status.OK, f"{s.client.target.where} is ready (GET /v2/health/ready in {_ms(took)})"


def _model_v2(s: _ProbeState) -> tuple[Status, str]:
    s.model, s.metadata = _v2_model(s.client, s.model)
    inputs = ", ".join(
        f"{i.get('name')} {i.get('datatype')} {i.get('shape')}"
        for i in s.metadata.get("inputs") or ()
    )
    return Status.OK, f"{s.model!r} is ready; inputs: {inputs or 'none listed'}"


def _request_v2(s: _ProbeState) -> tuple[Status, str]:
    from .datasets import DatasetError, random_tensors

    assert s.metadata is not None
    if s.api == "triton-generate":
        return Status.SKIP, "a decoupled model answers only generate_stream: see streaming"
    try:
        sample = random_tensors(s.metadata, 1, dynamic_dim=4)[0]
    except DatasetError as e:
        return Status.SKIP, f"cannot make an input for this model: {e}"
    except ImportError:
        return Status.SKIP, "random v2 inputs need numpy, which is not installed"
    inputs = [
        {
            "name": name,
            "datatype": spec["datatype"],
            "shape": list(array.shape),
            "data": _v2_data(array),
        }
        for (name, array), spec in zip((sample.tensors or {}).items(), s.metadata["inputs"])
    ]
    path = f"/v2/models/{s.model}/infer"
    status, payload, took = s.client.call("POST", path, {"inputs": inputs})
    if status != 200:
        raise EndpointError(f"POST {path}: HTTP {status} {_error_text(payload)}")
    outputs = _json(payload, f"POST {path}").get("outputs") or []
    names = ", ".join(f"{o.get('name')} {o.get('shape')}" for o in outputs)
    return (
        Status.OK,
        f"POST {path} with random inputs: HTTP 200 in {_ms(took)}, outputs {names or 'none'}",
    )


def _v2_data(array: Any) -> list[Any]:
    if array.dtype == object:
        return [
            v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
            for v in array.reshape(-1)
        ]
    flat: list[Any] = array.reshape(-1).tolist()
    return flat


def _streaming_v2(s: _ProbeState) -> tuple[Status, str]:
    if s.api == "kserve":
        return Status.SKIP, "not used by --api kserve (one response per request)"
    path = f"/v2/models/{s.model}/generate_stream"
    events = 0
    first: float | None = None
    end = 0.0
    for at, data in s.client.stream(path, {"text_input": "Say hello.", "max_tokens": s.max_tokens}):
        end = at
        if data is None:
            break
        try:
            event = json.loads(data)
        except ValueError:
            raise EndpointError(f"POST {path}: a stream event is not JSON: {data[:80]!r}") from None
        if isinstance(event, dict) and "error" in event:
            raise EndpointError(f"POST {path}: the stream reports an error: {event['error']}")
        if isinstance(event, dict) and event.get("text_output"):
            events += 1
            first = at if first is None else first
    s.stream_tokens = events
    if events == 0:
        raise EndpointError(f"POST {path}: the stream carried no text_output")
    return (
        Status.OK,
        f"{events} events with text_output, first after {_ms(first or 0.0)}, ended after {_ms(end)}",
    )


def _tokens_v2(s: _ProbeState) -> tuple[Status, str]:
    if s.api == "kserve":
        return Status.SKIP, "v2 inference responses carry no token counts"
    if s.stream_tokens is None:
        return Status.SKIP, "no stream to count"
    return (
        Status.WARN,
        f"generate_stream has no usage: tokens are counted from events ({s.stream_tokens} here)",
    )


_Step = Callable[[_ProbeState], Tuple[Status, str]]
_OPENAI_STEPS: Sequence[tuple[str, _Step]] = (
    ("reachable", _reachable_openai),
    ("model", _model_openai),
    ("request", _request_openai),
    ("streaming", _streaming_openai),
    ("token counting", _tokens_openai),
)
_V2_STEPS: Sequence[tuple[str, _Step]] = (
    ("reachable", _reachable_v2),
    ("model", _model_v2),
    ("request", _request_v2),
    ("streaming", _streaming_v2),
    ("token counting", _tokens_v2),
)
