"""Looping animated WebP (libwebp's animation encoder through PyAV).

A WebP file starts with its total size and libwebp assembles the animation (choosing
sub-rectangles and blending against earlier frames) only when the last frame is in, so no
byte of it can be sent earlier. The expensive part, compressing each frame, still happens
as frames are pushed, so ``finish`` only assembles and adds the XMP provenance chunk (the
FFmpeg WebP muxer writes no metadata itself); the file then leaves in pieces of at most
``MAX_PIECE_BYTES``.

libwebp's lossy animation encoder folds a frame that is within its quality's tolerance of the
one before into that frame's duration, so a near-still clip may hold fewer frames than were
pushed; its timeline is whole, and pieces count frames by the milliseconds they show.
"""

from __future__ import annotations

import contextlib
from fractions import Fraction

import av
import av.container
import av.video.stream

from nostalgia.encoding.base import EncodedPiece, Encoder, RgbFrame
from nostalgia.encoding.formats import MediaFormat
from nostalgia.encoding.options import EncoderSettings
from nostalgia.encoding.provenance import xmp_packet
from nostalgia.encoding.riff import add_xmp, milliseconds_in_prefix
from nostalgia.encoding.sink import ForwardSink
from nostalgia.encoding.video import MAX_PIECE_BYTES

__all__ = ["AnimatedWebpEncoder"]


class AnimatedWebpEncoder(Encoder):
    format = MediaFormat.ANIMATED_WEBP

    def __init__(
        self, width: int, height: int, fps: float, settings: EncoderSettings, visible_mark: bool
    ) -> None:
        super().__init__(width, height, fps, settings, visible_mark)
        self._sink = ForwardSink()
        # loop=0: loop forever.
        self._container: av.container.OutputContainer | None = av.open(
            self._sink, mode="w", format="webp", options={"loop": "0"}
        )
        # Millisecond timestamps: WebP frame durations are whole milliseconds.
        stream = self._container.add_stream(
            "libwebp_anim",
            rate=Fraction(fps).limit_denominator(1001),
            # libwebp effort 2 instead of 4: half the CPU per frame for about 2% more bytes.
            options={"quality": str(settings.effective_quality()), "lossless": "0", "compression_level": "2"},
        )
        assert isinstance(stream, av.video.stream.VideoStream)
        self._stream = stream
        self._stream.width = self.width
        self._stream.height = self.height
        self._stream.pix_fmt = "yuv420p"
        self._stream.codec_context.time_base = Fraction(1, 1000)

    def frames_for_first_piece(self) -> None:
        return None

    def _encode(self, frame: RgbFrame) -> list[EncodedPiece]:
        container = self._require()
        video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
        video_frame.pts = round(self.frames_pushed * 1000 / self.fps)
        video_frame.time_base = Fraction(1, 1000)
        for packet in self._stream.encode(video_frame):
            container.mux(packet)
        return []

    def _finish(self) -> list[EncodedPiece]:
        container = self._require()
        for packet in self._stream.encode(None):
            container.mux(packet)
        container.close()
        self._container = None
        data = add_xmp(self._sink.drain(), xmp_packet())
        pieces = []
        for start in range(0, len(data), MAX_PIECE_BYTES):
            end = min(len(data), start + MAX_PIECE_BYTES)
            shown_ms = milliseconds_in_prefix(data, end)
            complete = self.frames_pushed if end == len(data) else int(shown_ms * self.fps / 1000 + 1e-6)
            pieces.append(EncodedPiece(data[start:end], min(complete, self.frames_pushed)))
        return pieces

    def _release(self) -> None:
        if self._container is not None:
            container, self._container = self._container, None
            with contextlib.suppress(
                av.FFmpegError, ValueError
            ):  # abandoning the clip: nothing of it will be sent
                container.close()
        self._sink.drain()

    def _require(self) -> av.container.OutputContainer:
        if self._container is None:
            raise RuntimeError("encoder container already closed")
        return self._container
