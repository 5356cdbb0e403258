"""Reference face landmarks for benchmarks and tests: MediaPipe's face mesh run straight from its tflite.

Independent of the service's own face pipeline on purpose, so the motion model can be measured on
real landmarks without depending on it. Never imported by the service.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

__all__ = ["FaceCrop", "aligned_face", "every_face", "landmarks", "load_rgb"]

_INPUT = 192
# The mesh model sees a square around the face 1.5 times the face's extent, as MediaPipe feeds it.
_CROP_SCALE = 1.5


def load_rgb(path: Path) -> np.ndarray:
    """Read a photo as uint8 RGB (grey and RGBA files included)."""
    raw = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if raw is None:
        raise ValueError(f"cannot read image {path}")
    return np.ascontiguousarray(raw[:, :, ::-1])


@lru_cache(maxsize=1)
def _interpreter() -> object:
    from ai_edge_litert.interpreter import Interpreter

    from nostalgia_models.sources import MEDIAPIPE
    from nostalgia_models.wheels import member_bytes

    model = member_bytes(MEDIAPIPE, "mediapipe/modules/face_landmark/face_landmark.tflite")
    interpreter = Interpreter(model_content=model, num_threads=1)
    interpreter.allocate_tensors()
    return interpreter


def _mesh_on_square(
    image: np.ndarray, cx: float, cy: float, side: float, angle: float
) -> tuple[np.ndarray, float]:
    """Run the mesh on a rotated square (centre, side, radians); return landmarks in image pixels."""
    c, s = np.cos(angle), np.sin(angle)
    scale = side / _INPUT
    # crop pixel (u, v) -> image point: centre + R(angle) @ ((u, v) - INPUT/2) * scale
    to_image = np.array(
        [
            [c * scale, -s * scale, cx - (c * _INPUT / 2 - s * _INPUT / 2) * scale],
            [s * scale, c * scale, cy - (s * _INPUT / 2 + c * _INPUT / 2) * scale],
        ]
    )
    to_crop = cv2.invertAffineTransform(to_image)
    crop = cv2.warpAffine(
        image, to_crop, (_INPUT, _INPUT), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE
    )
    interp = _interpreter()
    inp = interp.get_input_details()[0]["index"]  # type: ignore[attr-defined]
    interp.set_tensor(inp, (crop.astype(np.float32) / 255.0)[None])  # type: ignore[attr-defined]
    interp.invoke()  # type: ignore[attr-defined]
    outs = {d["name"]: d["index"] for d in interp.get_output_details()}  # type: ignore[attr-defined]
    mesh = interp.get_tensor(outs["conv2d_21"]).reshape(468, 3).astype(np.float64)  # type: ignore[attr-defined]
    score = float(1 / (1 + np.exp(-interp.get_tensor(outs["conv2d_31"]).ravel()[0])))  # type: ignore[attr-defined]
    xy = mesh[:, :2] @ to_image[:, :2].T + to_image[:, 2]
    z = mesh[:, 2] * scale
    return np.concatenate([xy, z[:, None]], axis=1).astype(np.float32), score


def landmarks(image: np.ndarray) -> np.ndarray:
    """The 468-point mesh of the largest face (x, y in pixels, z in the same scale), or raise."""
    import dlib

    dets = dlib.get_frontal_face_detector()(image, 1)
    if not dets:
        raise ValueError("no face found")
    mesh, score = _mesh_of(image, max(dets, key=lambda r: r.area()))
    if score < 0.5:
        raise ValueError(f"face mesh confidence {score:.2f} too low")
    return mesh


def every_face(image: np.ndarray) -> list[np.ndarray]:
    """The mesh of every face dlib finds whose mesh is confident, largest face first."""
    import dlib

    dets = sorted(dlib.get_frontal_face_detector()(image, 1), key=lambda r: r.area(), reverse=True)
    meshes = [_mesh_of(image, d) for d in dets]
    return [mesh for mesh, score in meshes if score >= 0.5]


def _mesh_of(image: np.ndarray, d: Any) -> tuple[np.ndarray, float]:
    """The mesh in dlib's face box ``d``, refined twice from itself, and its confidence."""
    cx, cy = (d.left() + d.right()) / 2, (d.top() + d.bottom()) / 2
    side = max(d.width(), d.height()) * 1.9
    mesh, _ = _mesh_on_square(image, cx, cy + 0.05 * side, side, 0.0)
    # Refine twice from the mesh itself (eyes level, square 1.5x the mesh extent), as MediaPipe tracks.
    for _ in range(2):
        eye_r, eye_l = mesh[[33, 133]].mean(0), mesh[[362, 263]].mean(0)
        angle = float(np.arctan2(eye_l[1] - eye_r[1], eye_l[0] - eye_r[0]))
        lo, hi = mesh[:, :2].min(0), mesh[:, :2].max(0)
        centre = (lo + hi) / 2
        side = float((hi - lo).max()) * _CROP_SCALE
        mesh, score = _mesh_on_square(image, float(centre[0]), float(centre[1]), side, angle)
    return mesh, score


@dataclass(frozen=True)
class FaceCrop:
    """An aligned square face crop and its landmarks in crop pixels."""

    image: np.ndarray
    landmarks: np.ndarray
    to_crop: np.ndarray  # 2x3 affine, photo -> crop


def aligned_face(image: np.ndarray, mesh: np.ndarray, size: int = 512, face_share: float = 0.45) -> FaceCrop:
    """Crop the face square and upright, eyes level, the mesh spanning ``face_share`` of the side."""
    eye_r, eye_l = mesh[[33, 133]].mean(0)[:2], mesh[[362, 263]].mean(0)[:2]
    angle = float(np.arctan2(eye_l[1] - eye_r[1], eye_l[0] - eye_r[0]))
    lo, hi = mesh[:, :2].min(0), mesh[:, :2].max(0)
    centre = (lo + hi) / 2
    extent = float(np.linalg.norm(hi - lo)) / np.sqrt(2)
    scale = size * face_share / extent
    c, s = np.cos(-angle) * scale, np.sin(-angle) * scale
    to_crop = np.array([[c, -s, 0.0], [s, c, 0.0]])
    to_crop[:, 2] = size / 2 - to_crop[:, :2] @ centre
    crop = cv2.warpAffine(image, to_crop, (size, size), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    xy = mesh[:, :2] @ to_crop[:, :2].T + to_crop[:, 2]
    z = mesh[:, 2:] * scale
    return FaceCrop(crop, np.concatenate([xy, z], axis=1).astype(np.float32), to_crop)
