"""Find every face in a whole photo with a detector that only sees 128x128 tiles.

BlazeFace (short range) finds faces that fill roughly a fifth to all of its 128 px input.
A photo is therefore searched as a pyramid: level 0 is the whole photo shrunk into one tile
(large faces), and each further level doubles the resolution and is cut into overlapping
tiles, down to the level where the smallest face we promise to find (``min_face_fraction``
of the long side, 2% by default: 40 px in a 2000 px photo) is about ``target_face_px`` wide.
Overlap is at least the largest face a level is responsible for, so every face lies whole
inside some tile of some level; cut-off detections at inner tile edges are dropped and the
rest are merged across tiles and levels by box NMS. Flat tiles (plain backgrounds, borders)
cannot hold a face and are not sent; the rest go to Triton in a few concurrent calls.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from .backend import InferenceBackend

__all__ = [
    "DetectionConfig",
    "FaceDetection",
    "Tile",
    "detect_faces",
    "detect_in_tiles",
    "merge_detections",
    "plan_tiles",
    "same_face",
]

MODEL = "face_detector"
TILE = 128
_ROW = 17  # score, ymin, xmin, ymax, xmax, 6 key points (x, y)


@dataclass(frozen=True)
class DetectionConfig:
    """How hard to look. The defaults find 40 px faces in a 2000 x 1500 photo with about 300 tiles."""

    min_score: float = 0.5
    min_face_fraction: float = 0.02
    target_face_px: float = 26.0
    overlap: int = 56
    max_upscale: float = 1.0
    nms_iou: float = 0.3
    nms_containment: float = 0.7
    max_tiles: int = 512
    tiles_per_call: int = 64
    max_faces: int = 64
    # Tiles flatter than this (standard deviation of 0-255 pixel values) are not sent: a face
    # the detector could see has far more contrast (eyes, brows, mouth against skin).
    min_tile_std: float = 4.0


@dataclass(frozen=True)
class Tile:
    """One 128 px window: level scale (level px per photo px) and its top-left corner in level px."""

    scale: float
    x0: int
    y0: int
    level_width: int
    level_height: int


@dataclass(frozen=True)
class FaceDetection:
    """One face in photo pixels: box (x_min, y_min, x_max, y_max) and BlazeFace's six key points.

    Key point order: right eye, left eye (the subject's), nose tip, mouth centre, right ear
    tragion, left ear tragion.
    """

    score: float
    box: tuple[float, float, float, float]
    keypoints: NDArray[np.float32]  # [6, 2] x, y

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.box
        return max(x1 - x0, 0.0) * max(y1 - y0, 0.0)


def _level_scales(height: int, width: int, config: DetectionConfig) -> list[float]:
    """Finest level first, halving down to the whole-photo tile (always included)."""
    long_side = max(height, width)
    whole = TILE / long_side
    finest = min(config.target_face_px / (config.min_face_fraction * long_side), config.max_upscale)
    scales = [whole]
    level = finest
    while level > whole * 1.15:
        scales.append(level)
        level /= 2.0
    return sorted(scales)


def _starts(length: int, stride: int) -> list[int]:
    if length <= TILE:
        return [0]
    count = math.ceil((length - TILE) / stride) + 1
    return sorted({round(i * (length - TILE) / (count - 1)) for i in range(count)})


def plan_tiles(height: int, width: int, config: DetectionConfig | None = None) -> list[Tile]:
    """Every tile of every pyramid level for a ``height`` x ``width`` photo, coarsest first."""
    config = config or DetectionConfig()
    stride = TILE - config.overlap
    tiles: list[Tile] = []
    for scale in _level_scales(height, width, config):
        lw, lh = max(1, round(width * scale)), max(1, round(height * scale))
        for y0 in _starts(lh, stride):
            for x0 in _starts(lw, stride):
                tiles.append(Tile(scale, x0, y0, lw, lh))
    if len(tiles) > config.max_tiles:
        # Give up the smallest faces rather than the time: search a coarser finest level.
        finest = max(t.scale for t in tiles)
        reduced = DetectionConfig(**{**config.__dict__, "max_upscale": finest / 1.25})
        return plan_tiles(height, width, reduced)
    return tiles


def cut_tiles(image: NDArray[np.uint8], tiles: list[Tile]) -> NDArray[np.uint8]:
    """The [T, 128, 128, 3] batch for ``tiles``; areas past the photo's edge are black."""
    batch = np.zeros((len(tiles), TILE, TILE, 3), np.uint8)
    levels: dict[float, NDArray[np.uint8]] = {}
    for i, tile in enumerate(tiles):
        level = levels.get(tile.scale)
        if level is None:
            interpolation = cv2.INTER_AREA if tile.scale < 1.0 else cv2.INTER_LINEAR
            level = np.asarray(
                cv2.resize(image, (tile.level_width, tile.level_height), interpolation=interpolation),
                dtype=np.uint8,
            )
            levels[tile.scale] = level
        window = level[tile.y0 : tile.y0 + TILE, tile.x0 : tile.x0 + TILE]
        batch[i, : window.shape[0], : window.shape[1]] = window
    return batch


def _from_tiles(rows: NDArray[np.float32], tiles: list[Tile], min_score: float) -> list[FaceDetection]:
    """Tile-normalised rows -> photo-pixel detections, without faces cut by an inner tile edge."""
    found: list[FaceDetection] = []
    margin = 0.02
    for t, r in np.argwhere(rows[..., 0] >= min_score):
        tile, row = tiles[int(t)], rows[t, r]
        ymin, xmin, ymax, xmax = (float(v) for v in row[1:5])
        cut_left = xmin < -margin and tile.x0 > 0
        cut_top = ymin < -margin and tile.y0 > 0
        cut_right = xmax > 1 + margin and tile.x0 + TILE < tile.level_width
        cut_bottom = ymax > 1 + margin and tile.y0 + TILE < tile.level_height
        if cut_left or cut_top or cut_right or cut_bottom:
            continue
        to_photo = TILE / tile.scale
        ox, oy = tile.x0 / tile.scale, tile.y0 / tile.scale
        box = (ox + xmin * to_photo, oy + ymin * to_photo, ox + xmax * to_photo, oy + ymax * to_photo)
        points = row[5:].reshape(6, 2) * to_photo + np.array([ox, oy], np.float32)
        found.append(FaceDetection(float(row[0]), box, points.astype(np.float32)))
    return found


def merge_detections(detections: list[FaceDetection], config: DetectionConfig) -> list[FaceDetection]:
    """Box NMS across tiles and levels (best score wins), then largest face first.

    Besides IoU, a box mostly inside a better one is dropped: the same face seen at a fine
    level often yields a tighter box than at a coarse one, whose IoU alone can be low.
    """
    ordered = sorted(detections, key=lambda d: d.score, reverse=True)
    kept: list[FaceDetection] = []
    for candidate in ordered:
        if all(not same_face(candidate, k, config) for k in kept):
            kept.append(candidate)
        if len(kept) >= config.max_faces:
            break
    kept.sort(key=lambda d: d.area, reverse=True)
    return kept


def same_face(a: FaceDetection, b: FaceDetection, config: DetectionConfig) -> bool:
    """Whether two boxes are one face: their IoU, or the share of the smaller inside the other, is high."""
    ix = min(a.box[2], b.box[2]) - max(a.box[0], b.box[0])
    iy = min(a.box[3], b.box[3]) - max(a.box[1], b.box[1])
    if ix <= 0 or iy <= 0:
        return False
    inter = ix * iy
    union = a.area + b.area - inter
    smaller = min(a.area, b.area)
    return inter / max(union, 1e-9) > config.nms_iou or inter / max(smaller, 1e-9) > config.nms_containment


async def detect_faces(
    image: NDArray[np.uint8],
    backend: InferenceBackend,
    config: DetectionConfig | None = None,
    timeout_s: float | None = None,
) -> list[FaceDetection]:
    """All faces in an RGB ``HxWx3`` photo, largest first, in photo pixels."""
    config = config or DetectionConfig()
    height, width = image.shape[:2]
    tiles = plan_tiles(height, width, config)
    return merge_detections(await detect_in_tiles(image, tiles, backend, config, timeout_s), config)


def _textured_tiles(
    image: NDArray[np.uint8], tiles: list[Tile], min_std: float
) -> tuple[NDArray[np.uint8], list[Tile]]:
    """The batch and tiles left once flat tiles (plain background, borders) are dropped."""
    if not tiles:
        return np.zeros((0, TILE, TILE, 3), np.uint8), []
    batch = cut_tiles(image, tiles)
    # Every fourth pixel is plenty to tell a flat tile, and integer sums keep the check cheap.
    sample = np.ascontiguousarray(batch[:, ::4, ::4]).reshape(len(tiles), -1, 3).astype(np.int32)
    count = sample.shape[1]
    mean = sample.sum(axis=1, dtype=np.int64) / count
    squares = np.einsum("tpc,tpc->tc", sample, sample, dtype=np.int64) / count
    std = np.sqrt(np.maximum(squares - mean * mean, 0.0)).max(axis=1)
    keep = np.flatnonzero(std >= min_std)
    if len(keep) == len(tiles):
        return batch, tiles
    return batch[keep], [tiles[int(i)] for i in keep]


async def detect_in_tiles(
    image: NDArray[np.uint8],
    tiles: list[Tile],
    backend: InferenceBackend,
    config: DetectionConfig,
    timeout_s: float | None = None,
) -> list[FaceDetection]:
    """Every detection in ``tiles`` above the score threshold, in photo pixels, not yet merged."""
    batch, tiles = await asyncio.to_thread(_textured_tiles, image, tiles, config.min_tile_std)
    if not tiles:
        return []
    # Several moderate calls at once rather than one huge one: Triton's dynamic batcher packs
    # them as its batch limit allows, and no single execution holds every tile in memory.
    step = config.tiles_per_call
    calls = [
        backend.infer(MODEL, {"IMAGE": batch[i : i + step]}, ["DETECTIONS"], timeout_s=timeout_s)
        for i in range(0, len(tiles), step)
    ]
    results = await asyncio.gather(*calls)
    rows = np.concatenate([np.asarray(r["DETECTIONS"], dtype=np.float32) for r in results])
    rows = rows.reshape(len(tiles), -1, _ROW)
    return _from_tiles(rows, tiles, config.min_score)
