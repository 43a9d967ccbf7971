"""What a harness implements, as Protocols, plus small base classes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Protocol, Sequence, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from .settings import Settings

__all__ = [
    "AsyncSystemUnderTest",
    "ChecksSettings",
    "InMemoryQsl",
    "NumpyBatch",
    "NumpySystemUnderTest",
    "QuerySampleLibrary",
    "SampleBatch",
    "SystemUnderTest",
]


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


class NumpyBatch:
    """The samples of one IssueQuery call as numpy arrays (``run(..., batch="numpy")``).

    ``samples`` is a read-only (n, 2) uint64 array whose columns are the response ids and the
    QSL indices; ``ids`` and ``indices`` are its columns. All three view the engine's own batch
    without a copy, and the batch stays alive for as long as any view of it does, so ``issue``
    may hand them to worker threads. An async ``issue`` gets copies.
    """

    __slots__ = ("samples",)

    def __init__(self, samples: npt.NDArray[np.uint64]) -> None:
        self.samples = samples

    @property
    def ids(self) -> npt.NDArray[np.uint64]:
        return self.samples[:, 0]

    @property
    def indices(self) -> npt.NDArray[np.uint64]:
        return self.samples[:, 1]

    def __len__(self) -> int:
        return len(self.samples)

    def __repr__(self) -> str:
        return f"NumpyBatch({len(self)} samples)"


@runtime_checkable
class NumpySystemUnderTest(Protocol):
    """A SUT for ``run(..., batch="numpy")``: ``issue`` gets a NumpyBatch."""

    def issue(self, batch: NumpyBatch) -> None: ...

    def flush(self) -> None: ...


@runtime_checkable
class AsyncSystemUnderTest(Protocol):
    """A SUT whose ``issue`` is a coroutine function (``async def issue``). loadgen runs it on an
    event loop thread of its own for the length of the run; ``flush`` may be async too. An
    exception in a coroutine stops the run and is re-raised by ``run``."""

    def issue(self, batch: Any) -> Awaitable[None]: ...

    def flush(self) -> Any: ...


@runtime_checkable
class ChecksSettings(Protocol):
    """A SUT that knows settings it cannot serve (an endpoint whose answers arrive whole has no
    first token to time): ``run`` calls ``check_settings`` after validating the settings and
    before opening a log or issuing anything; it raises :class:`loadgen.SettingsError`."""

    def check_settings(self, settings: Settings) -> None: ...


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

    def __init__(
        self, total_sample_count: int, performance_sample_count: int | None = None
    ) -> None:
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
