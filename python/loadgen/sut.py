"""What a harness implements, as Protocols, plus small base classes."""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

__all__ = ["QuerySampleLibrary", "SystemUnderTest", "SampleBatch", "InMemoryQsl"]


class SampleBatch(Protocol):
    """The samples of one IssueQuery call: parallel sequences of response ids and QSL indices.

    Valid only during the ``issue`` call; copy what you keep (``list(batch.ids)``).
    """

    @property
    def ids(self) -> Sequence[int]: ...

    @property
    def indices(self) -> Sequence[int]: ...

    def __len__(self) -> int: ...


@runtime_checkable
class SystemUnderTest(Protocol):
    """Receives queries. ``issue`` may complete samples inline (``loadgen.complete``) or hand
    them to other threads; ``flush`` is called once after the last query of each series."""

    def issue(self, batch: SampleBatch) -> None: ...

    def flush(self) -> None: ...


@runtime_checkable
class QuerySampleLibrary(Protocol):
    """The data set. loadgen picks which samples to load and issue."""

    @property
    def total_sample_count(self) -> int: ...

    @property
    def performance_sample_count(self) -> int: ...

    def load(self, indices: Sequence[int]) -> None: ...

    def unload(self, indices: Sequence[int]) -> None: ...


class InMemoryQsl:
    """A QSL whose samples need no loading (synthetic data, or data already in memory)."""

    def __init__(self, total_sample_count: int, performance_sample_count: int | None = None) -> None:
        if total_sample_count <= 0:
            raise ValueError("total_sample_count must be positive")
        self._total = total_sample_count
        self._performance = performance_sample_count or total_sample_count

    @property
    def total_sample_count(self) -> int:
        return self._total

    @property
    def performance_sample_count(self) -> int:
        return self._performance

    def load(self, indices: Sequence[int]) -> None:
        """Nothing to load."""

    def unload(self, indices: Sequence[int]) -> None:
        """Nothing to unload."""
