"""The gRPC servicer: delegates each RPC to its module and maps errors to statuses in one place."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc

from .app import App
from .errors import NostalgiaError, status_of
from .motion import driver_infos
from .observability import observe_animate_output
from .rpc import animate, detect_faces, enhance
from .v1 import nostalgia_pb2 as pb
from .v1 import nostalgia_pb2_grpc as pb_grpc

__all__ = ["NostalgiaServicer"]

_LOG = logging.getLogger("nostalgia.rpc")

Context = grpc.aio.ServicerContext


async def _fail(context: Context[Any, Any], exc: BaseException, method: str) -> None:
    """Abort the call with the status that ``exc`` stands for; unexpected errors become INTERNAL."""
    if isinstance(exc, NostalgiaError):
        code, message = status_of(exc)
        _LOG.info("%s rejected: %s", method, message, extra={"method": method, "code": code.name})
        await context.abort(code, message)
    _LOG.error("%s failed", method, exc_info=exc, extra={"method": method})
    await context.abort(grpc.StatusCode.INTERNAL, f"internal error in {method}; the server log has details")


class NostalgiaServicer(pb_grpc.NostalgiaServicer):
    def __init__(self, app: App) -> None:
        self.app = app

    async def Animate(
        self, request: pb.AnimateRequest, context: Context[pb.AnimateRequest, pb.AnimateResponse]
    ) -> AsyncIterator[pb.AnimateResponse]:
        try:
            async for response in observe_animate_output(animate.animate(request, context, self.app)):
                yield response
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await _fail(context, exc, "Animate")

    async def Enhance(
        self, request: pb.EnhanceRequest, context: Context[pb.EnhanceRequest, pb.EnhanceResponse]
    ) -> pb.EnhanceResponse:
        try:
            return await enhance.enhance(request, context, self.app)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await _fail(context, exc, "Enhance")
            raise AssertionError("unreachable") from exc

    async def DetectFaces(
        self, request: pb.DetectFacesRequest, context: Context[pb.DetectFacesRequest, pb.DetectFacesResponse]
    ) -> pb.DetectFacesResponse:
        try:
            return await detect_faces.detect_faces(request, context, self.app)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await _fail(context, exc, "DetectFaces")
            raise AssertionError("unreachable") from exc

    async def ListDrivers(
        self, request: pb.ListDriversRequest, context: Context[pb.ListDriversRequest, pb.ListDriversResponse]
    ) -> pb.ListDriversResponse:
        return pb.ListDriversResponse(
            drivers=[
                pb.Driver(
                    name=d.name,
                    description=d.description,
                    default_duration_s=d.default_duration_s,
                    blinks=d.blinks,
                )
                for d in driver_infos()
            ]
        )
