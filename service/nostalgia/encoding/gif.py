"""Looping GIF, streamed frame by frame.

FFmpeg's GIF muxer wants a seekable output, and a palette computed over the whole clip would
hold every frame back until the end. This writer does neither: the GIF format itself needs
no back-patching (no sizes, no index), so it writes the header, a loop-forever NETSCAPE
extension and a comment extension with the provenance note, then each frame as soon as it is
pushed, and the one-byte trailer at the end.

The global palette is chosen from the first frame (median cut, 256 colours). The clip is a
still photo with a moving face, so the first frame holds the clip's colours, badge included.
Frames are mapped onto that palette without dithering, which keeps still regions
bit-identical from frame to frame; each frame after the first is cropped to the rectangle
that changed, so a moving face costs bytes and a still background does not.

Frame delays are whole centiseconds, accumulated so that the clip's total length is exact
(25 fps gives 4 cs every frame). Browsers stretch delays below 2 cs, so above 50 fps a GIF
plays slower than asked; the video formats have no such limit.
"""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
from PIL import Image

from nostalgia.encoding.base import EncodedPiece, Encoder, RgbFrame
from nostalgia.encoding.formats import MediaFormat
from nostalgia.encoding.provenance import PROVENANCE_TEXT

__all__ = ["GifEncoder"]

_DISPOSE_NONE = 1 << 2  # "do not dispose": the next frame draws over this one


class GifEncoder(Encoder):
    format = MediaFormat.GIF

    _palette: Image.Image | None = None
    _previous: npt.NDArray[np.uint8] | None = None
    _elapsed_cs = 0

    def _encode(self, frame: RgbFrame) -> list[EncodedPiece]:
        image = Image.fromarray(frame)
        out = bytearray()
        if self._palette is None:
            self._palette = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT)
            out += self._header(self._palette)
        indexed = image.quantize(palette=self._palette, dither=Image.Dither.NONE)
        indices = np.asarray(indexed)
        left, top, right, bottom = self._changed_box(indices)
        self._previous = indices
        index = self.frames_pushed
        end_cs = round((index + 1) * 100 / self.fps)
        delay, self._elapsed_cs = end_cs - self._elapsed_cs, end_cs
        out += _graphic_control(delay)
        out += _image_block(indexed.crop((left, top, right, bottom)), self._palette, left, top)
        return [EncodedPiece(bytes(out), index + 1)]

    def _finish(self) -> list[EncodedPiece]:
        return [EncodedPiece(b";", self.frames_pushed)]

    def _release(self) -> None:
        self._palette = None
        self._previous = None

    def _changed_box(self, indices: npt.NDArray[np.uint8]) -> tuple[int, int, int, int]:
        if self._previous is None:
            return 0, 0, self.width, self.height
        rows = np.flatnonzero((indices != self._previous).any(axis=1))
        if rows.size == 0:
            return 0, 0, 1, 1  # nothing moved: redraw one unchanged pixel to keep the timing
        cols = np.flatnonzero(
            (indices[rows[0] : rows[-1] + 1] != self._previous[rows[0] : rows[-1] + 1]).any(axis=0)
        )
        return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1

    def _header(self, palette_image: Image.Image) -> bytes:
        palette = bytes(palette_image.getpalette() or [])[: 3 * 256].ljust(3 * 256, b"\0")
        screen = self.width.to_bytes(2, "little") + self.height.to_bytes(2, "little")
        # Global colour table present, 8 bits per channel, 256 entries; background 0; square pixels.
        header = b"GIF89a" + screen + bytes([0xF7, 0, 0]) + palette
        loop_forever = b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
        return header + loop_forever + _comment(PROVENANCE_TEXT)


def _comment(text: str) -> bytes:
    data = text.encode("ascii", "replace")
    blocks = b"".join(bytes([len(data[i : i + 255])]) + data[i : i + 255] for i in range(0, len(data), 255))
    return b"!\xfe" + blocks + b"\0"


def _graphic_control(delay_cs: int) -> bytes:
    return b"!\xf9\x04" + bytes([_DISPOSE_NONE]) + delay_cs.to_bytes(2, "little") + b"\0\0"


def _image_block(region: Image.Image, palette: Image.Image, left: int, top: int) -> bytes:
    """Image descriptor and LZW data for a region, taken from Pillow's own single-frame GIF.

    Pillow's encoder is used for the LZW coding only: the region is saved as a one-frame GIF
    with the clip palette (no palette optimisation, so the indices are ours), and the image
    descriptor and data are cut out of it and moved to the region's offset.
    """
    region.putpalette(palette.getpalette() or [])
    buffer = io.BytesIO()
    region.save(buffer, "GIF", optimize=False)
    data = buffer.getvalue()
    packed = data[10]
    offset = 13 + (3 * (2 << (packed & 7)) if packed & 0x80 else 0)
    while data[offset] == 0x21:  # skip any extension block
        offset += 2
        while data[offset]:
            offset += data[offset] + 1
        offset += 1
    if data[offset] != 0x2C or data[-1] != 0x3B:
        raise RuntimeError("unexpected GIF layout from Pillow")
    block = bytearray(data[offset:-1])
    block[1:5] = left.to_bytes(2, "little") + top.to_bytes(2, "little")
    if block[9] & 0x80:
        raise RuntimeError("Pillow wrote a local colour table; indices would not match the global palette")
    return bytes(block)
