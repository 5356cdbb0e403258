"""The incremental encoder interface shared by every format.

A caller pushes RGB uint8 frames one at a time and gets back whatever encoded pieces exist
at that moment: one self-contained image per frame for the image formats, byte chunks of one
growing file for the containers. ``finish`` returns the tail; ``close`` abandons the work and
frees it (a cancelled request calls it instead of ``finish``).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from types import TracebackType

import numpy as np
import numpy.typing as npt

from nostalgia.encoding.badge import badge_for
from nostalgia.encoding.formats import FormatInfo, MediaFormat, info
from nostalgia.encoding.options import EncoderSettings

__all__ = ["EncodedPiece", "Encoder", "EncoderClosed", "RgbFrame"]

RgbFrame = npt.NDArray[np.uint8]


class EncoderClosed(RuntimeError):
    """Raised when frames are pushed after ``finish`` or ``close``."""


@dataclass(frozen=True, slots=True)
class EncodedPiece:
    """Bytes ready to send.

    For image formats ``data`` is one whole image and ``frames_complete`` is its index + 1.
    For containers ``data`` continues the file and ``frames_complete`` counts the frames that
    this and all earlier pieces fully contain (a decoder given only these bytes shows them).
    """

    data: bytes
    frames_complete: int


class Encoder(abc.ABC):
    """Base class: checks frames, stamps the visible mark, and guards the lifecycle."""

    format: MediaFormat

    def __init__(
        self, width: int, height: int, fps: float, settings: EncoderSettings, visible_mark: bool
    ) -> None:
        if width <= 0 or height <= 0:
            raise ValueError(f"frame size must be positive, got {width}x{height}")
        if not 0 < fps <= 120:
            raise ValueError(f"fps must be within (0, 120], got {fps}")
        if self.info.even_dimensions:
            # yuv420p needs even sizes; drop the odd last row/column rather than refuse the clip.
            width, height = width - width % 2, height - height % 2
            if width == 0 or height == 0:
                raise ValueError(f"{self.format.value} needs frames of at least 2x2 pixels")
        self.width = width
        self.height = height
        self.fps = fps
        self.settings = settings
        self.frames_pushed = 0
        self._badge = badge_for(width, height) if visible_mark else None
        self._closed = False

    @property
    def info(self) -> FormatInfo:
        return info(self.format)

    @property
    def mime_type(self) -> str:
        return self.info.mime_type

    def frames_for_first_piece(self) -> int | None:
        """How many frames must be pushed before the first frame can be shown (None: only at ``finish``).

        Lets a renderer size its first batch so the first playable piece is not held back.
        """
        return 1

    def push(self, frame: RgbFrame) -> list[EncodedPiece]:
        """Encode one (height, width, 3) uint8 RGB frame; return the pieces now complete (maybe none)."""
        if self._closed:
            raise EncoderClosed(f"{self.format.value} encoder already finished or closed")
        frame = self._prepare(frame)
        pieces = self._encode(frame)
        self.frames_pushed += 1
        return pieces

    def push_many(self, frames: npt.NDArray[np.uint8] | list[RgbFrame]) -> list[EncodedPiece]:
        pieces: list[EncodedPiece] = []
        for frame in frames:
            pieces.extend(self.push(frame))
        return pieces

    def finish(self) -> list[EncodedPiece]:
        """Flush the encoder and return the remaining pieces; the encoder is closed afterwards."""
        if self._closed:
            raise EncoderClosed(f"{self.format.value} encoder already finished or closed")
        if self.frames_pushed == 0:
            self.close()
            raise ValueError("cannot finish a clip without frames")
        try:
            return self._finish()
        finally:
            self.close()

    def close(self) -> None:
        """Abandon the clip and release encoder state. Safe to call more than once."""
        if not self._closed:
            self._closed = True
            self._release()

    def __enter__(self) -> Encoder:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _prepare(self, frame: RgbFrame) -> RgbFrame:
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"frames must be (height, width, 3) uint8 RGB, got {frame.dtype} {frame.shape}")
        h, w = frame.shape[:2]
        if (h, w) != (self.height, self.width):
            if self.info.even_dimensions and (h - h % 2, w - w % 2) == (self.height, self.width):
                frame = frame[: self.height, : self.width]
            else:
                raise ValueError(f"frame is {w}x{h}, the clip is {self.width}x{self.height}")
        if self._badge is not None:
            return self._badge.apply(frame)
        return np.ascontiguousarray(frame)

    @abc.abstractmethod
    def _encode(self, frame: RgbFrame) -> list[EncodedPiece]: ...

    @abc.abstractmethod
    def _finish(self) -> list[EncodedPiece]: ...

    def _release(self) -> None:  # noqa: B027 - optional hook: most encoders hold nothing to free
        """Free format-specific state."""
