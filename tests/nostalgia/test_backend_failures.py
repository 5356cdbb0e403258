"""Triton crashing, coming back, and callers' deadlines, against real servers.

The crash test runs its own Triton (not the shared session one) so killing it harms no other
test; it restarts it on the same ports and expects the gateway to notice by itself.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import grpc
import numpy as np
import pytest
import tritonclient.grpc as triton_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from nostalgia.config import Settings
from nostalgia.errors import DeadlineExceeded
from nostalgia.inference import TritonClient
from nostalgia.local import BackgroundGateway, start_gateway
from nostalgia.triton import EmbeddedTriton
from nostalgia.v1 import nostalgia_pb2 as pb
from nostalgia.v1 import nostalgia_pb2_grpc as pb_grpc

REPO = Path(__file__).resolve().parents[2]
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def _health(channel: grpc.Channel) -> int:
    try:
        response = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
    except grpc.RpcError:
        return -1
    return int(response.status)


def _wait_for(predicate: object, timeout_s: float) -> float:
    """Seconds until ``predicate()`` held; fails the test after ``timeout_s``."""
    assert callable(predicate)
    start = time.perf_counter()
    while time.perf_counter() - start < timeout_s:
        if predicate():
            return time.perf_counter() - start
        time.sleep(0.1)
    pytest.fail(f"condition not met within {timeout_s:.0f}s")


@pytest.fixture(scope="module")
def own_triton() -> Iterator[EmbeddedTriton]:
    repository = Path(os.environ.get("NOSTALGIA_MODEL_REPOSITORY", REPO / "model_repository"))
    server = EmbeddedTriton(repository)
    server.start(timeout_s=300)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def own_gateway(gateway_settings: Settings, own_triton: EmbeddedTriton) -> Iterator[BackgroundGateway]:
    running = start_gateway(replace(gateway_settings, triton_url=own_triton.grpc_url))
    try:
        yield running
    finally:
        running.stop()


def test_triton_crash_mid_stream_gives_unavailable_and_the_gateway_recovers(
    own_triton: EmbeddedTriton,
    own_gateway: BackgroundGateway,
    portraits_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    image = (portraits_dir / "deoldify_abe.jpg").read_bytes()
    with grpc.insecure_channel(own_gateway.address) as channel:
        stub = pb_grpc.NostalgiaStub(channel)
        _wait_for(lambda: _health(channel) == SERVING, 30)

        # A long clip; kill Triton once frames are flowing.
        request = pb.AnimateRequest(image=image, duration_s=20, fps=25, output_size=512, seed=5)
        frames = 0
        killed_at = 0.0
        regions_before = own_triton.backend_regions()
        with pytest.raises(grpc.RpcError) as info:
            for response in stub.Animate(request, timeout=120):
                frames += response.HasField("frame")
                if frames == 2 and not killed_at:
                    own_triton.kill()
                    killed_at = time.perf_counter()
        failed_after = time.perf_counter() - killed_at
        assert killed_at, "the stream never produced frames"
        # A killed server cannot remove its python backend's /dev/shm regions itself; kill() does.
        assert regions_before, "the python backend's regions should carry this server's prefix"
        assert own_triton.backend_regions() == [], "a killed server's shared memory was left behind"
        # The crash is reported once, with how the server ended and what it printed last.
        assert own_triton.exit_reason == "killed by SIGKILL"
        reports = [r for r in caplog.records if r.name == "nostalgia.triton" and r.levelno == logging.ERROR]
        assert len(reports) == 1, [r.getMessage() for r in reports]
        assert "ended unexpectedly (killed by SIGKILL)" in reports[0].getMessage()
        assert own_triton.recent_log(), "the report should carry the server's last lines"
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE, info.value.details()
        assert frames < 500 and failed_after < 5.0, f"UNAVAILABLE came {failed_after:.1f}s after the crash"

        not_serving_after = _wait_for(lambda: _health(channel) == NOT_SERVING, 10)
        start = time.perf_counter()
        with pytest.raises(grpc.RpcError) as info:
            list(stub.Animate(pb.AnimateRequest(image=image, duration_s=0.4), timeout=30))
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        assert time.perf_counter() - start < 3.0, "a call while Triton is down should fail fast"

        own_triton.stop()  # reap the crashed process and its log pipe
        own_triton.start(timeout_s=300)  # same ports
        assert own_triton.exit_reason is None
        recovered_after = _wait_for(lambda: _health(channel) == SERVING, 60)
        responses = list(stub.Animate(pb.AnimateRequest(image=image, duration_s=0.4, fps=10), timeout=60))
        assert responses[-1].HasField("summary") and responses[-1].summary.frames == 4
    print(
        f"\nUNAVAILABLE {failed_after:.2f}s after the crash; NOT_SERVING after {not_serving_after:.2f}s; "
        f"SERVING {recovered_after:.2f}s after Triton was ready again"
    )


def _busy_inputs(triton: EmbeddedTriton, model: str, rows: int) -> dict[str, np.ndarray]:
    """Inputs for ``model`` built from its metadata: a 512-pixel image and ``rows`` of plausible floats."""
    client = triton_grpc.InferenceServerClient(triton.grpc_url)
    try:
        metadata = client.get_model_metadata(model, as_json=True)
    finally:
        client.close()
    rng = np.random.default_rng(0)
    inputs = {}
    for spec in metadata["inputs"]:
        dims = [int(d) for d in spec["shape"]]
        image_like = spec["datatype"] == "UINT8"
        shape = [1] + [(512 if image_like else rows) if d < 0 else d for d in dims[1:]]
        if image_like:
            inputs[spec["name"]] = rng.integers(0, 256, shape, dtype=np.uint8)
        else:
            inputs[spec["name"]] = (rng.random(shape) * 0.5 + 0.75).astype(np.float32)
    return inputs


def test_triton_calls_inherit_the_callers_deadline(triton: EmbeddedTriton) -> None:
    """A call given 50 ms ends with DeadlineExceeded in about that time, not Triton's full run."""
    # 100 frames: long enough that the full run takes several times the deadline on any machine
    # this suite runs on; the first call measures that, so a too-fast model fails loudly here.
    inputs = _busy_inputs(triton, "motion", rows=100)

    async def call() -> tuple[float, float]:
        client = TritonClient(triton.grpc_url)
        try:
            start = time.perf_counter()
            await client.infer("motion", inputs, ["FRAMES"], timeout_s=60)
            full_run = time.perf_counter() - start
            start = time.perf_counter()
            with pytest.raises(DeadlineExceeded):
                await client.infer("motion", inputs, ["FRAMES"], timeout_s=0.05)
            return full_run, time.perf_counter() - start
        finally:
            await client.close()

    full_run, elapsed = asyncio.run(call())
    assert full_run > 0.15, f"the busy request finished in {full_run:.2f}s, too fast to test a 50 ms deadline"
    assert elapsed < min(1.0, full_run / 2), f"deadline not enforced: {elapsed:.2f}s of {full_run:.2f}s"


