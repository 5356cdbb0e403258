# The per-call `timeout` is the gRPC deadline sent to the server, not a local wait, so it stays
# a parameter (as in the blocking client) rather than asyncio.timeout().
# ruff: noqa: ASYNC109
"""The asyncio client: `AsyncClient` and the `AsyncAnimation` stream it returns.

Same surface as the blocking client, with `await` / `async for`; file reads and writes go to a
worker thread so a slow disk never stalls the event loop.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType
from typing import Any, Unpack

import grpc
import grpc.aio
from grpc.aio import EOF  # type: ignore[attr-defined]

from nostalgia.v1 import nostalgia_pb2 as pb
from nostalgia.v1 import nostalgia_pb2_grpc as pb_grpc

from . import _convert
from ._connection import (
    DEFAULT_MAX_MESSAGE_BYTES,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT_S,
    USE_DEFAULT,
    Connection,
    PemSource,
    UseDefault,
)
from ._errors import InvalidInput, ProtocolError, from_rpc_error
from ._formats import OutputFormat, image_format_for_path, output_target_for_path
from ._output import OutputWriter
from ._requests import (
    AnimateOptions,
    EnhanceOptions,
    Photo,
    animate_request,
    detect_faces_request,
    enhance_request,
    photo_bytes,
    with_format,
)
from ._stream import ProgressCallback, StreamReader
from ._types import (
    AnimationInfo,
    AnimationResult,
    AnimationSummary,
    Chunk,
    Driver,
    EnhancedImage,
    FaceDetection,
    Frame,
)

__all__ = ["AsyncAnimation", "AsyncClient"]


async def _read_photo(photo: Photo) -> bytes:
    if isinstance(photo, bytes | bytearray | memoryview):
        return photo_bytes(photo)
    return await asyncio.to_thread(photo_bytes, photo)


class AsyncAnimation:
    """A running Animate call: `info` is known at once; ``async for`` yields frames (or chunks).

    `summary` is set after the last item. Leaving an ``async with`` block early cancels the
    server's work.
    """

    def __init__(self, call: Any, reader: StreamReader, info: AnimationInfo) -> None:
        self._call = call
        self._reader = reader
        self.info = info

    @property
    def summary(self) -> AnimationSummary | None:
        return self._reader.summary

    @property
    def frames_received(self) -> int:
        return self._reader.frames_received

    def __aiter__(self) -> AsyncIterator[Frame | Chunk]:
        return self

    async def __anext__(self) -> Frame | Chunk:
        while True:
            try:
                response = await self._call.read()
            except grpc.RpcError as exc:
                raise from_rpc_error(exc, "Animate") from exc
            if response is EOF:
                self._reader.finished()
                raise StopAsyncIteration
            item = self._reader.item(response)
            if item is not None:
                return item

    async def frames(self) -> AsyncIterator[Frame]:
        """The frames of an image-format animation (JPEG, PNG or WebP bytes each)."""
        if self.info.format.is_container:
            raise InvalidInput(f"{self.info.format.value} output arrives as chunks; iterate the animation")
        async for item in self:
            if not isinstance(item, Frame):
                raise ProtocolError("the server sent a container chunk for an image format")
            yield item

    async def collect(self) -> AnimationResult:
        """Reads the rest of the stream into memory."""
        frames: list[Frame] = []
        data = bytearray()
        async for item in self:
            if isinstance(item, Frame):
                frames.append(item)
            else:
                data += item.data
        return AnimationResult(self.info, self._reader.finished(), frames=tuple(frames), data=bytes(data))

    def cancel(self) -> None:
        """Stops the server's work; safe to call at any time."""
        self._call.cancel()

    async def __aenter__(self) -> AsyncAnimation:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._reader.summary is None:
            self.cancel()


