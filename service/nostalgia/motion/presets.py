"""The motion presets ("drivers"): natural, seeded motion for a portrait.

A preset draws its plan from a seeded generator once: eased moves on control channels (a look to
one side, a smile that rises and settles), slow drift so the head is never frozen, and blinks.
The plan is a function of time, sampled at the frame times. Timing follows how people move:
eyes lead the head by a fraction of a second, blinks take 150-300 ms (closing faster than
opening) and often come with a change of gaze, expressions rise in under a second and relax
slowly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .controls import NEUTRAL, Controls, clamp_controls, frame_times

__all__ = ["PRESETS", "DriverInfo", "Plan", "driver_info", "driver_infos", "preset_controls"]

YAW, PITCH, ROLL, EYE_L, EYE_R, SMILE, BROW, GAZE_X, GAZE_Y, LEAN = range(10)

Times = npt.NDArray[np.float64]


def _ease(x: Times) -> Times:
    """Cosine ease-in-out on [0, 1], flat outside: motion starts and stops without a jerk."""
    c = np.clip(x, 0.0, 1.0)
    out: Times = 0.5 - 0.5 * np.cos(np.pi * c)
    return out


@dataclass
class Plan:
    """One drawn performance: eased moves, drift and blinks, evaluable at any time."""

    # (channel, start_s, length_s, change)
    moves: list[tuple[int, float, float, float]] = field(default_factory=list)
    # (channel, amplitude, period_s, phase)
    drift: list[tuple[int, float, float, float]] = field(default_factory=list)
    # (closed instant s, length s, left eye, right eye)
    blinks: list[tuple[float, float, bool, bool]] = field(default_factory=list)

    def move(self, channel: int, start: float, length: float, change: float) -> None:
        self.moves.append((channel, start, max(length, 1e-3), change))

    def smooth(self, t: Times) -> npt.NDArray[np.float64]:
        """Every channel except blinks at times ``t``."""
        out = np.tile(NEUTRAL.astype(np.float64), (len(t), 1))
        for ch, start, length, change in self.moves:
            out[:, ch] += change * _ease((t - start) / length)
        for ch, amp, period, phase in self.drift:
            out[:, ch] += amp * np.sin(2 * np.pi * t / period + phase)
        return out

    def lids(self, t: Times, period: float | None) -> npt.NDArray[np.float64]:
        """Eyelid closure in [0, 1] for (left, right) at times ``t``; wraps around ``period`` if given."""
        closure = np.zeros((len(t), 2))
        shifts = (0.0,) if period is None else (-period, 0.0, period)
        for centre, length, left, right in self.blinks:
            for shift in shifts:
                # Closing takes about a third of the blink, the lids rest together for 35-60 ms (at
                # 25 fps, often two frames), then a slower opening.
                tau = t - (centre + shift)
                close, hold, reopen = 0.32 * length, 0.22 * length, 0.46 * length
                c = np.where(tau < 0, _ease((tau + close) / close), 1.0 - _ease((tau - hold) / reopen))
                c = np.where((tau >= 0) & (tau <= hold), 1.0, c)
                if left:
                    closure[:, 0] = np.maximum(closure[:, 0], c)
                if right:
                    closure[:, 1] = np.maximum(closure[:, 1], c)
        return closure


def _blinks(
    plan: Plan, rng: np.random.Generator, duration: float, first: float, gap: tuple[float, float]
) -> None:
    """Spontaneous blinks of 150-300 ms at natural, irregular intervals."""
    t = first
    while t < duration - 0.2:
        plan.blinks.append((t, float(rng.uniform(0.16, 0.28)), True, True))
        t += float(rng.uniform(*gap))


def _gaze_and_head(
    plan: Plan,
    rng: np.random.Generator,
    duration: float,
    yaw: float,
    pitch: float,
    hold: tuple[float, float],
    blink_on_turn: float = 0.5,
    least: float = 0.75,
) -> None:
    """Look-around: the eyes jump to a new target, the head follows a moment later and then the eyes
    relax back towards centre as the head arrives (the vestibulo-ocular pattern).

    Each look turns the head by between ``least`` and all of ``yaw``.
    """
    t = float(rng.uniform(0.3, 0.7))
    cur_yaw, cur_pitch = 0.0, 0.0
    side = float(rng.choice([-1.0, 1.0]))
    while t < duration - 0.6:
        target_yaw = side * yaw * float(rng.uniform(least, 1.0))
        target_pitch = pitch * float(rng.uniform(-1.0, 1.0))
        travel = float(rng.uniform(0.6, 1.0)) + abs(target_yaw - cur_yaw) / 60.0
        gx, gy = target_yaw / 25.0, target_pitch / 20.0
        plan.move(GAZE_X, t, 0.15, gx)
        plan.move(GAZE_Y, t, 0.15, gy)
        plan.move(GAZE_X, t + 0.2, travel, -gx * 0.7)
        plan.move(GAZE_Y, t + 0.2, travel, -gy * 0.7)
        plan.move(YAW, t + 0.1, travel, target_yaw - cur_yaw)
        plan.move(PITCH, t + 0.1, travel, target_pitch - cur_pitch)
        if rng.uniform() < blink_on_turn:
            plan.blinks.append((t + 0.12, float(rng.uniform(0.16, 0.26)), True, True))
        # Let the eyes' leftover offset go before the next look.
        plan.move(GAZE_X, t + 0.2 + travel, 0.3, -gx * 0.3)
        plan.move(GAZE_Y, t + 0.2 + travel, 0.3, -gy * 0.3)
        cur_yaw, cur_pitch = target_yaw, target_pitch
        t += travel + float(rng.uniform(*hold))
        side = -side if rng.uniform() < 0.8 else side
    # Settle back towards the camera at the end so the clip ends on a natural pose.
    plan.move(YAW, max(t, duration - 1.2), 1.0, -cur_yaw * 0.7)
    plan.move(PITCH, max(t, duration - 1.2), 1.0, -cur_pitch * 0.7)


def _breathing(plan: Plan, rng: np.random.Generator, scale: float = 1.0) -> None:
    """Slow drift of pose and a breathing lean, so the head is never frozen between gestures."""
    for ch, amp in ((YAW, 1.2), (PITCH, 0.8), (ROLL, 0.8)):
        plan.drift.append((ch, amp * scale, float(rng.uniform(3.5, 6.5)), float(rng.uniform(0, 2 * np.pi))))
    plan.drift.append((LEAN, 0.008 * scale, float(rng.uniform(3.5, 4.5)), float(rng.uniform(0, 2 * np.pi))))


def _smile(plan: Plan, start: float, strength: float, rise: float = 0.8) -> None:
    plan.move(SMILE, start, rise, strength)


def _p_nostalgia(rng: np.random.Generator, d: float) -> Plan:
    p = Plan()
    _breathing(p, rng)
    _gaze_and_head(p, rng, d, yaw=8.0, pitch=3.0, hold=(0.8, 1.6), blink_on_turn=0.35)
    _blinks(p, rng, d, float(rng.uniform(0.8, 1.6)), (2.2, 4.0))
    _smile(p, float(rng.uniform(0.8, 1.5)), float(rng.uniform(0.25, 0.35)), rise=1.2)
    p.move(ROLL, float(rng.uniform(0.5, 1.5)), 1.5, float(rng.uniform(-3.0, 3.0)))
    return p


def _p_blink(rng: np.random.Generator, d: float) -> Plan:
    p = Plan()
    _breathing(p, rng, 0.6)
    _blinks(p, rng, d, float(rng.uniform(0.5, 0.9)), (1.1, 1.7))
    return p


def _p_smile(rng: np.random.Generator, d: float) -> Plan:
    p = Plan()
    _breathing(p, rng, 0.6)
    start = float(rng.uniform(0.4, 0.7))
    _smile(p, start, float(rng.uniform(0.8, 0.95)), rise=0.9)
    p.move(PITCH, start, 0.9, -2.0)
    p.move(ROLL, start, 1.2, float(rng.choice([-1.0, 1.0])) * float(rng.uniform(2.0, 4.0)))
    p.move(BROW, start, 0.9, 0.15)
    p.move(SMILE, d - 1.2, 1.0, -0.35)
    p.blinks.append((start + 1.6, float(rng.uniform(0.18, 0.26)), True, True))
    return p


def _p_nod(rng: np.random.Generator, d: float) -> Plan:
    p = Plan()
    _breathing(p, rng, 0.5)
    t = float(rng.uniform(0.4, 0.6))
    # Each nod dips the chin and swings back up past level before settling, as a "yes" does:
    # a swing split both ways reads as a clear nod without a deep dip, and a head bowed 15
    # degrees shows so much forehead that a face detector loses some faces at the bottom of it.
    depth = float(rng.uniform(8.0, 10.0))
    rebound = 8.0
    # Between the two nods, as the head comes back up, the eyes blink.
    p.blinks.append((t + 1.2, float(rng.uniform(0.18, 0.26)), True, True))
    for _ in range(2):
        p.move(PITCH, t, 0.45, depth)
        p.move(PITCH, t + 0.45, 0.5, -depth - rebound)
        p.move(PITCH, t + 0.95, 0.4, rebound)
        t += 1.35
    p.move(GAZE_Y, 0.4, 0.3, -0.2)
    _smile(p, 0.6, 0.3)
    return p


def _p_look_around(rng: np.random.Generator, d: float) -> Plan:
    p = Plan()
    _breathing(p, rng, 0.6)
    # Every look goes most of the way (85-100% of the yaw), so however the draw falls the clip
    # shows a clear turn to each side; the gentler presets keep the wider spread.
    _gaze_and_head(p, rng, d, yaw=13.0, pitch=4.0, hold=(0.5, 1.0), blink_on_turn=0.6, least=0.85)
    _blinks(p, rng, d, float(rng.uniform(1.8, 2.6)), (3.0, 4.5))
    return p


def _p_tilt(rng: np.random.Generator, d: float) -> Plan:
    p = Plan()
    _breathing(p, rng, 0.5)
    side = float(rng.choice([-1.0, 1.0]))
    a, b = float(rng.uniform(6.0, 8.0)), float(rng.uniform(4.0, 6.0))
    p.move(ROLL, 0.4, 1.0, side * a)
    p.move(YAW, 0.4, 1.0, side * 3.0)
    p.move(ROLL, 1.8, 1.2, -side * (a + b))
    p.move(YAW, 1.8, 1.2, -side * 5.0)
    p.move(ROLL, 3.2, 0.8, side * b)
    p.move(YAW, 3.2, 0.8, side * 2.0)
    _smile(p, 0.8, 0.25)
    _blinks(p, rng, d, float(rng.uniform(1.2, 1.8)), (2.0, 3.0))
    return p


def _p_wink(rng: np.random.Generator, d: float) -> Plan:
    p = Plan()
    _breathing(p, rng, 0.5)
    left = bool(rng.uniform() < 0.5)
    t = float(rng.uniform(0.9, 1.2))
    # A wink is slower and more deliberate than a blink, with the cheek and mouth joining in.
    p.blinks.append((t, float(rng.uniform(0.5, 0.6)), left, not left))
    _smile(p, t - 0.4, 0.55, rise=0.5)
    p.move(ROLL, t - 0.4, 0.5, (-4.0 if left else 4.0))
    p.move(ROLL, t + 0.5, 0.8, (4.0 if left else -4.0))
    p.move(SMILE, t + 0.6, 0.9, -0.3)
    p.blinks.append((t + 1.3, float(rng.uniform(0.18, 0.24)), True, True))
    return p


def _p_surprise(rng: np.random.Generator, d: float) -> Plan:
    p = Plan()
    _breathing(p, rng, 0.4)
    t = float(rng.uniform(0.5, 0.7))
    p.move(BROW, t, 0.25, 0.9)
    p.move(EYE_L, t, 0.25, 0.2)
    p.move(EYE_R, t, 0.25, 0.2)
    p.move(PITCH, t, 0.35, -4.0)
    p.move(LEAN, t, 0.35, -0.02)
    hold = float(rng.uniform(0.9, 1.2))
    p.move(BROW, t + hold, 0.8, -0.8)
    p.move(EYE_L, t + hold, 0.6, -0.2)
    p.move(EYE_R, t + hold, 0.6, -0.2)
    p.move(PITCH, t + hold, 0.8, 4.0)
    p.move(LEAN, t + hold, 0.8, 0.02)
    _smile(p, t + hold + 0.2, 0.35)
    p.blinks.append((t + hold + 0.1, float(rng.uniform(0.18, 0.26)), True, True))
    return p


def _p_lively(rng: np.random.Generator, d: float) -> Plan:
    p = Plan()
    _breathing(p, rng)
    _gaze_and_head(p, rng, d, yaw=10.0, pitch=4.0, hold=(0.6, 1.2), blink_on_turn=0.5)
    _blinks(p, rng, d, float(rng.uniform(0.6, 1.0)), (2.0, 3.2))
    t, level = float(rng.uniform(0.8, 1.4)), 0.0
    while t < d - 1.0:
        broad, relaxed = float(rng.uniform(0.5, 0.7)), float(rng.uniform(0.15, 0.25))
        _smile(p, t, broad - level, rise=0.6)
        p.move(BROW, t, 0.3, 0.4)
        p.move(BROW, t + 0.6, 0.6, -0.4)
        p.move(SMILE, t + float(rng.uniform(1.2, 1.8)), 0.9, relaxed - broad)
        level = relaxed
        t += float(rng.uniform(2.5, 3.5))
    p.move(ROLL, 1.0, 1.2, float(rng.uniform(-4.0, 4.0)))
    return p


@dataclass(frozen=True)
class DriverInfo:
    """What ListDrivers tells callers about one preset."""

    name: str
    description: str
    default_duration_s: float
    blinks: bool


@dataclass(frozen=True)
class _Preset:
    info: DriverInfo
    plan: Callable[[np.random.Generator, float], Plan]


def _preset(
    name: str,
    description: str,
    duration: float,
    blinks: bool,
    plan: Callable[[np.random.Generator, float], Plan],
) -> tuple[str, _Preset]:
    return name, _Preset(DriverInfo(name, description, duration, blinks), plan)


PRESETS: dict[str, _Preset] = dict(
    [
        _preset(
            "nostalgia",
            "A gentle look around with natural blinks and a faint smile.",
            6.0,
            True,
            _p_nostalgia,
        ),
        _preset("blink", "Holds still and blinks a few times.", 4.0, True, _p_blink),
        _preset("smile", "Breaks into a warm closed-mouth smile, then relaxes.", 4.0, True, _p_smile),
        _preset("nod", "Nods twice, with a slight smile.", 4.0, True, _p_nod),
        _preset("look-around", "Glances to either side, eyes leading the head.", 6.0, True, _p_look_around),
        _preset("tilt", "Tilts the head from side to side.", 4.0, True, _p_tilt),
        _preset("wink", "A slow wink with a smile.", 3.0, True, _p_wink),
        _preset("surprise", "Raises the brows and widens the eyes, then relaxes.", 3.0, True, _p_surprise),
        _preset(
            "lively",
            "Looks around, smiles and raises the brows: the most animated preset.",
            8.0,
            True,
            _p_lively,
        ),
    ]
)


def driver_infos() -> list[DriverInfo]:
    """Every preset, in presentation order (the default first)."""
    return [p.info for p in PRESETS.values()]


def driver_info(name: str) -> DriverInfo:
    """The preset called ``name``; the error for an unknown name lists the known ones."""
    try:
        return PRESETS[name].info
    except KeyError:
        raise ValueError(f"unknown driver {name!r}; known: {', '.join(PRESETS)}") from None


def preset_controls(name: str, duration_s: float, fps: float, seed: int, *, loop: bool = False) -> Controls:
    """Controls for every frame of a clip of preset ``name``; the same seed gives the same clip.

    With ``loop`` the motion is cross-faded into its own continuation over the first part of the
    clip and blinks wrap around, so the frame after the last one would be the first.
    """
    preset = PRESETS[driver_info(name).name]
    t = frame_times(duration_s, fps)
    rng = np.random.default_rng(seed)
    plan = preset.plan(rng, float(duration_s))
    # Put every blink's closed instant on a frame, so no blink falls between two frames half-done.
    plan.blinks = [(round(c * fps) / fps, ln, le, re) for c, ln, le, re in plan.blinks]
    smooth = plan.smooth(t)
    if loop:
        window = min(1.0, duration_s / 3)
        w = _ease(t / window)[:, None]
        smooth = w * smooth + (1 - w) * plan.smooth(t + duration_s)
    closure = plan.lids(t, duration_s if loop else None)
    smooth[:, EYE_L] *= 1.0 - closure[:, 0]
    smooth[:, EYE_R] *= 1.0 - closure[:, 1]
    if not math.isfinite(float(smooth.sum())):
        raise ValueError(f"driver {name!r} produced non-finite controls")
    return clamp_controls(smooth)
