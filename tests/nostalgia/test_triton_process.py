"""The embedded Triton as a process: its runtime settings, and what its death does to the gateway."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nostalgia.triton import EmbeddedTriton
from nostalgia.triton.embedded import RUNTIME_ENV, describe_exit, free_port


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {key.decode(): value.decode() for key, value in pairs}


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(child) for child in text)
    return found


@pytest.mark.skipif(
    any(name in os.environ for name in RUNTIME_ENV),
    reason="the caller's own settings take precedence",
)
def test_server_and_stubs_get_the_allocator_and_threading_settings(triton: EmbeddedTriton) -> None:
    assert triton.pid is not None
    stubs = [pid for pid in _children(triton.pid) if "triton_python_backend_stub" in _cmdline(pid)]
    assert stubs, "no python-backend stub process found under the server"
    for pid in [triton.pid, *stubs]:
        environ = _environ(pid)
        assert {name: environ.get(name) for name in RUNTIME_ENV} == RUNTIME_ENV


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")


@pytest.mark.parametrize(
    ("returncode", "described"),
    [
        (0, "exited with code 0"),
        (1, "exited with code 1"),
        (-9, "killed by SIGKILL"),
        (-7, "killed by SIGBUS"),
    ],
)
def test_exits_are_described_by_code_or_signal(returncode: int, described: str) -> None:
    assert describe_exit(returncode) == described


def test_a_gateway_whose_embedded_triton_dies_exits_with_the_reason(
    gateway_process: Callable[..., Any],
) -> None:
    """The supervisor sees the process go (code 1) and its log says how the model server ended."""
    ports = [f"--triton-{kind}-port={free_port()}" for kind in ("grpc", "http", "metrics")]
    gateway = gateway_process(*ports, timeout_s=300)
    servers = [pid for pid in _children(gateway.process.pid) if "tritonserver" in _cmdline(pid)]
    assert len(servers) == 1, f"expected one tritonserver under the gateway, found {servers}"
    os.killpg(servers[0], signal.SIGKILL)
    assert gateway.process.wait(timeout=60) == 1
    assert gateway.logged("ended unexpectedly (killed by SIGKILL)"), "".join(gateway.lines)
    assert gateway.logged("stopping: the embedded tritonserver killed by SIGKILL"), "".join(gateway.lines)