class AsyncClient:
    """asyncio client for the Nostalgia service; options as for `Client`.

    Create it inside the running event loop, and ``await client.close()`` (or use
    ``async with``) when done.
    """

    def __init__(
        self,
        target: str | None = None,
        *,
        tls: bool | None = None,
        root_certificates: PemSource | None = None,
        client_certificate: PemSource | None = None,
        client_key: PemSource | None = None,
        server_name: str | None = None,
        api_key: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT_S,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        retries: int = DEFAULT_RETRIES,
    ) -> None:
        self.connection = Connection.create(
            target,
            tls=tls,
            root_certificates=root_certificates,
            client_certificate=client_certificate,
            client_key=client_key,
            server_name=server_name,
            api_key=api_key,
            timeout=timeout,
            max_message_bytes=max_message_bytes,
            retries=retries,
        )
        self._channel = self.connection.aio_channel()
        self._stub = pb_grpc.NostalgiaStub(self._channel)  # type: ignore[no-untyped-call]

    @property
    def target(self) -> str:
        return self.connection.target

    def __repr__(self) -> str:
        security = "tls" if self.connection.tls else "plaintext"
        return f"AsyncClient({self.connection.target!r}, {security})"

    async def close(self) -> None:
        await self._channel.close(None)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _unary(self, method: str, request: Any, timeout: float | UseDefault | None) -> Any:
        try:
            return await getattr(self._stub, method)(
                request, timeout=self.connection.deadline(timeout), metadata=self.connection.metadata()
            )
        except grpc.RpcError as exc:
            raise from_rpc_error(exc, method) from exc

    async def animate(
        self,
        photo: Photo,
        *,
        timeout: float | UseDefault | None = USE_DEFAULT,
        **options: Unpack[AnimateOptions],
    ) -> AsyncAnimation:
        """Starts animating `photo`; returns once the server sent the clip's metadata."""
        request = animate_request(await _read_photo(photo), options)
        call = self._stub.Animate(
            request, timeout=self.connection.deadline(timeout), metadata=self.connection.metadata()
        )
        reader = StreamReader()
        try:
            first = await call.read()
            if first is EOF:
                raise ProtocolError("the Animate stream ended before its metadata")
            info = reader.metadata(first)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc, "Animate") from exc
        except BaseException:
            call.cancel()
            raise
        return AsyncAnimation(call, reader, info)

    async def animate_to_file(
        self,
        photo: Photo,
        path: str | os.PathLike[str],
        *,
        frame_format: OutputFormat | str | None = None,
        on_progress: ProgressCallback | None = None,
        timeout: float | UseDefault | None = USE_DEFAULT,
        **options: Unpack[AnimateOptions],
    ) -> AnimationResult:
        """Animates `photo` into `path`, the format chosen from it (see `Client.animate_to_file`)."""
        if "format" in options:
            raise InvalidInput("animate_to_file takes the format from the path; drop format=")
        try:
            target = output_target_for_path(path, frame_format)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        writer = OutputWriter(target)
        animation = await self.animate(photo, timeout=timeout, **with_format(options, target.format))
        async with animation:
            try:
                await asyncio.to_thread(writer.open, animation.info)
                if on_progress is not None:
                    on_progress(0, animation.info.frame_count)
                async for item in animation:
                    await asyncio.to_thread(writer.write, item)
                    if on_progress is not None:
                        on_progress(animation.frames_received, animation.info.frame_count)
                paths = await asyncio.to_thread(writer.finish)
            except BaseException:
                writer.abort()
                raise
            summary = animation._reader.finished()
        return AnimationResult(animation.info, summary, paths=paths)

    async def enhance(
        self,
        photo: Photo,
        *,
        timeout: float | UseDefault | None = USE_DEFAULT,
        **options: Unpack[EnhanceOptions],
    ) -> EnhancedImage:
        """Upscales the photo (or with face_only=True, one aligned face) 2x or 4x."""
        request = enhance_request(await _read_photo(photo), options)
        return _convert.enhanced_image(await self._unary("Enhance", request, timeout))

    async def enhance_to_file(
        self,
        photo: Photo,
        path: str | os.PathLike[str],
        *,
        timeout: float | UseDefault | None = USE_DEFAULT,
        **options: Unpack[EnhanceOptions],
    ) -> EnhancedImage:
        """`enhance()` and save, encoding as the extension says (.png, .jpg, .webp)."""
        try:
            options["format"] = image_format_for_path(path)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        image = await self.enhance(photo, timeout=timeout, **options)
        await asyncio.to_thread(Path(path).parent.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(image.save, path)
        return image

    async def detect_faces(
        self, photo: Photo, *, landmarks: bool = False, timeout: float | UseDefault | None = USE_DEFAULT
    ) -> FaceDetection:
        """Faces in the photo, largest first; `landmarks=True` adds the 468-point mesh to each."""
        request = detect_faces_request(await _read_photo(photo), landmarks)
        return _convert.face_detection(await self._unary("DetectFaces", request, timeout))

    async def list_drivers(self, *, timeout: float | UseDefault | None = USE_DEFAULT) -> tuple[Driver, ...]:
        """The motion presets the server offers."""
        response = await self._unary("ListDrivers", pb.ListDriversRequest(), timeout)
        return tuple(_convert.driver(d) for d in response.drivers)
