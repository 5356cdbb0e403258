"""What the motion model animates: the image and its face mesh, for each framing.

Face framing hands the model the aligned crop at the output size, so the head has room to move
inside it. Photo framing hands it the whole photo at the output size: the model changes only the
region around the head and leaves the rest of the photo untouched, so there is no seam to hide.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from ..faces import AlignmentLayout, align_eyes, aligned_crop
from ..faces.landmarks import eye_centres

__all__ = ["Subject", "face_subject", "photo_subject"]


@dataclass(frozen=True)
class Subject:
    """The motion model's IMAGE (uint8 [H, W, 3]) and LANDMARKS (float32 [468, 3], pixels of IMAGE)."""

    image: NDArray[np.uint8]
    landmarks: NDArray[np.float32]


def face_subject(photo: NDArray[np.uint8], landmarks: NDArray[np.float32], size: int) -> Subject:
    """The aligned ``size`` x ``size`` face crop (eyes level and centred) and the mesh moved into it."""
    right, left = eye_centres(landmarks)
    alignment = align_eyes(right, left, AlignmentLayout(size=size))
    crop = aligned_crop(photo, alignment)
    xy = alignment.to_crop(landmarks)
    z = landmarks[:, 2:3].astype(np.float64) * alignment.scale
    return Subject(crop, np.hstack([xy, z]).astype(np.float32))


def photo_subject(photo: NDArray[np.uint8], landmarks: NDArray[np.float32], longest: int) -> Subject:
    """The whole photo with its longest side ``longest`` (both sides even, for video encoders)."""
    h, w = photo.shape[:2]
    scale = longest / max(h, w)
    nw, nh = max(2, round(w * scale / 2) * 2), max(2, round(h * scale / 2) * 2)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    image = np.ascontiguousarray(cv2.resize(photo, (nw, nh), interpolation=interpolation), dtype=np.uint8)
    # Pixel i covers [i, i+1) in both images, so coordinates scale without a half-pixel shift.
    sx, sy = nw / w, nh / h
    points = landmarks.astype(np.float64) * np.array([sx, sy, (sx + sy) / 2])
    return Subject(image, points.astype(np.float32))
