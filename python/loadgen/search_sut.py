"""A SUT of known capacity for the search's tests, benchmarks and ``loadgen search --sut``:
``workers`` servers, each sample served in exactly ``service_s``, first come first served.

The queue is computed, not slept, in native code (``loadgen._core.ServiceTimeSut``): each
issued sample is given the moment its server frees up, and a native thread completes it then.
The capacity, ``workers / service_s`` samples per second, is exact; only a completion stamp
can be late by a thread wake-up, never early. No Python runs per sample, so the GIL blurs
nothing."""

from __future__ import annotations

from typing import Any

from . import _core

__all__ = ["ServiceTimeSut"]


class ServiceTimeSut:
    """``workers`` parallel servers with a fixed service time per sample. Pass it to
    :func:`loadgen.run` or :func:`loadgen.search` (it is driven natively, by handle); close it
    (or use it as a context manager) when done."""

    def __init__(self, workers: int, service_s: float) -> None:
        self.workers = workers
        self.service_s = service_s
        self._native: Any = _core.ServiceTimeSut(workers, service_s)
        self._handle: int | None = int(self._native.handle)
        self.name = f"ServiceTimeSut({workers}x{service_s * 1e3:g}ms)"

    @property
    def capacity(self) -> float:
        """Samples per second the servers sustain."""
        return self.workers / self.service_s

    @property
    def _native_sut_handle(self) -> int:
        """What loadgen.run passes to the engine instead of Python callbacks."""
        if self._handle is None:
            raise ValueError("this ServiceTimeSut is closed")
        return self._handle

    # Driven natively; these make the object satisfy the SystemUnderTest protocol.
    def issue(self, batch: Any) -> None:
        raise TypeError("a ServiceTimeSut is driven natively: pass it to loadgen.run")

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if self._handle is not None:
            _core.DestroySUT(self._handle)
            self._handle = None

    def __enter__(self) -> ServiceTimeSut:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
