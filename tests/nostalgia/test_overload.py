"""A flood of Animate calls against a gateway with small limits: the excess is refused at once.

With one call running and two waiting allowed, every further call must get RESOURCE_EXHAUSTED
within moments (not a timeout after holding its upload), the admitted ones must finish, the
gateway must serve normally afterwards, and repeated floods must not grow its memory.
"""

from __future__ import annotations

import asyncio
import gc
import io
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import grpc
import pytest
from PIL import Image

from nostalgia.config import Settings
from nostalgia.local import BackgroundGateway, start_gateway
from nostalgia.v1 import nostalgia_pb2 as pb
from nostalgia.v1 import nostalgia_pb2_grpc as pb_grpc

RUNNING, QUEUED, FLOOD = 1, 2, 16
PADDING = 3 * 1024 * 1024  # each upload carries 3 MiB, so queued uploads would show in memory


@pytest.fixture(scope="module")
def small_gateway(gateway_settings: Settings) -> Iterator[BackgroundGateway]:
    settings = replace(gateway_settings, max_concurrent_calls=RUNNING, max_queued_calls=QUEUED)
    settings.validate()
    running = start_gateway(settings)
    try:
        yield running
    finally:
        running.stop()


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


async def _flood(address: str, image: bytes) -> list[tuple[grpc.StatusCode, float, str]]:
    """Start FLOOD calls at once; for each, its final code, seconds to that code, and details."""
    request = pb.AnimateRequest(image=image, duration_s=1.6, fps=10, output_size=256, seed=3)
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.NostalgiaStub(channel)
        await channel.channel_ready()

        async def one() -> tuple[grpc.StatusCode, float, str]:
            start = time.perf_counter()
            try:
                async for _ in stub.Animate(request, timeout=120):
                    pass
            except grpc.aio.AioRpcError as exc:
                return exc.code(), time.perf_counter() - start, exc.details() or ""
            return grpc.StatusCode.OK, time.perf_counter() - start, ""

        return await asyncio.gather(*(one() for _ in range(FLOOD)))


def test_flood_is_refused_at_once_beyond_the_queue_and_memory_stays_bounded(
    small_gateway: BackgroundGateway, portraits_dir: Path
) -> None:
    image = (portraits_dir / "deoldify_abe.jpg").read_bytes() + b"\x00" * PADDING
    rss: list[float] = []
    retained: list[float] = []
    peaks: list[float] = []
    tracemalloc.start()
    try:
        for _ in range(3):
            tracemalloc.reset_peak()
            results = asyncio.run(_flood(small_gateway.address, image))
            peaks.append(round(tracemalloc.get_traced_memory()[1] / 2**20, 1))
            gc.collect()
            rss.append(_rss_mib())
            retained.append(tracemalloc.get_traced_memory()[0] / 2**20)
            _check_codes(results)
    finally:
        tracemalloc.stop()
    # Python objects still alive after each flood (the gateway runs in this process): refused or
    # finished calls must leave nothing behind, not even one upload.
    kept = retained[2] - retained[0]
    assert kept < PADDING / 2**20, f"{kept:.1f} MiB more kept alive after two more floods: {retained}"
    # During a flood every upload is in memory once (gRPC reads a request before any handler
    # runs); a queue that decoded or copied waiting uploads would go well past twice that.
    assert max(peaks) < 2 * FLOOD * PADDING / 2**20, f"flood peaks {peaks} MiB"
    # The resident set moves with the allocator's caching, so only a gross climb fails here.
    assert rss[2] - rss[0] < 150, f"resident memory climbed over floods: {rss}"
    print(f"\nflood peaks of traced Python memory {peaks} MiB; after: {retained} MiB; resident {rss} MiB")

    # Afterwards every slot is free again.
    with grpc.insecure_channel(small_gateway.address) as channel:
        stub = pb_grpc.NostalgiaStub(channel)
        request = pb.AnimateRequest(image=image, duration_s=0.4, fps=10, output_size=128)
        responses = list(stub.Animate(request, timeout=60))
    assert responses[-1].HasField("summary")


def _check_codes(results: list[tuple[grpc.StatusCode, float, str]]) -> None:
    """Only OK and RESOURCE_EXHAUSTED; refusals fast and while admitted calls still run."""
    codes = Counter(code for code, _, _ in results)
    assert set(codes) <= {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED}, codes
    # Calls arrive together: one runs, two wait, the rest are refused.
    assert codes[grpc.StatusCode.OK] >= RUNNING + QUEUED, codes
    assert codes[grpc.StatusCode.RESOURCE_EXHAUSTED] >= FLOOD - RUNNING - QUEUED - 2, codes
    refused = [(t, d) for code, t, d in results if code == grpc.StatusCode.RESOURCE_EXHAUSTED]
    slowest = max(t for t, _ in refused)
    assert slowest < 2.0, f"a refusal took {slowest:.2f}s: it waited instead of failing fast"
    assert all("capacity" in d for _, d in refused)
    served = sorted(t for code, t, _ in results if code == grpc.StatusCode.OK)
    assert served[-1] > slowest, "admitted calls should still be running when the excess is refused"


def test_detect_faces_and_enhance_share_the_limit(gateway_settings: Settings, portraits_dir: Path) -> None:
    """The other heavy RPCs take slots too: with one slot and no queue, a burst is partly refused."""
    running = start_gateway(replace(gateway_settings, max_concurrent_calls=1, max_queued_calls=0))
    image = (portraits_dir / "deoldify_1920sFamilyPhoto.jpg").read_bytes()
    # Whichever call is admitted should finish quickly: Enhance gets a small crop and the fast model.
    buffer = io.BytesIO()
    Image.open(portraits_dir / "deoldify_abe.jpg").convert("RGB").resize((96, 96)).save(buffer, "PNG")
    small = buffer.getvalue()

    async def burst() -> list[grpc.StatusCode]:
        async with grpc.aio.insecure_channel(running.address) as channel:
            stub = pb_grpc.NostalgiaStub(channel)
            await channel.channel_ready()

            async def call(kind: str) -> grpc.StatusCode:
                try:
                    if kind == "detect":
                        await stub.DetectFaces(pb.DetectFacesRequest(image=image), timeout=120)
                    else:
                        await stub.Enhance(
                            pb.EnhanceRequest(image=small, scale=2, model=pb.UPSCALER_MODEL_FAST), timeout=120
                        )
                except grpc.aio.AioRpcError as exc:
                    if exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                        assert "capacity" in (exc.details() or ""), exc.details()
                    return exc.code()
                return grpc.StatusCode.OK

            return await asyncio.gather(*(call(k) for k in ["detect"] * 4 + ["enhance"] * 4))

    try:
        codes = asyncio.run(burst())
    finally:
        running.stop()
    refused = codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED)
    assert 1 <= refused <= 7, codes