def test_deadline_exceeded_reaches_the_caller_and_frees_the_slot(
    gateway_settings: Settings, portraits_dir: Path
) -> None:
    running = start_gateway(replace(gateway_settings, max_concurrent_calls=1, max_queued_calls=0))
    image = (portraits_dir / "deoldify_abe.jpg").read_bytes()
    try:
        with grpc.insecure_channel(running.address) as channel:
            stub = pb_grpc.NostalgiaStub(channel)
            long_clip = pb.AnimateRequest(image=image, duration_s=20, fps=25, output_size=512)
            start = time.perf_counter()
            with pytest.raises(grpc.RpcError) as info:
                list(stub.Animate(long_clip, timeout=1.5))
            assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            assert time.perf_counter() - start < 3.0
            # With one slot and no queue, this succeeds only if the expired call gave its slot back.
            responses = _wait_for_slot(stub, image)
            assert responses[-1].HasField("summary")
    finally:
        running.stop()


def _wait_for_slot(stub: pb_grpc.NostalgiaStub, image: bytes) -> list[pb.AnimateResponse]:
    """Retry briefly while the expired call is still unwinding; RESOURCE_EXHAUSTED for 5 s is a leak."""
    deadline = time.perf_counter() + 5.0
    while True:
        try:
            return list(stub.Animate(pb.AnimateRequest(image=image, duration_s=0.4, fps=10), timeout=60))
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.RESOURCE_EXHAUSTED or time.perf_counter() > deadline:
                raise
            time.sleep(0.2)
