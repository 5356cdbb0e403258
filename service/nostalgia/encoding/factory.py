"""One entry point that picks the encoder for a format."""

from __future__ import annotations

from nostalgia.encoding.animated_webp import AnimatedWebpEncoder
from nostalgia.encoding.base import Encoder
from nostalgia.encoding.formats import MediaFormat
from nostalgia.encoding.gif import GifEncoder
from nostalgia.encoding.images import JpegEncoder, PngEncoder, WebpFrameEncoder
from nostalgia.encoding.options import EncoderSettings
from nostalgia.encoding.video import Mp4Encoder, WebmEncoder

__all__ = ["create_encoder"]

_ENCODERS: dict[MediaFormat, type[Encoder]] = {
    MediaFormat.JPEG: JpegEncoder,
    MediaFormat.PNG: PngEncoder,
    MediaFormat.WEBP: WebpFrameEncoder,
    MediaFormat.MP4: Mp4Encoder,
    MediaFormat.WEBM: WebmEncoder,
    MediaFormat.GIF: GifEncoder,
    MediaFormat.ANIMATED_WEBP: AnimatedWebpEncoder,
}


def create_encoder(
    fmt: MediaFormat,
    width: int,
    height: int,
    fps: float,
    settings: EncoderSettings | None = None,
    *,
    visible_mark: bool = True,
    frame_count: int | None = None,
) -> Encoder:
    """A fresh incremental encoder. ``visible_mark`` stamps the "AI animated" badge (on by default).

    ``frame_count`` is accepted for callers that know it; no encoder needs it today, because
    every format here is written without knowing the clip's length in advance.
    """
    if frame_count is not None and frame_count <= 0:
        raise ValueError(f"frame_count must be positive, got {frame_count}")
    return _ENCODERS[fmt](width, height, fps, settings or EncoderSettings(), visible_mark)
