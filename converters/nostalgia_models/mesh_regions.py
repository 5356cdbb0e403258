"""Landmark groups of the 468-point MediaPipe face mesh that the motion model moves.

Indices follow the published face-mesh topology. "Left"/"right" are the subject's: the subject's
left eye is on the image's right in a frontal photo.
"""

from __future__ import annotations

import torch

__all__ = [
    "BROWS",
    "CHEEKS",
    "CONTROL",
    "EYE_LEFT",
    "EYE_RIGHT",
    "FACE_OVAL",
    "FOREHEAD",
    "JAW",
    "LIPS",
    "MOUTH_LEFT",
    "MOUTH_RIGHT",
    "NOSE",
    "EyeRegion",
    "index",
]

# Closed loop around the face, clockwise from the top of the forehead (10) through the chin (152).
FACE_OVAL: tuple[int, ...] = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip


class EyeRegion:
    """One eye: its two corners (image-left corner first), the lid lines between them and the lower
    edge of the brow above it."""

    def __init__(
        self, corners: tuple[int, int], upper: tuple[int, ...], lower: tuple[int, ...], brow: tuple[int, ...]
    ) -> None:
        self.corners = corners
        self.upper = upper
        self.lower = lower
        self.brow = brow


# Subject's right eye (image left): outer corner 33, inner corner 133.
EYE_RIGHT = EyeRegion(
    corners=(33, 133),
    upper=(246, 161, 160, 159, 158, 157, 173),
    lower=(7, 163, 144, 145, 153, 154, 155),
    brow=(46, 53, 52, 65, 55),
)
# Subject's left eye (image right): inner corner 362, outer corner 263.
EYE_LEFT = EyeRegion(
    corners=(362, 263),
    upper=(398, 384, 385, 386, 387, 388, 466),
    lower=(382, 381, 380, 374, 373, 390, 249),
    brow=(276, 283, 282, 295, 285),
)

# Upper then lower edge of each brow.
BROWS: tuple[int, ...] = (
    70, 63, 105, 66, 107, 46, 53, 52, 65, 55,
    300, 293, 334, 296, 336, 276, 283, 282, 295, 285,
)  # fmt: skip
FOREHEAD: tuple[int, ...] = (151, 9, 108, 337, 69, 299, 104, 333)

# Outer lip line then inner lip line; the corners are 61 (subject's right) and 291 (subject's left).
LIPS: tuple[int, ...] = (
    61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267, 269, 270, 409,
    78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415,
)  # fmt: skip
MOUTH_RIGHT, MOUTH_LEFT = 61, 291

# Cheeks and the folds beside the mouth, which a smile lifts.
CHEEKS: tuple[int, ...] = (50, 280, 205, 425, 187, 411, 123, 352, 116, 345, 147, 376, 36, 266, 207, 427)
NOSE: tuple[int, ...] = (1, 4, 5, 195, 197, 6, 168, 98, 327, 2, 48, 278, 129, 358)
JAW: tuple[int, ...] = (18, 200, 175, 199, 43, 273, 57, 287, 214, 434, 32, 262)

# Landmarks used as warp control points: enough to pin every feature, few enough that one
# thin-plate solve per frame stays cheap. The eyes contribute corners and lid centres only: the
# lids themselves are moved by the model's analytic eyelid warp.
CONTROL: tuple[int, ...] = tuple(
    dict.fromkeys(
        FACE_OVAL + BROWS + FOREHEAD + LIPS + CHEEKS + NOSE + JAW
        + EYE_RIGHT.corners + (159, 145) + EYE_LEFT.corners + (386, 374)
    )
)  # fmt: skip


def index(group: tuple[int, ...]) -> torch.Tensor:
    """A landmark group as the long tensor the motion model indexes its landmarks with (a buffer)."""
    return torch.tensor(group, dtype=torch.long)
