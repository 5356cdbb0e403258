"""The visible mark: a small "AI animated" badge in the bottom-right corner of each frame.

The badge is rendered once per frame size (Pillow text on a rounded, half-transparent pill)
and kept as premultiplied 16-bit arrays, so stamping a frame is one small integer blend over
the corner, not a text render.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

__all__ = ["BADGE_TEXT", "Badge", "badge_for"]

BADGE_TEXT = "AI animated"
_BACKGROUND = (20, 20, 20, 150)
_FOREGROUND = (255, 255, 255, 235)


@dataclass(frozen=True, slots=True)
class Badge:
    """A pre-rendered badge placed at ``(top, left)`` of frames of one size."""

    top: int
    left: int
    # colour * alpha (0..255*255) and 255 - alpha, both uint16, shaped (h, w, 3) and (h, w, 1).
    premultiplied: npt.NDArray[np.uint16]
    inverse_alpha: npt.NDArray[np.uint16]

    def apply(self, frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        """Return a copy of an RGB uint8 frame with the badge blended in (the input is left alone)."""
        out = frame.copy()
        h, w = self.inverse_alpha.shape[:2]
        region = out[self.top : self.top + h, self.left : self.left + w]
        blended = region.astype(np.uint16) * self.inverse_alpha + self.premultiplied
        # (x + 128 + ((x + 128) >> 8)) >> 8 is an exact rounding division by 255 for x < 65536.
        blended += 128
        region[...] = ((blended + (blended >> 8)) >> 8).astype(np.uint8)
        return out


@functools.lru_cache(maxsize=16)
def badge_for(width: int, height: int) -> Badge | None:
    """The badge for frames of this size, or None when the frame is too small to carry one legibly."""
    short = min(width, height)
    font_px = max(9, round(short * 0.028))
    if short < 4 * font_px:
        return None
    font = ImageFont.load_default(size=font_px)
    left, top, right, bottom = (int(v) for v in font.getbbox(BADGE_TEXT))
    pad_x, pad_y = round(font_px * 0.6), round(font_px * 0.35)
    w, h = (right - left) + 2 * pad_x, (bottom - top) + 2 * pad_y
    margin = max(4, round(short * 0.02))
    if w + 2 * margin > width or h + 2 * margin > height:
        return None
    canvas = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    draw.rounded_rectangle((0, 0, w - 1, h - 1), radius=h // 2, fill=_BACKGROUND)
    text_layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    ImageDraw.Draw(text_layer).text((pad_x - left, pad_y - top), BADGE_TEXT, font=font, fill=_FOREGROUND)
    canvas = Image.alpha_composite(canvas, text_layer)
    rgba = np.asarray(canvas, dtype=np.uint16)
    alpha = rgba[..., 3:4]
    return Badge(
        top=height - margin - h,
        left=width - margin - w,
        premultiplied=rgba[..., :3] * alpha,
        inverse_alpha=(255 - alpha).astype(np.uint16),
    )
