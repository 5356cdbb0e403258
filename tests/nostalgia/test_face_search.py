"""What the face searches send to the detector: the largest-face search and flat tiles.

The coarse-to-fine largest-face search finds the face the full search lists first, with far
fewer tiles.
Both searches run on real Triton over every test photo, decoded as the gateway decodes uploads.
The two may keep the same face from different pyramid levels (the full search merges all levels
by score, the largest-face search stops at the first level that confirms a face), so the box and
mesh agree closely rather than to the bit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from nostalgia.faces import Face, find_faces, find_largest_face, find_largest_faces, plan_tiles
from nostalgia.imaging import decode_image
from nostalgia.inference import TritonClient
from nostalgia.triton import EmbeddedTriton


class _CountingTriton:
    """The real Triton client, counting the detector tiles each search sends."""

    def __init__(self, client: TritonClient) -> None:
        self.client = client
        self.tiles = 0

    async def infer(
        self,
        model: str,
        inputs: Mapping[str, npt.NDArray[np.generic]],
        outputs: Sequence[str],
        timeout_s: float | None = None,
    ) -> dict[str, npt.NDArray[np.generic]]:
        if model == "face_detector":
            self.tiles += len(inputs["IMAGE"])
        return await self.client.infer(model, inputs, outputs, timeout_s)


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return inter / max(area - inter, 1e-9)


async def _search_all(
    triton: EmbeddedTriton, photos: dict[str, npt.NDArray[np.uint8]]
) -> dict[str, tuple[list[Face], Face | None, int, int]]:
    client = TritonClient(triton.grpc_url)
    counting = _CountingTriton(client)
    found = {}
    try:
        for name, photo in photos.items():
            counting.tiles = 0
            every = await find_faces(photo, counting)
            full_tiles, counting.tiles = counting.tiles, 0
            largest = await find_largest_face(photo, counting)
            found[name] = (every, largest, full_tiles, counting.tiles)
    finally:
        await client.close()
    return found


def test_largest_face_search_agrees_with_the_full_search(
    triton: EmbeddedTriton, portraits_dir: Path, manifest: list[dict[str, str]]
) -> None:
    photos = {
        row["file"]: decode_image((portraits_dir / row["file"]).read_bytes())
        for row in manifest
        if row["kind"] != "video"
    }
    results = asyncio.run(_search_all(triton, photos))
    wrong: list[str] = []
    full_total = largest_total = 0
    for name, (every, largest, full_tiles, largest_tiles) in results.items():
        print(f"{name:36s} faces={len(every)} tiles: all {full_tiles:4d}, largest {largest_tiles:4d}")
        if not every:
            if largest is not None:
                wrong.append(f"{name}: the full search finds no face, the largest-face search does")
            continue
        full_total += full_tiles
        largest_total += largest_tiles
        if largest is None:
            wrong.append(f"{name}: the largest-face search finds nothing")
            continue
        expected = every[0]
        iou = _iou(largest.box, expected.box)
        iod = float(np.linalg.norm(expected.keypoints[1] - expected.keypoints[0]))
        eyes = float(np.linalg.norm(largest.keypoints[:2] - expected.keypoints[:2], axis=1).max())
        if iou < 0.6 or eyes > 0.1 * iod:
            wrong.append(f"{name}: box IoU {iou:.2f}, eyes {eyes / iod:.2f} IOD from the full search's first")
    assert not wrong, wrong
    print(f"tiles over the photos with faces: all {full_total}, largest {largest_total}")
    assert largest_total * 4 < full_total, "the coarse-to-fine search should send a fraction of the tiles"


async def _search_padded(
    triton: EmbeddedTriton, photo: npt.NDArray[np.uint8], padded: npt.NDArray[np.uint8]
) -> tuple[list[Face], list[Face], int]:
    client = TritonClient(triton.grpc_url)
    counting = _CountingTriton(client)
    try:
        plain = await find_faces(photo, counting)
        counting.tiles = 0
        return plain, await find_faces(padded, counting), counting.tiles
    finally:
        await client.close()


def test_flat_tiles_are_not_sent_and_the_face_is_still_found(
    triton: EmbeddedTriton, portraits_dir: Path
) -> None:
    """A portrait beside a plain grey panel: the panel's tiles are skipped, the face is unchanged."""
    photo = decode_image((portraits_dir / "sadtalker_art_20.png").read_bytes())
    height, width = photo.shape[:2]
    padded = np.full((height, width + 400, 3), 128, np.uint8)
    padded[:, :width] = photo
    plain, found, sent = asyncio.run(_search_padded(triton, photo, padded))
    planned = len(plan_tiles(height, width + 400))
    print(f"tiles planned {planned}, sent {sent}")
    assert sent < planned * 0.8
    assert len(plain) == len(found) == 1
    iod = float(np.linalg.norm(plain[0].keypoints[1] - plain[0].keypoints[0]))
    assert float(np.abs(found[0].keypoints - plain[0].keypoints).max()) < 0.05 * iod


async def _largest_with_neighbours(
    triton: EmbeddedTriton, photos: dict[str, npt.NDArray[np.uint8]]
) -> dict[str, tuple[Face | None, list[Face]]]:
    client = TritonClient(triton.grpc_url)
    try:
        return {
            name: (await find_largest_face(photo, client), await find_largest_faces(photo, client))
            for name, photo in photos.items()
        }
    finally:
        await client.close()


def test_the_largest_face_search_also_gives_the_faces_beside_it(
    triton: EmbeddedTriton, portraits_dir: Path
) -> None:
    # Two couples, two faces each, and a single portrait.
    names = ("deoldify_40sCouple.jpg", "bopbtl_old_w_scratch_d.png", "deoldify_Dolores1920s.jpg")
    photos = {name: decode_image((portraits_dir / name).read_bytes()) for name in names}
    results = asyncio.run(_largest_with_neighbours(triton, photos))
    for name, (largest, faces) in results.items():
        assert largest is not None and faces, name
        # The largest face comes first and is the very face the plain search returns.
        assert faces[0].box == largest.box and np.array_equal(faces[0].landmarks, largest.landmarks)
        assert len(faces) == (1 if name == "deoldify_Dolores1920s.jpg" else 2), name
