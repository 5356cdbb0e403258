"""Tiled upscaling equals untiled upscaling where it can, and leaves no seams where it cannot."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest
import torch

from nostalgia.enhance.tiling import TiledUpscale, plan_grid, upscale_tiled
from nostalgia_models.registry import builder

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.*deprecated:DeprecationWarning")

Array = npt.NDArray[Any]


def _nearest_x4(batch: Array) -> Array:
    """A pointwise "model": every tile pixel maps to a 4x4 block, independent of the tile border."""
    return np.repeat(np.repeat(batch, 4, axis=1), 4, axis=2)


@pytest.mark.parametrize(
    ("height", "width", "tile", "overlap"),
    [(100, 100, 48, 16), (37, 130, 32, 8), (64, 64, 64, 16), (20, 30, 64, 16), (257, 95, 40, 0)],
)
def test_grid_covers_with_equal_tiles_and_enough_overlap(
    height: int, width: int, tile: int, overlap: int
) -> None:
    grid = plan_grid(height, width, tile, overlap)
    assert (grid.tile_h, grid.tile_w) == (min(tile, height), min(tile, width))
    for starts, size, length in ((grid.ys, grid.tile_h, height), (grid.xs, grid.tile_w, width)):
        assert starts[0] == 0
        assert starts[-1] + size == length
        for a, b in itertools.pairwise(starts):
            assert a + size - b >= overlap, "neighbours overlap less than asked"
            assert b > a


@pytest.mark.parametrize(("tile", "overlap", "batch"), [(48, 16, 4), (32, 8, 1), (40, 0, 3), (256, 16, 8)])
def test_pointwise_model_is_reconstructed_exactly(tile: int, overlap: int, batch: int) -> None:
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, size=(101, 77, 3), dtype=np.uint8)
    seen: list[tuple[int, ...]] = []

    def run(tiles: Array) -> Array:
        seen.append(tiles.shape)
        assert len(tiles) <= batch
        return _nearest_x4(tiles)

    out = upscale_tiled(image, run, scale=4, tile=tile, overlap=overlap, batch_size=batch)
    np.testing.assert_array_equal(out, _nearest_x4(image[None])[0])
    assert len({s[1:] for s in seen}) == 1, "every tile must have the same size so Triton can batch them"


def test_wrong_output_shapes_and_missing_tiles_are_errors() -> None:
    image = np.zeros((50, 50, 3), np.uint8)
    job = TiledUpscale(image, scale=4, tile=32, overlap=8)
    batches = list(job.batches(2))
    with pytest.raises(ValueError, match="does not match"):
        job.add(np.zeros((2, 64, 64, 3), np.uint8))
    job.add(_nearest_x4(batches[0]))
    with pytest.raises(ValueError, match="tiles have been added"):
        job.result()
    with pytest.raises(ValueError, match="overlap"):
        plan_grid(50, 50, 32, 32)
    with pytest.raises(ValueError, match="uint8"):
        TiledUpscale(np.zeros((8, 8), np.uint8), scale=4, tile=32, overlap=8)


@pytest.fixture(scope="module")
def fast_model(tmp_path_factory: pytest.TempPathFactory) -> torch.jit.ScriptModule:
    (path,) = builder("upscaler_fast")(tmp_path_factory.mktemp("model_repository"))
    return torch.jit.load(str(path)).eval()


def test_real_upscaler_tiled_matches_untiled_without_seams(
    fast_model: torch.jit.ScriptModule, portraits_dir: Path
) -> None:
    bgr = cv2.imread(str(portraits_dir / "bopbtl_old_h.png"), cv2.IMREAD_COLOR)
    assert bgr is not None
    crop = np.ascontiguousarray(cv2.cvtColor(bgr[120:216, 130:226], cv2.COLOR_BGR2RGB))
    torch.set_num_threads(2)

    def run(tiles: Array) -> Array:
        with torch.inference_mode():
            out: Array = fast_model(torch.from_numpy(tiles)).numpy()
        return out

    whole = run(crop[None])[0]
    tiled = upscale_tiled(crop, run, scale=4, tile=48, overlap=16, batch_size=4)
    cut = upscale_tiled(crop, run, scale=4, tile=48, overlap=0, batch_size=4)
    diff = np.abs(tiled.astype(np.int16) - whole)
    cut_diff = np.abs(cut.astype(np.int16) - whole)
    print(f"tiled vs whole: max {diff.max()}, mean {diff.mean():.4f}; hard cut: max {cut_diff.max()}")
    assert diff.max() <= 4
    assert diff.mean() < 0.1
    assert (diff == 0).mean() > 0.9
    # The same tiles butted together without overlap do show the seam: the overlap is what removes it.
    assert cut_diff.max() >= 4 * diff.max()
    seam = slice(4 * 48 - 8, 4 * 48 + 8)
    assert diff[:, seam].mean() < 0.2 < cut_diff[:, seam].mean()
