"""Upscale a photo with one of the Triton upscalers, tile by tile.

Both models are x4. Scale 2 is x4 followed by an area downscale: the network's detail
survives and the result is sharper than running anything at 2x directly.

Tile sizes trade model memory against wasted overlap: the heavy RRDBNet keeps tiles small
(its activations at 4x are ~0.3 GB per 128 px tile in fp32), the compact net can take larger
ones. One Triton call carries a batch of equal-sized tiles, and the next batch is already in
flight while the previous one is blended in, so Triton is never idle waiting on numpy.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from ..errors import BackendError, DeadlineExceeded
from ..inference import TritonClient
from .tiling import TiledUpscale

__all__ = ["MODEL_SCALE", "TileSettings", "Upscaler", "upscale"]

MODEL_SCALE = 4
_INPUT, _OUTPUT = "IMAGE", "IMAGE_X4"


@dataclass(frozen=True)
class TileSettings:
    tile: int
    overlap: int
    batch: int


class Upscaler(enum.Enum):
    """The served models, by Triton name, with the tiling that suits each."""

    QUALITY = "upscaler_quality"
    FAST = "upscaler_fast"

    @property
    def tiles(self) -> TileSettings:
        return _TILES[self]


_TILES = {
    Upscaler.QUALITY: TileSettings(tile=128, overlap=16, batch=2),
    Upscaler.FAST: TileSettings(tile=256, overlap=16, batch=4),
}


async def upscale(
    client: TritonClient,
    image: NDArray[np.uint8],
    model: Upscaler,
    scale: int,
    time_left: Callable[[], float | None] = lambda: None,
    tiles: TileSettings | None = None,
) -> NDArray[np.uint8]:
    """Return ``image`` (RGB uint8 ``[h, w, 3]``) upscaled by ``scale`` (2 or 4).

    ``time_left`` gives the seconds left of the caller's deadline (None: no deadline), so
    every Triton call is bounded by what the caller still waits for.
    """
    if scale not in (2, MODEL_SCALE):
        raise ValueError(f"scale must be 2 or {MODEL_SCALE}, not {scale}")
    settings = tiles or model.tiles
    job = TiledUpscale(image, MODEL_SCALE, settings.tile, settings.overlap)

    async def call(batch: NDArray[np.uint8]) -> NDArray[np.uint8]:
        remaining = time_left()
        if remaining is not None and remaining <= 0:
            raise DeadlineExceeded(f"the deadline passed while upscaling with {model.value}")
        result = await client.infer(model.value, {_INPUT: batch}, [_OUTPUT], timeout_s=remaining)
        out = result[_OUTPUT]
        expected = (len(batch), batch.shape[1] * MODEL_SCALE, batch.shape[2] * MODEL_SCALE, 3)
        if out.shape != expected or out.dtype != np.uint8:
            raise BackendError(f"{model.value} returned {out.dtype} {out.shape}, expected uint8 {expected}")
        return out.astype(np.uint8, copy=False)

    batches = job.batches(settings.batch)
    pending = asyncio.ensure_future(call(next(batches)))
    try:
        for batch in batches:
            following = asyncio.ensure_future(call(batch))
            try:
                done = await pending
            except BaseException:
                following.cancel()
                raise
            pending = following
            await asyncio.to_thread(job.add, done)
        await asyncio.to_thread(job.add, await pending)
    finally:
        pending.cancel()
    upscaled = job.result()
    if scale == MODEL_SCALE:
        return upscaled
    height, width = image.shape[:2]
    resized = cv2.resize(upscaled, (width * scale, height * scale), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(resized, dtype=np.uint8)
