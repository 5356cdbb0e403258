"""Session fixtures: the real embedded Triton and the real gateway, started once per test run.

Tests talk to them over real gRPC on loopback, exactly as callers do. The gateway runs in a
background thread with its own event loop, through the same ``run_gateway`` the CLI uses.
"""

from __future__ import annotations

import asyncio
import csv
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import grpc
import pytest

from nostalgia.app import App
from nostalgia.config import Settings
from nostalgia.logs import configure_logging
from nostalgia.server import run_gateway
from nostalgia.triton import EmbeddedTriton
from nostalgia.v1 import nostalgia_pb2_grpc as pb_grpc

REPO = Path(__file__).resolve().parents[1]


def _portraits_dir() -> Path:
    configured = os.environ.get("NOSTALGIA_PORTRAITS")
    return Path(configured) if configured else REPO.parent / "shared" / "portraits"


@pytest.fixture(scope="session")
def portraits_dir() -> Path:
    path = _portraits_dir()
    if not (path / "MANIFEST.tsv").exists():
        pytest.fail(f"test photos not found at {path}; set NOSTALGIA_PORTRAITS")
    return path


@pytest.fixture(scope="session")
def manifest(portraits_dir: Path) -> list[dict[str, str]]:
    with (portraits_dir / "MANIFEST.tsv").open(newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


@pytest.fixture(scope="session")
def triton() -> Iterator[EmbeddedTriton]:
    configure_logging("WARNING", "text")
    repository = Path(os.environ.get("NOSTALGIA_MODEL_REPOSITORY", REPO / "model_repository"))
    server = EmbeddedTriton(repository)
    server.start(timeout_s=300)
    try:
        yield server
    finally:
        server.stop()


@dataclass
class RunningGateway:
    """A gateway serving in a background thread; ``stop()`` drains it like SIGTERM would."""

    settings: Settings
    address: str
    _loop: asyncio.AbstractEventLoop
    _stop: asyncio.Event
    _thread: threading.Thread

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=60)


def start_gateway(settings: Settings) -> RunningGateway:
    """Start ``run_gateway`` in a thread and wait until it listens."""
    started = threading.Event()
    holder: dict[str, object] = {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        stop = asyncio.Event()
        holder["loop"], holder["stop"] = loop, stop

        def on_started(port: int) -> None:
            holder["port"] = port
            started.set()

        try:
            loop.run_until_complete(
                run_gateway(App.create(settings, settings.triton_url), stop, on_started=on_started)
            )
        except BaseException as exc:
            holder["error"] = exc
            started.set()
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="gateway", daemon=True)
    thread.start()
    if not started.wait(60) or "error" in holder:
        raise RuntimeError(f"gateway did not start: {holder.get('error')}")
    return RunningGateway(
        settings=settings,
        address=f"127.0.0.1:{holder['port']}",
        _loop=holder["loop"],  # type: ignore[arg-type]
        _stop=holder["stop"],  # type: ignore[arg-type]
        _thread=thread,
    )


@pytest.fixture(scope="session")
def gateway_settings(triton: EmbeddedTriton) -> Settings:
    return replace(
        Settings(),
        host="127.0.0.1",
        port=0,
        metrics_host="127.0.0.1",
        metrics_port=0,
        triton_url=triton.grpc_url,
        shutdown_grace_s=5.0,
    )


@pytest.fixture(scope="session")
def gateway(gateway_settings: Settings) -> Iterator[RunningGateway]:
    running = start_gateway(gateway_settings)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def channel(gateway: RunningGateway) -> Iterator[grpc.Channel]:
    limit = gateway.settings.max_message_bytes
    with grpc.insecure_channel(
        gateway.address,
        options=[("grpc.max_receive_message_length", limit), ("grpc.max_send_message_length", limit)],
    ) as ch:
        grpc.channel_ready_future(ch).result(timeout=30)
        yield ch


@pytest.fixture(scope="session")
def stub(channel: grpc.Channel) -> pb_grpc.NostalgiaStub:
    return pb_grpc.NostalgiaStub(channel)
