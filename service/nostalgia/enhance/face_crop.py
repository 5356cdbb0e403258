"""The aligned crop of one face, at the photo's own resolution, ready to be upscaled.

The crop uses the same canonical layout as the rest of the pipeline (eyes level, fixed
place), but its side is chosen so that one crop pixel is about one photo pixel: the
super-resolution network should add the detail, not a resampling step before it. Small
faces give small crops (and small, fast upscales); large faces are capped, since beyond
``MAX_SIDE`` the face already has the detail an upscale would add.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..errors import InvalidInput, NoFace
from ..faces import (
    AlignmentLayout,
    Face,
    InferenceBackend,
    align_eyes,
    aligned_crop,
    find_faces,
    find_largest_face,
)
from ..timing import StageTimer

__all__ = ["MAX_SIDE", "MIN_SIDE", "FaceCrop", "face_crop"]

MIN_SIDE, MAX_SIDE = 32, 512
_LAYOUT = AlignmentLayout()


@dataclass(frozen=True)
class FaceCrop:
    face: Face
    image: NDArray[np.uint8]


async def face_crop(
    image: NDArray[np.uint8],
    face_index: int,
    backend: InferenceBackend,
    time_left: Callable[[], float | None] = lambda: None,
    timer: StageTimer | None = None,
) -> FaceCrop:
    """Find the faces of ``image`` (largest first) and return the aligned crop of face ``face_index``."""
    timer = timer or StageTimer()
    if face_index == 0:
        # Only the largest face is wanted: the coarse-to-fine search stops once it has it.
        largest = await find_largest_face(image, backend, timeout_s=time_left(), timer=timer)
        faces = [largest] if largest is not None else []
    else:
        faces = await find_faces(image, backend, timeout_s=time_left(), timer=timer)
    if not faces:
        raise NoFace("no face was found in the photo; send face_only=false to enhance the whole photo")
    if face_index >= len(faces):
        raise InvalidInput(
            f"face_index {face_index} is out of range: the photo has {len(faces)} face(s), numbered from 0"
        )
    face = faces[face_index]
    right_eye, left_eye = face.keypoints[0], face.keypoints[1]
    eye_distance = float(np.hypot(*(left_eye - right_eye)))
    side = int(np.clip(round(eye_distance / _LAYOUT.eye_distance), MIN_SIDE, MAX_SIDE))
    layout = AlignmentLayout(size=side, eye_distance=_LAYOUT.eye_distance, eye_line=_LAYOUT.eye_line)
    with timer.stage("align"):
        alignment = align_eyes(right_eye, left_eye, layout)
        return FaceCrop(face=face, image=aligned_crop(image, alignment))
