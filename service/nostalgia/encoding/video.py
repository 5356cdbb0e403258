"""Streamed video containers through PyAV: fragmented MP4 (H.264) and WebM (VP9).

Both write to a forward-only in-memory sink, so each fragment (MP4) or cluster (WebM) leaves
as soon as the muxer completes it. The GOP equals the keyframe interval and a new fragment or
cluster starts at each keyframe, so the first playable piece arrives after one interval.
"""

from __future__ import annotations

import abc
import contextlib
from fractions import Fraction
from typing import Any

import av
import av.container
import av.video.stream

from nostalgia.encoding.base import EncodedPiece, Encoder, RgbFrame
from nostalgia.encoding.formats import MediaFormat
from nostalgia.encoding.framecount import Mp4FrameCounter, WebmFrameCounter
from nostalgia.encoding.options import EncoderSettings
from nostalgia.encoding.provenance import PROVENANCE_TEXT
from nostalgia.encoding.sink import ForwardSink

__all__ = ["MAX_PIECE_BYTES", "Mp4Encoder", "WebmEncoder"]

# Larger muxer writes are split so a gRPC message stays well under its 4 MiB default limit.
MAX_PIECE_BYTES = 1 << 20

_MP4_CRF = 23
_WEBM_CRF = 33


def _rate(fps: float) -> Fraction:
    return Fraction(fps).limit_denominator(1001)


class _PyAvEncoder(Encoder):
    _container_format: str

    def __init__(
        self, width: int, height: int, fps: float, settings: EncoderSettings, visible_mark: bool
    ) -> None:
        super().__init__(width, height, fps, settings, visible_mark)
        self.keyframe_interval = settings.effective_keyframe_interval(fps)
        self._sink = ForwardSink()
        self._counter = self._new_counter()
        self._container: av.container.OutputContainer | None = av.open(
            self._sink, mode="w", format=self._container_format, options=self._muxer_options()
        )
        self._container.metadata["comment"] = PROVENANCE_TEXT
        self._container.metadata["description"] = PROVENANCE_TEXT
        stream = self._container.add_stream(self._codec(), rate=_rate(fps), options=self._codec_options())
        assert isinstance(stream, av.video.stream.VideoStream)
        self._stream = stream
        self._stream.width = self.width
        self._stream.height = self.height
        self._stream.pix_fmt = "yuv420p"
        self._stream.codec_context.gop_size = self.keyframe_interval
        if settings.bitrate_kbps:
            self._stream.codec_context.bit_rate = settings.bitrate_kbps * 1000

    def frames_for_first_piece(self) -> int:
        # The muxer closes the first fragment (cluster) when the next interval's keyframe arrives.
        return self.keyframe_interval + 1

    def _encode(self, frame: RgbFrame) -> list[EncodedPiece]:
        container = self._require()
        video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
        video_frame.pts = self.frames_pushed
        for packet in self._stream.encode(video_frame):
            container.mux(packet)
        return self._drain()

    def _finish(self) -> list[EncodedPiece]:
        container = self._require()
        for packet in self._stream.encode(None):
            container.mux(packet)
        container.close()
        self._container = None
        return self._drain()

    def _release(self) -> None:
        if self._container is not None:
            container, self._container = self._container, None
            with contextlib.suppress(
                av.FFmpegError, ValueError
            ):  # abandoning the clip: a half-written trailer is of no use to anyone
                container.close()
        self._sink.drain()

    def _require(self) -> av.container.OutputContainer:
        if self._container is None:
            raise RuntimeError("encoder container already closed")
        return self._container

    def _drain(self) -> list[EncodedPiece]:
        data = self._sink.drain()
        pieces = []
        for start in range(0, len(data), MAX_PIECE_BYTES):
            piece = data[start : start + MAX_PIECE_BYTES]
            pieces.append(EncodedPiece(piece, self._counter.feed(piece)))
        return pieces

    @abc.abstractmethod
    def _codec(self) -> str: ...

    @abc.abstractmethod
    def _codec_options(self) -> dict[str, str]: ...

    @abc.abstractmethod
    def _muxer_options(self) -> dict[str, str]: ...

    @abc.abstractmethod
    def _new_counter(self) -> Mp4FrameCounter | WebmFrameCounter: ...


class Mp4Encoder(_PyAvEncoder):
    """H.264 (libx264, yuv420p, High profile) in fragmented MP4 that browsers play as it arrives."""

    format = MediaFormat.MP4
    _container_format = "mp4"

    def _codec(self) -> str:
        return "libx264"

    def _codec_options(self) -> dict[str, str]:
        g = self.keyframe_interval
        options: dict[str, Any] = {
            # zerolatency: no B-frames and no lookahead, so each frame's packet leaves at once.
            "tune": "zerolatency",
            "preset": "veryfast",
            "profile": "high",
            # Fixed GOP without scene-cut keyframes: fragments of exactly one interval.
            "x264-params": f"keyint={g}:min-keyint={g}:scenecut=0",
        }
        if not self.settings.bitrate_kbps:
            options["crf"] = str(_MP4_CRF)
        return options

    def _muxer_options(self) -> dict[str, str]:
        # ftyp+moov up front (no seeking back), one moof+mdat per keyframe, offsets as MSE wants them.
        return {"movflags": "frag_keyframe+empty_moov+default_base_moof"}

    def _new_counter(self) -> Mp4FrameCounter:
        return Mp4FrameCounter()


class WebmEncoder(_PyAvEncoder):
    """VP9 (libvpx-vp9) in WebM, at realtime speed settings so two CPU cores keep up."""

    format = MediaFormat.WEBM
    _container_format = "webm"

    def _codec(self) -> str:
        return "libvpx-vp9"

    def _codec_options(self) -> dict[str, str]:
        options = {
            "deadline": "realtime",
            "cpu-used": "8",
            "row-mt": "1",
            # No alt-ref lookahead: packets come out as frames go in.
            "lag-in-frames": "0",
        }
        if not self.settings.bitrate_kbps:
            options.update({"crf": str(_WEBM_CRF), "b": "0"})
        return options

    def _muxer_options(self) -> dict[str, str]:
        # A cluster per keyframe interval instead of the 1 s default for unseekable output.
        interval_ms = max(1, round(1000 * self.keyframe_interval / self.fps))
        return {"cluster_time_limit": str(interval_ms), "cluster_size_limit": str(MAX_PIECE_BYTES)}

    def _new_counter(self) -> WebmFrameCounter:
        return WebmFrameCounter()
