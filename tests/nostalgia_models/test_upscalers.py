"""The converted upscalers compute what the original ncnn files compute, on crops of real photos.

Reference: the ``ncnn`` package running the very ``.param``/``.bin`` pair we convert, in
fp32 on the CPU, with its float output rounded the way our uint8 contract rounds. Crops are
small because the x4plus network costs ~18 M multiply-adds per input pixel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest
import torch

from nostalgia_models import realesrgan
from nostalgia_models.ncnn_reference import NcnnUpscaler
from nostalgia_models.ncnn_weights import NcnnFormatError, read_model
from nostalgia_models.registry import builder

# Building uses TorchScript, which this torch release flags as deprecated; serving still needs it.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.*deprecated:DeprecationWarning")

Array = npt.NDArray[Any]

STEMS = {"upscaler_quality": realesrgan.QUALITY_NCNN, "upscaler_fast": realesrgan.FAST_NCNN}

# (photo, top, left, size): a colour autochrome beard and eye, a grey 1920s face, painted skin.
CROPS = {
    "upscaler_quality": [("bopbtl_old_h.png", 150, 150, 32), ("deoldify_Dolores1920s.jpg", 260, 300, 32)],
    "upscaler_fast": [
        ("bopbtl_old_h.png", 150, 150, 64),
        ("deoldify_Dolores1920s.jpg", 260, 300, 64),
        ("liveportrait_source_s10.jpg", 500, 500, 64),
    ],
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, torch.jit.ScriptModule]:
    """Build both models with the registered builders into a fresh repository, then load them."""
    repository = tmp_path_factory.mktemp("model_repository")
    models = {}
    for name in STEMS:
        (path,) = builder(name)(repository)
        assert path == repository / name / "1" / f"{name}.pt"
        models[name] = torch.jit.load(str(path)).eval()
    return models


def _crop(portraits_dir: Path, name: str, top: int, left: int, size: int) -> Array:
    bgr = cv2.imread(str(portraits_dir / name), cv2.IMREAD_COLOR)
    assert bgr is not None, f"cannot read {name}"
    crop = cv2.cvtColor(bgr[top : top + size, left : left + size], cv2.COLOR_BGR2RGB)
    assert crop.shape == (size, size, 3)
    assert crop.std() > 10, f"{name} crop is too flat to test anything"
    return np.ascontiguousarray(crop)


@pytest.mark.parametrize(
    ("model", "photo", "top", "left", "size"),
    [(model, *crop) for model, crops in CROPS.items() for crop in crops],
)
def test_matches_ncnn_within_one_level(
    built: dict[str, torch.jit.ScriptModule],
    portraits_dir: Path,
    model: str,
    photo: str,
    top: int,
    left: int,
    size: int,
) -> None:
    crop = _crop(portraits_dir, photo, top, left, size)
    torch.set_num_threads(2)
    with torch.inference_mode():
        ours = built[model](torch.from_numpy(crop)[None]).numpy()[0]
    with NcnnUpscaler(STEMS[model], threads=2) as reference:
        ref_float = reference.run(crop)
    ref = np.rint(np.clip(ref_float, 0, 255)).astype(np.uint8)
    assert ours.shape == ref.shape == (4 * size, 4 * size, 3)
    assert ours.dtype == np.uint8
    diff = np.abs(ours.astype(np.int16) - ref.astype(np.int16))
    identical = float((diff == 0).mean())
    print(f"{model} {photo}: max |diff| {diff.max()} levels, identical {identical:.5f}")
    assert diff.max() <= 1, f"max difference {diff.max()} levels"
    assert identical >= 0.999, f"only {identical:.4f} of values identical"
    # The network really upscales: the result resembles a plain resize of the crop.
    resized = cv2.resize(crop, (4 * size, 4 * size), interpolation=cv2.INTER_CUBIC)
    assert np.abs(ours.astype(np.float32) - resized).mean() < 12


@pytest.mark.parametrize(("model", "size"), [("upscaler_fast", 48), ("upscaler_quality", 24)])
def test_float_output_matches_ncnn_to_a_hundredth_of_a_level(
    portraits_dir: Path, model: str, size: int
) -> None:
    """Before rounding, the rebuilt network and ncnn agree far below one level: same weights, same graph."""
    crop = _crop(portraits_dir, "bopbtl_old_h.png", 150, 150, size)
    net = realesrgan.load_fast() if model == "upscaler_fast" else realesrgan.load_quality()
    with torch.inference_mode():
        x = torch.from_numpy(crop).permute(2, 0, 1)[None].float() / 255.0
        ours = net(x)[0].permute(1, 2, 0).numpy() * 255.0
    with NcnnUpscaler(STEMS[model], threads=2) as reference:
        theirs = reference.run(crop)
    diff = np.abs(ours - theirs)
    print(f"{model} float: max |diff| {diff.max():.6f} levels, mean {diff.mean():.7f}")
    assert diff.max() < 0.01


def test_channel_order_is_rgb(built: dict[str, torch.jit.ScriptModule], portraits_dir: Path) -> None:
    """A red-dominant crop stays red-dominant: the served model takes and returns RGB, like ncnn's input."""
    crop = _crop(portraits_dir, "bopbtl_old_h.png", 150, 150, 32)
    with torch.inference_mode():
        out = built["upscaler_fast"](torch.from_numpy(crop)[None]).numpy()[0]
    in_means = crop.reshape(-1, 3).mean(0)
    out_means = out.reshape(-1, 3).mean(0)
    assert np.argmax(in_means) == np.argmax(out_means)
    assert np.allclose(in_means, out_means, atol=6), (in_means, out_means)


