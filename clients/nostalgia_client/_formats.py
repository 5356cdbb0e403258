"""Output formats and the file-name rules that choose them.

People name the file they want (``out.mp4``, ``frames/``) rather than an enum, so the SDK and
the CLI derive the wire format from the path here, once, with errors that list what works.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from pathlib import Path

from nostalgia.v1 import nostalgia_pb2 as pb

__all__ = [
    "CONTAINER_EXTENSIONS",
    "FRAME_EXTENSIONS",
    "IMAGE_EXTENSIONS",
    "EnhanceMode",
    "Framing",
    "ImageFormat",
    "OutputFormat",
    "OutputTarget",
    "UpscalerModel",
    "image_format_for_path",
    "output_target_for_path",
]


class OutputFormat(enum.StrEnum):
    """How Animate encodes its output; plain strings ("mp4", "jpeg", ...) are accepted too."""

    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"
    MP4 = "mp4"
    WEBM = "webm"
    GIF = "gif"
    ANIMATED_WEBP = "animated-webp"

    @property
    def is_container(self) -> bool:
        """True when the output arrives as chunks of one file, False for one image per frame."""
        return self in _CONTAINERS

    @property
    def extension(self) -> str:
        """The usual file extension, with the dot."""
        return _EXTENSION[self]

    def to_proto(self) -> pb.OutputFormat:
        return _FORMAT_TO_PB[self]

    @classmethod
    def from_proto(cls, value: int) -> OutputFormat:
        for fmt, pb_value in _FORMAT_TO_PB.items():
            if pb_value == value:
                return fmt
        return cls.JPEG  # UNSPECIFIED means JPEG frames


_CONTAINERS = frozenset({OutputFormat.MP4, OutputFormat.WEBM, OutputFormat.GIF, OutputFormat.ANIMATED_WEBP})
_EXTENSION = {
    OutputFormat.JPEG: ".jpg",
    OutputFormat.PNG: ".png",
    OutputFormat.WEBP: ".webp",
    OutputFormat.MP4: ".mp4",
    OutputFormat.WEBM: ".webm",
    OutputFormat.GIF: ".gif",
    OutputFormat.ANIMATED_WEBP: ".webp",
}
_FORMAT_TO_PB = {
    OutputFormat.JPEG: pb.OUTPUT_FORMAT_JPEG,
    OutputFormat.PNG: pb.OUTPUT_FORMAT_PNG,
    OutputFormat.WEBP: pb.OUTPUT_FORMAT_WEBP,
    OutputFormat.MP4: pb.OUTPUT_FORMAT_MP4,
    OutputFormat.WEBM: pb.OUTPUT_FORMAT_WEBM,
    OutputFormat.GIF: pb.OUTPUT_FORMAT_GIF,
    OutputFormat.ANIMATED_WEBP: pb.OUTPUT_FORMAT_ANIMATED_WEBP,
}


class Framing(enum.StrEnum):
    """What the animated frames show."""

    PHOTO = "photo"
    FACE = "face"

    def to_proto(self) -> pb.Framing:
        return pb.FRAMING_FACE if self is Framing.FACE else pb.FRAMING_PHOTO

    @classmethod
    def from_proto(cls, value: int) -> Framing:
        return cls.FACE if value == pb.FRAMING_FACE else cls.PHOTO


class EnhanceMode(enum.StrEnum):
    """Whether Animate upscales the face first (auto: only when it is small)."""

    AUTO = "auto"
    ON = "on"
    OFF = "off"

    def to_proto(self) -> pb.EnhanceMode:
        return {
            EnhanceMode.AUTO: pb.ENHANCE_MODE_AUTO,
            EnhanceMode.ON: pb.ENHANCE_MODE_ON,
            EnhanceMode.OFF: pb.ENHANCE_MODE_OFF,
        }[self]


class UpscalerModel(enum.StrEnum):
    """Super-resolution model for Enhance: quality (Real-ESRGAN x4plus) or fast (SRVGGNet)."""

    QUALITY = "quality"
    FAST = "fast"

    def to_proto(self) -> pb.UpscalerModel:
        return pb.UPSCALER_MODEL_FAST if self is UpscalerModel.FAST else pb.UPSCALER_MODEL_QUALITY


class ImageFormat(enum.StrEnum):
    """Encoding of a single image (Enhance results)."""

    PNG = "png"
    JPEG = "jpeg"
    WEBP = "webp"

    def to_proto(self) -> pb.ImageFormat:
        return {
            ImageFormat.PNG: pb.IMAGE_FORMAT_PNG,
            ImageFormat.JPEG: pb.IMAGE_FORMAT_JPEG,
            ImageFormat.WEBP: pb.IMAGE_FORMAT_WEBP,
        }[self]


CONTAINER_EXTENSIONS: dict[str, OutputFormat] = {
    ".mp4": OutputFormat.MP4,
    ".m4v": OutputFormat.MP4,
    ".webm": OutputFormat.WEBM,
    ".gif": OutputFormat.GIF,
    ".webp": OutputFormat.ANIMATED_WEBP,
}
FRAME_EXTENSIONS: dict[str, OutputFormat] = {
    ".jpg": OutputFormat.JPEG,
    ".jpeg": OutputFormat.JPEG,
    ".png": OutputFormat.PNG,
    ".webp": OutputFormat.WEBP,
}
IMAGE_EXTENSIONS: dict[str, ImageFormat] = {
    ".png": ImageFormat.PNG,
    ".jpg": ImageFormat.JPEG,
    ".jpeg": ImageFormat.JPEG,
    ".webp": ImageFormat.WEBP,
}


@dataclass(frozen=True)
class OutputTarget:
    """Where and how an animation is written.

    For a container, `path` is the file. For frames, `path` is the directory and
    `frame_name` a `str.format` pattern taking the frame index (``frame_{:05d}.jpg``).
    """

    path: Path
    format: OutputFormat
    frame_name: str | None = None

    @property
    def is_frames(self) -> bool:
        return self.frame_name is not None


def _looks_like_directory(path: Path, raw: str) -> bool:
    return raw.endswith(("/", os.sep)) or path.is_dir() or path.suffix == ""


def output_target_for_path(
    path: str | os.PathLike[str], frame_format: OutputFormat | str | None = None
) -> OutputTarget:
    """Reads the wanted output from a path.

    ``clip.mp4`` / ``.m4v`` -> fragmented MP4, ``.webm`` -> WebM, ``.gif`` -> GIF, ``.webp`` ->
    animated WebP; a directory (existing, ending in ``/`` or without extension) -> one image per
    frame (`frame_format`, JPEG by default); a ``%d``-style pattern such as
    ``frames/f_%04d.png`` -> frames named by it. Raises ValueError for anything else.
    """
    raw = os.fspath(path)
    target = Path(raw)
    wanted_frames = OutputFormat(frame_format) if frame_format is not None else None
    if wanted_frames is not None and wanted_frames.is_container:
        raise ValueError(f"frame format must be jpeg, png or webp, not {wanted_frames.value}")
    if "%" in target.name:
        fmt = FRAME_EXTENSIONS.get(target.suffix.lower())
        if fmt is None:
            raise ValueError(f"{raw}: a frame-name pattern must end in .jpg, .png or .webp")
        try:
            target.name % 0
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{raw}: the frame-name pattern needs one %d-style field") from exc
        brace_pattern = target.name.replace("{", "{{").replace("}", "}}")
        return OutputTarget(target.parent, fmt, _percent_to_format(brace_pattern))
    if _looks_like_directory(target, raw):
        fmt = wanted_frames or OutputFormat.JPEG
        return OutputTarget(target, fmt, "frame_{:05d}" + fmt.extension)
    suffix = target.suffix.lower()
    if suffix in CONTAINER_EXTENSIONS:
        return OutputTarget(target, CONTAINER_EXTENSIONS[suffix])
    supported = ", ".join(sorted(CONTAINER_EXTENSIONS))
    if suffix in FRAME_EXTENSIONS:
        raise ValueError(
            f"{raw}: an animation is many frames; write a clip ({supported}), a directory "
            f"(e.g. frames/) for one image per frame, or a pattern such as frames/f_%04d{suffix}"
        )
    raise ValueError(f"{raw}: unknown output type {suffix!r}; use {supported} or a directory for frames")


def _percent_to_format(name: str) -> str:
    """Turns the single %-field of a printf-style name into the equivalent `str.format` field."""
    start = name.index("%")
    end = start + 1
    while end < len(name) and name[end] not in "diu":
        end += 1
    spec = name[start + 1 : end]
    return name[:start] + "{:" + spec + "d}" + name[end + 1 :]


def image_format_for_path(path: str | os.PathLike[str]) -> ImageFormat:
    """Image encoding from an output file name (.png, .jpg/.jpeg, .webp)."""
    suffix = Path(path).suffix.lower()
    try:
        return IMAGE_EXTENSIONS[suffix]
    except KeyError:
        raise ValueError(
            f"{os.fspath(path)}: unknown image type {suffix or '(none)'!r}; use .png, .jpg or .webp"
        ) from None
