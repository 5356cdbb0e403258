"""Turns friendly Python arguments into request messages; shared by the sync and async clients.

Argument mistakes are caught here, before any network traffic, and raised as `InvalidInput`
(also a ValueError) with the same wording the server would use.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, TypeAlias, TypedDict, TypeVar

from nostalgia.v1 import nostalgia_pb2 as pb

from ._errors import InvalidInput
from ._formats import EnhanceMode, Framing, ImageFormat, OutputFormat, UpscalerModel
from ._types import Keyframe

__all__ = [
    "AnimateOptions",
    "EnhanceOptions",
    "Photo",
    "animate_request",
    "detect_faces_request",
    "enhance_request",
    "photo_bytes",
    "photo_label",
    "with_format",
]

Photo: TypeAlias = str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO
"""A photo: a file path, the encoded bytes, or a binary file object opened for reading."""


class AnimateOptions(TypedDict, total=False):
    """Keyword arguments of `animate()`; every one is optional.

    driver: preset name from `list_drivers()` (server default "nostalgia"); or
    keyframes: your own motion (not both). format: output encoding (default JPEG frames).
    duration_s, fps, output_size (longest side, px), framing ("photo" | "face"),
    enhance ("auto" | "on" | "off"), face_index (into `detect_faces()`, largest first),
    seed (same seed, same clip), loop, visible_mark (the "AI animated" badge, default on),
    quality (1..100), bitrate_kbps, keyframe_interval (frames).
    """

    driver: str
    keyframes: Sequence[Keyframe]
    format: OutputFormat | str
    duration_s: float
    fps: float
    output_size: int
    framing: Framing | str
    enhance: EnhanceMode | str
    face_index: int
    seed: int
    loop: bool
    visible_mark: bool
    quality: int
    bitrate_kbps: int
    keyframe_interval: int


class EnhanceOptions(TypedDict, total=False):
    """Keyword arguments of `enhance()`: scale (2 or 4), model ("quality" | "fast"), face_only,
    face_index, format ("png" | "jpeg" | "webp"), quality (1..100)."""

    scale: int
    model: UpscalerModel | str
    face_only: bool
    face_index: int
    format: ImageFormat | str
    quality: int


def photo_bytes(photo: Photo) -> bytes:
    """The encoded photo, from whichever form the caller had it in."""
    if isinstance(photo, bytes | bytearray | memoryview):
        data = bytes(photo)
    elif isinstance(photo, str | os.PathLike):
        data = Path(photo).read_bytes()
    elif hasattr(photo, "read"):
        data = photo.read()
        if not isinstance(data, bytes):
            raise InvalidInput("the photo file object must be opened in binary mode ('rb')")
    else:
        raise InvalidInput(f"photo must be a path, bytes or a binary file object, not {type(photo).__name__}")
    if not data:
        raise InvalidInput(f"the photo {photo_label(photo)} is empty")
    return data


def photo_label(photo: Photo) -> str:
    """How to name the photo in messages."""
    if isinstance(photo, str | os.PathLike):
        return os.fspath(photo)
    name = getattr(photo, "name", None)
    if isinstance(name, str):
        return name
    return "(bytes)" if isinstance(photo, bytes | bytearray | memoryview) else "(file object)"


_Choice = TypeVar("_Choice", OutputFormat, Framing, EnhanceMode, UpscalerModel, ImageFormat)


def _choice(cls: type[_Choice], value: str, what: str) -> _Choice:
    """`value` as a member of `cls`, with the valid choices in the error."""
    try:
        return cls(value)
    except ValueError:
        choices = ", ".join(m.value for m in cls)
        raise InvalidInput(f"unknown {what} {value!r}; choose one of: {choices}") from None


def _keyframe(k: Keyframe) -> pb.Keyframe:
    return pb.Keyframe(
        time_s=k.time_s,
        yaw_deg=k.yaw_deg,
        pitch_deg=k.pitch_deg,
        roll_deg=k.roll_deg,
        eye_open_left=k.eye_open_left,
        eye_open_right=k.eye_open_right,
        smile=k.smile,
        brow=k.brow,
        gaze_x=k.gaze_x,
        gaze_y=k.gaze_y,
    )


def _non_negative(name: str, value: float | None) -> None:
    if value is not None and value < 0:
        raise InvalidInput(f"{name} must not be negative (got {value})")


def animate_request(image: bytes, options: AnimateOptions) -> pb.AnimateRequest:
    """The AnimateRequest for `options`; unset options are left to the server's defaults."""
    request = pb.AnimateRequest(image=image)
    driver = options.get("driver")
    keyframes = options.get("keyframes")
    if driver is not None and keyframes is not None:
        raise InvalidInput("give either a driver or keyframes, not both")
    if driver is not None:
        request.driver = driver
    if keyframes is not None:
        if not keyframes:
            raise InvalidInput("keyframes must hold at least one keyframe")
        request.keyframes.keyframes.extend(_keyframe(k) for k in keyframes)
    for name in ("duration_s", "fps", "output_size", "face_index", "seed"):
        _non_negative(name, options.get(name))  # type: ignore[arg-type]
    if "format" in options:
        request.format = _choice(OutputFormat, options["format"], "format").to_proto()
    if "framing" in options:
        request.framing = _choice(Framing, options["framing"], "framing").to_proto()
    if "enhance" in options:
        request.enhance = _choice(EnhanceMode, options["enhance"], "enhance mode").to_proto()
    request.duration_s = options.get("duration_s", 0.0)
    request.fps = options.get("fps", 0.0)
    request.output_size = options.get("output_size", 0)
    request.face_index = options.get("face_index", 0)
    request.seed = options.get("seed", 0)
    request.loop = options.get("loop", False)
    if "visible_mark" in options:
        request.visible_mark = options["visible_mark"]
    quality = options.get("quality", 0)
    if quality and not 1 <= quality <= 100:
        raise InvalidInput(f"quality must be within 1..100 (got {quality})")
    request.encoding.quality = quality
    request.encoding.bitrate_kbps = options.get("bitrate_kbps", 0)
    request.encoding.keyframe_interval = options.get("keyframe_interval", 0)
    return request


def with_format(options: AnimateOptions, fmt: OutputFormat) -> AnimateOptions:
    """A copy of `options` asking for `fmt`."""
    merged: AnimateOptions = {**options}
    merged["format"] = fmt
    return merged


def enhance_request(image: bytes, options: EnhanceOptions) -> pb.EnhanceRequest:
    request = pb.EnhanceRequest(image=image)
    scale = options.get("scale", 0)
    if scale not in (0, 2, 4):
        raise InvalidInput(f"scale must be 2 or 4 (got {scale})")
    request.scale = scale
    if "model" in options:
        request.model = _choice(UpscalerModel, options["model"], "model").to_proto()
    if "format" in options:
        request.format = _choice(ImageFormat, options["format"], "image format").to_proto()
    request.face_only = options.get("face_only", False)
    _non_negative("face_index", options.get("face_index"))
    request.face_index = options.get("face_index", 0)
    quality = options.get("quality", 0)
    if quality and not 1 <= quality <= 100:
        raise InvalidInput(f"quality must be within 1..100 (got {quality})")
    request.quality = quality
    return request


def detect_faces_request(image: bytes, landmarks: bool) -> pb.DetectFacesRequest:
    return pb.DetectFacesRequest(image=image, skip_landmarks=not landmarks)
