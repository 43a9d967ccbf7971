"""Samples for network benchmarks: the request content of each QSL sample.

A :class:`Sample` says what one request carries (prompt text, chat messages, token ids, an
output length, KServe v2 tensors, extra JSON fields); the request builders turn it into bytes
once, before the run, so nothing here is on the hot path.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Optional, Protocol, Tuple, TypeVar, Union, overload

if TYPE_CHECKING:
    import numpy

__all__ = [
    "Dataset",
    "DatasetError",
    "Fixed",
    "LengthDistribution",
    "Normal",
    "Sample",
    "Tokenizer",
    "Uniform",
    "ConversationDataset",
    "load_conversations",
    "load_jsonl",
    "load_tensors",
    "parse_length",
    "random_tensors",
    "synthetic_llm",
    "trace_llm",
]


@dataclass(frozen=True)
class Sample:
    """One request's content. Which fields are used depends on the api of the endpoint."""

    prompt: Optional[str] = None  # /v1/completions text
    messages: Optional[Tuple[Mapping[str, Any], ...]] = None  # chat
    token_ids: Optional[Tuple[int, ...]] = None  # exact-length prompt, no tokenizer
    max_tokens: Optional[int] = None  # output length
    tensors: Optional[Mapping[str, "numpy.ndarray"]] = None  # KServe v2 inputs
    extra_body: Optional[Mapping[str, Any]] = None  # merged into the request JSON
    #: A turn of a multi-turn conversation (:func:`load_conversations`): the conversation's
    #: number and the turn's place in it (0 first). On the OpenAI chat endpoint a later turn
    #: is sent with the conversation's history; ``messages`` holds only this turn's message
    #: (after the conversation's system message, if any).
    conversation: Optional[int] = None
    turn: int = 0


class DatasetError(ValueError):
    """A dataset file or argument that cannot give samples; names the file and line when known."""


class Dataset(Sequence[Sample]):
    """The samples of a QSL, in index order, and how many of them fit in memory at once
    (``performance_sample_count``; all of them unless given)."""

    def __init__(
        self, samples: Iterable[Sample], performance_sample_count: int | None = None
    ) -> None:
        self._samples: tuple[Sample, ...] = tuple(samples)
        if not self._samples:
            raise DatasetError("a dataset needs at least one sample")
        count = len(self._samples) if performance_sample_count is None else performance_sample_count
        if not 1 <= count <= len(self._samples):
            raise DatasetError(
                f"performance_sample_count must be in 1..{len(self._samples)}, got {count}"
            )
        self._performance_sample_count = count

    @property
    def performance_sample_count(self) -> int:
        return self._performance_sample_count

    def __len__(self) -> int:
        return len(self._samples)

    @overload
    def __getitem__(self, index: int) -> Sample: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Sample]: ...

    def __getitem__(self, index: Union[int, slice]) -> Union[Sample, Sequence[Sample]]:
        return self._samples[index]

    def __iter__(self) -> Iterator[Sample]:
        return iter(self._samples)

    def __repr__(self) -> str:
        return f"Dataset({len(self)} samples, performance_sample_count={self.performance_sample_count})"


# ---------------------------------------------------------------------------------------- JSONL

_JSONL_KEYS = ("prompt", "messages", "token_ids", "max_tokens", "extra_body")


def load_jsonl(
    path: str | Path, *, max_tokens: int | None = None, performance_sample_count: int | None = None
) -> Dataset:
    """Read one sample per line: an object with exactly one of ``prompt`` (text, or a list of
    token ids), ``messages`` (chat messages, each with ``role`` and ``content``) or
    ``token_ids``; optionally ``max_tokens`` (output length; ``max_tokens`` here is the default
    for lines without one) and ``extra_body`` (an object merged into the request). Blank lines
    are skipped. A malformed line raises :class:`DatasetError` naming the file and line."""
    samples = _parse_lines(path, "samples", lambda line, _: _sample_from_json(line, max_tokens))
    return Dataset(samples, performance_sample_count)


