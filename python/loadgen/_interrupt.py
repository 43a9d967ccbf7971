"""Ctrl-C while the engine runs: stop the test and keep the logs, instead of hanging.

While StartTest runs with the GIL released, Python's own SIGINT handling would only fire inside
a callback, so a SUT that is idle (or stuck) never sees it. Instead the signal's wakeup fd
wakes a watcher thread, which stops the test: gracefully on the first press (issuing stops,
outstanding samples get a bounded time to complete, the logs are written), at once on the
second.

Imported by the first StartTest of a process, so it uses only cheap modules (a pipe rather
than socket, whose import costs a few milliseconds).
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from . import _core

if TYPE_CHECKING:
    import signal
else:  # the C module: `signal` itself costs ~1 ms of import (its enums)
    import _signal as signal

__all__ = ["SigintWatch", "compat_sigint_watch"]

# The abort reasons the logs and RunResult.interrupt_reason show.
FIRST_PRESS_REASON = (
    "Interrupted (Ctrl-C): issuing stopped; outstanding samples had up to "
    f"{_core._DRAIN_TIMEOUT_S:g} s to complete."
)
SECOND_PRESS_REASON = "Ctrl-C again: stopped at once."


class SigintWatch:
    """Stops the running test on Ctrl-C while active (a context manager). `presses` counts
    the presses seen. Does nothing outside the main thread, where handlers cannot be set."""

    def __init__(self) -> None:
        self.presses = 0
        self._active = False
        self._done = threading.Event()
        self._reader = self._writer = -1
        self._old_handler: Any = None
        self._old_fd = -1
        self._watcher: threading.Thread | None = None

    def __enter__(self) -> SigintWatch:
        if threading.current_thread() is not threading.main_thread():
            return self
        self._reader, self._writer = os.pipe()
        os.set_blocking(self._writer, False)  # set_wakeup_fd requires it
        self._old_handler = signal.signal(signal.SIGINT, _ignore_in_python)
        self._old_fd = signal.set_wakeup_fd(self._writer, warn_on_full_buffer=False)
        self._watcher = threading.Thread(target=self._watch, name="loadgen-sigint", daemon=True)
        self._watcher.start()
        self._active = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self._active:
            return
        self._active = False
        self._done.set()
        signal.set_wakeup_fd(self._old_fd)
        signal.signal(signal.SIGINT, self._old_handler)
        try:
            os.write(self._writer, b"\0")  # wakes the watcher
        except OSError:
            pass
        if self._watcher is not None:
            self._watcher.join(timeout=1)
        os.close(self._reader)
        os.close(self._writer)

    def _watch(self) -> None:
        while not self._done.is_set():
            try:
                data = os.read(self._reader, 64)
            except OSError:
                return
            if not data or self._done.is_set():
                return
            for byte in data:
                if byte == signal.SIGINT:
                    self.presses += 1
                    if self.presses == 1:
                        _core._abort(FIRST_PRESS_REASON, graceful=True)
                    else:
                        _core._abort(SECOND_PRESS_REASON)


def _ignore_in_python(signum: int, frame: Any) -> None:
    # Runs on the main thread only when it executes Python code (a callback): the watcher has
    # already acted on this press.
    pass


class compat_sigint_watch:  # noqa: N801 (used from C++ like a function)
    """The drop-in module's StartTest: Ctrl-C ends the test with the logs written, then raises
    KeyboardInterrupt. Only when SIGINT has Python's default handler: a harness that installed
    its own keeps full control."""

    def __init__(self) -> None:
        self._watch: SigintWatch | None = None

    def __enter__(self) -> compat_sigint_watch:
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            self._watch = SigintWatch().__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._watch is not None:
            self._watch.__exit__(None, None, None)

    @property
    def interrupted(self) -> bool:
        return self._watch is not None and self._watch.presses > 0
