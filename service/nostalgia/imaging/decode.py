"""Turn uploaded bytes into an RGB uint8 array, or a caller-facing error saying what is wrong.

Old photos arrive in every shape: grey, sepia, with alpha, 16-bit scans, CMYK from print
workflows, phone shots with EXIF rotation. All of them become plain ``HxWx3`` RGB here so no
later stage has to care. Sizes are checked from the header before any pixel is decoded, so a
decompression bomb costs us a header parse, not gigabytes.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import InvalidInput, LimitExceeded

__all__ = ["ACCEPTED_FORMATS", "DecodeLimits", "decode_image"]

_LOG = logging.getLogger("nostalgia.imaging")

# Pillow's own bomb guard warns or raises at fixed thresholds; ours below is explicit and per request.
Image.MAX_IMAGE_PIXELS = None

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "BMP", "TIFF", "MPO"})


@dataclass(frozen=True)
class DecodeLimits:
    """Upper bounds on what one upload may cost to decode."""

    max_bytes: int = 25 * 1024 * 1024
    max_pixels: int = 50_000_000
    max_side: int = 12_000


def decode_image(data: bytes, limits: DecodeLimits | None = None) -> NDArray[np.uint8]:
    """Decode an upload to an RGB ``uint8`` array of shape ``(H, W, 3)``, upright per EXIF.

    Raises ``InvalidInput`` for anything that is not a single still photo we can read, and
    ``LimitExceeded`` when the bytes or the pixel count exceed ``limits``.
    """
    limits = limits or DecodeLimits()
    if not data:
        raise InvalidInput("image is empty: send the photo's file bytes in the `image` field")
    if len(data) > limits.max_bytes:
        raise LimitExceeded(f"image is {len(data)} bytes; the limit is {limits.max_bytes} bytes")
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        raise InvalidInput(
            "image is not in a recognised format: send JPEG, PNG, WebP, BMP or TIFF bytes"
        ) from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise InvalidInput(f"image header is corrupt: {exc}") from exc
    with image:
        return _decode_opened(image, limits)


def _decode_opened(image: Image.Image, limits: DecodeLimits) -> NDArray[np.uint8]:
    if image.format not in ACCEPTED_FORMATS:
        raise InvalidInput(f"image format {image.format} is not accepted: send JPEG, PNG, WebP, BMP or TIFF")
    width, height = image.size
    if width < 1 or height < 1:
        raise InvalidInput(f"image has no pixels ({width}x{height})")
    if width * height > limits.max_pixels or max(width, height) > limits.max_side:
        raise LimitExceeded(
            f"image is {width}x{height} pixels; the limits are {limits.max_pixels} pixels "
            f"and {limits.max_side} pixels per side"
        )
    frames = int(getattr(image, "n_frames", 1))
    if frames > 1 and image.format != "MPO":
        raise InvalidInput(f"image has {frames} frames (animated or multi-page); send a single still photo")
    try:
        image.load()
    except MemoryError as exc:
        raise LimitExceeded(f"image is {width}x{height} pixels; too large to decode right now") from exc
    except Exception as exc:
        # Pillow's format parsers raise many exception types on hostile bytes (struct.error,
        # IndexError, ...); every one of them means the upload is broken, not the server.
        raise InvalidInput(f"image data is truncated or corrupt: {exc}") from exc
    try:
        return _to_rgb(_upright(image))
    except (OSError, ValueError, TypeError) as exc:
        raise InvalidInput(f"image colour mode {image.mode} cannot be converted to RGB: {exc}") from exc


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a photo whose EXIF is unreadable is used as stored."""
    try:
        return ImageOps.exif_transpose(image) or image
    except (OSError, ValueError, SyntaxError, EOFError, KeyError, IndexError, TypeError) as exc:
        _LOG.info("ignoring unreadable EXIF orientation: %s", exc)
        return image


def _to_rgb(image: Image.Image) -> NDArray[np.uint8]:
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit scans: Pillow's own conversion clips at 255, so scale the full range down.
        wide = np.asarray(image, dtype=np.float64)
        top = 65535.0 if wide.max(initial=0.0) > 255 else 255.0
        grey = np.clip(wide * (255.0 / top) + 0.5, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    if mode == "F":
        grey = np.clip(np.asarray(image, dtype=np.float64), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        # Transparent areas of scanned prints become white paper, not black.
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        canvas.alpha_composite(rgba)
        image = canvas
    rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return np.ascontiguousarray(rgb)
