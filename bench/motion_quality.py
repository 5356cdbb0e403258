"""Quality of the motion model, scored by the independent dlib-based clip scorer.

Renders a clip per photo, preset and framing with the TorchScript model built from the current
converter code, writes the frames losslessly and scores them against the source with
``../shared/tools/clip_quality.py``. Prints one table row per clip, with the acceptance targets.
The subject is framed by the gateway's own code, as the service frames it; ``--enhance auto``
also upscales it where the gateway's default would (most old photos hold a face smaller than a
512 px frame), so the clips are the ones a caller gets with default settings.

    python -m bench motion_quality [--quick] [--photos a.jpg,b.png] [--presets nod,smile] [--save DIR]
                                   [--framings face,photo] [--by-preset] [--enhance off|auto] [--no-twin]

Reference columns tell a scorer's artefact from a real defect:

- ``jtwin`` and ``sharp@twin``: what the scorer reads on the clip's flat twin, the subject moved
  as a rigid card along the same head path (``flat_twin``: no warp, no expression, no blink). On
  bearded, grainy or painted faces dlib's points jump by more than the 0.02 jitter target under
  that motion alone, and its face box changes scale from frame to frame; a clip that scores like
  its twin adds nothing of its own to either.
- ``sharp@src``: sharpness measured in the source's face box in every frame. The scorer measures
  each frame in its own detected box, resized to 128 px; when dlib's box jumps to another scale
  of its pyramid the ratio drops although the frames are as sharp.

A miss that the twin shows too is marked ``[twin ...]`` after it.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench import _face_mesh as face_mesh
from bench._portraits import portraits_dir

__all__ = [
    "PHOTOS",
    "TARGETS",
    "Clip",
    "failures",
    "flat_twin",
    "main",
    "render",
    "score",
    "sharpness_in_source_box",
]

# Scoring every clip takes minutes on a small CPU: run it when asked, not with every benchmark.
RUN_BY_DEFAULT = False

PHOTOS = (
    "sadtalker_art_20.png",
    "deoldify_Dolores1920s.jpg",
    "tpsmm_source.png",
    "liveportrait_source_s3.jpg",
    "bopbtl_old_h.png",
)
PRESETS = ("nostalgia", "blink", "smile", "nod", "look-around", "tilt", "wink", "surprise", "lively")
FPS = 25.0
SIZE = 512
SEED = 7
UPSCALER = Path(__file__).resolve().parents[1] / "model_repository/upscaler_fast/1/upscaler_fast.pt"

Check = Callable[[dict[str, Any], str, str], bool | None]


def _blinks(preset: str) -> bool:
    from nostalgia.motion import driver_infos

    return any(d.name == preset and d.blinks for d in driver_infos())


# metric -> (applies to (preset, framing), passes(value))
TARGETS: dict[str, tuple[Callable[[str, str], bool], Callable[[float], bool], str]] = {
    "face_found": (lambda p, f: True, lambda v: v >= 1.0, ">=1.0"),
    "identity_median": (lambda p, f: True, lambda v: v <= 0.35, "<=0.35"),
    "blink_depth": (lambda p, f: _blinks(p), lambda v: v >= 0.35, ">=0.35"),
    "turn_range": (lambda p, f: p == "look-around", lambda v: v >= 0.25, ">=0.25"),
    "nod_range": (lambda p, f: p == "nod", lambda v: v >= 0.06, ">=0.06"),
    "smile_gain": (lambda p, f: p == "smile", lambda v: v >= 0.06, ">=0.06"),
    "jitter_iod": (lambda p, f: True, lambda v: v <= 0.02, "<=0.02"),
    "background_change": (lambda p, f: f == "photo", lambda v: v <= 2.0, "<=2.0"),
    "sharpness_ratio": (lambda p, f: True, lambda v: v >= 0.8, ">=0.8"),
}


@lru_cache(maxsize=1)
def _scorer() -> Any:
    """The shared scorer module (imported from its file: it is not a package)."""
    default = portraits_dir().parent / "tools" / "clip_quality.py"
    path = Path(os.environ.get("NOSTALGIA_CLIP_QUALITY", default))
    spec = importlib.util.spec_from_file_location("clip_quality", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"clip scorer not found at {path}")
    module = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():
        # face_recognition_models imports the deprecated pkg_resources.
        warnings.simplefilter("ignore")
        spec.loader.exec_module(module)
    return module


@lru_cache(maxsize=1)
def _model() -> Any:
    import torch

    from nostalgia_models.motion import LandmarkWarp

    return torch.jit.script(LandmarkWarp().eval())


@dataclass(frozen=True)
class Clip:
    """A rendered clip and the image it was rendered from (what the scorer compares against)."""

    source: np.ndarray
    frames: np.ndarray
    landmarks: np.ndarray


@lru_cache(maxsize=16)
def _subject(photo: str, framing: str, enhance: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The image and mesh the gateway hands the motion model for ``photo`` in ``framing``.

    The framing is the gateway's own (``nostalgia.motion.framing``), so the clips are framed as
    the service frames them; only the mesh comes from the reference landmarks. With ``enhance``
    the image is upscaled where the gateway's ``auto`` mode would upscale it (see ``_enhanced``).
    """
    from nostalgia.motion.framing import face_subject, photo_subject

    image = face_mesh.load_rgb(portraits_dir() / photo)
    mesh = face_mesh.landmarks(image)
    subject = (face_subject if framing == "face" else photo_subject)(image, mesh, SIZE)
    if enhance:
        return _enhanced(image, mesh, framing, subject.image), subject.landmarks
    return subject.image, subject.landmarks


