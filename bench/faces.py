"""Face pipeline cost per stage on this machine: tiling, detector, landmarks, for 1000 and 2000 px photos.

Beside the full search (every face, as DetectFaces answers) the largest-face search that
Animate and Enhance use is timed on the same photos and on a few portraits at their own size,
with the detector tiles each search sent.

The gateway's own pipeline code (``nostalgia.faces``) runs against the TorchScript models
in-process, so the figures are the compute a Triton instance does plus the gateway's numpy
work, without transport. Each photo is a real portrait resized so its long side is the size
given; the best of ``--repeat`` runs is printed.

    python -m bench faces [--sizes 1000,2000] [--portraits a.jpg,b.png] [--threads N] [--repeat N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from bench._portraits import portraits_dir
from nostalgia.faces import FaceConfig, find_faces, find_largest_face, plan_tiles
from nostalgia.timing import StageTimer

__all__ = ["main"]

PORTRAIT = "liveportrait_source_s10.jpg"
PORTRAITS = "deoldify_Dolores1920s.jpg,sadtalker_art_20.png,tpsmm_source.png,liveportrait_source_s9.jpg"
REPO = Path(__file__).resolve().parents[1]


class _TorchScriptBackend:
    """Answers ``infer`` with the built TorchScript files, timing each model's compute."""

    def __init__(self) -> None:
        import torch

        self._torch = torch
        self.models: dict[str, Any] = {}
        for name in ("face_detector", "face_landmarks"):
            path = REPO / "model_repository" / name / "1" / f"{name}.pt"
            if not path.exists():
                raise SystemExit(f"{path} is missing: run `make models`")
            self.models[name] = torch.jit.load(str(path)).eval()  # type: ignore[no-untyped-call]
        self.seconds: dict[str, float] = {}
        self.tiles = 0

    async def infer(
        self,
        model: str,
        inputs: Mapping[str, npt.NDArray[np.generic]],
        outputs: Sequence[str],
        timeout_s: float | None = None,
    ) -> dict[str, npt.NDArray[np.generic]]:
        start = time.perf_counter()
        if model == "face_detector":
            self.tiles += len(inputs["IMAGE"])
        with self._torch.inference_mode():
            result = self.models[model](self._torch.from_numpy(np.ascontiguousarray(inputs["IMAGE"])))
        self.seconds[model] = self.seconds.get(model, 0.0) + time.perf_counter() - start
        if model == "face_detector":
            return {"DETECTIONS": result.numpy()}
        return {"LANDMARKS": result[0].numpy(), "SCORE": result[1].numpy()}


def _photo(long_side: int | None, name: str = PORTRAIT) -> npt.NDArray[np.uint8]:
    with Image.open(portraits_dir() / name) as image:
        rgb = image.convert("RGB")
        if long_side is None:
            return np.ascontiguousarray(np.asarray(rgb))
        scale = long_side / max(rgb.size)
        size = (round(rgb.width * scale), round(rgb.height * scale))
        return np.ascontiguousarray(np.asarray(rgb.resize(size, Image.Resampling.LANCZOS)))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench faces")
    parser.add_argument("--sizes", default="1000,2000")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--portraits", default=PORTRAITS, help="comma-separated files, searched at their own size"
    )
    args, _ = parser.parse_known_args(argv)
    backend = _TorchScriptBackend()
    backend._torch.set_num_threads(args.threads)
    config = FaceConfig()
    for long_side in (int(s) for s in args.sizes.split(",")):
        photo = _photo(long_side)
        tiles = len(plan_tiles(photo.shape[0], photo.shape[1], config.detection))
        best: dict[str, float] = {}
        faces = 0
        for _ in range(args.repeat):
            backend.seconds = {}
            timer = StageTimer()
            found = asyncio.run(find_faces(photo, backend, config, timer=timer))
            faces = len(found)
            figures = {
                "detect stage": timer.stages["detect"],
                "detector network": backend.seconds.get("face_detector", 0.0),
                "landmarks stage": timer.stages["landmarks"],
                "landmark network": backend.seconds.get("face_landmarks", 0.0),
            }
            best = {k: min(v, best.get(k, v)) for k, v in figures.items()}
        shown = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in best.items())
        print(
            f"faces {photo.shape[1]}x{photo.shape[0]}: {tiles} tiles, {faces} face(s), "
            f"{args.threads} thread(s): {shown}",
            flush=True,
        )
        _compare(PORTRAIT, photo, backend, config, args.repeat)
    for name in args.portraits.split(","):
        if name:
            _compare(name, _photo(None, name), backend, config, args.repeat)
    return 0


def _compare(
    name: str, photo: npt.NDArray[np.uint8], backend: _TorchScriptBackend, config: FaceConfig, repeat: int
) -> None:
    """Best-of-``repeat`` time (after a warm-up) of the full and the largest-face search, and tiles sent."""
    figures: dict[str, tuple[float, int]] = {}
    for label, search in (("all faces", find_faces), ("largest face", find_largest_face)):
        # One untimed run first: TorchScript specialises on each new batch shape it sees.
        asyncio.run(search(photo, backend, config))
        best = float("inf")
        for _ in range(repeat):
            backend.tiles = 0
            start = time.perf_counter()
            asyncio.run(search(photo, backend, config))
            best = min(best, time.perf_counter() - start)
        figures[label] = (best, backend.tiles)
    shown = ", ".join(f"{k} {v * 1000:.0f} ms ({t} tiles)" for k, (v, t) in figures.items())
    ratio = figures["all faces"][0] / max(figures["largest face"][0], 1e-9)
    print(f"search {name} {photo.shape[1]}x{photo.shape[0]}: {shown}, {ratio:.0f}x faster", flush=True)
