"""The 468-point face mesh for each detected face, in photo pixels, and what follows from it.

Each face is cut out as a square turned so its eyes are level (the roll comes from the
detector's eye key points), 1.5 times the detector's box as MediaPipe's face mesh expects,
and resized to 192 px; all faces of a photo go to Triton in one call. The crop transform is
inverted to bring the mesh back onto the photo. The mesh's presence score also tells a real
face from a detector false positive, which matters on old, damaged and painted photos.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from .backend import InferenceBackend
from .detection import FaceDetection

__all__ = [
    "CROP",
    "FaceMesh",
    "crop_matrix",
    "eye_centres",
    "five_keypoints",
    "landmark_faces",
    "mesh_crop_matrix",
    "roll_degrees",
]

MODEL = "face_landmarks"
CROP = 192
ROI_SCALE = 1.5

# Eye contours in MediaPipe's mesh topology: the subject's right eye (left in a frontal photo)
# and left eye, each as corners and the upper and lower lid points beside the lid centre.
_RIGHT_EYE = [33, 133, 160, 158, 144, 153]
_LEFT_EYE = [263, 362, 387, 385, 373, 380]
_NOSE_TIP = 1
_MOUTH_RIGHT = 61
_MOUTH_LEFT = 291


@dataclass(frozen=True)
class FaceMesh:
    """One face's mesh in photo pixels: points [468, 3] (x, y, depth on the same scale)."""

    points: NDArray[np.float32]
    score: float
    roll_deg: float

    @property
    def keypoints(self) -> NDArray[np.float32]:
        return five_keypoints(self.points)


def roll_degrees(right_eye: NDArray[np.floating[Any]], left_eye: NDArray[np.floating[Any]]) -> float:
    """Angle of the subject's right-to-left eye line; positive when the head tilts clockwise in the image.

    Image y points down, so a positive ``atan2`` there is a clockwise turn as seen on screen.
    """
    dx, dy = float(left_eye[0] - right_eye[0]), float(left_eye[1] - right_eye[1])
    return math.degrees(math.atan2(dy, dx))


def crop_matrix(detection: FaceDetection, size: int = CROP, scale: float = ROI_SCALE) -> NDArray[np.float64]:
    """2x3 affine from photo to a ``size`` px crop: box centre in the middle, eyes level."""
    x0, y0, x1, y1 = detection.box
    centre = np.array([(x0 + x1) / 2.0, (y0 + y1) / 2.0])
    side = max(x1 - x0, y1 - y0) * scale
    angle = math.radians(roll_degrees(detection.keypoints[0], detection.keypoints[1]))
    return _rotated_square(centre, side, angle, size)


def _rotated_square(centre: NDArray[np.float64], side: float, angle: float, size: int) -> NDArray[np.float64]:
    zoom = size / max(side, 1e-6)
    cos, sin = math.cos(angle) * zoom, math.sin(angle) * zoom
    # Rotating by -angle levels a line that rises at +angle (image coordinates).
    linear = np.array([[cos, sin], [-sin, cos]])
    offset = np.array([size / 2.0, size / 2.0]) - linear @ centre
    return np.hstack([linear, offset[:, None]])


