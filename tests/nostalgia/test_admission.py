"""Admission slots: limits hold, waiters are served in order, and cancelled waiters leak nothing.

These run the real ``Admission`` on an event loop without a server, because the cancellation
races (a waiter cancelled just as a slot is handed to it) cannot be staged reliably over gRPC.
"""

from __future__ import annotations

import asyncio

import pytest

from nostalgia.admission import Admission
from nostalgia.config import Settings
from nostalgia.errors import Overloaded


def test_running_and_waiting_are_bounded_and_excess_is_refused_at_once() -> None:
    async def scenario() -> list[str]:
        admission = Admission(max_running=2, max_waiting=1)
        order: list[str] = []
        release = asyncio.Event()

        async def call(name: str) -> None:
            async with admission.slot():
                order.append(name)
                await release.wait()

        tasks = [asyncio.create_task(call(f"c{i}")) for i in range(3)]
        await asyncio.sleep(0.01)
        assert admission.stats().running == 2 and admission.stats().waiting == 1
        with pytest.raises(Overloaded, match="at capacity"):
            async with admission.slot():
                pass
        release.set()
        await asyncio.gather(*tasks)
        stats = admission.stats()
        assert (stats.running, stats.waiting, stats.refused) == (0, 0, 1)
        return order

    assert asyncio.run(scenario()) == ["c0", "c1", "c2"]


def test_cancelled_waiters_give_their_place_and_slot_back() -> None:
    async def scenario() -> None:
        admission = Admission(max_running=1, max_waiting=2)
        hold = asyncio.Event()

        async def call() -> None:
            async with admission.slot():
                await hold.wait()

        running = asyncio.create_task(call())
        waiting = asyncio.create_task(call())
        await asyncio.sleep(0.01)
        waiting.cancel()  # a caller whose deadline passed in the queue
        await asyncio.sleep(0.01)
        assert admission.stats().waiting == 0

        handed = asyncio.create_task(call())
        await asyncio.sleep(0.01)
        hold.set()
        await asyncio.sleep(0)  # the slot is handed to ``handed``...
        handed.cancel()  # ...which is cancelled before it runs: the slot must come back
        await asyncio.gather(running, handed, waiting, return_exceptions=True)
        assert admission.stats().running == 0 and admission.stats().waiting == 0
        async with admission.slot():
            assert admission.stats().running == 1

    asyncio.run(scenario())


def test_limits_come_from_flags_and_environment() -> None:
    settings = Settings.from_args(
        ["--max-queued-calls=3", "--api-keys=a,b:Animate"],
        env={"NOSTALGIA_MAX_CONCURRENT_CALLS": "2", "NOSTALGIA_MAX_IMAGE_PIXELS": "1000000"},
    )
    assert (settings.max_concurrent_calls, settings.max_queued_calls) == (2, 3)
    assert settings.max_image_pixels == 1_000_000 and settings.api_keys == "a,b:Animate"
    with pytest.raises(ValueError, match="max_upload_bytes"):
        Settings.from_args(["--max-upload-bytes=40000000"], env={})
    with pytest.raises(ValueError, match="max_concurrent_calls"):
        Settings.from_args(["--max-concurrent-calls=0"], env={})
