"""What the motion model animates: the image and its face mesh, for each framing.

Face framing hands the model the aligned crop at the output size, so the head has room to move
inside it. Photo framing hands it the whole photo at the output size: the model changes only the
region around the head and leaves the rest of the photo untouched, so there is no seam to hide.

In a group photo the region around one head often takes in a neighbour's face, which the warp
would drag along. Both framings therefore also hand the model points on every other face found
(its outline, a little outside the mesh's own, and its five key points) that must stay still.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from ..faces import AlignmentLayout, align_eyes, aligned_crop, five_keypoints
from ..faces.landmarks import eye_centres

__all__ = ["FACE_OUTLINE", "OUTLINE_MARGIN", "Subject", "face_subject", "photo_subject", "still_points"]

# How far outside its mesh's outline another face is held, as a share of the outline's size about
# its centre: the mesh's outline runs along the cheeks, and the cheek's edge against the
# background or the neighbour's hair lies just beyond it.
OUTLINE_MARGIN = 0.12
# Every other point of the mesh's face outline (MediaPipe's FACE_OVAL, 36 points, clockwise).
FACE_OUTLINE = (10, 297, 284, 389, 454, 361, 397, 379, 400, 152, 176, 150, 172, 132, 234, 162, 54, 67)


@dataclass(frozen=True)
class Subject:
    """The motion model's IMAGE (uint8 [H, W, 3]), LANDMARKS (float32 [468, 3], pixels of IMAGE)
    and STILL (float32 [P, 2], pixels of IMAGE: points on other faces, none for a lone face)."""

    image: NDArray[np.uint8]
    landmarks: NDArray[np.float32]
    still: NDArray[np.float32]


def still_points(others: Sequence[NDArray[np.floating[Any]]]) -> NDArray[np.float32]:
    """Photo points that hold each of ``others`` (meshes [468, >=2]) still: [23 per face, 2]."""
    points = [np.zeros((0, 2))]
    for mesh in others:
        outline = np.asarray(mesh, np.float64)[list(FACE_OUTLINE), :2]
        centre = outline.mean(axis=0)
        points.append(centre + (outline - centre) * (1.0 + OUTLINE_MARGIN))
        points.append(five_keypoints(mesh).astype(np.float64))
    return np.vstack(points).astype(np.float32)


def face_subject(
    photo: NDArray[np.uint8],
    landmarks: NDArray[np.float32],
    size: int,
    others: Sequence[NDArray[np.float32]] = (),
) -> Subject:
    """The aligned ``size`` x ``size`` face crop (eyes level and centred) and the meshes moved into it."""
    right, left = eye_centres(landmarks)
    alignment = align_eyes(right, left, AlignmentLayout(size=size))
    crop = aligned_crop(photo, alignment)
    xy = alignment.to_crop(landmarks)
    z = landmarks[:, 2:3].astype(np.float64) * alignment.scale
    still = alignment.to_crop(still_points(others)).astype(np.float32)
    return Subject(crop, np.hstack([xy, z]).astype(np.float32), still)


def photo_subject(
    photo: NDArray[np.uint8],
    landmarks: NDArray[np.float32],
    longest: int,
    others: Sequence[NDArray[np.float32]] = (),
) -> Subject:
    """The whole photo with its longest side ``longest`` (both sides even, for video encoders)."""
    h, w = photo.shape[:2]
    scale = longest / max(h, w)
    nw, nh = max(2, round(w * scale / 2) * 2), max(2, round(h * scale / 2) * 2)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    image = np.ascontiguousarray(cv2.resize(photo, (nw, nh), interpolation=interpolation), dtype=np.uint8)
    # Pixel i covers [i, i+1) in both images, so coordinates scale without a half-pixel shift.
    sx, sy = nw / w, nh / h
    points = landmarks.astype(np.float64) * np.array([sx, sy, (sx + sy) / 2])
    still = still_points(others) * np.array([sx, sy], np.float32)
    return Subject(image, points.astype(np.float32), still.astype(np.float32))