class _LocalUpscaler:
    """The fast upscaler that Triton serves, run in-process with the same inputs and outputs."""

    def __init__(self) -> None:
        import torch

        self._model = torch.jit.load(str(UPSCALER)).eval()

    async def infer(
        self, model: str, inputs: dict[str, Any], outputs: list[str], timeout_s: Any = None
    ) -> dict[str, np.ndarray]:
        import torch

        with torch.inference_mode():
            return {"IMAGE_X4": self._model(torch.from_numpy(np.ascontiguousarray(inputs["IMAGE"]))).numpy()}


def _enhanced(photo: np.ndarray, mesh: np.ndarray, framing: str, framed: np.ndarray) -> np.ndarray:
    """``framed`` as the gateway's ``auto`` enhancement leaves it: upscaled when the photo's pixels
    are fewer than the frame's, by the gateway's own code around the served fast upscaler."""
    import asyncio

    from nostalgia.enhance.for_motion import (
        enhanced_face_crop,
        enhanced_photo,
        face_source_side,
        wants_enhancement,
    )
    from nostalgia.v1 import nostalgia_pb2 as pb

    height, width = framed.shape[:2]
    side = face_source_side(mesh, width) if framing == "face" else float(max(photo.shape[:2]))
    if not wants_enhancement(pb.ENHANCE_MODE_AUTO, side, max(height, width)):
        return framed
    backend: Any = _LocalUpscaler()
    if framing == "face":
        return asyncio.run(enhanced_face_crop(backend, photo, mesh, width, lambda: None))
    return asyncio.run(enhanced_photo(backend, photo, width, height, lambda: None))


