"""A base for the endpoint SUTs, which hold a client (threads, sockets) until closed."""

from __future__ import annotations

from typing import TypeVar

_T = TypeVar("_T", bound="Closing")


class Closing:
    """Closed on leaving a ``with`` block and, failing that, when garbage-collected (where an
    error is swallowed: an interpreter shutting down may have torn down what close() needs)."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self: _T) -> _T:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
