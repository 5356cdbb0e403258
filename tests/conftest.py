"""Session fixtures: the real embedded Triton and the real gateway, started once per test run.

Tests talk to them over real gRPC on loopback, exactly as callers do. The gateway runs in a
background thread with its own event loop (``nostalgia.local.start_gateway``), through the
same ``run_gateway`` that ``python -m nostalgia`` uses. Tests that need a gateway with other
settings call ``start_gateway(replace(gateway_settings, ...))`` themselves.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import grpc
import pytest

from nostalgia.config import Settings
from nostalgia.local import BackgroundGateway, start_gateway
from nostalgia.logs import configure_logging
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
def gateway(gateway_settings: Settings) -> Iterator[BackgroundGateway]:
    running = start_gateway(gateway_settings)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def channel(gateway: BackgroundGateway) -> Iterator[grpc.Channel]:
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
