"""Image formats: one self-contained JPEG, PNG or WebP per frame, each carrying the provenance note."""

from __future__ import annotations

import io

from PIL import Image, PngImagePlugin

from nostalgia.encoding.base import EncodedPiece, Encoder, RgbFrame
from nostalgia.encoding.formats import MediaFormat
from nostalgia.encoding.provenance import PROVENANCE_TEXT, SOFTWARE, xmp_packet

__all__ = ["JpegEncoder", "PngEncoder", "WebpFrameEncoder"]

# PNG is the lossless choice; level 3 is several times faster than zlib's default 6 for a few
# percent more bytes, which matters at 25 frames a second on a small CPU.
_PNG_COMPRESS_LEVEL = 3
# libwebp effort 0..6: on 512x512 photos 2 is about twice as fast as the default 4 for <1% more bytes.
_WEBP_METHOD = 2


class _ImageEncoder(Encoder):
    def _encode(self, frame: RgbFrame) -> list[EncodedPiece]:
        buffer = io.BytesIO()
        self._save(Image.fromarray(frame), buffer)
        return [EncodedPiece(buffer.getvalue(), self.frames_pushed + 1)]

    def _finish(self) -> list[EncodedPiece]:
        return []

    def _save(self, image: Image.Image, buffer: io.BytesIO) -> None:
        raise NotImplementedError


class JpegEncoder(_ImageEncoder):
    format = MediaFormat.JPEG

    def _save(self, image: Image.Image, buffer: io.BytesIO) -> None:
        image.save(
            buffer,
            "JPEG",
            quality=self.settings.effective_quality(),
            comment=PROVENANCE_TEXT.encode(),
            # 4:4:4 above quality 90 keeps the badge's text crisp; 4:2:0 below saves bytes.
            subsampling=0 if self.settings.effective_quality() >= 90 else 2,
        )


class PngEncoder(_ImageEncoder):
    format = MediaFormat.PNG

    def _save(self, image: Image.Image, buffer: io.BytesIO) -> None:
        text = PngImagePlugin.PngInfo()
        text.add_text("Comment", PROVENANCE_TEXT)
        text.add_text("Software", SOFTWARE)
        image.save(buffer, "PNG", compress_level=_PNG_COMPRESS_LEVEL, pnginfo=text)


class WebpFrameEncoder(_ImageEncoder):
    format = MediaFormat.WEBP

    def _save(self, image: Image.Image, buffer: io.BytesIO) -> None:
        image.save(
            buffer, "WEBP", quality=self.settings.effective_quality(), method=_WEBP_METHOD, xmp=xmp_packet()
        )
