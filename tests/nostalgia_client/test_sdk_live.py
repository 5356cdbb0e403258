"""The SDK, sync and asyncio, against the real gateway and Triton on the shared test photos.

What the SDK writes is decoded with PyAV (frames and containers) and checked for count and size.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

import nostalgia_client as nc

PORTRAIT = "deoldify_Dolores1920s.jpg"  # 640x845 sepia studio portrait, one face
SMALL = "deoldify_abe.jpg"  # 220x276 grey
GROUP = "deoldify_40sCouple.jpg"  # two faces
NO_FACE = "deoldify_AnselAdamsYosemite.jpg"


@pytest.fixture(scope="module")
def client(gateway: Any) -> Iterator[nc.Client]:
    with nc.Client(gateway.address, timeout=300) as c:
        yield c


def decode_image(data: bytes) -> av.VideoFrame:
    with av.open(io.BytesIO(data)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == 1
    return frames[0]


def pixels(data: bytes) -> np.ndarray:
    return decode_image(data).to_ndarray(format="rgb24")


def decode_clip(path: Path, fps: float) -> list[tuple[int, int]]:
    """(width, height) of every frame shown at ``fps``.

    FFmpeg cannot decode animated WebP, so libwebp (Pillow) does. Its lossy animation encoder
    folds a frame that is within its quality's tolerance of the one before into that frame's
    duration, so a WebP frame counts once for each 1/fps it is shown.
    """
    if path.suffix == ".webp":
        shown = []
        with Image.open(path) as image:
            assert image.is_animated
            for index in range(image.n_frames):
                image.seek(index)
                image.load()
                duration = image.info["duration"]
                slots = duration * fps / 1000
                assert slots == pytest.approx(round(slots)), f"frame {index} lasts {duration} ms"
                shown.extend([image.size] * round(slots))
        return shown
    with av.open(str(path)) as container:
        return [(f.width, f.height) for f in container.decode(video=0)]


def test_animate_streams_metadata_frames_and_summary(client: nc.Client, portraits_dir: Path) -> None:
    with client.animate(
        portraits_dir / PORTRAIT, duration_s=1.0, fps=10, output_size=256, seed=11
    ) as animation:
        info = animation.info
        frames = list(animation.frames())
    assert info.format is nc.OutputFormat.JPEG and info.mime_type == "image/jpeg"
    assert info.frame_count == 10 and info.fps == 10 and info.seed == 11
    assert max(info.width, info.height) == 256 and info.height > info.width  # portrait photo
    assert [f.index for f in frames] == list(range(10))
    assert frames[4].timestamp_s == pytest.approx(0.4)
    for frame in frames:
        image = decode_image(frame.data)
        assert (image.width, image.height) == (info.width, info.height)
    summary = animation.summary
    assert summary is not None and summary.frames == 10
    assert summary.bytes == sum(len(f.data) for f in frames)
    assert 0 < summary.time_to_first_frame_s <= summary.total_s
    assert {"decode", "encode"} <= {t.stage for t in summary.timings}


def test_animate_to_a_frames_directory(client: nc.Client, portraits_dir: Path, tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    result = client.animate_to_file(
        portraits_dir / SMALL,
        tmp_path / "frames",
        duration_s=0.6,
        fps=10,
        output_size=128,
        on_progress=lambda done, total: seen.append((done, total)),
    )
    written = sorted((tmp_path / "frames").iterdir())
    assert [p.name for p in written] == [f"frame_{i:05d}.jpg" for i in range(6)]
    assert list(result.paths) == written and result.summary.frames == 6
    assert seen == [(i, 6) for i in range(7)]
    sizes = {(decode_image(p.read_bytes()).width, decode_image(p.read_bytes()).height) for p in written}
    assert sizes == {(result.info.width, result.info.height)} and max(sizes.pop()) == 128


def test_animate_to_a_png_pattern(client: nc.Client, portraits_dir: Path, tmp_path: Path) -> None:
    result = client.animate_to_file(
        (portraits_dir / SMALL).read_bytes(), tmp_path / "shots" / "f%03d.png", duration_s=0.4, fps=5
    )
    assert sorted(p.name for p in (tmp_path / "shots").iterdir()) == ["f000.png", "f001.png"]
    first = decode_image(result.paths[0].read_bytes())
    assert (first.width, first.height) == (result.info.width, result.info.height)


@pytest.mark.parametrize("name", ["clip.mp4", "clip.webm", "clip.gif", "clip.webp"])
def test_animate_to_a_clip(client: nc.Client, portraits_dir: Path, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    # A fixed seed whose animated WebP folds a near-still frame into the one before (see decode_clip).
    result = client.animate_to_file(
        portraits_dir / PORTRAIT, path, duration_s=1.0, fps=10, output_size=192, seed=8357274461791039602
    )
    assert result.paths == (path,) and not path.with_name(name + ".part").exists()
    frames = decode_clip(path, fps=10)
    assert len(frames) == result.info.frame_count == 10
    assert set(frames) == {(result.info.width, result.info.height)}


def test_same_seed_same_clip_sync_and_async(client: nc.Client, gateway: Any, portraits_dir: Path) -> None:
    photo = (portraits_dir / SMALL).read_bytes()
    options: nc.AnimateOptions = {"duration_s": 0.5, "fps": 8, "output_size": 160, "seed": 1234}
    sync_frames = [f.data for f in client.animate(photo, **options).collect().frames]

    async def run() -> tuple[list[bytes], list[bytes]]:
        async with nc.AsyncClient(gateway.address, timeout=300) as aclient:
            first, second = await asyncio.gather(
                aclient.animate(photo, **options), aclient.animate(photo, **options)
            )
            one = await first.collect()
            received = [item async for item in second]
            assert second.summary is not None and second.summary.frames == len(received)
            return [f.data for f in one.frames], [f.data for f in received if isinstance(f, nc.Frame)]

    async_one, async_two = asyncio.run(run())
    assert len(sync_frames) == len(async_one) == len(async_two) == 4
    # Concurrent calls may share a Triton batch, which changes float rounding in the last bits,
    # so compare pixels rather than bytes: the same seed must give the same motion.
    reference = [pixels(f) for f in sync_frames]
    for clip in (async_one, async_two):
        for index, (a, b) in enumerate(zip(reference, (pixels(f) for f in clip), strict=True)):
            difference = float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())
            assert difference < 1.0, f"frame {index} differs by {difference:.2f} grey levels on average"


def test_async_animate_to_file(gateway: Any, portraits_dir: Path, tmp_path: Path) -> None:
    async def run() -> nc.AnimationResult:
        async with nc.AsyncClient(gateway.address, timeout=300) as aclient:
            return await aclient.animate_to_file(
                portraits_dir / SMALL, tmp_path / "out/", duration_s=0.4, fps=5
            )

    result = asyncio.run(run())
    assert len(result.paths) == 2 and all(p.parent == tmp_path / "out" for p in result.paths)
    assert decode_image(result.paths[1].read_bytes()).height == result.info.height


def test_bad_requests_are_invalid_input(client: nc.Client, portraits_dir: Path) -> None:
    with pytest.raises(nc.InvalidInput, match="fps"):
        client.animate(portraits_dir / SMALL, fps=500)
    with pytest.raises(nc.InvalidInput) as caught:
        client.animate(b"this is not an image at all")
    assert caught.value.code is not None  # decided by the server, not before sending


def test_no_face(client: nc.Client, portraits_dir: Path) -> None:
    with pytest.raises(nc.NoFace):
        client.animate(portraits_dir / NO_FACE, duration_s=0.4)


def test_detect_faces_largest_first(client: nc.Client, portraits_dir: Path) -> None:
    detection = client.detect_faces(portraits_dir / GROUP, landmarks=True)
    assert (detection.width, detection.height) == (640, 773)
    assert len(detection.faces) >= 2
    areas = [f.box.width * f.box.height for f in detection.faces]
    assert areas == sorted(areas, reverse=True)
    for face in detection.faces:
        assert 0 <= face.box.x_min < face.box.x_max <= detection.width
        assert 0 <= face.box.y_min < face.box.y_max <= detection.height
        assert len(face.keypoints) == 5 and len(face.landmarks) == 468
        right_eye, left_eye = face.keypoints[0], face.keypoints[1]
        assert right_eye.x < left_eye.x  # the subject's right eye is on the image's left
    assert client.detect_faces(portraits_dir / NO_FACE).faces == ()
    without_mesh = client.detect_faces(portraits_dir / GROUP)
    assert [f.box for f in without_mesh.faces] == [f.box for f in detection.faces]
    assert all(f.landmarks == () for f in without_mesh.faces)


def test_list_drivers(client: nc.Client) -> None:
    drivers = client.list_drivers()
    names = [d.name for d in drivers]
    assert "nostalgia" in names and len(set(names)) == len(names)
    assert all(d.description and d.default_duration_s > 0 for d in drivers)


def test_enhance_to_file(client: nc.Client, portraits_dir: Path, tmp_path: Path) -> None:
    image = client.enhance_to_file(portraits_dir / SMALL, tmp_path / "big.png", scale=2, model="fast")
    assert (image.width, image.height, image.mime_type) == (440, 552, "image/png")
    decoded = decode_image((tmp_path / "big.png").read_bytes())
    assert (decoded.width, decoded.height) == (440, 552)
