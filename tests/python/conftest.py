"""Fixtures shared by the Python tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import loadgen._core as core
import pytest

WATCHDOG_S = 30.0


@pytest.fixture
def hang_watchdog() -> Iterator[None]:
    """Aborts a test run that hangs, so a broken engine fails one test instead of the suite.
    Modules that run tests use it with ``pytestmark = pytest.mark.usefixtures("hang_watchdog")``."""
    fired = threading.Event()

    def abort() -> None:
        fired.set()
        core.AbortTest()

    timer = threading.Timer(WATCHDOG_S, abort)
    timer.daemon = True
    timer.start()
    yield
    timer.cancel()
    assert not fired.is_set(), f"the test run hung and was aborted after {WATCHDOG_S} s"
