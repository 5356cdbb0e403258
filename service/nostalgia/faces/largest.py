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
"""

from __future__ import annotations

import math
from itertools import groupby

import numpy as np
from numpy.typing import NDArray

from ..timing import StageTimer
from .backend import InferenceBackend
from .detection import detect_in_tiles, merge_detections, plan_tiles
from .pipeline import Face, FaceConfig, confirm_faces

__all__ = ["find_largest_face"]


async def find_largest_face(
    image: NDArray[np.uint8],
    backend: InferenceBackend,
    config: FaceConfig | None = None,
    timeout_s: float | None = None,
    timer: StageTimer | None = None,
) -> Face | None:
    """The largest confirmed face of an RGB ``HxWx3`` photo (what ``find_faces`` lists first), or None."""
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
            found = [d for d in found if finest or math.sqrt(d.area) >= smallest]
            candidates = merge_detections(found, config.detection)
        if not candidates:
            continue
        faces = await confirm_faces(image, candidates, backend, config, timeout_s, timer)
        if faces:
            return faces[0]
    return None
