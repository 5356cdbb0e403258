"""Building and running the gRPC server; kept apart from process concerns (signals, Triton)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from . import health
from .app import App
from .interceptors.admission import AdmissionInterceptor
from .interceptors.auth import ApiKeys, AuthInterceptor
from .metrics import start_metrics_server
from .observability import install_pipeline_observers, server_interceptors
from .servicer import NostalgiaServicer
from .v1 import nostalgia_pb2 as pb
from .v1 import nostalgia_pb2_grpc as pb_grpc

__all__ = ["create_server", "run_gateway"]

_LOG = logging.getLogger("nostalgia.server")


def create_server(app: App, address: str) -> tuple[grpc.aio.Server, int]:
    """A configured, not yet started server bound to ``address`` (port 0 picks one), and its port."""
    settings = app.settings
    settings.validate()
    limit = settings.max_message_bytes
    keys = ApiKeys.from_settings(settings.api_keys, settings.api_keys_file)
    # Outermost first: unauthenticated calls are refused before they can take an admission slot.
    guards: list[grpc.aio.ServerInterceptor[Any, Any]] = [AuthInterceptor(keys)] if keys else []
    guards.append(AdmissionInterceptor(app.admission))
    install_pipeline_observers()
    server = grpc.aio.server(
        # Metrics and access log outermost, so refused calls are counted and logged too.
        interceptors=[*server_interceptors(), *guards],
        options=[
            ("grpc.max_receive_message_length", limit),
            ("grpc.max_send_message_length", limit),
            ("grpc.so_reuseport", 0),
        ],
    )
    pb_grpc.add_NostalgiaServicer_to_server(NostalgiaServicer(app), server)  # type: ignore[no-untyped-call]
    health_pb2_grpc.add_HealthServicer_to_server(app.health, server)
    reflection.enable_server_reflection(
        (
            pb.DESCRIPTOR.services_by_name["Nostalgia"].full_name,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    port = (
        server.add_secure_port(address, tls)
        if (tls := _tls_credentials(app))
        else server.add_insecure_port(address)
    )
    if port == 0:
        raise OSError(f"could not bind the gRPC server to {address}")
    return server, port


def _tls_credentials(app: App) -> grpc.ServerCredentials | None:
    """TLS when a certificate is configured; mutual TLS (client certificates required) with a client CA."""
    settings = app.settings
    if not settings.tls_cert_file:
        return None
    chain = Path(settings.tls_cert_file).read_bytes()
    key = Path(settings.tls_key_file).read_bytes()
    client_ca = Path(settings.tls_client_ca_file).read_bytes() if settings.tls_client_ca_file else None
    return grpc.ssl_server_credentials(
        [(key, chain)], root_certificates=client_ca, require_client_auth=client_ca is not None
    )


async def run_gateway(
    app: App,
    stop: asyncio.Event,
    on_started: Callable[[int], None] | None = None,
) -> None:
    """Serve until ``stop`` is set, then drain.

    On stop, health turns NOT_SERVING first so probes move traffic away, then in-flight streams
    get the grace period to finish.
    """
    settings = app.settings
    server, port = create_server(app, f"{settings.host}:{settings.port}")
    metrics_server = start_metrics_server(settings.metrics_port, settings.metrics_host)
    # Report the backend's real state from the first request on, not NOT_SERVING until the first poll.
    await health.set_status(app.health, await app.triton.is_ready())
    await health.mark_alive(app.health)
    await server.start()
    watcher = asyncio.create_task(health.watch_backend(app.health, app.triton), name="health-watcher")
    _LOG.info("serving", extra={"port": port, "metrics_port": metrics_server.port, "triton": app.triton.url})
    if on_started is not None:
        on_started(port)
    try:
        await stop.wait()
        _LOG.info("shutting down", extra={"grace_s": settings.shutdown_grace_s})
        watcher.cancel()
        await app.health.enter_graceful_shutdown()
    finally:
        watcher.cancel()
        await server.stop(settings.shutdown_grace_s)
        await app.close()
        metrics_server.close()
        _LOG.info("stopped")