def _inputs(
    photo: str, preset: str, framing: str, duration_s: float | None, enhance: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The motion model's image, landmarks and controls for one clip, as the gateway makes them."""
    from nostalgia.motion import driver_infos, preset_controls
    from nostalgia.motion.pose import turn_within_reach

    image, landmarks = _subject(photo, framing, enhance)
    default = next(d.default_duration_s for d in driver_infos() if d.name == preset)
    controls = turn_within_reach(preset_controls(preset, duration_s or default, FPS, SEED), landmarks)
    return image, landmarks, controls


def render(
    photo: str, preset: str, framing: str = "face", duration_s: float | None = None, enhance: bool = False
) -> Clip:
    """Render one clip in-process (the same TorchScript the server loads), in chunks of 25 frames."""
    import torch

    image, landmarks, controls = _inputs(photo, preset, framing, duration_s, enhance)
    parts = []
    with torch.inference_mode():
        for start in range(0, len(controls), 25):
            chunk = torch.from_numpy(controls[start : start + 25])
            parts.append(_model()(torch.from_numpy(image), torch.from_numpy(landmarks), chunk).numpy())
    return Clip(image, np.concatenate(parts), landmarks)


@lru_cache(maxsize=1)
def _geometry() -> Any:
    """The motion model in eager mode, for its head geometry alone."""
    from nostalgia_models.motion import LandmarkWarp

    return LandmarkWarp().eval()


def flat_twin(
    photo: str, preset: str, framing: str = "face", duration_s: float | None = None, enhance: bool = False
) -> Clip:
    """The clip's subject moved as a flat card along the head's path: no warp, no expression, no blink.

    Frame i is the subject under the affine map that carries its mesh, in the least-squares sense,
    onto the mesh as the motion model turns it rigidly for frame i (the model's own head geometry,
    before any expression), resampled bicubically. Whatever the scorer reads on the twin comes from
    the head's path and the photo alone, so it is the floor a clip along that path can reach.
    """
    import torch

    image, landmarks, controls = _inputs(photo, preset, framing, duration_s, enhance)
    model = _geometry()
    points = torch.from_numpy(landmarks)
    with torch.inference_mode():
        centre, angle, width, height = model._frame(points)
        _, rigid, _ = model._targets(points, torch.from_numpy(controls), centre, angle, width, height)
    source = np.hstack([landmarks[:, :2].astype(np.float64), np.ones((len(landmarks), 1))])
    rows, cols = image.shape[:2]
    frames = []
    for target in rigid.numpy().astype(np.float64):
        matrix = np.linalg.lstsq(source, target, rcond=None)[0].T
        frames.append(
            cv2.warpAffine(image, matrix, (cols, rows), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        )
    return Clip(image, np.stack(frames), landmarks)


def score(clip: Clip, keep: Path | None = None) -> dict[str, Any]:
    """Score a clip with the shared scorer, through lossless PNG frames as a client would save them."""
    with tempfile.TemporaryDirectory(prefix="motion-quality-") as tmp:
        folder = keep or Path(tmp)
        (folder / "frames").mkdir(parents=True, exist_ok=True)
        source = folder / "source.png"
        cv2.imwrite(str(source), clip.source[:, :, ::-1])
        for i, frame in enumerate(clip.frames):
            name = str(folder / "frames" / f"{i:05d}.png")
            cv2.imwrite(name, frame[:, :, ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 1])
        result: dict[str, Any] = _scorer().measure(str(source), str(folder / "frames"))
        return result


def sharpness_in_source_box(clip: Clip) -> float:
    """Median sharpness ratio of the frames measured in the source's own face box (see module notes)."""
    scorer = _scorer()
    source = np.ascontiguousarray(clip.source[:, :, ::-1])
    found = scorer._face(source)
    if found is None:
        return float("nan")
    rect = found[0]
    box = (rect.left(), rect.top(), rect.right(), rect.bottom())
    reference = scorer._lapvar(source, box)
    ratios = [
        scorer._lapvar(np.ascontiguousarray(f[:, :, ::-1]), box) / (reference + 1e-9) for f in clip.frames
    ]
    return float(np.median(ratios))


def failures(result: dict[str, Any], preset: str, framing: str) -> list[str]:
    """The acceptance targets this clip misses, as readable strings."""
    out = []
    for metric, (applies, passes, text) in TARGETS.items():
        if not applies(preset, framing):
            continue
        value = result.get(metric)
        if value is None or not passes(float(value)):
            out.append(f"{metric}={value} (target {text})")
    return out


# What the flat twin can also miss: it has the clip's head path but neither blinks nor smiles.
TWIN_METRICS = ("jitter_iod", "sharpness_ratio")


def _against_twin(miss: str, twin: dict[str, Any], preset: str, framing: str) -> str:
    """``miss`` marked with the twin's value when the clip's flat twin misses that target too."""
    metric = miss.split("=", 1)[0]
    if metric in TWIN_METRICS and any(t.startswith(f"{metric}=") for t in failures(twin, preset, framing)):
        return f"{miss} [twin {twin.get(metric)}]"
    return miss


def contact_sheet(clip: Clip, path: Path, count: int = 8) -> None:
    """A strip of evenly spaced frames, for looking at."""
    picks = np.linspace(0, len(clip.frames) - 1, count).round().astype(int)
    size = (256, 256 * clip.frames.shape[1] // clip.frames.shape[2])
    tiles = [cv2.resize(clip.frames[i], size, interpolation=cv2.INTER_AREA) for i in picks]
    cv2.imwrite(str(path), np.hstack(tiles)[:, :, ::-1])


COLUMNS = (
    ("face_found", "found"),
    ("identity_median", "ident"),
    ("blink_depth", "blink"),
    ("turn_range", "turn"),
    ("nod_range", "nod"),
    ("smile_gain", "smile"),
    ("jitter_iod", "jitter"),
    ("background_change", "bg"),
    ("sharpness_ratio", "sharp"),
    ("jitter_twin", "jtwin"),
    ("sharpness_twin", "sharp@twin"),
    ("sharpness_in_source_box", "sharp@src"),
)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench motion_quality")
    parser.add_argument("--quick", action="store_true", help="three photos, four presets, face framing")
    parser.add_argument("--photos", default="")
    parser.add_argument("--presets", default="")
    parser.add_argument("--framings", default="face,photo")
    parser.add_argument("--save", type=Path, default=None, help="write contact sheets here")
    parser.add_argument("--by-preset", action="store_true", help="every photo on one preset, then the next")
    parser.add_argument(
        "--enhance",
        choices=["off", "auto"],
        default="off",
        help="auto: upscale the subject where the gateway's default (auto) would, as callers get it",
    )
    parser.add_argument("--no-twin", action="store_true", help="skip the flat twins (half the time)")
    args = parser.parse_args(argv)
    photos = args.photos.split(",") if args.photos else list(PHOTOS)
    presets = args.presets.split(",") if args.presets else list(PRESETS)
    framings = args.framings.split(",")
    enhance = args.enhance == "auto"
    if args.quick:
        photos, presets, framings = photos[:3], ["nostalgia", "nod", "look-around", "smile"], ["face"]
    header = f"{'photo':28} {'framing':7} {'preset':12} " + " ".join(f"{c[1]:>9}" for c in COLUMNS)
    header += "  misses"
    print(header, flush=True)
    missed = 0
    clips = [(photo, framing, preset) for photo in photos for framing in framings for preset in presets]
    if args.by_preset:
        # Every photo on one preset before the next: a partial run still covers every photo.
        clips = [(photo, framing, preset) for preset in presets for framing in framings for photo in photos]
    for photo, framing, preset in clips:
        t0 = time.perf_counter()
        clip = render(photo, preset, framing, enhance=enhance)
        result = score(clip)
        result["sharpness_in_source_box"] = sharpness_in_source_box(clip)
        twin = None if args.no_twin else score(flat_twin(photo, preset, framing, enhance=enhance))
        if twin is not None:
            result["jitter_twin"] = twin.get("jitter_iod", float("nan"))
            result["sharpness_twin"] = twin.get("sharpness_ratio", float("nan"))
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            contact_sheet(clip, args.save / f"{Path(photo).stem}_{framing}_{preset}.png")
        miss = failures(result, preset, framing)
        missed += bool(miss)
        if twin is not None:
            miss = [_against_twin(text, twin, preset, framing) for text in miss]
        cells = " ".join(f"{result.get(c[0], float('nan')):>9.3f}" for c in COLUMNS)
        print(
            f"{photo[:28]:28} {framing:7} {preset:12} {cells}  {'; '.join(miss) or 'ok'}"
            f"  ({time.perf_counter() - t0:.0f}s)",
            flush=True,
        )
    print(f"{missed} clip(s) miss a target")
    return 0