def test_batch_of_tiles_equals_tiles_one_by_one(built: dict[str, torch.jit.ScriptModule]) -> None:
    rng = np.random.default_rng(7)
    tiles = rng.integers(0, 256, size=(3, 24, 20, 3), dtype=np.uint8)
    model = built["upscaler_fast"]
    with torch.inference_mode():
        together = model(torch.from_numpy(tiles)).numpy()
        alone = np.concatenate([model(torch.from_numpy(t[None])).numpy() for t in tiles])
    assert together.shape == (3, 96, 80, 3)
    np.testing.assert_array_equal(together, alone)


def test_weight_files_are_read_exactly() -> None:
    quality = read_model(*realesrgan.ncnn_files(realesrgan.QUALITY_NCNN))
    fast = read_model(*realesrgan.ncnn_files(realesrgan.FAST_NCNN))
    assert len(quality.of_type("Convolution")) == 1 + 23 * 3 * 5 + 5
    assert len(fast.of_type("Convolution")) == 18
    assert len(fast.of_type("PReLU")) == 17
    first = quality.weights["Conv_0"]
    assert first["weight"].shape == (64, 3, 3, 3)
    assert first["weight"].dtype == np.float32
    assert np.isfinite(first["weight"]).all()


def test_truncated_or_padded_weights_are_rejected() -> None:
    param, weights = realesrgan.ncnn_files(realesrgan.FAST_NCNN)
    with pytest.raises(NcnnFormatError, match="needs bytes"):
        read_model(param, weights[:-8])
    with pytest.raises(NcnnFormatError, match="account for"):
        read_model(param, weights + b"\0" * 4)


def test_rebuild_refuses_a_graph_that_differs() -> None:
    param, weights = realesrgan.ncnn_files(realesrgan.FAST_NCNN)
    model = read_model(param.replace("0=4\n", "0=2\n", 1), weights)
    with pytest.raises(NcnnFormatError, match="PixelShuffle"):
        realesrgan.fast_from(model)
    # The x4plus weights in the compact net's file layout fail on the first convolution's shape.
    with pytest.raises(NcnnFormatError, match="convolutions"):
        realesrgan.quality_from(read_model(param, weights))
