"""SIGTERM drains: the gateway process finishes in-flight streams, refuses new work, then exits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest

from nostalgia.triton import EmbeddedTriton
from nostalgia.v1 import nostalgia_pb2 as pb
from nostalgia.v1 import nostalgia_pb2_grpc as pb_grpc


def _wait_for_port(process: subprocess.Popen[str], lines: list[str]) -> int:
    assert process.stderr is not None
    deadline = time.monotonic() + 60
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
    raise AssertionError("gateway did not report serving:\n" + "".join(lines))


def test_sigterm_finishes_in_flight_stream_then_exits(triton: EmbeddedTriton, portraits_dir: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nostalgia",
            "--port=0",
            "--metrics-port=0",
            f"--triton-url={triton.grpc_url}",
            "--host=127.0.0.1",
            "--shutdown-grace-s=30",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NOSTALGIA_LOG_FORMAT": "json"},
    )
    lines: list[str] = []
    try:
        port = _wait_for_port(process, lines)
        drain = threading.Thread(target=lambda: lines.extend(process.stderr or []), daemon=True)
        drain.start()
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.NostalgiaStub(channel)
            request = pb.AnimateRequest(
                image=(portraits_dir / "deoldify_abe.jpg").read_bytes(),
                duration_s=3.0,
                fps=25,
                output_size=256,
            )
            stream = stub.Animate(request, timeout=120)
            first = next(stream)
            assert first.HasField("metadata")
            process.send_signal(signal.SIGTERM)
            rest = list(stream)
            assert sum(r.HasField("frame") for r in rest) == 75, "in-flight stream must finish"
            assert rest[-1].HasField("summary")
            with pytest.raises(grpc.RpcError) as refused:
                list(stub.Animate(request, timeout=10))
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()
