"""The gateway's Prometheus metrics, defined once, and the small helpers the code records them with.

Everything lives on prometheus-client's default registry so that one scrape of ``/metrics`` also
returns the process collector's ``process_*`` series (CPU seconds, resident memory, open file
descriptors) next to ours. Our own series are prefixed ``nostalgia_``; the gRPC ones follow the
names operators know from the go-grpc-prometheus convention (started / handled / handling
seconds) so existing alerts and dashboards translate directly.

Callers never touch label values as free strings where a closed set exists: stages are a
``Literal`` so a typo is a type error rather than a new, silently empty time series.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from typing import Final, Literal, get_args
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
    start_http_server,
)

__all__ = [
    "BUILD_INFO",
    "BYTES_STREAMED",
    "FRAMES_STREAMED",
    "RPC_HANDLED",
    "RPC_HANDLING_SECONDS",
    "RPC_IN_FLIGHT",
    "RPC_STARTED",
    "STAGES",
    "STAGE_SECONDS",
    "TIME_TO_FIRST_FRAME_SECONDS",
    "TRITON_REQUEST_ERRORS",
    "TRITON_REQUEST_SECONDS",
    "MetricsServer",
    "Stage",
    "count_streamed",
    "declare_rpc",
    "observe_stage",
    "observe_time_to_first_frame",
    "record_stage",
    "record_triton_call",
    "start_metrics_server",
    "time_stage",
    "triton_call",
]

NAMESPACE: Final = "nostalgia"

Stage = Literal["decode", "detect", "align", "enhance", "motion", "composite", "encode"]
"""The pipeline stages of one request, in the order they run."""

STAGES: Final[tuple[Stage, ...]] = get_args(Stage)

# Bucket edges in seconds. A whole Animate stream on CPU can take a minute; a unary DetectFaces a few
# milliseconds: one wide, roughly geometric ladder serves both without per-method tuning.
_RPC_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0)
_STAGE_BUCKETS: Final = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)
_TTFF_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0, 20.0, 40.0)

# ``*_created`` timestamps double the series count and nothing here queries them.
disable_created_metrics()  # type: ignore[no-untyped-call]

_RPC_LABELS: Final = ("grpc_service", "grpc_method", "grpc_type")

RPC_STARTED: Final = Counter(
    "grpc_server_started",
    "RPCs the gateway started handling.",
    _RPC_LABELS,
    namespace=NAMESPACE,
)
RPC_HANDLED: Final = Counter(
    "grpc_server_handled",
    "RPCs the gateway finished, by final gRPC status code.",
    (*_RPC_LABELS, "grpc_code"),
    namespace=NAMESPACE,
)
RPC_HANDLING_SECONDS: Final = Histogram(
    "grpc_server_handling_seconds",
    "Wall time from the start of an RPC to its final status (for streams: after the last message).",
    _RPC_LABELS,
    namespace=NAMESPACE,
    buckets=_RPC_BUCKETS,
)
RPC_IN_FLIGHT: Final = Gauge(
    "grpc_server_in_flight",
    "RPCs being handled now; for server-streaming methods (Animate) this is the number of open streams.",
    _RPC_LABELS,
    namespace=NAMESPACE,
)
STAGE_SECONDS: Final = Histogram(
    "stage_duration_seconds",
    "Time spent in one pipeline stage of one request.",
    ("stage",),
    namespace=NAMESPACE,
    buckets=_STAGE_BUCKETS,
)
TIME_TO_FIRST_FRAME_SECONDS: Final = Histogram(
    "time_to_first_frame_seconds",
    "From the start of an Animate call until the first complete frame (a Frame message, or a container "
    "chunk that completes one) is handed to gRPC.",
    namespace=NAMESPACE,
    buckets=_TTFF_BUCKETS,
)
FRAMES_STREAMED: Final = Counter(
    "frames_streamed",
    "Output frames encoded and sent to callers.",
    ("format",),
    namespace=NAMESPACE,
)
BYTES_STREAMED: Final = Counter(
    "bytes_streamed",
    "Encoded output bytes (frames and container chunks) sent to callers.",
    ("format",),
    namespace=NAMESPACE,
)
TRITON_REQUEST_SECONDS: Final = Histogram(
    "triton_request_duration_seconds",
    "Round trip of one inference call from the gateway to Triton, as the gateway sees it.",
    ("model",),
    namespace=NAMESPACE,
    buckets=_STAGE_BUCKETS,
)
TRITON_REQUEST_ERRORS: Final = Counter(
    "triton_request_errors",
    "Inference calls to Triton that raised.",
    ("model",),
    namespace=NAMESPACE,
)

TRITON_OUTPUT_BYTES: Final = Counter(
    "triton_output_bytes",
    "Bytes of model outputs received from Triton, by how they came: shared_memory (a /dev/shm region"
    " Triton wrote into) or grpc (in the response).",
    ("model", "transport"),
    namespace=NAMESPACE,
)

BUILD_INFO: Final = Info(
    "build",
    "Always 1; labels say which gateway version runs. Also marks a scrape target as a Nostalgia gateway, "
    "so dashboards can pick its process_* series out of any job naming scheme.",
    namespace=NAMESPACE,
)


def _version() -> str:
    try:
        return metadata.version("nostalgia")
    except metadata.PackageNotFoundError:
        return "unknown"


BUILD_INFO.info({"version": _version()})

# Every stage exists from the first scrape, so rate() and histogram_quantile() over a fresh
# gateway give zeros instead of an absent series that dashboards cannot tell from a broken scrape.
for _stage in STAGES:
    STAGE_SECONDS.labels(_stage)


def declare_rpc(service: str, method: str, rpc_type: str) -> None:
    """Create a method's started / latency / in-flight series at zero before its first call.

    Without this the first scrape after the first call already holds that call, and ``rate()``
    (which never assumes a series started at zero) leaves it out.
    """
    RPC_STARTED.labels(service, method, rpc_type)
    RPC_HANDLING_SECONDS.labels(service, method, rpc_type)
    RPC_IN_FLIGHT.labels(service, method, rpc_type)


def observe_stage(stage: Stage, seconds: float) -> None:
    """Record the duration of one pipeline stage of one request."""
    STAGE_SECONDS.labels(stage).observe(seconds)


@contextmanager
def time_stage(stage: Stage) -> Iterator[None]:
    """Time the enclosed block as ``stage``; recorded even when the block raises."""
    start = time.perf_counter()
    try:
        yield
    finally:
        observe_stage(stage, time.perf_counter() - start)


def observe_time_to_first_frame(seconds: float) -> None:
    """Record how long a caller waited for the first piece of output of an Animate stream."""
    TIME_TO_FIRST_FRAME_SECONDS.observe(seconds)


def count_streamed(*, frames: int, nbytes: int, output_format: str) -> None:
    """Count output sent to a caller: ``frames`` new frames and ``nbytes`` encoded bytes.

    A container chunk may carry several frames or none (headers), so the two are counted apart.
    """
    if frames < 0 or nbytes < 0:
        raise ValueError(f"streamed counts must be non-negative, got frames={frames} nbytes={nbytes}")
    label = output_format.lower()
    if frames:
        FRAMES_STREAMED.labels(label).inc(frames)
    if nbytes:
        BYTES_STREAMED.labels(label).inc(nbytes)


def record_stage(stage: str, seconds: float) -> None:
    """``observe_stage`` for callers holding a plain string (the pipeline's stage-timer hook)."""
    STAGE_SECONDS.labels(stage).observe(seconds)


def record_triton_call(model: str, seconds: float, ok: bool) -> None:
    """Record one finished inference call to Triton (the Triton client's call hook)."""
    TRITON_REQUEST_SECONDS.labels(model).observe(seconds)
    if not ok:
        TRITON_REQUEST_ERRORS.labels(model).inc()


def record_triton_output(model: str, transport: str, nbytes: int) -> None:
    """Count the bytes of one model output and how they came (the Triton client's output hook)."""
    TRITON_OUTPUT_BYTES.labels(model, transport).inc(nbytes)


@contextmanager
def triton_call(model: str) -> Iterator[None]:
    """Time one inference call to Triton; count it as an error when the block raises.

    Works around both sync and ``await``-ed calls because only the wall clock is read.
    """
    start = time.perf_counter()
    ok = False
    try:
        yield
        ok = True
    finally:
        record_triton_call(model, time.perf_counter() - start, ok)


@dataclass
class MetricsServer:
    """A running ``/metrics`` HTTP endpoint; ``port`` is the bound one (useful when asked for port 0)."""

    host: str
    port: int
    _server: WSGIServer = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def start_metrics_server(port: int, host: str = "0.0.0.0") -> MetricsServer:
    """Serve the default registry on ``http://host:port/metrics`` from a daemon thread."""
    server, thread = start_http_server(port, addr=host, registry=REGISTRY)
    return MetricsServer(host=host, port=int(server.server_port), _server=server, _thread=thread)
