"""Caller keyframes -> per-frame controls, interpolated without overshoot.

Monotone cubic (Fritsch-Carlson) interpolation: smooth like a spline, but it never swings past
the values the caller gave, so an eye asked to close to 0 never goes "more than closed" and a
held pose between two equal keyframes stays perfectly still.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from .controls import NUM_CONTROLS, Controls, clamp_controls, frame_times

__all__ = ["MAX_KEYFRAMES", "KeyframeLike", "keyframe_controls", "monotone_cubic"]

MAX_KEYFRAMES = 1000


class KeyframeLike(Protocol):
    """The fields of the API's ``Keyframe`` message (the message itself satisfies this)."""

    time_s: float
    yaw_deg: float
    pitch_deg: float
    roll_deg: float
    eye_open_left: float
    eye_open_right: float
    smile: float
    brow: float
    gaze_x: float
    gaze_y: float


def _row(k: KeyframeLike) -> list[float]:
    return [
        k.yaw_deg, k.pitch_deg, k.roll_deg, k.eye_open_left, k.eye_open_right,
        k.smile, k.brow, k.gaze_x, k.gaze_y, 0.0,
    ]  # fmt: skip


def monotone_cubic(
    knots_t: npt.NDArray[np.float64], knots_y: npt.NDArray[np.float64], t: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Fritsch-Carlson interpolation of ``knots_y`` [K, C] at times ``t``; held constant outside."""
    k = len(knots_t)
    if k == 1:
        return np.repeat(knots_y[:1], len(t), axis=0)
    h = np.diff(knots_t)[:, None]
    delta = np.diff(knots_y, axis=0) / h
    slopes = np.zeros_like(knots_y)
    if k > 2:
        d0, d1 = delta[:-1], delta[1:]
        w0, w1 = 2 * h[1:] + h[:-1], h[1:] + 2 * h[:-1]
        same_sign = d0 * d1 > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            harmonic = (w0 + w1) / (w0 / d0 + w1 / d1)
        slopes[1:-1] = np.where(same_sign, harmonic, 0.0)
    # Ends: zero slope, so motion eases in from the first keyframe and settles into the last.
    tc = np.clip(t, knots_t[0], knots_t[-1])
    seg = np.clip(np.searchsorted(knots_t, tc, side="right") - 1, 0, k - 2)
    hs = h[seg]
    s = ((tc - knots_t[seg])[:, None]) / hs
    s2, s3 = s * s, s * s * s
    h00, h10, h01, h11 = 2 * s3 - 3 * s2 + 1, s3 - 2 * s2 + s, -2 * s3 + 3 * s2, s3 - s2
    out: npt.NDArray[np.float64] = (
        h00 * knots_y[seg] + h10 * hs * slopes[seg] + h01 * knots_y[seg + 1] + h11 * hs * slopes[seg + 1]
    )
    return out


def keyframe_controls(
    keyframes: Sequence[KeyframeLike], duration_s: float, fps: float, *, loop: bool = False
) -> Controls:
    """Controls for every frame of a ``duration_s`` clip from caller keyframes.

    Keyframes must be in strictly increasing time order, at or after 0 s. Before the first one the
    clip holds it, after the last one it holds that. With ``loop`` the clip returns to the first
    keyframe at ``duration_s``, so the last frame flows into the first.

    proto3 cannot tell an unset float from 0, and eyes shut for a whole clip is never what a caller
    means by leaving the fields out: when every keyframe has both eye openness values at 0, they are
    read as 1 (as in the photo).
    """
    if not keyframes:
        raise ValueError("keyframes: at least one keyframe is required")
    if len(keyframes) > MAX_KEYFRAMES:
        raise ValueError(f"keyframes: at most {MAX_KEYFRAMES} are accepted, got {len(keyframes)}")
    times = np.array([float(k.time_s) for k in keyframes], dtype=np.float64)
    values = np.array([_row(k) for k in keyframes], dtype=np.float64)
    if not (np.isfinite(times).all() and np.isfinite(values).all()):
        raise ValueError("keyframes: every time and value must be a finite number")
    if times[0] < 0:
        raise ValueError(f"keyframes: time_s must be >= 0, keyframe 0 has {times[0]}")
    bad = np.flatnonzero(np.diff(times) <= 0)
    if bad.size:
        i = int(bad[0]) + 1
        raise ValueError(
            f"keyframes: times must strictly increase, keyframe {i} ({times[i]} s) is not after {i - 1}"
        )
    if not values[:, 3:5].any():
        values[:, 3:5] = 1.0
    t = frame_times(duration_s, fps)
    if loop and math.isfinite(duration_s):
        keep = times < duration_s
        times, values = times[keep], values[keep]
        if not len(times):
            raise ValueError(f"keyframes: with loop, at least one keyframe must lie before {duration_s} s")
        times = np.append(times, duration_s)
        values = np.vstack([values, values[:1]])
    controls = monotone_cubic(times, values, t)
    assert controls.shape[1] == NUM_CONTROLS
    return clamp_controls(controls)
