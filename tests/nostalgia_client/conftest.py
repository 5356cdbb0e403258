"""A small scripted gRPC server for the client's error and protocol handling.

The real gateway never fails on cue, so this server speaks the same service over real gRPC and
answers with whatever status or stream shape a test asks for. Tests of real results use the
session `gateway` fixture instead.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest

from nostalgia.v1 import nostalgia_pb2 as pb
from nostalgia.v1 import nostalgia_pb2_grpc as pb_grpc


@dataclass
class Script:
    """What the server does next: fail with `status`, or stream `responses` for Animate."""

    status: tuple[grpc.StatusCode, str] | None = None
    failures_left: int | None = None  # fail with `status` this many times, then succeed
    trailers: tuple[tuple[str, str], ...] = ()
    responses: list[pb.AnimateResponse] = field(default_factory=list)
    fail_after_responses: tuple[grpc.StatusCode, str] | None = None
    delay_s: float = 0.0
    detection: pb.DetectFacesResponse = field(
        default_factory=lambda: pb.DetectFacesResponse(width=10, height=10)
    )
    seen_metadata: list[dict[str, str]] = field(default_factory=list)
    seen_requests: list[Any] = field(default_factory=list)


class ScriptedServicer(pb_grpc.NostalgiaServicer):
    def __init__(self) -> None:
        self.script = Script()

    def _begin(self, request: Any, context: grpc.ServicerContext) -> Script:
        """Follow the script the call began under, so a call still sleeping when its test ended
        cannot spend the next test's failures."""
        script = self.script
        script.seen_metadata.append(dict(context.invocation_metadata()))
        script.seen_requests.append(request)
        if script.delay_s:
            time.sleep(script.delay_s)
        if script.failures_left is not None:
            if script.failures_left == 0:
                return script
            script.failures_left -= 1
        if script.status is not None:
            if script.trailers:
                context.set_trailing_metadata(script.trailers)
            context.abort(*script.status)
        return script

    def Animate(
        self, request: pb.AnimateRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.AnimateResponse]:
        script = self._begin(request, context)
        yield from script.responses
        if script.fail_after_responses is not None:
            context.abort(*script.fail_after_responses)

    def Enhance(self, request: pb.EnhanceRequest, context: grpc.ServicerContext) -> pb.EnhanceResponse:
        self._begin(request, context)
        return pb.EnhanceResponse(image=b"png", mime_type="image/png", width=8, height=8)

    def DetectFaces(
        self, request: pb.DetectFacesRequest, context: grpc.ServicerContext
    ) -> pb.DetectFacesResponse:
        return self._begin(request, context).detection

    def ListDrivers(
        self, request: pb.ListDriversRequest, context: grpc.ServicerContext
    ) -> pb.ListDriversResponse:
        self._begin(request, context)
        return pb.ListDriversResponse(
            drivers=[pb.Driver(name="blink", description="Blinks.", default_duration_s=3.0, blinks=True)]
        )


@dataclass
class ScriptedServer:
    address: str
    servicer: ScriptedServicer

    @property
    def script(self) -> Script:
        return self.servicer.script


def metadata_response(frame_count: int = 1, fmt: int = pb.OUTPUT_FORMAT_JPEG) -> pb.AnimateResponse:
    return pb.AnimateResponse(
        metadata=pb.AnimateMetadata(
            format=fmt, mime_type="image/jpeg", width=8, height=8, frame_count=frame_count, driver="test"
        )
    )


def frame_response(index: int, data: bytes) -> pb.AnimateResponse:
    return pb.AnimateResponse(frame=pb.Frame(index=index, timestamp_s=index / 25, data=data))


def summary_response(frames: int) -> pb.AnimateResponse:
    return pb.AnimateResponse(summary=pb.AnimateSummary(frames=frames, total_s=0.1))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def _scripted_server() -> Iterator[ScriptedServer]:
    servicer = ScriptedServicer()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    pb_grpc.add_NostalgiaServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield ScriptedServer(f"127.0.0.1:{port}", servicer)
    finally:
        server.stop(grace=None)


@pytest.fixture
def scripted(_scripted_server: ScriptedServer) -> ScriptedServer:
    """The scripted server with a fresh script (answers successfully until told otherwise)."""
    _scripted_server.servicer.script = Script()
    return _scripted_server


@pytest.fixture
def dead_address() -> str:
    """An address where nothing listens."""
    return f"127.0.0.1:{free_port()}"
