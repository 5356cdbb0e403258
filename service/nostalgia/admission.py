"""Admission control for heavy calls: a fixed number run, a bounded number wait, the rest are refused.

A photo service under a flood must not let waiting work pile up without bound: every queued
call holds its upload in memory and will probably outlive its caller's deadline anyway. So a
call past the queue is refused at once with ``Overloaded`` (RESOURCE_EXHAUSTED), which tells a
well-behaved client to back off and retry, instead of timing out after holding memory.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from .errors import Overloaded

__all__ = ["Admission", "AdmissionStats"]


@dataclass(frozen=True)
class AdmissionStats:
    """A snapshot: calls running, calls waiting, and calls refused since start."""

    running: int
    waiting: int
    refused: int


class Admission:
    """``max_running`` slots plus a queue of ``max_waiting``; use ``async with admission.slot():``.

    Bound to the event loop that first uses it (asyncio primitives are), which in the gateway is
    the server's loop. Waiters are served first come, first served.
    """

    def __init__(self, max_running: int, max_waiting: int) -> None:
        if max_running < 1 or max_waiting < 0:
            raise ValueError("max_running must be at least 1 and max_waiting at least 0")
        self.max_running = max_running
        self.max_waiting = max_waiting
        self._running = 0
        self._waiters: list[asyncio.Future[None]] = []
        self._refused = 0

    def stats(self) -> AdmissionStats:
        return AdmissionStats(running=self._running, waiting=len(self._waiters), refused=self._refused)

    @contextlib.asynccontextmanager
    async def slot(self, what: str = "call") -> AsyncIterator[None]:
        """Hold one running slot for the body; wait in the queue if all are taken, or refuse."""
        await self._acquire(what)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, what: str) -> None:
        if self._running < self.max_running and not self._waiters:
            self._running += 1
            return
        if len(self._waiters) >= self.max_waiting:
            self._refused += 1
            raise Overloaded(
                f"the service is at capacity ({self.max_running} {what}s running, "
                f"{len(self._waiters)} waiting); retry with backoff"
            )
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            # Cancelled (caller gone or deadline): give back a slot handed over meanwhile.
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            elif waiter.done() and not waiter.cancelled():
                self._release()
            raise

    def _release(self) -> None:
        while self._waiters:
            waiter = self._waiters.pop(0)
            if not waiter.done():
                # The slot passes straight to the waiter: ``_running`` is unchanged.
                waiter.set_result(None)
                return
        self._running -= 1
