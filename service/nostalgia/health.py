"""Health that tells the truth: SERVING only while Triton answers ready.

Probes (Kubernetes, load balancers) ask the standard gRPC health service; a watcher task keeps
its status in step with Triton so traffic moves away while the model server is down and comes
back by itself when it recovers.
"""

from __future__ import annotations

import asyncio
import logging

from grpc_health.v1 import _async as health_aio
from grpc_health.v1 import health_pb2

from .inference import TritonClient

__all__ = ["LIVENESS_SERVICE", "SERVICE_NAMES", "mark_alive", "watch_backend"]

_LOG = logging.getLogger("nostalgia.health")
SERVICE_NAMES = ("", "nostalgia.v1.Nostalgia")
# Liveness probes ask for this name: SERVING while the process serves at all, whatever Triton
# does, so an outage of the model server takes gateways out of rotation without restarting them.
LIVENESS_SERVICE = "liveness"


async def set_status(health: health_aio.HealthServicer, serving: bool) -> None:
    status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
    for name in SERVICE_NAMES:
        await health.set(name, status)


async def mark_alive(health: health_aio.HealthServicer) -> None:
    await health.set(LIVENESS_SERVICE, health_pb2.HealthCheckResponse.SERVING)


async def watch_backend(
    health: health_aio.HealthServicer, triton: TritonClient, interval_s: float = 1.0
) -> None:
    """Poll Triton's readiness forever, flipping health on every change."""
    serving: bool | None = None
    while True:
        ready = await triton.is_ready()
        if ready != serving:
            _LOG.log(
                logging.INFO if ready else logging.WARNING, "backend %s", "ready" if ready else "not ready"
            )
            await set_status(health, ready)
            serving = ready
        await asyncio.sleep(interval_s)
