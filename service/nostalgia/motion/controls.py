"""The control vector: what one frame of motion asks of the motion model.

Column order is the tensor contract with ``model_repository/motion`` (CONTROLS float32 [N, 10]):

====  ==============  =================================================================
 0    yaw_deg         head turn; positive turns towards the subject's left (image right)
 1    pitch_deg       nod; positive is chin down
 2    roll_deg        tilt; positive is clockwise in the image
 3    eye_open_left   subject's left eye: 1 as in the photo, 0 closed, up to 1.3 widened
 4    eye_open_right  subject's right eye, same scale
 5    smile           closed-mouth smile, 0 as in the photo .. 1 broad
 6    brow            brow raise, 0 as in the photo .. 1 high (negative frowns a little)
 7    gaze_x          eyes look towards the subject's left, -1 .. 1 of their travel
 8    gaze_y          eyes look down, -1 .. 1
 9    lean            head nearer the camera, as a relative scale (0.03 = 3 % larger)
====  ==============  =================================================================
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = [
    "CONTROL_NAMES",
    "LIMITS",
    "NEUTRAL",
    "NUM_CONTROLS",
    "Controls",
    "clamp_controls",
    "frame_count",
    "frame_times",
]

Controls = npt.NDArray[np.float32]

CONTROL_NAMES: tuple[str, ...] = (
    "yaw_deg",
    "pitch_deg",
    "roll_deg",
    "eye_open_left",
    "eye_open_right",
    "smile",
    "brow",
    "gaze_x",
    "gaze_y",
    "lean",
)
NUM_CONTROLS = len(CONTROL_NAMES)

# The photo as it is: no turn, eyes as photographed, no expression change.
NEUTRAL: Controls = np.array([0, 0, 0, 1, 1, 0, 0, 0, 0, 0], dtype=np.float32)

# Beyond these a 2-D warp of one photo stops looking like the same person, so every driver is clamped.
LIMITS: tuple[tuple[float, float], ...] = (
    (-25.0, 25.0),
    (-20.0, 20.0),
    (-20.0, 20.0),
    (0.0, 1.3),
    (0.0, 1.3),
    (0.0, 1.0),
    (-0.5, 1.0),
    (-1.0, 1.0),
    (-1.0, 1.0),
    (-0.1, 0.1),
)


def clamp_controls(controls: npt.ArrayLike) -> Controls:
    """Clamp every column to its range; reject anything that is not a finite [N, 10] array."""
    arr = np.asarray(controls, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[1] != NUM_CONTROLS:
        raise ValueError(f"controls must have shape [N, {NUM_CONTROLS}], got {list(arr.shape)}")
    if not np.isfinite(arr).all():
        raise ValueError("controls contain NaN or infinite values")
    lo = np.array([lim[0] for lim in LIMITS], dtype=np.float32)
    hi = np.array([lim[1] for lim in LIMITS], dtype=np.float32)
    return np.clip(arr, lo, hi).astype(np.float32)


def frame_count(duration_s: float, fps: float) -> int:
    """Frames in a clip: one per 1/fps, at least one."""
    if not (math.isfinite(duration_s) and duration_s > 0):
        raise ValueError(f"duration must be a positive number of seconds, got {duration_s}")
    if not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be positive, got {fps}")
    return max(1, round(duration_s * fps))


def frame_times(duration_s: float, fps: float) -> npt.NDArray[np.float64]:
    """Presentation time of every frame, seconds (frame i at i / fps)."""
    return np.arange(frame_count(duration_s, fps), dtype=np.float64) / fps