_Parsed = TypeVar("_Parsed")


def _parse_lines(
    path: str | Path, what: str, parse: Callable[[str, int], _Parsed]
) -> list[_Parsed]:
    """``parse(line, items parsed before it)`` over the non-blank lines of a UTF-8 text file;
    a ValueError it raises becomes a DatasetError naming the file and line, and so does a file
    with no non-blank line (it holds no ``what``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise DatasetError(f"{path}: cannot read: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise DatasetError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from e
    parsed: list[_Parsed] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            parsed.append(parse(line, len(parsed)))
        except ValueError as e:  # json.JSONDecodeError is a ValueError too
            raise DatasetError(f"{path}:{number}: {e}") from None
    if not parsed:
        raise DatasetError(f"{path}: no {what} (the file has no non-blank line)")
    return parsed


def _json_object(line: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(f"not valid JSON: {e.msg} (column {e.colno})") from None
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    return record


def _sample_from_json(line: str, default_max_tokens: int | None) -> Sample:
    record = _json_object(line)
    unknown = sorted(set(record) - set(_JSONL_KEYS))
    if unknown:
        raise ValueError(
            f"unknown key(s) {', '.join(map(repr, unknown))}; known: {', '.join(_JSONL_KEYS)}"
        )
    given = [k for k in ("prompt", "messages", "token_ids") if k in record]
    if len(given) != 1:
        raise ValueError(
            "needs exactly one of 'prompt', 'messages' or 'token_ids'"
            + (f", got {' and '.join(given)}" if given else "")
        )
    prompt: str | None = None
    messages: tuple[Mapping[str, Any], ...] | None = None
    token_ids: tuple[int, ...] | None = None
    if "prompt" in record:
        value = record["prompt"]
        if isinstance(value, list):
            token_ids = _token_ids(value, "prompt")
        elif isinstance(value, str):
            prompt = value
        else:
            raise ValueError(
                f"'prompt' must be a string or a list of token ids, got {type(value).__name__}"
            )
    elif "messages" in record:
        messages = _messages(record["messages"])
    else:
        token_ids = _token_ids(record["token_ids"], "token_ids")
    max_tokens = record.get("max_tokens", default_max_tokens)
    if max_tokens is not None and (type(max_tokens) is not int or max_tokens < 1):
        raise ValueError(f"'max_tokens' must be a positive integer, got {max_tokens!r}")
    extra = record.get("extra_body")
    if extra is not None and not isinstance(extra, dict):
        raise ValueError(f"'extra_body' must be an object, got {type(extra).__name__}")
    return Sample(
        prompt=prompt,
        messages=messages,
        token_ids=token_ids,
        max_tokens=max_tokens,
        extra_body=extra,
    )


def _token_ids(value: Any, key: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"'{key}' must be a non-empty list of token ids")
    for v in value:
        if type(v) is not int or v < 0:
            raise ValueError(f"'{key}' must hold non-negative integers, found {v!r}")
    return tuple(value)


def _messages(value: Any) -> tuple[Mapping[str, Any], ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(
            '\'messages\' must be a non-empty list of {"role": ..., "content": ...} objects'
        )
    for i, m in enumerate(value):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str) or "content" not in m:
            raise ValueError(
                f"messages[{i}] must be an object with a string 'role' and a 'content'"
            )
    return tuple(value)


# -------------------------------------------------------------------------------- conversations


class ConversationDataset(Dataset):
    """The turns of multi-turn conversations as QSL samples, conversation after conversation.
    ``conversations[c]`` lists the sample indices of conversation ``c``'s turns in order: the
    ``conversations`` a :class:`loadgen.Conversations` load model runs (its QSL, from
    :func:`~loadgen.net.endpoint.endpoint_qsl`, passes them on)."""

    def __init__(
        self,
        conversations: Sequence[Sequence[Sample]],
        performance_sample_count: int | None = None,
    ) -> None:
        samples: list[Sample] = []
        index: list[tuple[int, ...]] = []
        for turns in conversations:
            index.append(tuple(range(len(samples), len(samples) + len(turns))))
            samples.extend(turns)
        super().__init__(samples, performance_sample_count)
        self.conversations: tuple[tuple[int, ...], ...] = tuple(index)

    def __repr__(self) -> str:
        return (
            f"ConversationDataset({len(self.conversations)} conversations, {len(self)} turns, "
            f"performance_sample_count={self.performance_sample_count})"
        )


_SHAREGPT_USER = ("human", "user")
_SHAREGPT_ASSISTANT = ("gpt", "assistant", "chatgpt", "bard", "bing", "model")


def load_conversations(
    path: str | Path,
    *,
    max_tokens: int | None = None,
    performance_sample_count: int | None = None,
) -> ConversationDataset:
    """Read one multi-turn conversation per line. Two forms:

    - ``{"turns": ["first question", "a follow-up", ...], "system": "...", "max_tokens": 64}``:
      the user messages in order (each a string, or an object ``{"content": ..., "max_tokens":
      ...}``); ``system`` and ``max_tokens`` are optional;
    - ShareGPT: ``{"conversations": [{"from": "human", "value": ...}, {"from": "gpt",
      "value": ...}, ...]}``: the ``human`` (or ``user``) messages are the turns, a ``system``
      message is the system prompt, the recorded answers are dropped (the server's own
      answers make the history); other keys (``id``, ...) are ignored.

    Every turn becomes a QSL sample (conversation after conversation, in file order); the
    endpoint sends turn k with the previous turns and the server's answers to them. Blank lines
    are skipped; a malformed line raises :class:`DatasetError` naming the file and line."""
    conversations = _parse_lines(
        path,
        "conversations",
        lambda line, index: _conversation_from_json(line, index, max_tokens),
    )
    return ConversationDataset(conversations, performance_sample_count)


def _conversation_from_json(line: str, number: int, default_max_tokens: int | None) -> list[Sample]:
    record = _json_object(line)
    system: Any = None
    turns: list[tuple[str, int | None]] = []
    if "conversations" in record:
        messages = record["conversations"]
        if not isinstance(messages, list):
            raise ValueError('\'conversations\' must be a list of {"from": ..., "value": ...}')
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or not isinstance(m.get("from"), str):
                raise ValueError(f"conversations[{i}] must be an object with a string 'from'")
            if not isinstance(m.get("value"), str):
                raise ValueError(f"conversations[{i}] must have a string 'value'")
            speaker = m["from"].lower()
            if speaker in _SHAREGPT_USER:
                turns.append((m["value"], None))
            elif speaker == "system":
                system = m["value"]
            elif speaker not in _SHAREGPT_ASSISTANT:
                raise ValueError(f"conversations[{i}]: unknown speaker {m['from']!r}")
    elif "turns" in record:
        unknown = sorted(set(record) - {"turns", "system", "max_tokens"})
        if unknown:
            raise ValueError(
                f"unknown key(s) {', '.join(map(repr, unknown))}; known: turns, system, max_tokens"
            )
        value = record["turns"]
        if not isinstance(value, list):
            raise ValueError("'turns' must be a list of user messages")
        for i, t in enumerate(value):
            if isinstance(t, str):
                turns.append((t, None))
            elif isinstance(t, dict) and isinstance(t.get("content"), str):
                limit = t.get("max_tokens")
                if limit is not None and (type(limit) is not int or limit < 1):
                    raise ValueError(f"turns[{i}]: 'max_tokens' must be a positive integer")
                turns.append((t["content"], limit))
            else:
                raise ValueError(
                    f"turns[{i}] must be a string or an object with a 'content' string"
                )
        system = record.get("system")
    else:
        raise ValueError(
            "a conversation needs 'turns' (a list of user messages) or 'conversations' (ShareGPT)"
        )
    if not turns:
        raise ValueError("the conversation has no user turn")
    if system is not None and not isinstance(system, str):
        raise ValueError("'system' must be a string")
    default = (
        record.get("max_tokens", default_max_tokens) if "turns" in record else default_max_tokens
    )
    if default is not None and (type(default) is not int or default < 1):
        raise ValueError(f"'max_tokens' must be a positive integer, got {default!r}")
    head: tuple[Mapping[str, Any], ...] = (
        ({"role": "system", "content": system},) if system is not None else ()
    )
    return [
        Sample(
            messages=head + ({"role": "user", "content": content},),
            max_tokens=limit if limit is not None else default,
            conversation=number,
            turn=k,
        )
        for k, (content, limit) in enumerate(turns)
    ]


# ------------------------------------------------------------------------- length distributions


class LengthDistribution(Protocol):
    """Draws a token count (>= 1) from a seeded random generator."""

    def draw(self, rng: random.Random) -> int: ...


@dataclass(frozen=True)
class Fixed:
    """Always ``length`` tokens."""

    length: int

    def __post_init__(self) -> None:
        if self.length < 1:
            raise DatasetError(f"a length must be >= 1, got {self.length}")

    def draw(self, rng: random.Random) -> int:
        return self.length


@dataclass(frozen=True)
class Uniform:
    """Uniform over ``low..high``, both included."""

    low: int
    high: int

    def __post_init__(self) -> None:
        if not 1 <= self.low <= self.high:
            raise DatasetError(
                f"uniform lengths need 1 <= low <= high, got {self.low}..{self.high}"
            )

    def draw(self, rng: random.Random) -> int:
        return rng.randint(self.low, self.high)


@dataclass(frozen=True)
class Normal:
    """Normal with ``mean`` and ``stddev``, rounded and clipped to ``low..high`` (``high``
    defaults to no limit)."""

    mean: float
    stddev: float
    low: int = 1
    high: Optional[int] = None

    def __post_init__(self) -> None:
        if self.stddev < 0 or self.low < 1 or (self.high is not None and self.high < self.low):
            raise DatasetError(f"normal lengths need stddev >= 0 and 1 <= low <= high, got {self}")

    def draw(self, rng: random.Random) -> int:
        value = max(self.low, int(round(rng.gauss(self.mean, self.stddev))))
        return value if self.high is None else min(self.high, value)


def parse_length(spec: str | int) -> LengthDistribution:
    """``"128"`` (fixed), ``"uniform:64:256"`` or ``"normal:MEAN:STDDEV[:LOW[:HIGH]]"``."""
    if isinstance(spec, int):
        return Fixed(spec)
    kind, *args = spec.strip().split(":")
    try:
        if not args:
            return Fixed(int(kind))
        if kind == "uniform" and len(args) == 2:
            return Uniform(int(args[0]), int(args[1]))
        if kind == "normal" and 2 <= len(args) <= 4:
            low = int(args[2]) if len(args) > 2 else 1
            high = int(args[3]) if len(args) > 3 else None
            return Normal(float(args[0]), float(args[1]), low, high)
    except ValueError as e:
        if isinstance(e, DatasetError):
            raise
        raise DatasetError(f"bad length {spec!r}: {e}") from None
    raise DatasetError(
        f"bad length {spec!r}: expected N, uniform:LOW:HIGH or normal:MEAN:STDDEV[:LOW[:HIGH]]"
    )


# ------------------------------------------------------------------------------ synthetic LLM


class Tokenizer(Protocol):
    """The part of a Hugging Face tokenizer the synthetic dataset uses."""

    def encode(self, text: str, add_special_tokens: bool = ...) -> list[int]: ...

    def decode(self, token_ids: list[int], skip_special_tokens: bool = ...) -> str: ...


# Plain words for text prompts without a tokenizer: common English words are one token in
# the usual BPE/SentencePiece vocabularies, so a prompt of N words is about N tokens.
_WORDS = (
    "the of and to in is you that it he was for on are as with his they at be this have from or "
    "one had by word but not what all were we when your can said there use an each which she do how "
    "their if will up other about out many then them these so some her would make like him into time "
    "has look two more write go see number no way could people my than first water been call who its "
    "now find long down day did get come made may part"
).split()


def synthetic_llm(
    count: int,
    *,
    input_len: LengthDistribution | int = 128,
    output_len: LengthDistribution | int = 128,
    seed: int = 0,
    vocab_size: int | None = None,
    first_token_id: int = 0,
    form: Literal["token_ids", "prompt", "messages"] = "token_ids",
    tokenizer: str | Tokenizer | None = None,
    performance_sample_count: int | None = None,
) -> Dataset:
    """``count`` LLM samples with input and output lengths drawn from the distributions
    (an int is a fixed length). The same seed gives the same samples.

    ``form="token_ids"`` (the default) gives prompts of random ids in
    ``first_token_id..vocab_size-1``: an exact input length with no tokenizer (the server may
    still add a BOS token). ``vocab_size`` defaults to the tokenizer's size, else 32000. ``"prompt"`` and ``"messages"`` give text, for servers or APIs that
    take no token ids (chat): with a ``tokenizer`` (a Hugging Face name or local path, loaded
    only from local files, or an object with ``encode``/``decode``) the text is cut to the exact
    length; without one, random common words, about one token each.
    """
    if count < 1:
        raise DatasetError(f"count must be >= 1, got {count}")
    maker = _SampleMaker(input_len, output_len, seed, vocab_size, first_token_id, form, tokenizer)
    return Dataset([maker.make() for _ in range(count)], performance_sample_count)


class _SampleMaker:
    """Synthetic LLM samples, drawn one by one: the lengths from the distributions unless given,
    the prompt's content from the tokenizer's vocabulary (or common words)."""

    def __init__(
        self,
        input_len: LengthDistribution | int,
        output_len: LengthDistribution | int,
        seed: int,
        vocab_size: int | None,
        first_token_id: int,
        form: str,
        tokenizer: str | Tokenizer | None,
    ) -> None:
        self.tok = _load_tokenizer(tokenizer) if isinstance(tokenizer, str) else tokenizer
        if vocab_size is None:
            vocab_size = len(self.tok) if isinstance(self.tok, Sized) else 32000
        if not 0 <= first_token_id < vocab_size:
            raise DatasetError(
                f"token ids need 0 <= first_token_id < vocab_size, got {first_token_id}, "
                f"{vocab_size}"
            )
        self.vocab_size = vocab_size
        self.first_token_id = first_token_id
        self.form = form
        self.inputs = Fixed(input_len) if isinstance(input_len, int) else input_len
        self.outputs = Fixed(output_len) if isinstance(output_len, int) else output_len
        # Separate streams, so changing the output distribution leaves the prompts as they were.
        self.length_rng, self.content_rng, self.output_rng = (
            random.Random(f"{seed}:{part}") for part in ("in", "ids", "out")
        )

    def make(self, input_len: int | None = None, output_len: int | None = None) -> Sample:
        """One sample; a length not given is drawn (a given one of 0 becomes 1)."""
        n = self.inputs.draw(self.length_rng) if input_len is None else max(1, input_len)
        m = self.outputs.draw(self.output_rng) if output_len is None else max(1, output_len)
        return _synthetic_sample(
            n, m, self.form, self.content_rng, self.tok, self.first_token_id, self.vocab_size
        )


def _synthetic_sample(
    n: int,
    max_tokens: int,
    form: str,
    rng: random.Random,
    tok: Tokenizer | None,
    first_token_id: int,
    vocab_size: int,
) -> Sample:
    if form == "token_ids":
        ids = tuple(rng.randrange(first_token_id, vocab_size) for _ in range(n))
        return Sample(token_ids=ids, max_tokens=max_tokens)
    text = _text_of_length(n, rng, tok, first_token_id, vocab_size)
    if form == "prompt":
        return Sample(prompt=text, max_tokens=max_tokens)
    if form == "messages":
        return Sample(messages=({"role": "user", "content": text},), max_tokens=max_tokens)
    raise DatasetError(f"form must be 'token_ids', 'prompt' or 'messages', got {form!r}")


def trace_llm(
    input_lengths: Sequence[int] | None,
    output_lengths: Sequence[int] | None,
    *,
    input_len: LengthDistribution | int = 128,
    output_len: LengthDistribution | int = 128,
    seed: int = 0,
    vocab_size: int | None = None,
    first_token_id: int = 0,
    form: Literal["token_ids", "prompt", "messages"] = "token_ids",
    tokenizer: str | Tokenizer | None = None,
) -> Dataset:
    """One synthetic LLM sample per entry of a trace (:class:`loadgen.Trace`), so that the
    trace's token lengths reach the requests: sample ``i`` has a prompt of
    ``input_lengths[i]`` tokens and asks for ``output_lengths[i]`` (``max_tokens``). Replay it
    with ``TraceReplay(..., sample_per_entry=True)``, which issues sample ``i`` for entry ``i``.
    A trace without one of the lengths draws it from ``input_len`` / ``output_len``; a length
    of 0 becomes 1 (a request needs a prompt token and asks for at least one). Prompts are as
    in :func:`synthetic_llm` (exact with token ids or a tokenizer, about right with words)."""
    count = len(input_lengths or output_lengths or ())
    if count == 0:
        raise DatasetError("the trace has neither input nor output lengths")
    for name, given in (("input", input_lengths), ("output", output_lengths)):
        if given is not None and len(given) != count:
            raise DatasetError(f"the trace has {len(given)} {name} lengths for {count} entries")
    maker = _SampleMaker(input_len, output_len, seed, vocab_size, first_token_id, form, tokenizer)
    return Dataset(
        [
            maker.make(
                input_lengths[i] if input_lengths is not None else None,
                output_lengths[i] if output_lengths is not None else None,
            )
            for i in range(count)
        ]
    )


def _load_tokenizer(name: str) -> Tokenizer:
    try:
        from transformers import AutoTokenizer  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise DatasetError(
            f"tokenizer {name!r} needs the 'transformers' package, which is not installed"
        ) from None
    try:
        # Only files already on this machine: a benchmark must not download behind the user's back.
        loaded: Tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=True)
    except (OSError, ValueError) as e:
        raise DatasetError(f"tokenizer {name!r} is not available locally: {e}") from None
    return loaded


def _text_of_length(
    n: int, rng: random.Random, tok: Tokenizer | None, first_token_id: int, vocab_size: int
) -> str:
    if tok is None:
        return " ".join(rng.choice(_WORDS) for _ in range(n))
    # Decoding random ids and encoding the text again rarely gives the same ids back (pieces
    # merge); a few rounds of trimming or topping up the re-encoded ids settle on n tokens.
    ids = [rng.randrange(first_token_id, vocab_size) for _ in range(n)]
    text = tok.decode(ids, skip_special_tokens=True)
    for _ in range(8):
        encoded = tok.encode(text, add_special_tokens=False)
        if len(encoded) == n:
            return text
        if len(encoded) > n:
            encoded = encoded[:n]
        else:
            encoded += [rng.randrange(first_token_id, vocab_size) for _ in range(n - len(encoded))]
        text = tok.decode(encoded, skip_special_tokens=True)
    return text


# ------------------------------------------------------------------------------ v2 tensors


def load_tensors(
    path: str | Path,
    *,
    input_name: str | None = None,
    batch_dim: bool = True,
    performance_sample_count: int | None = None,
) -> Dataset:
    """KServe v2 samples from numpy files: the first axis of every array indexes the samples.
    A ``.npz`` gives one input per array, named by its key; a ``.npy`` gives the one input
    ``input_name``. With ``batch_dim`` (for batched models) each sample's tensor keeps a
    leading dimension of 1, so it is sent as shape ``[1, ...]``."""
    import numpy as np

    path = Path(path)
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise DatasetError(f"{path}: cannot read as .npy/.npz: {e}") from None
    if isinstance(loaded, np.ndarray):
        if not input_name:
            raise DatasetError(f"{path}: a .npy file holds one unnamed array: give its input name")
        arrays = {input_name: loaded}
    else:
        with loaded:
            arrays = {key: loaded[key] for key in loaded.files}
        if not arrays:
            raise DatasetError(f"{path}: the .npz file holds no arrays")
    counts = {name: (a.shape[0] if a.ndim else 0) for name, a in arrays.items()}
    if 0 in counts.values():
        empty = [name for name, c in counts.items() if c == 0]
        raise DatasetError(
            f"{path}: array(s) {', '.join(empty)} have no samples along the first axis"
        )
    if len(set(counts.values())) != 1:
        raise DatasetError(
            f"{path}: the arrays disagree on the number of samples (first axis): "
            + ", ".join(f"{name}={c}" for name, c in counts.items())
        )
    n = next(iter(counts.values()))
    samples = [
        Sample(tensors={name: (a[i : i + 1] if batch_dim else a[i]) for name, a in arrays.items()})
        for i in range(n)
    ]
    return Dataset(samples, performance_sample_count)


_V2_DTYPES = {
    "BOOL": "bool",
    "UINT8": "uint8",
    "UINT16": "uint16",
    "UINT32": "uint32",
    "UINT64": "uint64",
    "INT8": "int8",
    "INT16": "int16",
    "INT32": "int32",
    "INT64": "int64",
    "FP16": "float16",
    "FP32": "float32",
    "FP64": "float64",
    "BYTES": "object",
}


def random_tensors(
    metadata: Mapping[str, Any],
    count: int,
    *,
    seed: int = 0,
    dynamic_dim: int = 16,
    performance_sample_count: int | None = None,
) -> Dataset:
    """``count`` samples of random tensors shaped from a model's v2 metadata (the JSON of
    ``GET /v2/models/M``). A leading ``-1`` (the batch dimension of a batched model) becomes 1,
    any other ``-1`` becomes ``dynamic_dim``. Numbers are uniform in [0, 1) for floats and in
    0..99 for integers; BYTES are short random ASCII strings."""
    import numpy as np

    inputs = metadata.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise DatasetError(f"model metadata of {metadata.get('name', '?')!r} lists no inputs")
    if count < 1:
        raise DatasetError(f"count must be >= 1, got {count}")
    specs = []
    for spec in inputs:
        name, datatype, shape = spec.get("name"), spec.get("datatype"), spec.get("shape")
        if not isinstance(name, str) or not isinstance(shape, list):
            raise DatasetError(f"malformed input in the model metadata: {spec!r}")
        if datatype not in _V2_DTYPES:
            raise DatasetError(
                f"input {name!r}: datatype {datatype!r} is not supported for random tensors"
            )
        dims = tuple(
            (1 if i == 0 else dynamic_dim) if d == -1 else int(d) for i, d in enumerate(shape)
        )
        specs.append((name, datatype, dims))
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(count):
        tensors: dict[str, numpy.ndarray] = {}
        for name, datatype, dims in specs:
            tensors[name] = _random_array(rng, datatype, dims)
        samples.append(Sample(tensors=tensors))
    return Dataset(samples, performance_sample_count)


def _random_array(
    rng: numpy.random.Generator, datatype: str, dims: tuple[int, ...]
) -> numpy.ndarray:
    import numpy as np

    if datatype == "BYTES":
        letters = rng.integers(ord("a"), ord("z") + 1, size=(*dims, 8), dtype=np.uint8)
        flat = [bytes(row) for row in letters.reshape(-1, 8)]
        return np.array(flat, dtype=object).reshape(dims)
    if datatype == "BOOL":
        return rng.integers(0, 2, size=dims).astype(bool)
    dtype = np.dtype(_V2_DTYPES[datatype])
    if dtype.kind == "f":
        return rng.random(size=dims).astype(dtype)
    return rng.integers(0, 100, size=dims).astype(dtype)
