"""Samples for network benchmarks: the request content of each QSL sample.

A :class:`Sample` says what one request carries (prompt text, chat messages, token ids, an
output length, KServe v2 tensors, extra JSON fields); the request builders turn it into bytes
once, before the run, so nothing here is on the hot path.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Tuple, Union, overload

if TYPE_CHECKING:
    import numpy

__all__ = ["Dataset", "DatasetError", "Sample"]


@dataclass(frozen=True)
class Sample:
    """One request's content. Which fields are used depends on the api of the endpoint."""

    prompt: Optional[str] = None  # /v1/completions text
    messages: Optional[Tuple[Mapping[str, Any], ...]] = None  # chat
    token_ids: Optional[Tuple[int, ...]] = None  # exact-length prompt, no tokenizer
    max_tokens: Optional[int] = None  # output length
    tensors: Optional[Mapping[str, "numpy.ndarray"]] = None  # KServe v2 inputs
    extra_body: Optional[Mapping[str, Any]] = None  # merged into the request JSON


class DatasetError(ValueError):
    """A dataset file or argument that cannot give samples; names the file and line when known."""


class Dataset(Sequence[Sample]):
    """The samples of a QSL, in index order, and how many of them fit in memory at once
    (``performance_sample_count``; all of them unless given)."""

    def __init__(self, samples: Iterable[Sample], performance_sample_count: int | None = None) -> None:
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
