"""The Animate stream's contract (metadata, then frames or chunks, then a summary), checked once.

Both clients feed raw responses through `StreamReader`, so a server that breaks the order fails
the same clear way in sync and async code.
"""

from __future__ import annotations

from collections.abc import Callable

from nostalgia.v1 import nostalgia_pb2 as pb

from . import _convert
from ._errors import ProtocolError
from ._types import AnimationInfo, AnimationSummary, Chunk, Frame

__all__ = ["ProgressCallback", "StreamReader"]

ProgressCallback = Callable[[int, int], None]
"""Called as frames arrive with (frames received so far, frames expected in total)."""


class StreamReader:
    """Tracks one Animate stream: its metadata, progress and summary."""

    def __init__(self) -> None:
        self.info: AnimationInfo | None = None
        self.summary: AnimationSummary | None = None
        self.frames_received = 0
        self.bytes_received = 0

    def metadata(self, response: pb.AnimateResponse) -> AnimationInfo:
        """Accepts the first response, which must be the metadata."""
        if response.WhichOneof("payload") != "metadata":
            kind = response.WhichOneof("payload") or "an empty message"
            raise ProtocolError(f"the Animate stream began with {kind} instead of metadata")
        self.info = _convert.animation_info(response.metadata)
        return self.info

    def item(self, response: pb.AnimateResponse) -> Frame | Chunk | None:
        """A frame or chunk to hand to the caller, or None for the closing summary."""
        kind = response.WhichOneof("payload")
        if self.summary is not None:
            raise ProtocolError(f"the Animate stream sent {kind} after its summary")
        if kind == "frame":
            frame = _convert.frame(response.frame)
            self.frames_received += 1
            self.bytes_received += len(frame.data)
            return frame
        if kind == "chunk":
            chunk = _convert.chunk(response.chunk)
            self.frames_received = max(self.frames_received, chunk.frames_complete)
            self.bytes_received += len(chunk.data)
            return chunk
        if kind == "summary":
            self.summary = _convert.animation_summary(response.summary)
            return None
        raise ProtocolError(f"unexpected {kind or 'empty message'} in the Animate stream")

    def finished(self) -> AnimationSummary:
        """The summary, once the server closed the stream; a missing one is a protocol error."""
        if self.summary is None:
            raise ProtocolError("the Animate stream ended without its summary")
        return self.summary

    @property
    def frames_expected(self) -> int:
        return self.info.frame_count if self.info is not None else 0
