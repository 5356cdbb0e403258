"""Per-request stage timings: the numbers in ``AnimateSummary`` and in the stage metrics.

Stages are timed where the pipeline already knows it enters and leaves them; observers (the
Prometheus metrics) subscribe once here instead of being called from every stage.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["StageTimer", "add_stage_observer"]

_observers: list[Callable[[str, float], None]] = []


def add_stage_observer(observer: Callable[[str, float], None]) -> None:
    """Call ``observer(stage, seconds)`` for every stage timed from now on, in every request."""
    if observer not in _observers:
        _observers.append(observer)


class StageTimer:
    """Accumulates wall-clock seconds per stage for one request."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.stages: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def add(self, name: str, seconds: float) -> None:
        self.stages[name] = self.stages.get(name, 0.0) + seconds
        for observer in _observers:
            observer(name, seconds)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started
