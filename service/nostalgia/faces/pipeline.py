"""Faces of a photo, end to end: detect on a tile pyramid, mesh each candidate, keep the real ones.

The detector alone is tuned for recall, and on old, cracked or painted photos it also fires on
textures; the face mesh's presence score separates those cleanly, so every candidate is
meshed and only confirmed faces are returned. Key points always come from the mesh (it is
far more precise than the detector's six points), so the mesh runs even when the caller does
not want the 468 points back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from ..timing import StageTimer
from .backend import InferenceBackend
from .detection import DetectionConfig, FaceDetection, detect_faces
from .landmarks import FaceMesh, landmark_faces

__all__ = ["Face", "FaceConfig", "confirm_faces", "find_faces"]


@dataclass(frozen=True)
class FaceConfig:
    detection: DetectionConfig = field(default_factory=DetectionConfig)
    min_landmark_score: float = 0.7
    refine_landmarks: bool = True


@dataclass(frozen=True)
class Face:
    """A confirmed face: the detector's box and score plus its mesh, in photo pixels."""

    detection: FaceDetection
    mesh: FaceMesh

    @property
    def box(self) -> tuple[float, float, float, float]:
        return self.detection.box

    @property
    def score(self) -> float:
        return self.detection.score

    @property
    def keypoints(self) -> NDArray[np.float32]:
        """Right eye, left eye (the subject's), nose tip, right and left mouth corner, [5, 2]."""
        return self.mesh.keypoints

    @property
    def landmarks(self) -> NDArray[np.float32]:
        return self.mesh.points

    @property
    def roll_deg(self) -> float:
        return self.mesh.roll_deg

    @property
    def landmark_score(self) -> float:
        return self.mesh.score


async def find_faces(
    image: NDArray[np.uint8],
    backend: InferenceBackend,
    config: FaceConfig | None = None,
    timeout_s: float | None = None,
    timer: StageTimer | None = None,
) -> list[Face]:
    """Every confirmed face in an RGB ``HxWx3`` photo, largest first."""
    config = config or FaceConfig()
    timer = timer or StageTimer()
    with timer.stage("detect"):
        candidates = await detect_faces(image, backend, config.detection, timeout_s)
    return await confirm_faces(image, candidates, backend, config, timeout_s, timer)


async def confirm_faces(
    image: NDArray[np.uint8],
    candidates: list[FaceDetection],
    backend: InferenceBackend,
    config: FaceConfig,
    timeout_s: float | None = None,
    timer: StageTimer | None = None,
) -> list[Face]:
    """The candidates the mesh recognises as faces, boxes limited to the photo, largest first."""
    timer = timer or StageTimer()
    with timer.stage("landmarks"):
        meshes = await landmark_faces(image, candidates, backend, timeout_s, refine=config.refine_landmarks)
    height, width = image.shape[:2]
    faces = [
        Face(_clip(detection, width, height), mesh)
        for detection, mesh in zip(candidates, meshes, strict=True)
        if mesh.score >= config.min_landmark_score
    ]
    faces.sort(key=lambda face: face.detection.area, reverse=True)
    return faces


def _clip(detection: FaceDetection, width: int, height: int) -> FaceDetection:
    """The box limited to the photo: a face cut by the photo's edge gets a box that ends there.

    Only done after the mesh ran, whose crop is framed on the unclipped box.
    """
    x0, y0, x1, y1 = detection.box
    box = (
        min(max(x0, 0.0), float(width)),
        min(max(y0, 0.0), float(height)),
        min(max(x1, 0.0), float(width)),
        min(max(y1, 0.0), float(height)),
    )
    return FaceDetection(detection.score, box, detection.keypoints)
