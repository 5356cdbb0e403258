"""Overlapping tiles for super-resolution: bounded model memory on any photo size, and no seams.

A network sees zero padding at a tile's border, so pixels near a cut differ from what the
whole image would give. Tiles therefore overlap; in the output each pixel is a weighted
mean of the tiles covering it, where a tile's weight is zero in a thin margin along its
inner edges (where padding hurts most) and ramps linearly to one across the rest of the
overlap. Borders that are also the photo's border keep full weight.

All tiles of one photo have the same size (tiles at the far edge are shifted inward rather
than cut short), so Triton can batch them. The weights are separable and the tile grid is
a product of row and column positions, so normalising is a per-axis division, and output
rows are finalised one tile row at a time: the float accumulator never holds more than one
tile row of output.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["TileGrid", "TiledUpscale", "plan_grid", "upscale_tiled"]

Image = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float32]


@dataclass(frozen=True)
class TileGrid:
    """Where the tiles of one photo lie, in input pixels."""

    height: int
    width: int
    tile_h: int
    tile_w: int
    ys: tuple[int, ...]
    xs: tuple[int, ...]
    overlap: int

    @property
    def count(self) -> int:
        return len(self.ys) * len(self.xs)

    def origins(self) -> Iterator[tuple[int, int]]:
        """Top-left corners in row-major order, the order tiles are produced and consumed in."""
        for y in self.ys:
            for x in self.xs:
                yield y, x


def _starts(length: int, tile: int, overlap: int) -> tuple[int, ...]:
    """Evenly spread tile starts so consecutive tiles overlap by at least ``overlap``."""
    if length <= tile:
        return (0,)
    count = math.ceil((length - tile) / (tile - overlap)) + 1
    return tuple(round(i * (length - tile) / (count - 1)) for i in range(count))


def plan_grid(height: int, width: int, tile: int, overlap: int) -> TileGrid:
    """Tiles of ``tile`` x ``tile`` (or the photo's size where it is smaller) overlapping by ``overlap``."""
    if height <= 0 or width <= 0:
        raise ValueError(f"cannot tile an empty image ({width}x{height})")
    if not 0 <= overlap < tile:
        raise ValueError(f"overlap {overlap} must be in [0, tile={tile})")
    return TileGrid(
        height=height,
        width=width,
        tile_h=min(tile, height),
        tile_w=min(tile, width),
        ys=_starts(height, tile, overlap),
        xs=_starts(width, tile, overlap),
        overlap=overlap,
    )


def _axis_weights(starts: tuple[int, ...], tile: int, length: int, overlap: int, scale: int) -> list[Floats]:
    """Per-tile blending weights along one axis, at output resolution, normalised to sum to 1."""
    margin = overlap // 4
    ramp = (overlap - 2 * margin) * scale
    pos = np.arange(tile * scale, dtype=np.float32) + 0.5
    weights = []
    for start in starts:
        w = np.ones(tile * scale, dtype=np.float32)
        if ramp > 0:
            if start > 0:
                w = np.minimum(w, np.clip((pos - margin * scale) / ramp, 0.0, 1.0))
            if start + tile < length:
                w = np.minimum(w, np.clip((tile * scale - pos - margin * scale) / ramp, 0.0, 1.0))
        weights.append(np.maximum(w, np.float32(1e-6)))
    total = np.zeros(length * scale, dtype=np.float32)
    for start, w in zip(starts, weights, strict=True):
        total[start * scale : (start + tile) * scale] += w
    return [w / total[s * scale : (s + tile) * scale] for s, w in zip(starts, weights, strict=True)]


class TiledUpscale:
    """One photo being upscaled tile by tile.

    Call ``batches`` for the input tiles and feed every model output back through ``add``,
    in the same order; ``result`` returns the stitched photo once every tile is in.
    """

    def __init__(self, image: Image, scale: int, tile: int, overlap: int) -> None:
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected a uint8 [h, w, 3] image, got {image.dtype} {image.shape}")
        self.image = image
        self.scale = scale
        self.grid = plan_grid(image.shape[0], image.shape[1], tile, overlap)
        g = self.grid
        self._wy = _axis_weights(g.ys, g.tile_h, g.height, overlap, scale)
        self._wx = _axis_weights(g.xs, g.tile_w, g.width, overlap, scale)
        self._out = np.empty((g.height * scale, g.width * scale, 3), dtype=np.uint8)
        self._pending = np.zeros((g.tile_h * scale, g.width * scale, 3), dtype=np.float32)
        self._pending_top = 0  # output row that _pending[0] stands for
        self._done = 0

    def batches(self, size: int) -> Iterator[Image]:
        """Input tiles stacked ``[n, tile_h, tile_w, 3]``, at most ``size`` at a time, row-major."""
        g = self.grid
        origins = list(g.origins())
        for first in range(0, len(origins), max(1, size)):
            chunk = origins[first : first + max(1, size)]
            yield np.stack([self.image[y : y + g.tile_h, x : x + g.tile_w] for y, x in chunk])

    def add(self, outputs: Image) -> None:
        """Blend the model's outputs for the next ``len(outputs)`` tiles into the photo."""
        g, s = self.grid, self.scale
        expected = (g.tile_h * s, g.tile_w * s, 3)
        if outputs.ndim != 4 or outputs.shape[1:] != expected:
            raise ValueError(f"model output {outputs.shape} does not match tiles of {expected}")
        if self._done + len(outputs) > g.count:
            raise ValueError(f"{self._done + len(outputs)} tile outputs for a grid of {g.count}")
        for tile in outputs:
            row, col = divmod(self._done, len(g.xs))
            y0 = g.ys[row] * s - self._pending_top
            x0 = g.xs[col] * s
            weight = self._wy[row][:, None, None] * self._wx[col][None, :, None]
            self._pending[y0 : y0 + g.tile_h * s, x0 : x0 + g.tile_w * s] += weight * tile
            self._done += 1
            if col == len(g.xs) - 1:
                self._finish_row(row)

    def _finish_row(self, row: int) -> None:
        """Write out the rows no later tile touches, and slide the accumulator down to the rest."""
        g, s = self.grid, self.scale
        last = row == len(g.ys) - 1
        final_until = g.height * s if last else g.ys[row + 1] * s
        n = final_until - self._pending_top
        self._out[self._pending_top : final_until] = np.clip(np.rint(self._pending[:n]), 0, 255).astype(
            np.uint8
        )
        if not last:
            keep = self._pending.shape[0] - n
            self._pending[:keep] = self._pending[n:]
            self._pending[keep:] = 0.0
            self._pending_top = final_until

    def result(self) -> Image:
        if self._done != self.grid.count:
            raise ValueError(f"only {self._done} of {self.grid.count} tiles have been added")
        return self._out


def upscale_tiled(
    image: Image,
    run: Callable[[Image], Image],
    scale: int,
    tile: int,
    overlap: int,
    batch_size: int,
) -> Image:
    """Synchronous driver: ``run`` maps a tile batch ``[n, h, w, 3]`` to ``[n, scale*h, scale*w, 3]``."""
    job = TiledUpscale(image, scale, tile, overlap)
    for batch in job.batches(batch_size):
        job.add(run(batch))
    return job.result()
