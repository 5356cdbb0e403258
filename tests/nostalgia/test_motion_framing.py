"""Framing: the motion model gets the image and a mesh that lands on the same face in it."""

from __future__ import annotations

import cv2
import numpy as np

from nostalgia.faces import AlignmentLayout
from nostalgia.faces.landmarks import eye_centres
from nostalgia.motion.framing import face_subject, photo_subject


def _photo_and_mesh() -> tuple[np.ndarray, np.ndarray]:
    """A 300x200 photo with a tilted 'face' of 468 points and a bright dot on the nose point."""
    rng = np.random.default_rng(0)
    photo = np.zeros((300, 200, 3), np.uint8)
    angle = np.radians(12.0)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    pts = rng.uniform(-30, 30, size=(468, 2))
    # Eyes (the subject's right on the image's left) and the nose tip where a face has them.
    pts[[33, 133, 160, 158, 144, 153]] = np.array([-20.0, -10.0]) + rng.uniform(-3, 3, size=(6, 2))
    pts[[263, 362, 387, 385, 373, 380]] = np.array([20.0, -10.0]) + rng.uniform(-3, 3, size=(6, 2))
    pts[1] = (0.0, 12.0)
    mesh = np.zeros((468, 3), np.float32)
    mesh[:, :2] = pts @ rot.T + (90.0, 140.0)
    mesh[:, 2] = rng.uniform(-20, 20, size=468)
    nose = mesh[1, :2]
    cv2.circle(photo, (round(nose[0] - 0.5), round(nose[1] - 0.5)), 2, (255, 255, 255), -1)
    return photo, mesh


def test_face_subject_puts_the_eyes_where_the_layout_says_and_keeps_points_on_the_face() -> None:
    photo, mesh = _photo_and_mesh()
    subject = face_subject(photo, mesh, 256)
    assert subject.image.shape == (256, 256, 3) and subject.landmarks.shape == (468, 3)
    right, left = eye_centres(subject.landmarks)
    layout = AlignmentLayout(size=256)
    assert abs(right[1] - left[1]) < 1e-3  # eyes level
    assert abs((left[0] - right[0]) - layout.eye_distance * 256) < 1e-2
    assert abs(right[1] - layout.eye_line * 256) < 1e-2
    # The nose dot is where the moved nose point says it is.
    x, y = subject.landmarks[1, :2]
    assert subject.image[int(y), int(x)].max() > 100
    # Depth scales with the crop.
    scale = np.linalg.norm(subject.landmarks[5, :2] - subject.landmarks[7, :2]) / np.linalg.norm(
        mesh[5, :2] - mesh[7, :2]
    )
    assert np.allclose(subject.landmarks[:, 2], mesh[:, 2] * scale, rtol=1e-3, atol=1e-3)


def test_photo_subject_fits_the_longest_side_with_even_sizes_and_scales_the_mesh() -> None:
    photo, mesh = _photo_and_mesh()
    subject = photo_subject(photo, mesh, 151)
    h, w = subject.image.shape[:2]
    assert max(h, w) in (150, 152) and h % 2 == 0 and w % 2 == 0
    assert np.allclose(subject.landmarks[:, 0], mesh[:, 0] * w / 200, atol=1e-3)
    assert np.allclose(subject.landmarks[:, 1], mesh[:, 1] * h / 300, atol=1e-3)
