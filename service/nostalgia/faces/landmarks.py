"""The 468-point face mesh for each detected face, in photo pixels, and what follows from it.

Each face is cut out as a square turned so its eyes are level (the roll comes from the
detector's eye key points), 1.5 times the detector's box as MediaPipe's face mesh expects,
and resized to 192 px; all faces of a photo go to Triton together (in calls of at most the
model's batch limit). The crop transform is inverted to bring the mesh back onto the photo.
The mesh's presence score also tells a real face from a detector false positive, which
matters on old, damaged and painted photos.

The eye contours, which give the eye centres (and so the roll, the alignment and every crop
framed on the eyes), are the mean of the mesh of the crop and of its mirror image: the model
errs differently on the two, most on worn, noisy or turned faces, and their mean is steadier
than either.
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
    "LEFT_EYE_CONTOUR",
    "RIGHT_EYE_CONTOUR",
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
# The model's max_batch_size in its Triton config: larger batches go as several calls.
MAX_BATCH = 64
ROI_SCALE = 1.5

# Eye contours in MediaPipe's mesh topology, the subject's right eye (left in a frontal photo)
# and left eye: outer corner, lower lid, inner corner, upper lid. The two lists are each other's
# mirror image point for point, which is what lets the mirrored crop's mesh be mapped back.
RIGHT_EYE_CONTOUR = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
LEFT_EYE_CONTOUR = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
_EYES = [*RIGHT_EYE_CONTOUR, *LEFT_EYE_CONTOUR]
_EYES_MIRRORED = [*LEFT_EYE_CONTOUR, *RIGHT_EYE_CONTOUR]
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
    """Centres of the subject's right and left eye from the mesh: the mean of each eye's contour.

    The whole contour (both corners and seven points along each lid) rather than a few points
    of it, since each point is only as steady as the model; like the mean of the corners and lid
    points of a 68-point model, it marks the middle of the eye opening.
    """
    right = points[list(RIGHT_EYE_CONTOUR), :2].mean(axis=0).astype(np.float32)
    left = points[list(LEFT_EYE_CONTOUR), :2].mean(axis=0).astype(np.float32)
    return right, left


def five_keypoints(points: NDArray[np.floating[Any]]) -> NDArray[np.float32]:
    """Right eye centre, left eye centre, nose tip, right and left mouth corner (the subject's), [5, 2]."""
    right, left = eye_centres(points)
    rest = points[[_NOSE_TIP, _MOUTH_RIGHT, _MOUTH_LEFT], :2].astype(np.float32)
    return np.vstack([right, left, rest]).astype(np.float32)


def _crop(image: NDArray[np.uint8], matrix: NDArray[np.float64], smooth: bool = True) -> NDArray[np.uint8]:
    """The ``CROP`` px square that ``matrix`` frames; area beyond the photo is black.

    A face larger than the crop is shrunk, often several times over (a face of 600 px to 192);
    bilinear sampling alone would then skip pixels and alias fine texture (a painting's cracks,
    film grain, halftone), which shifts the mesh. With ``smooth`` the region the crop shows is
    therefore first reduced with area averaging to the crop's scale, and only the remaining
    turn is resampled; without, it is sampled as MediaPipe's own runtime samples it.
    """
    zoom = math.sqrt(abs(np.linalg.det(matrix[:, :2])))
    if zoom >= 1.0 or not smooth:
        return _warp(image, matrix)
    height, width = image.shape[:2]
    inverse = cv2.invertAffineTransform(matrix)
    corners = np.array([[0, 0], [CROP, 0], [0, CROP], [CROP, CROP]], np.float64)
    footprint = corners @ inverse[:, :2].T + inverse[:, 2]
    margin = 2.0 / zoom
    x0 = max(0, math.floor(footprint[:, 0].min() - margin))
    y0 = max(0, math.floor(footprint[:, 1].min() - margin))
    x1 = min(width, math.ceil(footprint[:, 0].max() + margin))
    y1 = min(height, math.ceil(footprint[:, 1].max() + margin))
    if x1 <= x0 or y1 <= y0:
        return np.zeros((CROP, CROP, 3), np.uint8)
    size = (max(1, round((x1 - x0) * zoom)), max(1, round((y1 - y0) * zoom)))
    reduced = np.asarray(cv2.resize(image[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA), np.uint8)
    fx, fy = size[0] / (x1 - x0), size[1] / (y1 - y0)
    # Pixel q of the reduced region covers photo pixels around (q + 0.5) / f - 0.5 + origin.
    to_photo = np.array([[1.0 / fx, 0.0, x0 + 0.5 / fx - 0.5], [0.0, 1.0 / fy, y0 + 0.5 / fy - 0.5]])
    return _warp(reduced, matrix @ np.vstack([to_photo, [0.0, 0.0, 1.0]]))


def _warp(image: NDArray[np.uint8], matrix: NDArray[np.float64]) -> NDArray[np.uint8]:
    warped = cv2.warpAffine(
        image, matrix, (CROP, CROP), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )
    return np.asarray(warped, dtype=np.uint8)


def _crops(image: NDArray[np.uint8], matrices: list[NDArray[np.float64]], smooth: bool) -> NDArray[np.uint8]:
    batch = np.zeros((len(matrices), CROP, CROP, 3), np.uint8)
    for i, matrix in enumerate(matrices):
        batch[i] = _crop(image, matrix, smooth)
    return batch


def _to_photo(points: NDArray[np.float32], matrix: NDArray[np.float64]) -> NDArray[np.float32]:
    """Crop points to photo pixels.

    The mesh measures x, y continuously over the crop (a pixel spans [i, i + 1], as MediaPipe
    normalises them), while the affine maps pixel centres (pixel i at i), hence the half pixel.
    """
    inverse = cv2.invertAffineTransform(matrix)
    xy = (points[:, :2].astype(np.float64) - 0.5) @ inverse[:, :2].T + inverse[:, 2]
    zoom = math.sqrt(abs(np.linalg.det(matrix[:, :2])))
    z = points[:, 2:3].astype(np.float64) / zoom
    return np.hstack([xy, z]).astype(np.float32)


def _with_mirrored_eyes(plain: NDArray[np.float32], flipped: NDArray[np.float32]) -> NDArray[np.float32]:
    """The crop's mesh with each eye contour averaged with the mirrored crop's mesh of that eye.

    In the mirrored crop the subject's right eye is where the model expects a left eye, so its
    contour comes from the left-eye points, x reflected back (over the crop's full width: the
    mesh's x runs continuously from 0 to ``CROP``).
    """
    mirrored = flipped[_EYES_MIRRORED].copy()
    mirrored[:, 0] = CROP - mirrored[:, 0]
    points = plain.copy()
    points[_EYES] = (plain[_EYES] + mirrored) / 2.0
    return points


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
    final: bool,
) -> list[FaceMesh]:
    """One mesh per crop.

    A ``final`` pass, whose mesh is the result, uses area-averaged crops and also meshes their
    mirror images (in the same call) to refine the eyes. Other passes frame the next one and
    judge presence, for which the crops are sampled plainly, as MediaPipe samples them: the
    presence threshold was set on those (a dog's face that scores 0.55 on a plain crop, and so
    is turned away, scores above 0.9 on a smooth one).
    """
    batch = await asyncio.to_thread(_crops, image, matrices, final)
    if final:
        batch = np.concatenate([batch, batch[:, :, ::-1]])
    calls = [
        backend.infer(MODEL, {"IMAGE": batch[i : i + MAX_BATCH]}, ["LANDMARKS", "SCORE"], timeout_s=timeout_s)
        for i in range(0, len(batch), MAX_BATCH)
    ]
    results = await asyncio.gather(*calls)
    landmarks = np.concatenate([np.asarray(r["LANDMARKS"], dtype=np.float32) for r in results])
    landmarks = landmarks.reshape(len(batch), -1, 3)
    scores = np.concatenate([np.asarray(r["SCORE"], dtype=np.float32) for r in results]).reshape(len(batch))
    meshes = []
    for i, matrix in enumerate(matrices):
        points = _with_mirrored_eyes(landmarks[i], landmarks[len(matrices) + i]) if final else landmarks[i]
        photo_points = _to_photo(points, matrix)
        right, left = eye_centres(photo_points)
        # The presence is that of the crop as it is, not of its mirror image.
        meshes.append(FaceMesh(photo_points, float(scores[i]), roll_degrees(right, left)))
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
    first pass did not recognise (low presence) keep their first result. The second pass is a
    final one (see ``_run_mesh``): smooth crops and mirrored eyes. Without ``refine`` the plain
    first pass is the result, the quickest mesh there is.
    """
    if not detections:
        return []
    meshes = await _run_mesh(image, [crop_matrix(d) for d in detections], backend, timeout_s, final=False)
    if not refine:
        return meshes
    again = [i for i, m in enumerate(meshes) if m.score >= 0.5]
    if again:
        matrices = [mesh_crop_matrix(meshes[i].points) for i in again]
        refined = await _run_mesh(image, matrices, backend, timeout_s, final=True)
        for i, mesh in zip(again, refined, strict=True):
            # A crop framed on a mesh looks face-like even around a false positive (an animal's
            # face, say), so the presence that counts is the lower of the two passes.
            meshes[i] = FaceMesh(mesh.points, min(mesh.score, meshes[i].score), mesh.roll_deg)
    return meshes
