"""Connects the gateway to its metrics: interceptors, the pipeline's timing hooks, Animate's output.

The pipeline already measures itself (``timing.StageTimer`` per stage, ``TritonClient.infer`` per
model call) and exposes observer hooks; this module subscribes the Prometheus recorders to those
hooks once, so no pipeline code calls the metrics module directly. Output-side figures (time to
first frame, frames and bytes sent) are read off the response stream itself, which is the one place
that sees exactly what the caller receives, whatever encoder produced it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from grpc import aio

from . import metrics
from .inference.client import add_call_observer, add_output_observer
from .interceptors import AccessLogInterceptor, MetricsInterceptor
from .timing import add_stage_observer
from .v1 import nostalgia_pb2 as pb

__all__ = ["install_pipeline_observers", "observe_animate_output", "server_interceptors"]

_FORMAT_PREFIX = "OUTPUT_FORMAT_"


def server_interceptors() -> list[aio.ServerInterceptor[Any, Any]]:
    """The interceptors every gateway server runs, outermost first."""
    return [MetricsInterceptor(), AccessLogInterceptor()]


def install_pipeline_observers() -> None:
    """Record stage timings, Triton calls and outputs in the metrics; declare the API's RPCs (idempotent)."""
    add_stage_observer(metrics.record_stage)
    add_call_observer(metrics.record_triton_call)
    add_output_observer(metrics.record_triton_output)
    service = pb.DESCRIPTOR.services_by_name["Nostalgia"]
    for method in service.methods:
        rpc_type = "server_stream" if method.server_streaming else "unary"
        if method.client_streaming:
            rpc_type = "bidi_stream" if method.server_streaming else "client_stream"
        metrics.declare_rpc(service.full_name, method.name, rpc_type)


def _format_label(value: int) -> str:
    try:
        name = pb.OutputFormat.Name(value)
    except ValueError:
        return "unknown"
    return name.removeprefix(_FORMAT_PREFIX).lower()


async def observe_animate_output(
    responses: AsyncIterator[pb.AnimateResponse],
) -> AsyncIterator[pb.AnimateResponse]:
    """Pass ``responses`` through, counting frames and bytes and timing the first complete frame."""
    started = time.perf_counter()
    output_format = "unknown"
    frames_complete = 0
    first_frame_seen = False
    async with contextlib.aclosing(responses):  # type: ignore[type-var]
        async for response in responses:
            payload = response.WhichOneof("payload")
            new_frames = 0
            nbytes = 0
            if payload == "metadata":
                output_format = _format_label(response.metadata.format)
            elif payload == "frame":
                new_frames, nbytes = 1, len(response.frame.data)
            elif payload == "chunk":
                chunk = response.chunk
                new_frames = max(0, chunk.frames_complete - frames_complete)
                frames_complete = max(frames_complete, chunk.frames_complete)
                nbytes = len(chunk.data)
            if new_frames and not first_frame_seen:
                first_frame_seen = True
                metrics.observe_time_to_first_frame(time.perf_counter() - started)
            if new_frames or nbytes:
                metrics.count_streamed(frames=new_frames, nbytes=nbytes, output_format=output_format)
            yield response
