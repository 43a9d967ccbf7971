"""Ctrl-C while the engine runs: stop the test and keep the logs, instead of hanging.

While StartTest runs with the GIL released, Python's own SIGINT handling would only fire inside
a callback, so a SUT that is idle (or stuck) never sees it. Instead the signal's wakeup fd
wakes a watcher thread, which stops the test: gracefully on the first press (issuing stops,
outstanding samples get a bounded time to complete, the logs are written), at once on the
second.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from typing import Any, Iterator

from . import _core

__all__ = ["SigintWatch", "compat_sigint_watch", "sigint_stops_the_test"]


class SigintWatch:
    """How many times Ctrl-C was pressed while the watch was active."""

    __slots__ = ("presses",)

    def __init__(self) -> None:
        self.presses = 0


@contextlib.contextmanager
def sigint_stops_the_test() -> Iterator[SigintWatch]:
    watch = SigintWatch()
    if threading.current_thread() is not threading.main_thread():
        yield watch  # signal handlers can only be installed by the main thread
        return
    reader, writer = socket.socketpair()
    reader.setblocking(True)
    writer.setblocking(False)
    done = threading.Event()

    def on_sigint(signum: int, frame: Any) -> None:
        # Runs on the main thread only when it executes Python code (a callback): the watcher
        # has already acted on this press.
        pass

    def watcher_loop() -> None:
        while not done.is_set():
            try:
                data = reader.recv(64)
            except OSError:
                return
            if not data or done.is_set():
                return
            for byte in data:
                if byte == signal.SIGINT:
                    watch.presses += 1
                    _core._interrupt(watch.presses > 1)

    old_handler = signal.signal(signal.SIGINT, on_sigint)
    old_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    watcher = threading.Thread(target=watcher_loop, name="loadgen-sigint", daemon=True)
    watcher.start()
    try:
        yield watch
    finally:
        done.set()
        signal.set_wakeup_fd(old_fd)
        signal.signal(signal.SIGINT, old_handler)
        with contextlib.suppress(OSError):
            writer.send(b"\0")
        watcher.join(timeout=1)
        reader.close()
        writer.close()


class compat_sigint_watch:  # noqa: N801 (used from C++ like a function)
    """The drop-in module's StartTest: Ctrl-C ends the test with the logs written, then raises
    KeyboardInterrupt. Only when SIGINT has Python's default handler: a harness that installed
    its own keeps full control."""

    def __init__(self) -> None:
        self._context: contextlib.AbstractContextManager[SigintWatch] | None = None
        self._watch: SigintWatch | None = None

    def __enter__(self) -> compat_sigint_watch:
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            self._context = sigint_stops_the_test()
            self._watch = self._context.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._context is not None:
            self._context.__exit__(None, None, None)

    @property
    def interrupted(self) -> bool:
        return self._watch is not None and self._watch.presses > 0
