"""The embedded Triton and its python-backend stubs run with the allocator and threading settings we set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nostalgia.triton import EmbeddedTriton
from nostalgia.triton.embedded import RUNTIME_ENV


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
