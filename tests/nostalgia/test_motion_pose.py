"""Presets fitted to the head's own turn in the photo, measured on real face meshes."""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from bench import _face_mesh as face_mesh
from nostalgia.motion import preset_controls
from nostalgia.motion.pose import head_yaw_degrees, turn_within_reach

YAW = 0


@lru_cache(maxsize=4)
def _mesh(portraits_dir: Path, name: str) -> np.ndarray:
    image = face_mesh.load_rgb(portraits_dir / name)
    return face_mesh.landmarks(image)


def _turned(mesh: np.ndarray, degrees: float) -> np.ndarray:
    """The mesh turned about its vertical axis as the motion model turns it for a yaw control."""
    a = math.radians(degrees)
    centre = mesh.mean(axis=0)
    x, z = mesh[:, 0] - centre[0], mesh[:, 2] - centre[2]
    out = mesh.copy()
    out[:, 0] = centre[0] + math.cos(a) * x - math.sin(a) * z
    out[:, 2] = centre[2] + math.sin(a) * x + math.cos(a) * z
    return out


def test_frontal_and_three_quarter_portraits_are_told_apart(portraits_dir: Path) -> None:
    assert abs(head_yaw_degrees(_mesh(portraits_dir, "liveportrait_source_s3.jpg"))) < 5
    assert abs(head_yaw_degrees(_mesh(portraits_dir, "liveportrait_source_s10.jpg"))) > 25


@pytest.mark.parametrize("degrees", [-30.0, 30.0])
def test_yaw_estimate_follows_the_motion_models_convention(portraits_dir: Path, degrees: float) -> None:
    frontal = _mesh(portraits_dir, "liveportrait_source_s3.jpg")
    measured = head_yaw_degrees(_turned(frontal, degrees))
    assert measured == pytest.approx(degrees, abs=8.0)


def test_frontal_portraits_keep_the_preset(portraits_dir: Path) -> None:
    controls = preset_controls("look-around", 6.0, 25.0, seed=3)
    fitted = turn_within_reach(controls, _mesh(portraits_dir, "liveportrait_source_s3.jpg"))
    np.testing.assert_array_equal(fitted, controls)


@pytest.mark.parametrize("degrees", [-35.0, 35.0])
def test_turned_heads_turn_away_less_and_back_more(portraits_dir: Path, degrees: float) -> None:
    mesh = _turned(_mesh(portraits_dir, "liveportrait_source_s3.jpg"), degrees)
    controls = preset_controls("look-around", 6.0, 25.0, seed=3)
    fitted = turn_within_reach(controls, mesh)
    # A yaw control of the head's own sign turns it further (the model's convention, checked above).
    away = np.sign(controls[:, YAW]) == np.sign(degrees)
    assert away.any() and (~away).any()
    assert np.all(np.abs(fitted[away, YAW]) <= 0.3 * np.abs(controls[away, YAW]) + 1e-6)
    assert np.all(np.abs(fitted[~away, YAW]) >= np.abs(controls[~away, YAW]) - 1e-6)
    # Nothing else changes.
    np.testing.assert_array_equal(fitted[:, 1:], controls[:, 1:])
