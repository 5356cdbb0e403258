"""Session fixtures: the real embedded Triton and the real gateway, started once per test run.

Tests talk to them over real gRPC on loopback, exactly as callers do. The gateway runs in a
background thread with its own event loop (``nostalgia.local.start_gateway``), through the
same ``run_gateway`` that ``python -m nostalgia`` uses. Tests that need a gateway with other
settings call ``start_gateway(replace(gateway_settings, ...))`` themselves.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import grpc
import pytest

from bench._portraits import portraits_dir as shared_portraits_dir
from nostalgia.config import Settings
from nostalgia.local import BackgroundGateway, start_gateway
from nostalgia.logs import configure_logging
from nostalgia.triton import EmbeddedTriton
from nostalgia.v1 import nostalgia_pb2_grpc as pb_grpc

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def portraits_dir() -> Path:
    path = shared_portraits_dir()
    if not (path / "MANIFEST.tsv").exists():
        pytest.fail(f"test photos not found at {path}; set NOSTALGIA_PORTRAITS")
    return path


@pytest.fixture(scope="session")
def manifest(portraits_dir: Path) -> list[dict[str, str]]:
    with (portraits_dir / "MANIFEST.tsv").open(newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


# The session's Triton, once a test has asked for it.
_SESSION_TRITON: list[EmbeddedTriton] = []


@pytest.fixture(scope="session")
def triton() -> Iterator[EmbeddedTriton]:
    configure_logging("WARNING", "text")
    repository = Path(os.environ.get("NOSTALGIA_MODEL_REPOSITORY", REPO / "model_repository"))
    server = EmbeddedTriton(repository)
    server.start(timeout_s=300)
    _SESSION_TRITON.append(server)
    try:
        yield server
    finally:
        _SESSION_TRITON.remove(server)
        server.stop()


@pytest.fixture(autouse=True)
def _session_triton_survives() -> Iterator[None]:
    """Fail the test during which the shared Triton died, saying how, then start it again.

    Without this a crash shows only as every later test failing to connect, and the server's
    last words are lost; with it the run names the test, the signal and the server's last
    lines, and the tests after it still test something.
    """
    yield
    for server in _SESSION_TRITON:
        if server.exit_reason is None:
            continue
        reason, last = server.exit_reason, server.recent_log()[-20:]
        server.stop()
        server.start(timeout_s=300)
        pytest.fail(
            f"tritonserver {reason} during this test (the session's server, restarted); it printed last:\n"
            + "\n".join(last)
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


@dataclass
class GatewayProcess:
    """``python -m nostalgia`` in a child process, serving on ``port``; ``lines``: its JSON log so far."""

    process: subprocess.Popen[str]
    port: int
    lines: list[str]

    def logged(self, message: str) -> list[dict[str, object]]:
        """Its log entries whose message contains ``message``."""
        entries = []
        for line in list(self.lines):
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if message in str(entry.get("msg", "")):
                entries.append(entry)
        return entries


def _serving_port(process: subprocess.Popen[str], lines: list[str], timeout_s: float) -> int:
    assert process.stderr is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line)
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if entry.get("msg") == "serving":
            return int(entry["port"])
    raise AssertionError("the gateway did not report serving:\n" + "".join(lines))


@pytest.fixture
def gateway_process() -> Iterator[Callable[..., GatewayProcess]]:
    """Starts real gateway processes with the given flags; kills any still running afterwards."""
    started: list[subprocess.Popen[str]] = []

    def start(*flags: str, timeout_s: float = 60.0) -> GatewayProcess:
        process = subprocess.Popen(
            [sys.executable, "-m", "nostalgia", "--host=127.0.0.1", "--port=0", "--metrics-port=0", *flags],
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "NOSTALGIA_LOG_FORMAT": "json"},
        )
        started.append(process)
        lines: list[str] = []
        port = _serving_port(process, lines, timeout_s)
        drain = threading.Thread(target=lambda: lines.extend(process.stderr or []), daemon=True)
        drain.start()
        return GatewayProcess(process, port, lines)

    try:
        yield start
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
                process.wait()
            if process.stderr is not None:
                process.stderr.close()
