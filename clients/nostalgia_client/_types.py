"""Typed, immutable results and inputs of the SDK.

Plain frozen dataclasses instead of protobuf messages: they compare and hash, print readably,
autocomplete, and keep the wire format free to evolve behind them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ._formats import Framing, OutputFormat

__all__ = [
    "AnimationInfo",
    "AnimationResult",
    "AnimationSummary",
    "Box",
    "Chunk",
    "Driver",
    "EnhancedImage",
    "Face",
    "FaceDetection",
    "Frame",
    "Keyframe",
    "Point",
    "Point3",
    "StageTiming",
]


@dataclass(frozen=True)
class Point:
    """A point in pixels of the photo (after EXIF orientation)."""

    x: float
    y: float


@dataclass(frozen=True)
class Point3:
    """A face-mesh landmark: x, y in pixels; z relative depth in the same scale (smaller = closer)."""

    x: float
    y: float
    z: float


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in pixels of the photo."""

    x_min: float
    y_min: float
    x_max: float
    y_max: float

    @property
    def width(self) -> float:
        return self.x_max - self.x_min

    @property
    def height(self) -> float:
        return self.y_max - self.y_min

    @property
    def center(self) -> Point:
        return Point((self.x_min + self.x_max) / 2, (self.y_min + self.y_max) / 2)


@dataclass(frozen=True)
class Face:
    """One detected face.

    `keypoints` are, in order: right eye, left eye (the subject's), nose tip, right and left
    mouth corner. `landmarks` is the 468-point mesh, empty when not requested.
    """

    box: Box
    score: float
    keypoints: tuple[Point, ...] = ()
    landmarks: tuple[Point3, ...] = ()
    roll_deg: float = 0.0
    landmark_score: float = 0.0


@dataclass(frozen=True)
class StageTiming:
    """Server wall-clock time for one pipeline stage (decode, detect, align, ...)."""

    stage: str
    seconds: float


@dataclass(frozen=True)
class FaceDetection:
    """Faces found in a photo, largest first, in the coordinates of a `width` x `height` image."""

    faces: tuple[Face, ...]
    width: int
    height: int
    timings: tuple[StageTiming, ...] = ()


@dataclass(frozen=True)
class Driver:
    """A motion preset that `animate(driver=...)` accepts."""

    name: str
    description: str
    default_duration_s: float
    blinks: bool


@dataclass(frozen=True)
class Keyframe:
    """Caller-given motion at one instant; the server interpolates smoothly between keyframes.

    Defaults mean "as in the photo". Note the eye defaults: 1.0 (open), where the wire
    format's zero would mean closed.
    """

    time_s: float
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    roll_deg: float = 0.0
    eye_open_left: float = 1.0
    eye_open_right: float = 1.0
    smile: float = 0.0
    brow: float = 0.0
    gaze_x: float = 0.0
    gaze_y: float = 0.0


@dataclass(frozen=True)
class AnimationInfo:
    """What an animation stream will contain; known before the first frame arrives."""

    request_id: str
    format: OutputFormat
    mime_type: str
    width: int
    height: int
    fps: float
    frame_count: int
    duration_s: float
    driver: str
    face: Face | None
    face_index: int
    framing: Framing
    enhanced: bool
    seed: int


@dataclass(frozen=True)
class Frame:
    """One encoded image of an image-format animation (JPEG, PNG or WebP bytes)."""

    index: int
    timestamp_s: float
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Chunk:
    """A piece of a container file; concatenating chunks in order gives the file.

    `frames_complete` counts the frames this and the earlier chunks fully contain.
    """

    sequence: int
    data: bytes = field(repr=False)
    frames_complete: int


@dataclass(frozen=True)
class AnimationSummary:
    """Sent by the server after the last frame: totals and where the time went."""

    frames: int
    bytes: int
    time_to_first_frame_s: float
    total_s: float
    timings: tuple[StageTiming, ...] = ()


@dataclass(frozen=True)
class AnimationResult:
    """A finished animation.

    From `Animation.collect()`: `frames` (image formats) or `data` (the container file). From
    `animate_to_file()`: `paths`, the files written (one for a container, one per frame).
    """

    info: AnimationInfo
    summary: AnimationSummary
    frames: tuple[Frame, ...] = field(default=(), repr=False)
    data: bytes = field(default=b"", repr=False)
    paths: tuple[Path, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class EnhancedImage:
    """An upscaled image, encoded as `mime_type`; `face` is set when only a face was enhanced."""

    data: bytes = field(repr=False)
    mime_type: str
    width: int
    height: int
    face: Face | None = None
    timings: tuple[StageTiming, ...] = ()

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Writes the encoded bytes as they are (pick an extension matching `mime_type`)."""
        target = Path(path)
        target.write_bytes(self.data)
        return target
