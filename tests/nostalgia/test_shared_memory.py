"""Rendered frames come back through system shared memory when Triton shares this host's /dev/shm.

Against the real embedded Triton: frames through a region equal frames over gRPC, nothing is
left in /dev/shm or registered in Triton after a request, a region a cancelled call still
writes into is released once Triton is done with it, and a Triton that cannot open our region
(or a full /dev/shm) means gRPC, not an error.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import grpc
import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image
from prometheus_client import REGISTRY

from nostalgia.config import Settings
from nostalgia.errors import DeadlineExceeded
from nostalgia.faces import find_largest_face
from nostalgia.inference import TritonClient, is_loopback
from nostalgia.inference import shared_memory as shm
from nostalgia.local import BackgroundGateway, start_gateway
from nostalgia.motion import preset_controls
from nostalgia.motion.framing import face_subject
from nostalgia.triton import EmbeddedTriton
from nostalgia.v1 import nostalgia_pb2 as pb
from nostalgia.v1 import nostalgia_pb2_grpc as pb_grpc

PHOTO = "deoldify_Dolores1920s.jpg"
Inputs = dict[str, NDArray[np.generic]]


def _ours_in_dev_shm() -> list[str]:
    return sorted(p.name for p in Path("/dev/shm").glob(f"{shm.REGION_PREFIX}*"))


async def _registered(client: TritonClient) -> list[str]:
    status = await client._client.get_system_shared_memory_status(as_json=True)
    regions = status.get("regions", {})
    names = regions.keys() if isinstance(regions, dict) else [r["name"] for r in regions]
    return [name for name in names if name.startswith(shm.REGION_PREFIX)]


@pytest.fixture(scope="module")
def motion_inputs(triton: EmbeddedTriton, portraits_dir: Path) -> Inputs:
    """A real aligned face (found by the gateway's own face pipeline) and a blink's controls."""
    with Image.open(portraits_dir / PHOTO) as image:
        photo = np.asarray(image.convert("RGB"))

    async def subject() -> tuple[NDArray[np.uint8], NDArray[np.float32]]:
        client = TritonClient(triton.grpc_url, shared_memory=False)
        try:
            face = await find_largest_face(photo, client)
        finally:
            await client.close()
        assert face is not None
        found = face_subject(photo, face.landmarks, 384)
        return found.image, found.landmarks

    image, landmarks = asyncio.run(subject())
    controls = preset_controls("blink", 1.0, 25.0, seed=3)
    return {"IMAGE": image[None], "LANDMARKS": landmarks[None], "CONTROLS": controls[None]}


def _frames_bytes(inputs: Inputs) -> int:
    return int(inputs["CONTROLS"].shape[1] * inputs["IMAGE"][0].nbytes)


def test_loopback_addresses_are_told_apart() -> None:
    assert is_loopback("127.0.0.1:8001")
    assert is_loopback("localhost:8001")
    assert is_loopback("[::1]:8001")
    assert not is_loopback("triton:8001")
    assert not is_loopback("10.1.2.3:8001")

    async def chosen(url: str, setting: bool | None) -> bool:
        client = TritonClient(url, shared_memory=setting)
        try:
            return client.uses_shared_memory
        finally:
            await client.close()

    assert asyncio.run(chosen("127.0.0.1:1", None))
    assert not asyncio.run(chosen("triton.svc:8001", None))
    assert asyncio.run(chosen("triton.svc:8001", True))
    assert not asyncio.run(chosen("127.0.0.1:1", False))


def test_the_setting_takes_auto_on_or_off() -> None:
    assert Settings.from_args(["--triton-shared-memory", "off"], env={}).triton_shared_memory == "off"
    with pytest.raises(ValueError, match="triton_shared_memory"):
        replace(Settings(), triton_shared_memory="sometimes").validate()


def test_frames_through_shared_memory_equal_frames_over_grpc(
    triton: EmbeddedTriton, motion_inputs: Inputs
) -> None:
    async def both() -> tuple[NDArray[np.generic], NDArray[np.generic], list[str], list[str]]:
        shared = TritonClient(triton.grpc_url, shared_memory=True)
        plain = TritonClient(triton.grpc_url, shared_memory=False)
        try:
            over_grpc = await plain.infer("motion", motion_inputs, ["FRAMES"], timeout_s=120)
            async with shared.output_region(_frames_bytes(motion_inputs)) as region:
                assert region is not None, "Triton on loopback should take a shared-memory region"
                during = _ours_in_dev_shm()
                first = await shared.infer("motion", motion_inputs, ["FRAMES"], 120, {"FRAMES": region})
                # The region is reused by the request's next call; what the first returned is a copy.
                again = await shared.infer("motion", motion_inputs, ["FRAMES"], 120, {"FRAMES": region})
                np.testing.assert_array_equal(first["FRAMES"], again["FRAMES"])
            await shared.close()
            return over_grpc["FRAMES"], first["FRAMES"], during, await _registered(plain)
        finally:
            await plain.close()

    over_grpc, through_shm, files_during, left_registered = asyncio.run(both())
    assert through_shm.shape == over_grpc.shape == (1, 25, 384, 384, 3)
    np.testing.assert_array_equal(through_shm, over_grpc)
    assert files_during == [], "the region's file must be unlinked once Triton has mapped it"
    assert _ours_in_dev_shm() == []
    assert left_registered == [], "a finished request must leave no region registered in Triton"


def test_a_region_a_cancelled_call_still_writes_into_is_released_after(
    triton: EmbeddedTriton, motion_inputs: Inputs
) -> None:
    long_clip = dict(motion_inputs, CONTROLS=np.repeat(motion_inputs["CONTROLS"], 4, axis=1))

    async def cancelled() -> tuple[list[str], float]:
        client = TritonClient(triton.grpc_url, shared_memory=True)
        observer = TritonClient(triton.grpc_url, shared_memory=False)
        try:
            async with client.output_region(_frames_bytes(long_clip)) as region:
                with pytest.raises(DeadlineExceeded):
                    await client.infer("motion", long_clip, ["FRAMES"], 0.05, {"FRAMES": region})
            # Triton is still rendering into it: it stays registered until that batch is done.
            right_after = await _registered(observer)
            start = time.perf_counter()
            for _ in range(600):
                if not await _registered(observer):
                    break
                await asyncio.sleep(0.1)
            return right_after, time.perf_counter() - start
        finally:
            await client.close()
            await observer.close()

    right_after, released_after = asyncio.run(cancelled())
    print(f"region still registered after the cancel: {right_after}; released {released_after:.2f}s later")
    assert released_after < 60, "the region was never unregistered"
    assert _ours_in_dev_shm() == []


def test_a_triton_that_cannot_open_the_region_means_grpc(
    triton: EmbeddedTriton, motion_inputs: Inputs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A region made in another directory is what a Triton with another /dev/shm sees: no such file.
    monkeypatch.setattr(shm, "_SHM_DIR", tmp_path)

    async def run() -> tuple[object, bool, NDArray[np.generic]]:
        client = TritonClient(triton.grpc_url, shared_memory=True)
        try:
            async with client.output_region(_frames_bytes(motion_inputs)) as region:
                result = await client.infer("motion", motion_inputs, ["FRAMES"], 120, {"FRAMES": region})
            return region, client.uses_shared_memory, result["FRAMES"]
        finally:
            await client.close()

    region, still_enabled, frames = asyncio.run(run())
    assert region is None
    assert not still_enabled, "after Triton could not open a region, later calls go straight to gRPC"
    assert frames.shape == (1, 25, 384, 384, 3)
    assert list(tmp_path.iterdir()) == []


def test_no_room_in_dev_shm_means_grpc_for_that_request(triton: EmbeddedTriton) -> None:
    async def run() -> tuple[object, bool]:
        client = TritonClient(triton.grpc_url, shared_memory=True)
        try:
            async with client.output_region(1 << 50) as region:
                return region, client.uses_shared_memory
        finally:
            await client.close()

    region, still_enabled = asyncio.run(run())
    assert region is None and still_enabled
    assert _ours_in_dev_shm() == []


@pytest.fixture(scope="module")
def grpc_only_gateway(gateway_settings: Settings) -> Iterator[BackgroundGateway]:
    running = start_gateway(replace(gateway_settings, triton_shared_memory="off"))
    try:
        yield running
    finally:
        running.stop()


def _png_frames(address: str, photo: bytes) -> list[NDArray[np.uint8]]:
    request = pb.AnimateRequest(
        image=photo, driver="blink", duration_s=1.2, output_size=256, seed=5, format=pb.OUTPUT_FORMAT_PNG
    )
    frames = []
    with grpc.insecure_channel(address) as channel:
        for response in pb_grpc.NostalgiaStub(channel).Animate(request, timeout=120):
            if response.HasField("frame"):
                with Image.open(io.BytesIO(response.frame.data)) as image:
                    frames.append(np.asarray(image.convert("RGB")))
    return frames


def test_animate_gives_the_same_frames_with_and_without_shared_memory(
    gateway: BackgroundGateway, grpc_only_gateway: BackgroundGateway, portraits_dir: Path
) -> None:
    photo = (portraits_dir / PHOTO).read_bytes()
    before = _motion_output_bytes()
    shared = _png_frames(gateway.address, photo)
    between = _motion_output_bytes()
    plain = _png_frames(grpc_only_gateway.address, photo)
    after = _motion_output_bytes()
    assert len(shared) == len(plain) == 30
    for a, b in zip(shared, plain, strict=True):
        np.testing.assert_array_equal(a, b)
    # What operators see: the frames' bytes counted by the way they came.
    clip_bytes = sum(frame.nbytes for frame in shared)
    assert between["shared_memory"] - before["shared_memory"] == clip_bytes
    assert between["grpc"] == before["grpc"]
    assert after["grpc"] - between["grpc"] == clip_bytes
    assert after["shared_memory"] == between["shared_memory"]


def _motion_output_bytes() -> dict[str, float]:
    """The gateway's ``nostalgia_triton_output_bytes_total`` for the motion model, by transport."""
    return {
        transport: REGISTRY.get_sample_value(
            "nostalgia_triton_output_bytes_total", {"model": "motion", "transport": transport}
        )
        or 0.0
        for transport in ("shared_memory", "grpc")
    }
