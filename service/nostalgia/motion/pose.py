"""The head's own pose in the photo, and presets fitted to it.

A preset's look-around turns the head either way by the same amount. A portrait already in
three-quarter view cannot take that: turned further away, the far side of the face would have
to come from pixels the photo does not have, and the face stops reading as a face (a frontal
face detector loses it beyond about 40 degrees). Turns away from the camera are therefore
shortened in proportion to how far the head is already turned, and turns towards it lengthened
a little so the gesture stays as lively. Caller-given keyframes are never changed: they say
exactly what the caller wants.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["head_yaw_degrees", "turn_within_reach"]

# Symmetric mesh points (subject's right, left): outer eye corners and three pairs on the face's
# outline. Their depth difference across their width gives the head's turn.
_PAIRS = ((33, 263), (234, 454), (127, 356), (132, 361))
# Up to this turn in the photo a preset runs unchanged; by FREE + SPAN turns away are at MIN_AWAY.
_FREE_DEGREES = 20.0
_SPAN_DEGREES = 15.0
_MIN_AWAY = 0.25


def head_yaw_degrees(landmarks: NDArray[np.floating[Any]]) -> float:
    """The head's turn in the photo from the 3-D mesh: positive when the subject's left side is farther.

    ``landmarks`` is [468, 3] with x, y in pixels and z depth on the same scale (larger is farther).
    """
    points = np.asarray(landmarks, np.float64)
    angles = []
    for right, left in _PAIRS:
        d = points[left] - points[right]
        angles.append(np.degrees(np.arctan2(d[2], np.hypot(d[0], d[1]))))
    return float(np.median(angles))


def turn_within_reach(
    controls: NDArray[np.float32], landmarks: NDArray[np.floating[Any]]
) -> NDArray[np.float32]:
    """``controls`` [N, 10] with the yaw column fitted to the photo's own head turn (see module notes)."""
    yaw0 = head_yaw_degrees(landmarks)
    away_scale = float(np.clip(1.0 - (abs(yaw0) - _FREE_DEGREES) / _SPAN_DEGREES, _MIN_AWAY, 1.0))
    if away_scale >= 1.0:
        return controls
    toward_scale = 1.0 + 0.5 * (1.0 - away_scale)
    out = controls.copy()
    yaw = out[:, 0]
    # A positive yaw control moves the nose towards +x. With the subject's left side (image right)
    # farther, yaw0 > 0, the nose already points to +x, so a positive control turns it further away.
    away = yaw * yaw0 > 0
    out[:, 0] = np.where(away, yaw * away_scale, yaw * toward_scale).astype(np.float32)
    return out
