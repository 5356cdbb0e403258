"""Records every RPC in the gateway's Prometheus metrics: started, handled by code, latency, in flight."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from grpc import aio

from nostalgia import metrics
from nostalgia.interceptors._rpc import RpcInfo, observe_handler

__all__ = ["MetricsInterceptor"]


class MetricsInterceptor(aio.ServerInterceptor):  # type: ignore[type-arg]
    """Counts and times each call; a streaming call is timed until its last message, not its first."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        if handler is None:
            # Unknown method: gRPC answers UNIMPLEMENTED itself; nothing of ours ran.
            return handler
        info = RpcInfo.of(handler_call_details.method, handler)
        labels = (info.service, info.method, info.rpc_type)

        def observe(_context: aio.ServicerContext[Any, Any]) -> Callable[[grpc.StatusCode], None]:
            started = time.perf_counter()
            metrics.RPC_STARTED.labels(*labels).inc()
            in_flight = metrics.RPC_IN_FLIGHT.labels(*labels)
            in_flight.inc()

            def done(code: grpc.StatusCode) -> None:
                in_flight.dec()
                metrics.RPC_HANDLED.labels(*labels, code.name).inc()
                metrics.RPC_HANDLING_SECONDS.labels(*labels).observe(time.perf_counter() - started)

            return done

        return observe_handler(handler, observe)
