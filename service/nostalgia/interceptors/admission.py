"""Admission control as an interceptor: heavy RPCs take a slot before they run, or are refused at once.

Applying it here rather than in each handler keeps every heavy method under one limit, including
methods added later, and refuses a call before its handler has done any work.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from grpc import aio

from nostalgia.admission import Admission
from nostalgia.errors import Overloaded

__all__ = ["HEAVY_METHODS", "AdmissionInterceptor"]

HEAVY_METHODS = frozenset(
    {
        "/nostalgia.v1.Nostalgia/Animate",
        "/nostalgia.v1.Nostalgia/Enhance",
        "/nostalgia.v1.Nostalgia/DetectFaces",
    }
)


class AdmissionInterceptor(aio.ServerInterceptor):  # type: ignore[type-arg]
    """Runs each call of ``methods`` inside ``admission.slot()``; RESOURCE_EXHAUSTED when refused."""

    def __init__(self, admission: Admission, methods: frozenset[str] = HEAVY_METHODS) -> None:
        self.admission = admission
        self.methods = methods

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method not in self.methods or handler.request_streaming:
            return handler
        name = method.rpartition("/")[2]
        kwargs = {
            "request_deserializer": handler.request_deserializer,
            "response_serializer": handler.response_serializer,
        }
        admission = self.admission
        if handler.response_streaming and inspect.isasyncgenfunction(handler.unary_stream):
            streaming = handler.unary_stream

            async def admitted_stream(
                request: Any, context: aio.ServicerContext[Any, Any]
            ) -> AsyncIterator[Any]:
                try:
                    async with (
                        admission.slot(name),
                        contextlib.aclosing(streaming(request, context)) as responses,
                    ):
                        async for response in responses:
                            yield response
                except Overloaded as exc:
                    await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc))

            return grpc.unary_stream_rpc_method_handler(admitted_stream, **kwargs)
        if not handler.response_streaming and inspect.iscoroutinefunction(handler.unary_unary):
            unary = handler.unary_unary

            async def admitted(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
                try:
                    async with admission.slot(name):
                        return await unary(request, context)
                except Overloaded as exc:
                    await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc))

            return grpc.unary_unary_rpc_method_handler(admitted, **kwargs)
        return handler
