"""Draws detected faces onto the photo, so people can see which face has which index.

Coordinates from the service refer to the photo after EXIF orientation, so the photo is
transposed the same way before drawing.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from ._types import FaceDetection

__all__ = ["annotate_faces"]

# Right eye, left eye, nose tip, right and left mouth corner.
_KEYPOINT_COLOURS = ((255, 64, 64), (64, 160, 255), (255, 220, 0), (255, 64, 255), (0, 230, 230))
_BOX_COLOUR = (0, 255, 0)
_MESH_COLOUR = (200, 255, 200)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font at a size readable on the photo; the tiny bitmap font without FreeType."""
    try:
        return ImageFont.load_default(size=size)
    except (ImportError, OSError, TypeError):
        return ImageFont.load_default()


def annotate_faces(photo: bytes, detection: FaceDetection, path: str | os.PathLike[str]) -> Path:
    """Writes `photo` with every face's box, index, key points (and mesh, if present) to `path`."""
    with Image.open(io.BytesIO(photo)) as opened:
        image = ImageOps.exif_transpose(opened).convert("RGB")
    draw = ImageDraw.Draw(image)
    line = max(1, round(max(image.size) / 400))
    dot = line + 1
    font = _font(max(12, round(max(image.size) / 50)))
    for index, face in enumerate(detection.faces):
        box = face.box
        for mark in face.landmarks:
            draw.point((mark.x, mark.y), fill=_MESH_COLOUR)
        draw.rectangle((box.x_min, box.y_min, box.x_max, box.y_max), outline=_BOX_COLOUR, width=line)
        for point, colour in zip(face.keypoints, _KEYPOINT_COLOURS, strict=False):
            draw.ellipse((point.x - dot, point.y - dot, point.x + dot, point.y + dot), fill=colour)
        label = f"#{index} {face.score:.2f}"
        left, top, right, bottom = draw.textbbox((box.x_min, box.y_min), label, font=font)
        lift = bottom - top + 2 * line
        y = box.y_min - lift if box.y_min >= lift else box.y_min
        draw.rectangle((left, y, right + 2 * line, y + lift), fill=_BOX_COLOUR)
        draw.text((box.x_min + line, y + line - top + box.y_min), label, fill=(0, 0, 0), font=font)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    image.save(target)
    return target
