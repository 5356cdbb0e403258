"""``python -m nostalgia``: run the gateway, starting the embedded Triton unless one is given.

An embedded Triton that dies takes the gateway down with it (exit code 1, after the usual
drain): the process that was started as one service stops being one, and whatever supervises
it (Kubernetes, compose, systemd) restarts both together. A gateway left up in front of a dead
model server would only answer UNAVAILABLE until someone noticed.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence

from .app import App
from .config import Settings
from .logs import configure_logging, get_logger
from .server import run_gateway
from .triton import EmbeddedTriton, TritonStartError

_LOG = get_logger("main")


_WATCH_INTERVAL_S = 0.5


async def _watch(embedded: EmbeddedTriton, stop: asyncio.Event) -> bool:
    """Wait until ``stop`` is set; set it early, and say so, if the embedded server dies."""
    while not stop.is_set():
        if embedded.exit_reason is not None:
            _LOG.error("stopping: the embedded tritonserver %s", embedded.exit_reason)
            stop.set()
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), _WATCH_INTERVAL_S)
    return False


async def serve(settings: Settings) -> int:
    """Serve until SIGTERM or SIGINT; the process's exit code (1 when the embedded Triton died)."""
    embedded: EmbeddedTriton | None = None
    url = settings.triton_url
    if not url:
        embedded = EmbeddedTriton(
            settings.model_repository,
            grpc_port=settings.triton_grpc_port,
            http_port=settings.triton_http_port,
            metrics_port=settings.triton_metrics_port,
        )
        await asyncio.to_thread(embedded.start, settings.triton_startup_timeout_s)
        url = embedded.grpc_url
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    watch = asyncio.create_task(_watch(embedded, stop)) if embedded is not None else None
    try:
        await run_gateway(App.create(settings, url), stop)
    finally:
        stop.set()
        died = await watch if watch is not None else False
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
    return 1 if died else 0


def main(argv: Sequence[str] | None = None) -> int:
    settings = Settings.from_args(argv)
    configure_logging(settings.log_level, settings.log_format)
    try:
        return asyncio.run(serve(settings))
    except TritonStartError as exc:
        _LOG.error("cannot start: %s", exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
