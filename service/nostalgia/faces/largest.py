"""The largest face of a photo, found coarse to fine and stopping at the first confirmed face.

Animating or enhancing "the" face needs only the largest one, and in a portrait it fills much
of the photo, so the whole-photo tile alone usually finds it. The search therefore walks the
same pyramid as ``detect_faces`` the other way round, coarsest level first, meshes the
candidates of each level and stops at the first level that gives a confirmed face; the
finest levels, which hold nearly all of the tiles, are then never cut or sent.

Why the first confirmed level holds the largest face. A level of scale ``s`` shows a face of
``F`` photo pixels at ``F * s`` px, and it is responsible for the faces that lie whole in one
of its tiles at no less than the detector's ``target_face_px``. Let ``B`` be a face found at
level ``s`` and ``A`` a larger one. Then ``A * s > B * s >= target_face_px``: either ``A`` lies
whole in a tile of level ``s`` too, and is meshed with ``B`` (the larger wins), or it is wider
than the tile overlap there, so at the next coarser level it is still above
``overlap / 2 >= target_face_px`` and the argument repeats up to the coarsest level, whose one
tile holds the whole photo. So ``A`` is in the detector's range at a level no finer than
``B``'s, and the coarse-first search meets it first.

The detector also fires, with loose boxes, on faces somewhat below a level's range; such a
face would stop the search at a level where larger faces are not yet in range (a group photo of
many small faces shows it), so below-range candidates are left to the finer level that is
responsible for them (the finest level keeps everything, as the full search does). What remains
is the detector's own recall at a given level, which is why tests compare this search with the
full one on every test photo.

The level that holds the largest face also holds the faces of about its size, confirmed in the
same call, and sees the smaller ones as below-range candidates. ``find_largest_faces`` returns
them too (the smaller ones confirmed in a second call, only when there are any), for the stages
that must know who stands next to the face they work on: animation holds a neighbour's face
still. The largest face is the same either way.
"""

from __future__ import annotations

import math
from itertools import groupby

import numpy as np
from numpy.typing import NDArray

from ..timing import StageTimer
from .backend import InferenceBackend
from .detection import detect_in_tiles, merge_detections, plan_tiles, same_face
from .pipeline import Face, FaceConfig, confirm_faces

__all__ = ["find_largest_face", "find_largest_faces"]


async def find_largest_face(
    image: NDArray[np.uint8],
    backend: InferenceBackend,
    config: FaceConfig | None = None,
    timeout_s: float | None = None,
    timer: StageTimer | None = None,
) -> Face | None:
    """The largest confirmed face of an RGB ``HxWx3`` photo (what ``find_faces`` lists first), or None."""
    faces = await find_largest_faces(image, backend, config, timeout_s, timer, smaller=False)
    return faces[0] if faces else None


async def find_largest_faces(
    image: NDArray[np.uint8],
    backend: InferenceBackend,
    config: FaceConfig | None = None,
    timeout_s: float | None = None,
    timer: StageTimer | None = None,
    smaller: bool = True,
) -> list[Face]:
    """The largest confirmed face first, then the others its level finds; empty when there is none.

    The others are the faces the detector finds at the largest face's level, which are the ones of
    a size to stand next to it; a face far smaller than the level sees is not searched for.
    Without ``smaller`` the level's below-range candidates are not confirmed (one call fewer).
    """
    config = config or FaceConfig()
    timer = timer or StageTimer()
    height, width = image.shape[:2]
    tiles = plan_tiles(height, width, config.detection)
    # plan_tiles lists the levels coarsest first, each level's tiles together.
    levels = [list(level) for _, level in groupby(tiles, key=lambda tile: tile.scale)]
    for number, level in enumerate(levels):
        finest = number == len(levels) - 1
        smallest = config.detection.target_face_px / level[0].scale
        with timer.stage("detect"):
            found = await detect_in_tiles(image, level, backend, config.detection, timeout_s)
            # A face below the level's range belongs to a finer level, which boxes it better;
            # keeping it here could stop the search before a larger face is in range.
            in_range = [finest or math.sqrt(d.area) >= smallest for d in found]
            candidates = merge_detections(
                [d for d, ok in zip(found, in_range, strict=True) if ok], config.detection
            )
        if not candidates:
            continue
        faces = await confirm_faces(image, candidates, backend, config, timeout_s, timer)
        if faces and smaller:
            below = merge_detections(
                [d for d, ok in zip(found, in_range, strict=True) if not ok], config.detection
            )
            extras = [d for d in below if not any(same_face(d, c, config.detection) for c in candidates)]
            if extras:
                faces += await confirm_faces(image, extras, backend, config, timeout_s, timer)
        if faces:
            return faces
    return []
