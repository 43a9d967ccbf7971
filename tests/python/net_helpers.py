"""Helpers the endpoint tests share: SUTs closed at teardown, and the accuracy log's entries."""

from __future__ import annotations

import json
from typing import Any, Callable, Iterator, TypeVar

import loadgen

Sut = TypeVar("Sut")


def closing_suts(construct: Callable[..., Sut]) -> Iterator[Callable[..., Sut]]:
    """A fixture body: yields a SUT factory and closes every SUT it made at teardown."""
    made: list[Any] = []

    def make(*args: Any, **kwargs: Any) -> Sut:
        sut = construct(*args, **kwargs)
        made.append(sut)
        return sut

    yield make
    for sut in made:
        sut.close()


def accuracy_entries(result: loadgen.RunResult) -> dict[int, bytes]:
    """qsl_idx -> the response bytes of each accuracy-log entry of a run."""
    return {
        e["qsl_idx"]: bytes.fromhex(e["data"]) for e in json.loads(result.accuracy_path.read_text())
    }
