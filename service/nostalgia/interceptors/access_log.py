"""Writes one structured log line per finished RPC: method, peer, status code, duration, request id.

The line never carries request or response payloads: uploads are photos of people, and their bytes
belong neither in logs nor in whatever ships logs elsewhere. Fields are in the message as
``key=value`` pairs (greppable as is) and on the record as ``rpc_*`` attributes for JSON formatters.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

import grpc
from grpc import aio

from nostalgia.interceptors._rpc import RpcInfo, observe_handler

__all__ = ["REQUEST_ID_KEYS", "AccessLogInterceptor"]

REQUEST_ID_KEYS: Final = ("x-request-id", "request-id", "x-correlation-id")
"""Invocation-metadata keys read, first match wins, as the caller's request id."""

_SERVER_FAULTS: Final = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.DATA_LOSS,
        grpc.StatusCode.UNAVAILABLE,
    }
)


def _request_id(metadata: Any) -> str | None:
    for key, value in metadata or ():
        if key.lower() in REQUEST_ID_KEYS:
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
            # Keep log lines single-line and bounded whatever the caller sent.
            return text.replace("\n", " ")[:128]
    return None


class AccessLogInterceptor(aio.ServerInterceptor):  # type: ignore[type-arg]
    """Logs each call once it has ended; failures that are the server's fault are logged as warnings."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._log = logger or logging.getLogger("nostalgia.access")

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        info = RpcInfo.of(handler_call_details.method, handler)
        request_id = _request_id(handler_call_details.invocation_metadata)
        log = self._log

        def observe(context: aio.ServicerContext[Any, Any]) -> Callable[[grpc.StatusCode], None]:
            started = time.perf_counter()
            peer = context.peer()

            def done(code: grpc.StatusCode) -> None:
                duration_ms = (time.perf_counter() - started) * 1000.0
                level = logging.WARNING if code in _SERVER_FAULTS else logging.INFO
                log.log(
                    level,
                    "rpc method=%s peer=%s code=%s duration_ms=%.1f request_id=%s",
                    info.full_method,
                    peer,
                    code.name,
                    duration_ms,
                    request_id or "-",
                    extra={
                        "rpc_method": info.full_method,
                        "rpc_peer": peer,
                        "rpc_code": code.name,
                        "rpc_duration_ms": round(duration_ms, 3),
                        "rpc_request_id": request_id,
                    },
                )

            return done

        return observe_handler(handler, observe)
