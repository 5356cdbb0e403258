"""Animate's output side: encode rendered frames off the event loop and stream them with backpressure.

Three things run at once for one request: the renderer (Triton calls, producing batches of
frames), the encoder (one worker thread of its own, so PyAV and Pillow never block the event
loop and never run two calls on one encoder), and gRPC sending what is encoded. They are
joined by a bounded queue: while the caller reads slowly, gRPC's flow control holds the
sender, the queue fills, and the renderer stops asking Triton for more, so memory stays at a
few batches whatever the client does.

When the call ends early (the caller cancels, its deadline passes, or an error), the
generator's ``finally`` cancels the renderer (and with it any Triton call in flight), drops
the queued frames and closes the encoder on its worker after the frame it may be encoding.
``ACTIVE_PIPELINES`` and ``BUFFERED_BYTES`` show that this really happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from prometheus_client import Gauge

from ..encoding import EncodedPiece, Encoder, EncoderSettings, create_encoder, from_proto
from ..errors import InvalidInput
from ..v1 import nostalgia_pb2 as pb

__all__ = ["ACTIVE_PIPELINES", "BUFFERED_BYTES", "OutputStream", "encoder_for"]

ACTIVE_PIPELINES: Final = Gauge(
    "output_pipelines_active",
    "Animate output pipelines holding resources (renderer task, queued frames or an open encoder).",
    namespace="nostalgia",
)
BUFFERED_BYTES: Final = Gauge(
    "output_buffered_frame_bytes",
    "Bytes of rendered frames waiting to be encoded, over all requests (bounded by backpressure).",
    namespace="nostalgia",
)

# Rendered batches allowed to wait for the encoder: one keeps Triton busy while a batch encodes.
DEFAULT_PREFETCH = 1
MAX_BITRATE_KBPS = 100_000


def encoder_for(request: pb.AnimateRequest, width: int, height: int, fps: float, frame_count: int) -> Encoder:
    """The encoder an ``AnimateRequest`` asks for; ``InvalidInput`` for options out of range."""
    try:
        fmt = from_proto(request.format)
    except ValueError as exc:
        raise InvalidInput(f"format {request.format} is not an OutputFormat this server knows") from exc
    options = request.encoding
    if options.bitrate_kbps > MAX_BITRATE_KBPS:
        raise InvalidInput(
            f"encoding.bitrate_kbps must be at most {MAX_BITRATE_KBPS}, not {options.bitrate_kbps}"
        )
    try:
        settings = EncoderSettings(options.quality, options.bitrate_kbps, options.keyframe_interval)
    except ValueError as exc:
        raise InvalidInput(f"encoding: {exc}") from exc
    visible_mark = request.visible_mark if request.HasField("visible_mark") else True
    return create_encoder(
        fmt, width, height, fps, settings, visible_mark=visible_mark, frame_count=frame_count
    )


class _End:
    """Marks the end of the rendered batches in the queue."""


class OutputStream:
    """Streams one request's frames through its encoder; read the figures after ``responses`` ends."""

    def __init__(self, encoder: Encoder, prefetch: int = DEFAULT_PREFETCH) -> None:
        self.encoder = encoder
        self.container = encoder.info.container
        self.bytes_sent = 0
        self.frames_sent = 0
        self.encode_seconds = 0.0
        self.first_output_at: float | None = None  # perf_counter time of the first frame or chunk
        self._queue: asyncio.Queue[NDArray[np.uint8] | _End | BaseException] = asyncio.Queue(prefetch)
        self._sequence = 0

    def first_batch_frames(self, default: int) -> int:
        """Size of the first render batch: ``default``, or more when the encoder needs more for a first piece.

        With MP4 and WebM the first playable piece needs a keyframe interval and one frame; a
        first batch shorter than that would hold the fragment back until a whole later batch is in.
        """
        needed = self.encoder.frames_for_first_piece()
        return default if needed is None else max(default, needed)

    async def responses(self, batches: AsyncIterator[NDArray[np.uint8]]) -> AsyncIterator[pb.AnimateResponse]:
        """Yield Frame or ContainerChunk messages for ``batches`` of (n, h, w, 3) RGB frames, in order."""
        ACTIVE_PIPELINES.inc()
        worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nostalgia-encode")
        renderer = asyncio.create_task(self._render(batches))
        loop = asyncio.get_running_loop()
        try:
            while True:
                item = await self._queue.get()
                if isinstance(item, _End):
                    break
                if isinstance(item, BaseException):
                    raise item
                try:
                    for frame in item:
                        pieces = await loop.run_in_executor(worker, self._timed_push, frame)
                        for response in self._messages(pieces):
                            yield response
                finally:
                    self._release_buffered(item.nbytes)
                    del item
            pieces = await loop.run_in_executor(worker, self._timed_finish)
            for response in self._messages(pieces):
                yield response
        finally:
            renderer.cancel()
            self._drop_queued()
            # After the frame the worker may still be encoding, close the encoder there and
            # only then count this pipeline as gone.
            closing = loop.run_in_executor(worker, self.encoder.close)
            worker.shutdown(wait=False)
            pending = {renderer, asyncio.ensure_future(closing)}
            _settle_later(pending, ACTIVE_PIPELINES.dec)

    async def _render(self, batches: AsyncIterator[NDArray[np.uint8]]) -> None:
        try:
            async for batch in batches:
                nbytes = batch.nbytes
                BUFFERED_BYTES.inc(nbytes)
                try:
                    await self._queue.put(batch)
                except BaseException:
                    BUFFERED_BYTES.dec(nbytes)  # never queued: the caller went away while we waited
                    raise
                del batch
            await self._queue.put(_End())
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            await self._queue.put(exc)
        finally:
            aclose = getattr(batches, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()

    def _timed_push(self, frame: NDArray[np.uint8]) -> list[EncodedPiece]:
        start = time.perf_counter()
        try:
            return self.encoder.push(frame)
        finally:
            self.encode_seconds += time.perf_counter() - start

    def _timed_finish(self) -> list[EncodedPiece]:
        start = time.perf_counter()
        try:
            return self.encoder.finish()
        finally:
            self.encode_seconds += time.perf_counter() - start

    def _messages(self, pieces: list[EncodedPiece]) -> list[pb.AnimateResponse]:
        messages = []
        for piece in pieces:
            if self.container:
                message = pb.AnimateResponse(
                    chunk=pb.ContainerChunk(
                        sequence=self._sequence, data=piece.data, frames_complete=piece.frames_complete
                    )
                )
                self._sequence += 1
            else:
                index = piece.frames_complete - 1
                message = pb.AnimateResponse(
                    frame=pb.Frame(index=index, timestamp_s=index / self.encoder.fps, data=piece.data)
                )
            if self.first_output_at is None and piece.frames_complete:
                self.first_output_at = time.perf_counter()
            self.frames_sent = max(self.frames_sent, piece.frames_complete)
            self.bytes_sent += len(piece.data)
            messages.append(message)
        return messages

    @staticmethod
    def _release_buffered(nbytes: int) -> None:
        BUFFERED_BYTES.dec(nbytes)

    def _drop_queued(self) -> None:
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if isinstance(item, np.ndarray):
                self._release_buffered(item.nbytes)


def _settle_later(pending: set[asyncio.Future[Any]], then: Callable[[], None]) -> None:
    """Call ``then()`` once every future in ``pending`` is done, retrieving their outcomes quietly."""
    remaining = set(pending)

    def done(future: asyncio.Future[Any]) -> None:
        if not future.cancelled():
            future.exception()  # retrieved: a failure while abandoning the clip is of no use now
        remaining.discard(future)
        if not remaining:
            then()

    for future in pending:
        future.add_done_callback(done)
