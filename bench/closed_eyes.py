"""How often the independent dlib scorer reads the motion model's closed eyes as closed, on still frames.

A clip's ``blink_depth`` rests on one frame, the most closed, and scoring the blink on every
single-face photo takes the clip scorer over ten minutes a preset on a small CPU. This renders each photo
with both eyes open and fully closed in a few poses (level, turned, nodded, smiling) and measures
the drop of dlib's eye aspect ratio between the two, the quantity behind ``blink_depth``. The
twenty photos take under a minute and a half, so a change to the lids can be judged before the
clips are scored; ``--set`` tries a lid setting of the model without editing it:

    python -m bench closed_eyes [--photos a.jpg,b.png] [--set lid_shade=0.7 --set lash=0.3]

A still frame is not a clip (the scorer's face box and hint differ, and a clip needs only its most
closed frame to read), so the clips stay the measure of record.
"""

from __future__ import annotations

import argparse
import csv
import time
from typing import Any

import numpy as np

from bench import motion_quality
from bench._portraits import portraits_dir

__all__ = ["POSES", "closure_drops", "main"]

RUN_BY_DEFAULT = False

# (name, yaw, pitch, smile): the poses a blink happens in across the presets.
POSES = (
    ("level", 0.0, 0.0, 0.0),
    ("turned", 8.0, 0.0, 0.0),
    ("nodded", 0.0, 6.0, 0.0),
    ("smiling", 0.0, 0.0, 0.7),
)
SINGLE_FACE_KINDS = ("old_photo", "painting", "modern_portrait")


def single_face_photos() -> list[str]:
    """The shared single-face portraits, in the manifest's order."""
    with (portraits_dir() / "MANIFEST.tsv").open(newline="") as f:
        return [row["file"] for row in csv.DictReader(f, delimiter="\t") if row["kind"] in SINGLE_FACE_KINDS]


def _eye_ratio(frame: np.ndarray) -> float:
    """dlib's eye aspect ratio of the frame's face, both eyes averaged; NaN when it finds no face."""
    scorer = motion_quality._scorer()
    found = scorer._face(np.ascontiguousarray(frame[:, :, ::-1]))
    if found is None:
        return float("nan")
    points = found[1]
    return float((scorer._ear(points, 36) + scorer._ear(points, 42)) / 2)


def closure_drops(photo: str, model: Any) -> list[float]:
    """Per pose in ``POSES``, the share by which dlib's eye aspect ratio drops as the eyes close."""
    import torch

    image, landmarks = motion_quality._subject(photo, "face")
    rows = [
        [yaw, pitch, 0.0, openness, openness, smile, 0.0, 0.0, 0.0, 0.0]
        for _, yaw, pitch, smile in POSES
        for openness in (1.0, 0.0)
    ]
    with torch.inference_mode():
        frames = model(
            torch.from_numpy(image), torch.from_numpy(landmarks), torch.tensor(rows, dtype=torch.float32)
        ).numpy()
    ratios = [_eye_ratio(frame) for frame in frames]
    return [1.0 - closed / opened for opened, closed in zip(ratios[0::2], ratios[1::2], strict=True)]


def _model(settings: list[str]) -> Any:
    """The motion model in-process, with ``name=value`` settings applied to its attributes."""
    import torch

    from nostalgia_models.motion import LandmarkWarp

    model = LandmarkWarp().eval()
    for setting in settings:
        name, _, value = setting.partition("=")
        owner = next((m for m in (model.eyelids, model) if isinstance(getattr(m, name, None), float)), None)
        if owner is None:
            raise SystemExit(f"--set {setting}: the motion model has no float setting {name!r}")
        setattr(owner, name, float(value))
    return torch.jit.script(model)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench closed_eyes")
    parser.add_argument("--photos", default="", help="comma-separated; default every single-face photo")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a lid setting")
    args = parser.parse_args(argv)
    photos = args.photos.split(",") if args.photos else single_face_photos()
    model = _model(args.set)
    print(f"{'photo':34} " + " ".join(f"{name:>8}" for name, *_ in POSES), flush=True)
    drops: list[float] = []
    t0 = time.perf_counter()
    for photo in photos:
        row = closure_drops(photo, model)
        drops.extend(row)
        print(f"{photo[:34]:34} " + " ".join(f"{d:>8.3f}" for d in row), flush=True)
    # The clips' blink target, applied to each still pair's drop.
    _, passes, target = motion_quality.TARGETS["blink_depth"]
    values = np.array(drops)
    read = sum(passes(float(d)) for d in drops)
    print(
        f"closed eyes read as closed (drop {target}): {read}/{len(values)}; "
        f"median drop {np.nanmedian(values):.3f}; {time.perf_counter() - t0:.0f}s"
    )
    return 0
