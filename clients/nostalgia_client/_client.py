"""The blocking client: `Client` and the `Animation` stream it returns."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Unpack

import grpc

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

__all__ = ["Animation", "Client"]


class Animation:
    """A running Animate call: `info` is known at once; iterate for frames (or chunks).

    Image formats yield `Frame`s, containers yield `Chunk`s. `summary` is set after the last
    item. Leaving a ``with`` block early cancels the server's work.
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

    def __iter__(self) -> Iterator[Frame | Chunk]:
        return self

    def __next__(self) -> Frame | Chunk:
        while True:
            try:
                response = next(self._call)
            except StopIteration:
                self._reader.finished()
                raise
            except grpc.RpcError as exc:
                raise from_rpc_error(exc, "Animate") from exc
            item = self._reader.item(response)
            if item is not None:
                return item

    def frames(self) -> Iterator[Frame]:
        """The frames of an image-format animation (JPEG, PNG or WebP bytes each)."""
        if self.info.format.is_container:
            raise InvalidInput(f"{self.info.format.value} output arrives as chunks; iterate the animation")
        for item in self:
            if not isinstance(item, Frame):
                raise ProtocolError("the server sent a container chunk for an image format")
            yield item

    def collect(self) -> AnimationResult:
        """Reads the rest of the stream into memory."""
        frames: list[Frame] = []
        data = bytearray()
        for item in self:
            if isinstance(item, Frame):
                frames.append(item)
            else:
                data += item.data
        return AnimationResult(self.info, self._reader.finished(), frames=tuple(frames), data=bytes(data))

    def cancel(self) -> None:
        """Stops the server's work; safe to call at any time."""
        self._call.cancel()

    def __enter__(self) -> Animation:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._reader.summary is None:
            self.cancel()


class Client:
    """Blocking client for the Nostalgia service.

    ``Client()`` talks to NOSTALGIA_SERVER (default localhost:50051) in plain text; pass
    certificates for TLS / mutual TLS and `api_key` where keys are required. Calls that fail
    with UNAVAILABLE before any answer are resent `retries` times (default 2) with backoff. Every method
    takes `timeout=` (seconds, None for no deadline) to override the client's default.
    Use as a context manager, or call `close()`.
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
        self._channel = self.connection.channel()
        self._stub = pb_grpc.NostalgiaStub(self._channel)  # type: ignore[no-untyped-call]

    @property
    def target(self) -> str:
        return self.connection.target

    def __repr__(self) -> str:
        security = "tls" if self.connection.tls else "plaintext"
        return f"Client({self.connection.target!r}, {security})"

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _unary(self, method: str, request: Any, timeout: float | UseDefault | None) -> Any:
        try:
            return getattr(self._stub, method)(
                request, timeout=self.connection.deadline(timeout), metadata=self.connection.metadata()
            )
        except grpc.RpcError as exc:
            raise from_rpc_error(exc, method) from exc

    def animate(
        self,
        photo: Photo,
        *,
        timeout: float | UseDefault | None = USE_DEFAULT,
        **options: Unpack[AnimateOptions],
    ) -> Animation:
        """Starts animating `photo` and returns once the server sent the clip's metadata.

        Errors about the photo (no face, bad input, limits) are raised here, before any frame.
        The timeout covers the whole stream.
        """
        request = animate_request(photo_bytes(photo), options)
        call = self._stub.Animate(
            request, timeout=self.connection.deadline(timeout), metadata=self.connection.metadata()
        )
        reader = StreamReader()
        try:
            first: pb.AnimateResponse = next(call)
            info = reader.metadata(first)
        except StopIteration:
            raise ProtocolError("the Animate stream ended before its metadata") from None
        except grpc.RpcError as exc:
            raise from_rpc_error(exc, "Animate") from exc
        except BaseException:
            call.cancel()
            raise
        return Animation(call, reader, info)

    def animate_to_file(
        self,
        photo: Photo,
        path: str | os.PathLike[str],
        *,
        frame_format: OutputFormat | str | None = None,
        on_progress: ProgressCallback | None = None,
        timeout: float | UseDefault | None = USE_DEFAULT,
        **options: Unpack[AnimateOptions],
    ) -> AnimationResult:
        """Animates `photo` into `path`, choosing the format from it.

        ``.mp4``/``.webm``/``.gif``/``.webp`` write one clip; a directory (or a ``%04d``
        pattern) gets one image per frame, `frame_format` (jpeg by default) or the pattern's
        extension. `on_progress(received, total)` is called once the clip's metadata arrived
        (received 0) and then as frames arrive.
        """
        if "format" in options:
            raise InvalidInput("animate_to_file takes the format from the path; drop format=")
        try:
            target = output_target_for_path(path, frame_format)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        writer = OutputWriter(target)
        with self.animate(photo, timeout=timeout, **with_format(options, target.format)) as animation:
            try:
                writer.open(animation.info)
                if on_progress is not None:
                    on_progress(0, animation.info.frame_count)
                for item in animation:
                    writer.write(item)
                    if on_progress is not None:
                        on_progress(animation.frames_received, animation.info.frame_count)
                paths = writer.finish()
            except BaseException:
                writer.abort()
                raise
            summary = animation._reader.finished()
        return AnimationResult(animation.info, summary, paths=paths)

    def enhance(
        self,
        photo: Photo,
        *,
        timeout: float | UseDefault | None = USE_DEFAULT,
        **options: Unpack[EnhanceOptions],
    ) -> EnhancedImage:
        """Upscales the photo (or with face_only=True, one aligned face) 2x or 4x."""
        response = self._unary("Enhance", enhance_request(photo_bytes(photo), options), timeout)
        return _convert.enhanced_image(response)

    def enhance_to_file(
        self,
        photo: Photo,
        path: str | os.PathLike[str],
        *,
        timeout: float | UseDefault | None = USE_DEFAULT,
        **options: Unpack[EnhanceOptions],
    ) -> EnhancedImage:
        """`enhance()` and save, encoding as the extension says (.png, .jpg, .webp)."""
        try:
            fmt = image_format_for_path(path)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        options["format"] = fmt
        image = self.enhance(photo, timeout=timeout, **options)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        image.save(path)
        return image

    def detect_faces(
        self, photo: Photo, *, landmarks: bool = False, timeout: float | UseDefault | None = USE_DEFAULT
    ) -> FaceDetection:
        """Faces in the photo, largest first; `landmarks=True` adds the 468-point mesh to each."""
        response = self._unary("DetectFaces", detect_faces_request(photo_bytes(photo), landmarks), timeout)
        return _convert.face_detection(response)

    def list_drivers(self, *, timeout: float | UseDefault | None = USE_DEFAULT) -> tuple[Driver, ...]:
        """The motion presets the server offers."""
        response = self._unary("ListDrivers", pb.ListDriversRequest(), timeout)
        return tuple(_convert.driver(d) for d in response.drivers)
