"""Shared plumbing for observing one RPC from start to final status.

Interceptors only see a method handler, not the call; to act when a call starts and when it
ends they replace the handler's behaviour with a wrapper. For server-streaming behaviours the
end is not when the handler function returns but when its response iterator is exhausted, so
the wrapper drives the iterator itself (writing each message) and reports in ``finally``.
The final status code is read where gRPC keeps it: the servicer context (``set_code`` and
``abort`` record it there), or the exception that ended the handler (gRPC answers an unexpected
exception with UNKNOWN, a cancelled task with CANCELLED or, when the deadline passed,
DEADLINE_EXCEEDED).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

import grpc
from grpc import aio

__all__ = ["CallObserver", "RpcInfo", "RpcType", "final_code", "observe_handler"]

RpcType = Literal["unary", "client_stream", "server_stream", "bidi_stream"]

_ABORT_ERROR: Final[type[BaseException]] = aio.AbortError
_DEADLINE_SLACK_S: Final = 0.05


@dataclass(frozen=True, slots=True)
class RpcInfo:
    """What is known about a call before it runs: its method and its streaming shape."""

    full_method: str
    service: str
    method: str
    rpc_type: RpcType

    @classmethod
    def of(cls, full_method: str, handler: grpc.RpcMethodHandler[Any, Any]) -> RpcInfo:
        """Split ``/package.Service/Method`` and classify the handler's streaming shape."""
        service, _, method = full_method.lstrip("/").rpartition("/")
        rpc_type: RpcType
        if handler.request_streaming and handler.response_streaming:
            rpc_type = "bidi_stream"
        elif handler.request_streaming:
            rpc_type = "client_stream"
        elif handler.response_streaming:
            rpc_type = "server_stream"
        else:
            rpc_type = "unary"
        return cls(full_method=full_method, service=service or "unknown", method=method, rpc_type=rpc_type)


CallObserver = Callable[[aio.ServicerContext[Any, Any]], Callable[[grpc.StatusCode], None]]
"""Called when a call starts (with its context); returns the function to call with the final code."""


def final_code(context: aio.ServicerContext[Any, Any], error: BaseException | None) -> grpc.StatusCode:
    """The status code the caller receives, given how the handler ended."""
    recorded = context.code()
    if isinstance(recorded, grpc.StatusCode) and (error is None or isinstance(error, _ABORT_ERROR)):
        return recorded
    if error is None:
        return grpc.StatusCode.OK
    if isinstance(error, _ABORT_ERROR):
        return grpc.StatusCode.UNKNOWN
    if isinstance(error, asyncio.CancelledError | GeneratorExit):
        # gRPC's deadline timer and Python's wall clock disagree by a little: a call cancelled
        # when (almost) nothing of its deadline was left was cancelled by that deadline.
        remaining = context.time_remaining()
        if remaining is not None and remaining <= _DEADLINE_SLACK_S:
            return grpc.StatusCode.DEADLINE_EXCEEDED
        return grpc.StatusCode.CANCELLED
    return grpc.StatusCode.UNKNOWN


def _wrap_unary_response(
    behaviour: Callable[[Any, Any], Awaitable[Any]], observe: CallObserver
) -> Callable[[Any, Any], Awaitable[Any]]:
    async def observed(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        done = observe(context)
        error: BaseException | None = None
        try:
            return await behaviour(request, context)
        except BaseException as exc:
            error = exc
            raise
        finally:
            done(final_code(context, error))

    return observed


def _wrap_stream_writer(
    behaviour: Callable[[Any, Any], Awaitable[None]], observe: CallObserver
) -> Callable[[Any, Any], Awaitable[None]]:
    # Handlers that stream with ``await context.write(...)`` end when their coroutine returns.
    async def observed(request: Any, context: aio.ServicerContext[Any, Any]) -> None:
        done = observe(context)
        error: BaseException | None = None
        try:
            await behaviour(request, context)
        except BaseException as exc:
            error = exc
            raise
        finally:
            done(final_code(context, error))

    return observed


def _wrap_stream_iterator(
    behaviour: Callable[[Any, Any], AsyncGenerator[Any, None]], observe: CallObserver
) -> Callable[[Any, Any], Awaitable[None]]:
    # The handler's async generator is driven here and each message written from this coroutine.
    # A cancellation (caller gone, deadline passed) then lands in this frame whether the call was
    # waiting on the handler or on the network, so the end is recorded at once, not whenever the
    # suspended generator happens to be garbage-collected.
    async def observed(request: Any, context: aio.ServicerContext[Any, Any]) -> None:
        done = observe(context)
        error: BaseException | None = None
        try:
            async with contextlib.aclosing(behaviour(request, context)) as responses:
                async for response in responses:
                    await context.write(response)
        except BaseException as exc:
            error = exc
            raise
        finally:
            done(final_code(context, error))

    return observed


def observe_handler(
    handler: grpc.RpcMethodHandler[Any, Any], observe: CallObserver
) -> grpc.RpcMethodHandler[Any, Any]:
    """A handler that behaves as ``handler`` and reports each call's start and final code.

    Only asynchronous behaviours are wrapped; a synchronous one runs on gRPC's thread pool with a
    different context type, and the gateway has none, so it is passed through unobserved.
    """
    wrap_kwargs = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.response_streaming:
        behaviour: Any = handler.stream_stream if handler.request_streaming else handler.unary_stream
        if inspect.iscoroutinefunction(behaviour):
            wrapped: Any = _wrap_stream_writer(behaviour, observe)
        elif inspect.isasyncgenfunction(behaviour):
            wrapped = _wrap_stream_iterator(behaviour, observe)
        else:
            return handler
        if handler.request_streaming:
            return grpc.stream_stream_rpc_method_handler(wrapped, **wrap_kwargs)
        return grpc.unary_stream_rpc_method_handler(wrapped, **wrap_kwargs)
    behaviour = handler.stream_unary if handler.request_streaming else handler.unary_unary
    if not inspect.iscoroutinefunction(behaviour):
        return handler
    wrapped = _wrap_unary_response(behaviour, observe)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(wrapped, **wrap_kwargs)
    return grpc.unary_unary_rpc_method_handler(wrapped, **wrap_kwargs)
