"""Exceptions of the typed API. Each subclasses the built-in a user would catch anyway."""

from __future__ import annotations

from . import _core

__all__ = [
    "ConfigError",
    "EndpointError",
    "ResponseIdError",
    "SettingsError",
    "SutCallbackError",
    "TestAborted",
    "TestAlreadyRunningError",
]

#: Settings that cannot produce a meaningful run (raised before any load is issued).
SettingsError = _core.SettingsError

#: The test was stopped by ``abort(error=...)`` or a failing callback on another thread.
TestAborted = _core.TestAborted

#: A test is already running in this process: ``run`` (and the drop-in ``StartTest``) run one
#: test at a time and refuse a second at once, before any log is opened. Tests run one after
#: another are fine.
TestAlreadyRunningError = _core.TestAlreadyRunningError


class ConfigError(ValueError):
    """A config file problem found in strict mode: names the file, line and key."""

    def __init__(
        self, message: str, *, file: str, line: int, key: str, suggestion: str = ""
    ) -> None:
        super().__init__(message)
        self.file = file
        self.line = line
        self.key = key
        self.suggestion = suggestion


class EndpointError(RuntimeError):
    """A served model cannot serve the test: its server is unreachable, does not list the model,
    or answered a check badly. Raised before any load (``loadgen.net``: ``EndpointSut`` at
    construction, ``preflight``, ``loadgen bench``)."""


class ResponseIdError(ValueError):
    """A completion used an id loadgen did not issue, an id of an earlier series, or an id
    that was already completed."""


class SutCallbackError(RuntimeError):
    """A SUT or QSL callback raised; the original exception is the ``__cause__``."""
