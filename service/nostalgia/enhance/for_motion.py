"""Enhancement before animation: give the motion model a crisp subject at its working size.

Old photos often hold a face much smaller than the frame it is animated in. Stretching it with
plain interpolation gives the soft, smeared look the product exists to avoid, so, as Deep
Nostalgia does, the subject is upscaled by a super-resolution network first. Only the fast
upscaler is used here: Animate has a first-frame budget, and at these sizes its output is
already far sharper than interpolation.

The enhanced image replaces the interpolated one pixel for pixel (same region, same size), so
the landmarks computed for the interpolated subject stay valid.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from numpy.typing import NDArray

from ..faces import AlignmentLayout, align_eyes, aligned_crop
from ..faces.landmarks import eye_centres
from ..inference import TritonClient
from ..v1 import nostalgia_pb2 as pb
from .upscale import MODEL_SCALE, Upscaler, upscale

__all__ = ["AUTO_MARGIN", "enhanced_face_crop", "enhanced_photo", "face_source_side", "wants_enhancement"]

# Auto mode upscales only when the source is at least this much smaller than the working size:
# a few percent of stretching is invisible and not worth a network pass.
AUTO_MARGIN = 0.9


def wants_enhancement(mode: int, source_side: float, working_side: int) -> bool:
    """Whether ``mode`` asks for upscaling a source of ``source_side`` px shown at ``working_side`` px."""
    if mode == pb.ENHANCE_MODE_OFF:
        return False
    if mode == pb.ENHANCE_MODE_ON:
        return True
    return source_side < AUTO_MARGIN * working_side


def face_source_side(landmarks: NDArray[np.float32], size: int) -> float:
    """How many photo pixels span the side of the ``size`` px aligned face crop."""
    right, left = eye_centres(landmarks)
    return size / align_eyes(right, left, AlignmentLayout(size=size)).scale


async def _upscale_to(
    client: TritonClient,
    image: NDArray[np.uint8],
    width: int,
    height: int,
    time_left: Callable[[], float | None],
) -> NDArray[np.uint8]:
    upscaled = await upscale(client, image, Upscaler.FAST, MODEL_SCALE, time_left)
    interpolation = cv2.INTER_AREA if upscaled.shape[1] >= width else cv2.INTER_CUBIC
    resized = cv2.resize(upscaled, (width, height), interpolation=interpolation)
    return np.ascontiguousarray(resized, dtype=np.uint8)


async def enhanced_face_crop(
    client: TritonClient,
    photo: NDArray[np.uint8],
    landmarks: NDArray[np.float32],
    size: int,
    time_left: Callable[[], float | None],
) -> NDArray[np.uint8]:
    """The ``size`` px aligned face crop, cut at the photo's own resolution and upscaled to ``size``.

    A face larger than the crop is first cut at ``size`` px, so the network never works on more
    pixels than the output has.
    """
    right, left = eye_centres(landmarks)
    native = int(np.clip(round(face_source_side(landmarks, size)), 16, size))
    crop = aligned_crop(photo, align_eyes(right, left, AlignmentLayout(size=native)))
    return await _upscale_to(client, crop, size, size, time_left)


async def enhanced_photo(
    client: TritonClient,
    photo: NDArray[np.uint8],
    width: int,
    height: int,
    time_left: Callable[[], float | None],
) -> NDArray[np.uint8]:
    """The whole photo upscaled and fitted to ``width`` x ``height``."""
    h, w = photo.shape[:2]
    source = photo
    if max(h, w) > max(width, height):
        # Larger than the output already: bring it down first so the network adds detail, not size.
        scale = max(width, height) / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        source = np.ascontiguousarray(cv2.resize(photo, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    return await _upscale_to(client, source, width, height, time_left)
