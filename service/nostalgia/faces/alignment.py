"""The similarity transform that puts a face upright at a fixed place in an N x N crop.

Every later stage (enhancement, animation, compositing) works on this canonical crop: eyes
level, their midpoint and distance fixed as fractions of N. The inverse transform pastes the
processed crop back into the photo.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

__all__ = ["Alignment", "AlignmentLayout", "align_eyes", "aligned_crop", "paste_back"]


@dataclass(frozen=True)
class AlignmentLayout:
    """Where the eyes go in the crop, as fractions of its side.

    The defaults leave room above the head and below the chin so the head can turn and nod
    inside the crop without leaving it.
    """

    size: int = 512
    eye_distance: float = 0.25
    eye_line: float = 0.42


@dataclass(frozen=True)
class Alignment:
    """``matrix`` maps photo pixels to crop pixels (2x3); ``inverse`` maps back."""

    matrix: NDArray[np.float64]
    size: int

    @property
    def inverse(self) -> NDArray[np.float64]:
        inverse: NDArray[np.float64] = cv2.invertAffineTransform(self.matrix).astype(np.float64)
        return inverse

    @property
    def scale(self) -> float:
        """Crop pixels per photo pixel."""
        return float(np.hypot(self.matrix[0, 0], self.matrix[1, 0]))

    def to_crop(self, points: NDArray[np.floating[Any]]) -> NDArray[np.float64]:
        """Photo ``[..., 2]`` points in crop pixels."""
        xy = np.asarray(points, dtype=np.float64)[..., :2]
        mapped: NDArray[np.float64] = xy @ self.matrix[:, :2].T + self.matrix[:, 2]
        return mapped

    def to_photo(self, points: NDArray[np.floating[Any]]) -> NDArray[np.float64]:
        """Crop ``[..., 2]`` points in photo pixels."""
        inverse = self.inverse
        xy = np.asarray(points, dtype=np.float64)[..., :2]
        mapped: NDArray[np.float64] = xy @ inverse[:, :2].T + inverse[:, 2]
        return mapped


def align_eyes(
    right_eye: NDArray[np.floating[Any]],
    left_eye: NDArray[np.floating[Any]],
    layout: AlignmentLayout | None = None,
) -> Alignment:
    """Rotation, uniform scale and shift sending the subject's right and left eye to their crop places.

    The subject's right eye is on the image's left in a frontal photo, so it goes left of centre.
    """
    layout = layout or AlignmentLayout()
    n = float(layout.size)
    half = layout.eye_distance * n / 2.0
    src_r, src_l = complex(*np.asarray(right_eye, float)[:2]), complex(*np.asarray(left_eye, float)[:2])
    dst_r, dst_l = complex(n / 2.0 - half, layout.eye_line * n), complex(n / 2.0 + half, layout.eye_line * n)
    if abs(src_l - src_r) < 1e-6:
        raise ValueError("the two eye centres coincide; no alignment is defined")
    # A similarity transform is z -> a*z + b over the complex plane: solve it from the two eyes.
    a = (dst_l - dst_r) / (src_l - src_r)
    b = dst_r - a * src_r
    matrix = np.array([[a.real, -a.imag, b.real], [a.imag, a.real, b.imag]], dtype=np.float64)
    return Alignment(matrix=matrix, size=layout.size)


def aligned_crop(
    image: NDArray[np.uint8], alignment: Alignment, border: int = cv2.BORDER_REFLECT101
) -> NDArray[np.uint8]:
    """The ``size`` x ``size`` aligned face; area beyond the photo is mirrored, not black."""
    interpolation = cv2.INTER_AREA if alignment.scale < 1.0 else cv2.INTER_CUBIC
    crop = cv2.warpAffine(
        image, alignment.matrix, (alignment.size, alignment.size), flags=interpolation, borderMode=border
    )
    return np.asarray(crop, dtype=np.uint8)


def paste_back(
    photo: NDArray[np.uint8], crop: NDArray[np.uint8], alignment: Alignment, mask: NDArray[np.float32]
) -> NDArray[np.uint8]:
    """``photo`` with ``crop`` warped back over it, blended by ``mask`` (crop-sized, 0..1)."""
    height, width = photo.shape[:2]
    inverse = alignment.inverse
    back = cv2.warpAffine(crop, inverse, (width, height), flags=cv2.INTER_LINEAR)
    weight = cv2.warpAffine(mask.astype(np.float32), inverse, (width, height), flags=cv2.INTER_LINEAR)
    weight = weight[..., None]
    blended = photo.astype(np.float32) * (1.0 - weight) + back.astype(np.float32) * weight
    return np.asarray(np.clip(blended + 0.5, 0, 255), dtype=np.uint8)