def eye_centres(points: NDArray[np.floating[Any]]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Centres of the subject's right and left eye from the mesh (mean of corners and lids)."""
    right = points[_RIGHT_EYE, :2].mean(axis=0).astype(np.float32)
    left = points[_LEFT_EYE, :2].mean(axis=0).astype(np.float32)
    return right, left


def five_keypoints(points: NDArray[np.floating[Any]]) -> NDArray[np.float32]:
    """Right eye centre, left eye centre, nose tip, right and left mouth corner (the subject's), [5, 2]."""
    right, left = eye_centres(points)
    rest = points[[_NOSE_TIP, _MOUTH_RIGHT, _MOUTH_LEFT], :2].astype(np.float32)
    return np.vstack([right, left, rest]).astype(np.float32)


def _crops(image: NDArray[np.uint8], matrices: list[NDArray[np.float64]]) -> NDArray[np.uint8]:
    batch = np.zeros((len(matrices), CROP, CROP, 3), np.uint8)
    for i, matrix in enumerate(matrices):
        batch[i] = cv2.warpAffine(
            image, matrix, (CROP, CROP), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
        )
    return batch


def _to_photo(points: NDArray[np.float32], matrix: NDArray[np.float64]) -> NDArray[np.float32]:
    inverse = cv2.invertAffineTransform(matrix)
    xy = points[:, :2].astype(np.float64) @ inverse[:, :2].T + inverse[:, 2]
    zoom = math.sqrt(abs(np.linalg.det(matrix[:, :2])))
    z = points[:, 2:3].astype(np.float64) / zoom
    return np.hstack([xy, z]).astype(np.float32)


def mesh_crop_matrix(
    points: NDArray[np.floating[Any]], size: int = CROP, scale: float = ROI_SCALE
) -> NDArray[np.float64]:
    """2x3 affine from photo to a crop framed on a previous mesh, as MediaPipe does when tracking.

    The mesh's own extent and eye line frame the face more tightly than the detector's box,
    so a second pass on this crop gives steadier, more accurate points.
    """
    right, left = eye_centres(points)
    angle = math.radians(roll_degrees(right, left))
    cos, sin = math.cos(angle), math.sin(angle)
    # Extent measured in the face's own (levelled) frame, so the square fits a tilted head.
    xy = points[:, :2].astype(np.float64)
    levelled = xy @ np.array([[cos, -sin], [sin, cos]])
    low, high = levelled.min(axis=0), levelled.max(axis=0)
    centre = np.array([[cos, sin], [-sin, cos]]).T @ ((low + high) / 2.0)
    side = float(max(high - low)) * scale
    return _rotated_square(centre, side, angle, size)


async def _run_mesh(
    image: NDArray[np.uint8],
    matrices: list[NDArray[np.float64]],
    backend: InferenceBackend,
    timeout_s: float | None,
) -> list[FaceMesh]:
    batch = await asyncio.to_thread(_crops, image, matrices)
    result = await backend.infer(MODEL, {"IMAGE": batch}, ["LANDMARKS", "SCORE"], timeout_s=timeout_s)
    landmarks = np.asarray(result["LANDMARKS"], dtype=np.float32).reshape(len(matrices), -1, 3)
    scores = np.asarray(result["SCORE"], dtype=np.float32).reshape(len(matrices))
    meshes = []
    for points, score, matrix in zip(landmarks, scores, matrices, strict=True):
        photo_points = _to_photo(points, matrix)
        right, left = eye_centres(photo_points)
        meshes.append(FaceMesh(photo_points, float(score), roll_degrees(right, left)))
    return meshes


async def landmark_faces(
    image: NDArray[np.uint8],
    detections: list[FaceDetection],
    backend: InferenceBackend,
    timeout_s: float | None = None,
    refine: bool = True,
) -> list[FaceMesh]:
    """The mesh of every detected face, in the order given.

    With ``refine`` a second pass runs on crops framed by the first pass's mesh; faces the
    first pass did not recognise (low presence) keep their first result.
    """
    if not detections:
        return []
    meshes = await _run_mesh(image, [crop_matrix(d) for d in detections], backend, timeout_s)
    if not refine:
        return meshes
    again = [i for i, m in enumerate(meshes) if m.score >= 0.5]
    if again:
        matrices = [mesh_crop_matrix(meshes[i].points) for i in again]
        for i, mesh in zip(again, await _run_mesh(image, matrices, backend, timeout_s), strict=True):
            # A crop framed on a mesh looks face-like even around a false positive (an animal's
            # face, say), so the presence that counts is the lower of the two passes.
            meshes[i] = FaceMesh(mesh.points, min(mesh.score, meshes[i].score), mesh.roll_deg)
    return meshes
