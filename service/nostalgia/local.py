"""A gateway running in a background thread of this process, for tests, benchmarks and load runs.

It runs the same ``run_gateway`` as ``python -m nostalgia`` (same server, same drain on stop),
on its own event loop, so synchronous callers can use it with plain gRPC channels.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

from .app import App
from .config import Settings
from .server import run_gateway

__all__ = ["BackgroundGateway", "start_gateway"]


@dataclass
class BackgroundGateway:
    """A serving gateway; ``stop()`` drains it as SIGTERM would."""

    settings: Settings
    address: str
    port: int
    _loop: asyncio.AbstractEventLoop
    _stop: asyncio.Event
    _thread: threading.Thread

    def stop(self, timeout_s: float = 60.0) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout=timeout_s)


def start_gateway(settings: Settings, timeout_s: float = 60.0) -> BackgroundGateway:
    """Start a gateway for ``settings`` (``triton_url`` must be set) and return once it listens."""
    if not settings.triton_url:
        raise ValueError("start_gateway needs settings.triton_url (start an EmbeddedTriton first)")
    started = threading.Event()
    state: dict[str, object] = {}

    def on_started(port: int) -> None:
        state["port"] = port
        started.set()

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        stop = asyncio.Event()
        state["loop"], state["stop"] = loop, stop
        try:
            loop.run_until_complete(run_gateway(App.create(settings, settings.triton_url), stop, on_started))
        except BaseException as exc:
            state["error"] = exc
            started.set()
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="gateway", daemon=True)
    thread.start()
    if not started.wait(timeout_s) or "error" in state:
        raise RuntimeError(f"gateway did not start: {state.get('error', 'timed out')}")
    loop, stop, port = state["loop"], state["stop"], state["port"]
    assert isinstance(loop, asyncio.AbstractEventLoop) and isinstance(stop, asyncio.Event)
    assert isinstance(port, int)
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "[::]") else settings.host
    return BackgroundGateway(settings, f"{host}:{port}", port, loop, stop, thread)
