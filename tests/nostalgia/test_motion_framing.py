"""Framing: the motion model gets the image and a mesh that lands on the same face in it."""

from __future__ import annotations

import cv2
import numpy as np

from nostalgia.faces import AlignmentLayout, five_keypoints
from nostalgia.faces.landmarks import eye_centres
from nostalgia.motion.framing import OUTLINE_MARGIN, face_subject, photo_subject, still_points


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


def _neighbour(mesh: np.ndarray, dx: float) -> np.ndarray:
    """The same 'face' moved ``dx`` pixels to the right: a second person beside the first."""
    other = mesh.copy()
    other[:, 0] += dx
    return other


def test_a_lone_face_has_nothing_held_still() -> None:
    photo, mesh = _photo_and_mesh()
    assert still_points([]).shape == (0, 2)
    assert face_subject(photo, mesh, 128).still.shape == (0, 2)
    assert photo_subject(photo, mesh, 128).still.shape == (0, 2)


def test_other_faces_are_held_by_their_outline_just_outside_the_mesh_and_their_key_points() -> None:
    _, mesh = _photo_and_mesh()
    others = [_neighbour(mesh, 80.0), _neighbour(mesh, -80.0)]
    points = still_points(others)
    assert points.shape == (2 * 23, 2) and points.dtype == np.float32
    for other, held in zip(others, np.split(points, 2), strict=True):
        outline, keys = held[:18], held[18:]
        assert np.allclose(keys, five_keypoints(other), atol=1e-4)
        # Each outline point lies on the ray from the outline's centre through a mesh outline
        # point, OUTLINE_MARGIN further out.
        ring = other[
            [10, 297, 284, 389, 454, 361, 397, 379, 400, 152, 176, 150, 172, 132, 234, 162, 54, 67], :2
        ]
        centre = ring.mean(axis=0)
        assert np.allclose(outline - centre, (ring - centre) * (1.0 + OUTLINE_MARGIN), atol=1e-3)


def test_both_framings_move_the_still_points_with_the_image() -> None:
    photo, mesh = _photo_and_mesh()
    other = _neighbour(mesh, 60.0)
    expected = still_points([other])

    scaled = photo_subject(photo, mesh, 151, [other])
    h, w = scaled.image.shape[:2]
    assert np.allclose(scaled.still, expected * np.array([w / 200, h / 300]), atol=1e-3)

    cropped = face_subject(photo, mesh, 256, [other])
    # The crop is a similarity transform of the photo: the one that carried the subject's own mesh
    # into it must carry the still points too.
    source, target = (np.ascontiguousarray(m[:, :2], np.float32) for m in (mesh, cropped.landmarks))
    transform = cv2.estimateAffinePartial2D(source, target)[0]
    assert cropped.still.shape == (23, 2)
    assert np.allclose(cropped.still, expected @ transform[:, :2].T + transform[:, 2], atol=1e-2)
