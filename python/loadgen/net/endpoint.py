"""Endpoint SUTs: a served model as the system under test, driven from native code.

``Endpoint`` says where and how to send requests; ``EndpointSut(endpoint, dataset)`` builds every
sample's request body once and hands them to the native client (``loadgen._core.EndpointSut``,
cpp/src/net). During a run no Python code runs per query: the issuer calls the native
``IssueQuery``, and the client's I/O thread writes the requests, parses the responses and
completes the samples. It works as the ``sut`` of :func:`loadgen.run`, and as the SUT handle of
the drop-in ``mlperf_loadgen.StartTest`` (it converts to its handle), with the QSL from
:func:`endpoint_qsl`::

    sut = EndpointSut(Endpoint("http://127.0.0.1:8080", api="openai-chat"), dataset)
    loadgen.run(sut, endpoint_qsl(dataset), settings)          # typed API
    lg.StartTest(sut, endpoint_qsl(dataset), lg_settings)      # a harness written for mlperf_loadgen

Problems the endpoint can see before any load are errors at once: construction checks that
every URL answers and serves the model (``EndpointError``; ``check=False`` skips it), and
``loadgen.run`` asks :meth:`EndpointSut.check_settings` whether the settings can work
(``SettingsError``: token latencies of answers that arrive whole).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Optional, Union

from .. import _core
from ..errors import EndpointError, SettingsError
from ._closing import Closing
from .datasets import Sample
from .requests import Api, build_bodies, request_path

if TYPE_CHECKING:
    from ..settings import Settings

__all__ = ["Balance", "Endpoint", "EndpointQsl", "EndpointSut", "endpoint_qsl"]


def release_handle(destroy: Any, handle: int) -> None:
    """Destroys a SUT or QSL handle unless the harness already did: a harness written for
    mlperf_loadgen ends with ``lg.DestroySUT(sut)`` / ``lg.DestroyQSL(qsl)``, and closing the
    object afterwards (``with``, ``close()``) must not fail on the handle that call released."""
    try:
        destroy(handle)
    except ValueError:
        pass  # the registry refuses a released handle; nothing else can fail on our own handle


Balance = Literal["round-robin", "least-outstanding"]


@dataclass(frozen=True)
class Endpoint:
    """Where and how to send requests.

    ``urls``: one base URL or several (replicas), ``http://host:port`` (a trailing ``/v1`` is
    dropped for the OpenAI apis); https is not supported. ``balance``: how requests are spread
    over the replicas. ``api_key_env``: the name of an environment variable holding an API key
    (sent as ``Authorization: Bearer``; the value is read at construction and never logged).
    ``first_token="content"`` makes the first token the first non-reasoning chunk.
    Timeouts in seconds (None: none); ``total_timeout_s`` counts from the query's issue.
    ``max_connections``: per URL; further requests wait for a free connection.
    ``busy_poll_us``: the client's I/O thread polls for this long after its last event instead
    of sleeping, so sends and chunk stamps do not wait for a thread wake-up (costs a core).
    ``write_on_issue``: a one-sample query is written by IssueQuery itself on an idle
    connection (docs/net.md, "Write on issue"); False hands every request to the I/O thread.
    """

    urls: Union[str, Sequence[str]]
    api: Api = "openai-chat"
    model: Optional[str] = None
    stream: bool = True
    balance: Balance = "round-robin"
    headers: Mapping[str, str] = field(default_factory=dict)
    api_key_env: Optional[str] = None
    ignore_eos: bool = False
    binary_tensors: bool = False
    first_token: Literal["any", "content"] = "any"
    output_name: str = "text_output"
    connect_timeout_s: float = 10.0
    first_byte_timeout_s: Optional[float] = None
    total_timeout_s: Optional[float] = None
    max_connections: int = 64
    busy_poll_us: float = 0.0
    write_on_issue: bool = True

    def __post_init__(self) -> None:
        urls = (self.urls,) if isinstance(self.urls, str) else tuple(self.urls)
        if not urls:
            raise ValueError("Endpoint needs at least one URL")
        object.__setattr__(self, "urls", urls)
        if self.balance not in ("round-robin", "least-outstanding"):
            raise ValueError(
                f"balance must be 'round-robin' or 'least-outstanding', got {self.balance!r}"
            )
        if self.first_token not in ("any", "content"):
            raise ValueError(f"first_token must be 'any' or 'content', got {self.first_token!r}")
        if self.max_connections < 1:
            raise ValueError("max_connections must be >= 1")
        if self.api_key_env is not None and not os.environ.get(self.api_key_env):
            raise ValueError(f"api_key_env: the environment variable {self.api_key_env} is not set")

    def base_urls(self) -> tuple[str, ...]:
        out = []
        for url in self.urls:
            url = url.rstrip("/")
            if self.api in ("openai", "openai-chat") and url.endswith("/v1"):
                url = url[: -len("/v1")]
            out.append(url)
        return tuple(out)

    def request_headers(self) -> list[tuple[str, str]]:
        headers = list(self.headers.items())
        if self.api_key_env is not None:
            headers.append(("Authorization", "Bearer " + os.environ[self.api_key_env]))
        return headers

    def __repr__(self) -> str:  # headers may carry secrets
        return (
            f"Endpoint(urls={self.urls!r}, api={self.api!r}, model={self.model!r}, "
            f"stream={self.stream}, balance={self.balance!r})"
        )


class EndpointSut(Closing):
    """The native endpoint client as a SUT. Close it (or use ``with``) to stop its I/O thread.

    ``check``: before returning, check that every URL answers and serves the model (the checks
    of :func:`loadgen.net.probe.preflight`: ``GET /v1/models`` lists it, or v2's health, model
    metadata and readiness; no inference request), and raise :class:`loadgen.EndpointError`
    saying what is wrong. Without the check an unreachable server or a missing model would fail
    every sample of the run (``connect_failed``, ``http_4xx``). ``check=False`` skips it, for a
    server that starts after the SUT is made."""

    def __init__(
        self, endpoint: Endpoint, dataset: Sequence[Sample], *, check: bool = True
    ) -> None:
        if len(dataset) == 0:
            raise ValueError("the dataset is empty")
        self.endpoint = endpoint
        #: Input tokens per sample index where the prompt is token ids, else -1 (the input
        #: side of loadgen.metrics' token throughput).
        self.input_token_counts = tuple(
            -1 if s.token_ids is None else len(s.token_ids) for s in dataset
        )
        path = request_path(endpoint.api, endpoint.model)
        # Only the OpenAI apis have a choice: generate_stream always streams, KServe infer never.
        stream = (
            endpoint.stream
            if endpoint.api in ("openai", "openai-chat")
            else endpoint.api == "triton-generate"
        )
        requests = build_bodies(
            endpoint.api,
            dataset,
            model=endpoint.model,
            stream=stream,
            ignore_eos=endpoint.ignore_eos,
            binary_tensors=endpoint.binary_tensors,
        )
        native = getattr(_core, "EndpointSut", None)
        if native is None:
            raise RuntimeError(
                "this loadgen build has no network client (built with LOADGEN_NET=OFF)"
            )
        self._native = native(
            list(endpoint.base_urls()),
            path,
            endpoint.api,
            stream,
            list(requests.bodies),
            json_lengths=list(requests.json_lengths) if any(requests.json_lengths) else [],
            headers=endpoint.request_headers(),
            content_type=requests.content_type,
            balance=endpoint.balance,
            first_token_skips_reasoning=endpoint.first_token == "content",
            output_name=endpoint.output_name,
            connect_timeout_s=endpoint.connect_timeout_s,
            first_byte_timeout_s=endpoint.first_byte_timeout_s or 0.0,
            total_timeout_s=endpoint.total_timeout_s or 0.0,
            max_connections=endpoint.max_connections,
            busy_poll_us=endpoint.busy_poll_us,
            conversation_turns=list(requests.conversation_turns),
            write_on_issue=endpoint.write_on_issue,
        )
        self._handle: Optional[int] = self._native.handle
        self._stream = stream
        if check:
            try:
                self._check_endpoint()
            except BaseException:
                self.close()
                raise

    def _check_endpoint(self) -> None:
        """After the native client accepted the URLs, so a malformed one is its ValueError."""
        from .probe import preflight

        endpoint = self.endpoint
        for url in endpoint.urls:
            try:
                preflight(
                    url,
                    endpoint.api,
                    endpoint.model,
                    headers=dict(endpoint.request_headers()),
                    timeout_s=endpoint.connect_timeout_s,
                )
            except EndpointError as e:
                raise EndpointError(
                    f"EndpointSut: {url} cannot serve the test: {e} (nothing was sent; "
                    "check=False skips this check, for a server that starts later)"
                ) from None

    def check_settings(self, settings: Settings) -> None:
        """Raises SettingsError if the test cannot work with this endpoint; ``loadgen.run``
        calls it before any load. Token latencies need a first token, which only a streamed
        answer has: a whole answer would log an error per sample and report a TTFT of 0."""
        if settings.use_token_latencies and not self._stream:
            if self.endpoint.api == "kserve":
                whole, fix = "KServe v2 infer answers (api='kserve')", "use_token_latencies=False"
            else:
                whole, fix = (
                    "answers asked with stream=False",
                    "stream=True or use_token_latencies=False",
                )
            raise SettingsError(
                f"token latencies need streamed answers, and this EndpointSut's {whole} arrive "
                f"whole: set {fix} (nothing was sent: the test did not start)"
            )

    @property
    def name(self) -> str:
        return str(self._native.name)

    @property
    def _native_sut_handle(self) -> int:
        """What loadgen.run passes to the engine instead of Python callbacks."""
        if self._handle is None:
            raise ValueError("this EndpointSut is closed")
        return self._handle

    # loadgen.run drives this SUT natively, by handle; these two only make the object satisfy
    # the SystemUnderTest protocol for type checkers.
    def issue(self, batch: Any) -> None:
        raise TypeError("an EndpointSut is driven natively: pass it to loadgen.run or StartTest")

    def flush(self) -> None:
        """Nothing to flush: requests leave as soon as they are issued."""

    def __index__(self) -> int:
        """The SUT handle, so ``mlperf_loadgen.StartTest(sut, qsl, settings)`` accepts this object."""
        return self._native_sut_handle

    @property
    def outstanding(self) -> int:
        """Requests in flight or waiting for a connection."""
        return int(self._native.outstanding)

    def stats(self) -> dict[str, Any]:
        """issued, completed, failed, failures_by_reason, tokens_from_usage/chunks,
        written_on_issue (requests IssueQuery wrote itself), and per endpoint: issued,
        completed, failed, connections_opened, retries, closes_after_stream."""
        return dict(self._native.stats())

    def records(self) -> dict[str, list[Any]]:
        """Per-query columns in completion order: sample_index, issued_ns, written_ns (send
        lateness = written_ns - issued_ns), first_byte_ns, first_token_ns, done_ns, tokens,
        token_source ("usage" or "chunks"), failure (None or a reason), endpoint, http_status,
        attempts, chunk_times_ns (one list per query), prompt_tokens (the server's
        usage.prompt_tokens, -1 when it gave none), written_on_issue (bool), response_id (the
        engine's id of the sample)."""
        return dict(self._native.records())

    def clear_records(self) -> None:
        self._native.clear_records()

    def cancel_all(self) -> None:
        """Fail every queued and in-flight request now (their samples complete as failed)."""
        self._native.cancel_all()

    def close(self) -> None:
        if self._handle is not None:
            release_handle(_core.DestroySUT, self._handle)
            self._handle = None

    def __repr__(self) -> str:
        return f"EndpointSut({self.name})"


class EndpointQsl:
    """The QSL of an endpoint run: the request bodies are already built, so loading is a no-op.
    Usable as the ``qsl`` of :func:`loadgen.run`, and as the QSL handle of the drop-in
    ``mlperf_loadgen.StartTest`` (it converts to a handle made on first use)."""

    def __init__(
        self, dataset: Sequence[Sample], performance_sample_count: Optional[int] = None
    ) -> None:
        self._total = len(dataset)
        if self._total == 0:
            raise ValueError("the dataset is empty")
        count = (
            performance_sample_count
            or getattr(dataset, "performance_sample_count", None)
            or self._total
        )
        self._performance = int(count)
        self._handle: Optional[int] = None
        #: A :class:`~loadgen.net.datasets.ConversationDataset`'s turns per conversation (the
        #: ``conversations`` a :class:`loadgen.Conversations` load model takes from its QSL).
        self.conversations: Optional[tuple[tuple[int, ...], ...]] = getattr(
            dataset, "conversations", None
        )

    @property
    def total_sample_count(self) -> int:
        return self._total

    @property
    def performance_sample_count(self) -> int:
        return self._performance

    def load(self, indices: Sequence[int]) -> None:
        """Nothing to load: the bodies live in the native client."""

    def unload(self, indices: Sequence[int]) -> None:
        """Nothing to unload."""

    def __index__(self) -> int:
        if self._handle is None:
            self._handle = int(
                _core.ConstructQSL(self._total, self._performance, self.load, self.unload)
            )
        return self._handle

    def close(self) -> None:
        if self._handle is not None:
            release_handle(_core.DestroyQSL, self._handle)
            self._handle = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


def endpoint_qsl(
    dataset: Sequence[Sample], performance_sample_count: Optional[int] = None
) -> EndpointQsl:
    """The QSL for an EndpointSut built from the same dataset."""
    return EndpointQsl(dataset, performance_sample_count)
