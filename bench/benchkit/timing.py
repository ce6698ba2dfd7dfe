"""Timing loops, and variants taking turns so that each sees the same machine."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class Timed:
    """What a timing loop measured: each call's wall seconds, and the loop's wall and CPU
    seconds (CPU of this process, all threads)."""

    latencies: list[float]
    wall: float
    cpu: float

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.wall if self.wall > 0 else 0.0


def repeat(
    call: Callable[[], Any],
    *,
    count: int | None = None,
    seconds: float = math.inf,
    at_least: int = 0,
) -> Timed:
    """``call()`` back to back, up to ``count`` times, and stopping once a call ends at or
    after ``seconds`` from the start, provided ``at_least`` calls were made (no call at all
    when ``seconds`` <= 0 and ``at_least`` is 0). One of ``count`` and ``seconds`` is needed."""
    if count is None and math.isinf(seconds):
        raise ValueError("repeat() needs a count or seconds")
    latencies: list[float] = []
    cpu_began = time.process_time()
    began = ended = time.perf_counter()
    deadline = began + seconds
    while (count is None or len(latencies) < count) and (
        ended < deadline or len(latencies) < at_least
    ):
        started = time.perf_counter()
        call()
        ended = time.perf_counter()
        latencies.append(ended - started)
    return Timed(latencies, ended - began, time.process_time() - cpu_began)


def turns(round_number: int, items: Sequence[T]) -> list[T]:
    """``items`` in their order in even rounds and reversed in odd ones, so that no variant
    always goes first."""
    return list(items) if round_number % 2 == 0 else list(reversed(items))


def cycle(calls: Sequence[Callable[[], Any]]) -> Callable[[], None]:
    """One call per use, going round the list."""
    position = [0]

    def next_call() -> None:
        calls[position[0] % len(calls)]()
        position[0] += 1

    return next_call
