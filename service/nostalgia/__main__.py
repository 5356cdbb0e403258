"""``python -m nostalgia``: run the gateway, starting the embedded Triton unless one is given."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Sequence

from .app import App
from .config import Settings
from .logs import configure_logging, get_logger
from .server import run_gateway
from .triton import EmbeddedTriton, TritonStartError

_LOG = get_logger("main")


async def serve(settings: Settings) -> None:
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
    try:
        await run_gateway(App.create(settings, url), stop)
    finally:
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)


def main(argv: Sequence[str] | None = None) -> int:
    settings = Settings.from_args(argv)
    configure_logging(settings.log_level, settings.log_format)
    try:
        asyncio.run(serve(settings))
    except TritonStartError as exc:
        _LOG.error("cannot start: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
