"""Motion drivers: presets and caller keyframes give natural, bounded, reproducible controls."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from nostalgia.motion import (
    CONTROL_NAMES,
    NUM_CONTROLS,
    driver_infos,
    frame_count,
    keyframe_controls,
    preset_controls,
)
from nostalgia.motion.controls import LIMITS
from nostalgia.v1 import nostalgia_pb2 as pb

YAW, PITCH, ROLL, EYE_L, EYE_R, SMILE, BROW, GAZE_X, GAZE_Y, LEAN = range(10)
FPS = 25.0
NAMES = [d.name for d in driver_infos()]


def _blinks(eye: np.ndarray, fps: float) -> list[tuple[int, float, float]]:
    """(start frame, duration s, minimum openness) of every dip of one eye below 0.9."""
    below = eye < 0.9
    out = []
    i = 0
    while i < len(eye):
        if below[i]:
            j = i
            while j < len(eye) and below[j]:
                j += 1
            out.append((i, (j - i + 1) / fps, float(eye[i:j].min())))
            i = j
        else:
            i += 1
    return out


def test_registry_lists_the_required_presets_with_sane_metadata() -> None:
    required = {"nostalgia", "blink", "smile", "nod", "look-around", "tilt", "wink", "surprise", "lively"}
    assert required <= set(NAMES)
    assert NAMES[0] == "nostalgia"
    for info in driver_infos():
        assert info.description.endswith(".") and len(info.description) > 15
        assert 2.0 <= info.default_duration_s <= 10.0
        assert info.blinks


@pytest.mark.parametrize("name", NAMES)
def test_every_preset_is_bounded_finite_and_seeded(name: str) -> None:
    c = preset_controls(name, 6.0, FPS, seed=11)
    assert c.shape == (frame_count(6.0, FPS), NUM_CONTROLS) and c.dtype == np.float32
    assert np.isfinite(c).all()
    for col, (lo, hi) in enumerate(LIMITS):
        assert lo <= c[:, col].min() and c[:, col].max() <= hi, CONTROL_NAMES[col]
    np.testing.assert_array_equal(c, preset_controls(name, 6.0, FPS, seed=11))
    assert not np.array_equal(c, preset_controls(name, 6.0, FPS, seed=12))
    # Eased: no frame-to-frame jump of the head larger than a natural quick turn (< 3 degrees per frame).
    assert np.abs(np.diff(c[:, :3], axis=0)).max() < 3.0
    # Something moves in every preset.
    assert np.ptp(c, axis=0).max() > 0.2


@pytest.mark.parametrize("seed", range(6))
def test_blinks_are_150_to_300_ms_and_close_fully(seed: int) -> None:
    c = preset_controls("blink", 4.0, FPS, seed=seed)
    for eye in (EYE_L, EYE_R):
        blinks = _blinks(c[:, eye], FPS)
        assert len(blinks) >= 2
        for _, duration, low in blinks:
            assert 0.12 <= duration <= 0.32
            assert low < 0.05  # the closed instant lands on a frame


def test_nostalgia_default_looks_around_blinks_and_smiles_faintly() -> None:
    c = preset_controls("nostalgia", 6.0, FPS, seed=3)
    assert np.ptp(c[:, YAW]) > 8.0
    assert _blinks(c[:, EYE_L], FPS)
    assert 0.15 < c[:, SMILE].max() <= 0.4


def test_presets_do_what_their_names_say() -> None:
    assert np.ptp(preset_controls("look-around", 6.0, FPS, 1)[:, YAW]) >= 14.0
    assert np.ptp(preset_controls("nod", 4.0, FPS, 1)[:, PITCH]) >= 10.0
    assert np.ptp(preset_controls("tilt", 4.0, FPS, 1)[:, ROLL]) >= 8.0
    assert preset_controls("smile", 4.0, FPS, 1)[:, SMILE].max() >= 0.75
    surprise = preset_controls("surprise", 3.0, FPS, 1)
    assert surprise[:, BROW].max() >= 0.8 and surprise[:, EYE_L].max() > 1.1
    for seed in range(4):
        wink = preset_controls("wink", 3.0, FPS, seed)
        closed_l, closed_r = wink[:, EYE_L] < 0.05, wink[:, EYE_R] < 0.05
        # One eye shuts while the other stays open.
        assert (closed_l & (wink[:, EYE_R] > 0.9)).any() or (closed_r & (wink[:, EYE_L] > 0.9)).any()


@pytest.mark.parametrize("name", NAMES)
def test_loop_makes_the_last_frame_flow_into_the_first(name: str) -> None:
    duration = 4.0
    c = preset_controls(name, duration, FPS, seed=5, loop=True)
    step = np.abs(np.diff(c, axis=0))
    wrap = np.abs(c[0] - c[-1])
    # The wrap-around step is no bigger than the clip's own steps (plus a little slack).
    assert (wrap[:3] <= step[:, :3].max(axis=0) + 0.05).all()
    assert (wrap[5:] <= step[:, 5:].max(axis=0) + 0.02).all()


def test_unknown_preset_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="nostalgia"):
        preset_controls("moonwalk", 4.0, FPS, 1)


@dataclass
class Key:
    time_s: float
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    roll_deg: float = 0.0
    eye_open_left: float = 1.0
    eye_open_right: float = 1.0
    smile: float = 0.0
    brow: float = 0.0
    gaze_x: float = 0.0
    gaze_y: float = 0.0


def test_keyframes_pass_through_their_values_without_overshoot() -> None:
    keys = [Key(0.0), Key(1.0, yaw_deg=10.0), Key(2.0, yaw_deg=10.0, smile=0.8), Key(3.0, yaw_deg=-5.0)]
    c = keyframe_controls(keys, 3.2, FPS)
    t = np.arange(len(c)) / FPS
    for k in keys:
        i = round(k.time_s * FPS)
        assert c[i, YAW] == pytest.approx(k.yaw_deg, abs=1e-4)
        assert c[i, SMILE] == pytest.approx(k.smile, abs=1e-4)
    assert c[:, YAW].max() <= 10.0 + 1e-4 and c[:, YAW].min() >= -5.0 - 1e-4
    # Between two equal keyframes the head holds still.
    hold = (t >= 1.0) & (t <= 2.0)
    assert np.ptp(c[hold, YAW]) < 1e-4
    # Smooth: eased out of the first keyframe.
    assert c[1, YAW] < 10.0 / FPS
    assert c[t > 3.0, YAW] == pytest.approx(-5.0, abs=1e-4)


def test_keyframes_accept_proto_messages_and_read_unset_eyes_as_open() -> None:
    keys = [pb.Keyframe(time_s=0.0), pb.Keyframe(time_s=1.0, yaw_deg=8.0, smile=0.5)]
    c = keyframe_controls(keys, 1.0, FPS)
    assert (c[:, EYE_L] == 1.0).all() and (c[:, EYE_R] == 1.0).all()
    closing = [pb.Keyframe(time_s=0.0, eye_open_left=1.0, eye_open_right=1.0), pb.Keyframe(time_s=0.5)]
    assert keyframe_controls(closing, 1.0, FPS)[-1, EYE_L] == 0.0


def test_keyframe_loop_returns_to_the_first_keyframe() -> None:
    keys = [Key(0.0, yaw_deg=-6.0), Key(1.6, yaw_deg=6.0)]
    c = keyframe_controls(keys, 3.0, FPS, loop=True)
    assert abs(c[-1, YAW] - c[0, YAW]) < np.abs(np.diff(c[:, YAW])).max() + 1e-3
    assert c[:, YAW].max() == pytest.approx(6.0, abs=1e-3)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ([], "at least one"),
        ([Key(1.0), Key(0.5)], "strictly increase"),
        ([Key(-1.0)], ">= 0"),
        ([Key(0.0, yaw_deg=float("nan"))], "finite"),
    ],
)
def test_bad_keyframes_are_rejected_with_context(keys: list[Key], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        keyframe_controls(keys, 2.0, FPS)


def test_keyframe_values_are_clamped_to_what_a_photo_can_do() -> None:
    c = keyframe_controls([Key(0.0, yaw_deg=90.0, smile=5.0)], 0.4, FPS)
    assert c[:, YAW].max() == 25.0 and c[:, SMILE].max() == 1.0
