"""SIGTERM drains: the gateway process finishes in-flight streams, refuses new work, then exits."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from nostalgia.triton import EmbeddedTriton
from nostalgia.v1 import nostalgia_pb2 as pb
from nostalgia.v1 import nostalgia_pb2_grpc as pb_grpc


def test_sigterm_finishes_in_flight_stream_then_exits(
    triton: EmbeddedTriton, portraits_dir: Path, gateway_process: Callable[..., Any]
) -> None:
    gateway = gateway_process(f"--triton-url={triton.grpc_url}", "--shutdown-grace-s=30")
    process, port = gateway.process, gateway.port
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
