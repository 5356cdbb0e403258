"""The output formats the encoders produce, and what a caller needs to know about each.

The encoding package keeps its own enum instead of the proto's so that it stays usable (and
testable) without the generated gRPC code; ``from_proto`` is the single bridge.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["FormatInfo", "MediaFormat", "from_proto", "info"]


class MediaFormat(enum.Enum):
    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"
    MP4 = "mp4"
    WEBM = "webm"
    GIF = "gif"
    ANIMATED_WEBP = "animated_webp"


@dataclass(frozen=True, slots=True)
class FormatInfo:
    """Static facts about a format.

    ``container`` separates the formats streamed as byte chunks of one file from those
    sent as one self-contained image per frame. ``even_dimensions`` marks the yuv420p video
    codecs, whose chroma subsampling needs even widths and heights.
    """

    mime_type: str
    extension: str
    container: bool
    even_dimensions: bool


_INFO: dict[MediaFormat, FormatInfo] = {
    MediaFormat.JPEG: FormatInfo("image/jpeg", "jpg", container=False, even_dimensions=False),
    MediaFormat.PNG: FormatInfo("image/png", "png", container=False, even_dimensions=False),
    MediaFormat.WEBP: FormatInfo("image/webp", "webp", container=False, even_dimensions=False),
    MediaFormat.MP4: FormatInfo("video/mp4", "mp4", container=True, even_dimensions=True),
    MediaFormat.WEBM: FormatInfo("video/webm", "webm", container=True, even_dimensions=True),
    MediaFormat.GIF: FormatInfo("image/gif", "gif", container=True, even_dimensions=False),
    MediaFormat.ANIMATED_WEBP: FormatInfo("image/webp", "webp", container=True, even_dimensions=False),
}

# OutputFormat numbers from protos/nostalgia/v1/nostalgia.proto; 0 (unspecified) means JPEG.
_FROM_PROTO: dict[int, MediaFormat] = {
    0: MediaFormat.JPEG,
    1: MediaFormat.JPEG,
    2: MediaFormat.PNG,
    3: MediaFormat.WEBP,
    4: MediaFormat.MP4,
    5: MediaFormat.WEBM,
    6: MediaFormat.GIF,
    7: MediaFormat.ANIMATED_WEBP,
}


def info(fmt: MediaFormat) -> FormatInfo:
    return _INFO[fmt]


def from_proto(output_format: int) -> MediaFormat:
    """Map an ``OutputFormat`` value to a format; ``ValueError`` for numbers this build does not know."""
    try:
        return _FROM_PROTO[int(output_format)]
    except KeyError:
        raise ValueError(f"unknown output format {int(output_format)}") from None
