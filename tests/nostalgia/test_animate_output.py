"""Animate's output over real gRPC: every format decodes, streams early, and stops when the caller leaves.

The gateway runs in this process (see conftest), so the tests read its Prometheus registry
directly: the per-method in-flight gauge, and the output pipeline's own gauges for live
pipelines and buffered frame bytes.
"""

from __future__ import annotations

import gc
import io
import time
import tracemalloc
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import grpc
import numpy as np
import pytest
from PIL import Image
from prometheus_client import REGISTRY

from nostalgia.encoding import PROVENANCE_TEXT
from nostalgia.v1 import nostalgia_pb2 as pb
from nostalgia.v1 import nostalgia_pb2_grpc as pb_grpc

PHOTO = "deoldify_Dolores1920s.jpg"
FPS, DURATION, SIZE = 25.0, 2.0, 256
FRAMES = round(FPS * DURATION)
ANIMATE = {"grpc_service": "nostalgia.v1.Nostalgia", "grpc_method": "Animate", "grpc_type": "server_stream"}

IMAGE_FORMATS = {
    pb.OUTPUT_FORMAT_JPEG: ("image/jpeg", "JPEG"),
    pb.OUTPUT_FORMAT_PNG: ("image/png", "PNG"),
    pb.OUTPUT_FORMAT_WEBP: ("image/webp", "WEBP"),
}
CONTAINER_FORMATS = {
    pb.OUTPUT_FORMAT_MP4: "video/mp4",
    pb.OUTPUT_FORMAT_WEBM: "video/webm",
    pb.OUTPUT_FORMAT_GIF: "image/gif",
    pb.OUTPUT_FORMAT_ANIMATED_WEBP: "image/webp",
}


def gauge(name: str, **labels: str) -> float:
    value = REGISTRY.get_sample_value(name, labels)
    return 0.0 if value is None else value


def in_flight() -> float:
    return gauge("nostalgia_grpc_server_in_flight", **ANIMATE)


def pipelines() -> float:
    return gauge("nostalgia_output_pipelines_active")


def buffered() -> float:
    return gauge("nostalgia_output_buffered_frame_bytes")


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> float:
    """Seconds until ``condition`` held; fails after ``timeout_s``."""
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > timeout_s:
            pytest.fail(f"condition not met within {timeout_s} s")
        time.sleep(0.002)
    return time.perf_counter() - start


def request(portraits_dir: Path, fmt: int, **fields: object) -> pb.AnimateRequest:
    values: dict[str, object] = {"duration_s": DURATION, "fps": FPS, "output_size": SIZE, "seed": 11}
    values.update(fields)
    return pb.AnimateRequest(image=(portraits_dir / PHOTO).read_bytes(), format=fmt, **values)  # type: ignore[arg-type]


def call(stub: pb_grpc.NostalgiaStub, req: pb.AnimateRequest) -> list[tuple[float, pb.AnimateResponse]]:
    start = time.perf_counter()
    return [(time.perf_counter() - start, r) for r in stub.Animate(req, timeout=180)]


@pytest.mark.parametrize("fmt", list(IMAGE_FORMATS), ids=lambda f: pb.OutputFormat.Name(f))
def test_image_formats_stream_one_tagged_frame_each(
    stub: pb_grpc.NostalgiaStub, portraits_dir: Path, fmt: int
) -> None:
    received = call(stub, request(portraits_dir, fmt))
    meta = received[0][1].metadata
    mime, pil_format = IMAGE_FORMATS[fmt]
    assert meta.format == fmt and meta.mime_type == mime and meta.frame_count == FRAMES
    frames = [r.frame for _, r in received if r.HasField("frame")]
    assert [f.index for f in frames] == list(range(FRAMES))
    assert frames[-1].timestamp_s == pytest.approx((FRAMES - 1) / FPS)
    for frame in (frames[0], frames[-1]):
        image = Image.open(io.BytesIO(frame.data))
        assert image.format == pil_format and image.size == (meta.width, meta.height)
    summary = received[-1][1].summary
    assert summary.frames == FRAMES and summary.bytes == sum(len(f.data) for f in frames)


@pytest.mark.parametrize("fmt", list(CONTAINER_FORMATS), ids=lambda f: pb.OutputFormat.Name(f))
def test_containers_decode_with_the_promised_frames_timing_and_tag(
    stub: pb_grpc.NostalgiaStub, portraits_dir: Path, fmt: int
) -> None:
    received = call(stub, request(portraits_dir, fmt))
    meta = received[0][1].metadata
    assert meta.format == fmt and meta.mime_type == CONTAINER_FORMATS[fmt]
    assert (meta.fps, meta.frame_count) == (FPS, FRAMES)
    assert meta.duration_s == pytest.approx(DURATION)
    chunks = [r.chunk for _, r in received if r.HasField("chunk")]
    assert [c.sequence for c in chunks] == list(range(len(chunks)))
    counts = [c.frames_complete for c in chunks]
    assert counts == sorted(counts) and counts[-1] == FRAMES
    data = b"".join(c.data for c in chunks)
    summary = received[-1][1].summary
    assert summary.frames == FRAMES and summary.bytes == len(data)

    if fmt == pb.OUTPUT_FORMAT_ANIMATED_WEBP:
        image = Image.open(io.BytesIO(data))
        assert image.size == (meta.width, meta.height) and image.info["loop"] == 0
        assert PROVENANCE_TEXT.encode() in image.info["xmp"]
        total_ms = 0
        frame_count: int = image.n_frames  # type: ignore[attr-defined]
        for index in range(frame_count):
            image.seek(index)
            image.load()
            total_ms += image.info["duration"]
        assert total_ms == pytest.approx(1000 * DURATION, abs=2)
        return

    container = av.open(io.BytesIO(data), mode="r")
    frames = list(container.decode(video=0))
    stream = container.streams.video[0]
    assert len(frames) == FRAMES
    assert (frames[0].width, frames[0].height) == (meta.width, meta.height)
    assert stream.average_rate == Fraction(25)
    assert frames[-1].time is not None
    assert frames[-1].time + 1 / FPS == pytest.approx(DURATION, abs=0.011)
    tags = {k.lower(): v for k, v in container.metadata.items()}
    assert tags["comment"] == PROVENANCE_TEXT
    container.close()
    if fmt == pb.OUTPUT_FORMAT_GIF:
        assert Image.open(io.BytesIO(data)).info["loop"] == 0


@pytest.mark.parametrize(
    "fmt",
    [pb.OUTPUT_FORMAT_MP4, pb.OUTPUT_FORMAT_WEBM, pb.OUTPUT_FORMAT_GIF],
    ids=lambda f: pb.OutputFormat.Name(f),
)
def test_first_playable_chunk_leaves_before_the_last_frame_is_rendered(
    stub: pb_grpc.NostalgiaStub, portraits_dir: Path, fmt: int
) -> None:
    # Eight seconds give eight render calls after the first: the first fragment then needs well
    # under half the rendering even where the calls come back in bursts.
    received = call(stub, request(portraits_dir, fmt, duration_s=8.0, output_size=512))
    chunks = [(t, r.chunk) for t, r in received if r.HasField("chunk")]
    first_playable = next(t for t, c in chunks if c.frames_complete > 0)
    if fmt == pb.OUTPUT_FORMAT_MP4:
        assert chunks[0][1].data[4:8] == b"ftyp" and b"moov" in chunks[0][1].data
    # Rendering starts once the metadata (face found, clip planned) is out, and happens in
    # chunks whose last one needs its own Triton call: a fragment that leaves in the first half
    # of the rendering left before that call returned.
    started, ended = received[0][0], received[-1][0]
    assert first_playable - started < 0.5 * (ended - started), (
        f"first playable {first_playable - started:.2f}s into {ended - started:.2f}s of rendering"
    )
    partial = [c for _, c in chunks if 0 < c.frames_complete < 200]
    assert partial, "some chunks must carry frames before the clip is complete"


def test_a_short_keyframe_interval_gives_an_early_first_fragment(
    stub: pb_grpc.NostalgiaStub, portraits_dir: Path
) -> None:
    req = request(
        portraits_dir, pb.OUTPUT_FORMAT_MP4, duration_s=4.0, encoding=pb.EncodingOptions(keyframe_interval=5)
    )
    received = call(stub, req)
    chunks = [(t, r.chunk) for t, r in received if r.HasField("chunk")]
    first_at, first = next((t, c) for t, c in chunks if c.frames_complete)
    assert first.frames_complete == 5
    # The first render batch is sized for one fragment, so it does not wait for the long batches.
    started, ended = received[0][0], received[-1][0]
    assert first_at - started < 0.4 * (ended - started)


def test_visible_mark_can_be_turned_off(stub: pb_grpc.NostalgiaStub, portraits_dir: Path) -> None:
    def last_png(mark: bool) -> np.ndarray:
        received = call(stub, request(portraits_dir, pb.OUTPUT_FORMAT_PNG, duration_s=0.2, visible_mark=mark))
        frame = next(r.frame for _, r in received if r.HasField("frame"))
        return np.asarray(Image.open(io.BytesIO(frame.data))).astype(int)

    marked, plain = last_png(True), last_png(False)
    h, w = plain.shape[:2]
    corner = (slice(h * 3 // 4, h), slice(w * 3 // 5, w))
    top_left = (slice(0, h // 2), slice(0, w // 2))
    assert np.abs(marked[corner] - plain[corner]).mean() > 2, "the badge sits in the bottom-right corner"
    assert np.array_equal(marked[top_left], plain[top_left])


def test_bad_encoding_options_are_invalid_argument(stub: pb_grpc.NostalgiaStub, portraits_dir: Path) -> None:
    req = request(portraits_dir, pb.OUTPUT_FORMAT_MP4, encoding=pb.EncodingOptions(bitrate_kbps=10_000_000))
    with pytest.raises(grpc.RpcError) as info:
        list(stub.Animate(req, timeout=30))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "bitrate_kbps" in info.value.details()


def _settled() -> bool:
    return in_flight() == 0 and pipelines() == 0 and buffered() == 0


def test_cancel_mid_stream_stops_the_work_and_frees_memory(
    stub: pb_grpc.NostalgiaStub, portraits_dir: Path
) -> None:
    # Warm up caches (badge, codecs, Triton model) so memory measured later is the request's own.
    call(stub, request(portraits_dir, pb.OUTPUT_FORMAT_MP4, duration_s=0.4, output_size=512))
    wait_until(_settled)
    tracemalloc.start()
    try:
        gc.collect()
        baseline = tracemalloc.get_traced_memory()[0]
        responses = stub.Animate(
            request(portraits_dir, pb.OUTPUT_FORMAT_MP4, duration_s=30.0, output_size=512), timeout=180
        )
        seen = 0
        for response in responses:
            seen += response.chunk.frames_complete > 0
            if seen >= 2:
                break
        assert in_flight() == 1 and pipelines() == 1
        held = tracemalloc.get_traced_memory()[0] - baseline
        responses.cancel()
        stopped_in = wait_until(_settled)
        gc.collect()
        left = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    print(
        f"cancel: settled in {stopped_in * 1000:.0f} ms;"
        f" held {held / 1e6:.1f} MB mid-stream, {left / 1e6:.2f} MB after"
    )
    assert stopped_in < 0.5, f"work went on for {stopped_in * 1000:.0f} ms after the cancel"
    assert held > 5e6, "mid-stream the request should hold its frames"
    assert left < 2e6, f"{left / 1e6:.1f} MB still held after the cancel"


def test_deadline_mid_stream_stops_the_work(stub: pb_grpc.NostalgiaStub, portraits_dir: Path) -> None:
    wait_until(_settled)
    frames: list[int] = []
    req = request(portraits_dir, pb.OUTPUT_FORMAT_JPEG, duration_s=30.0, fps=60.0, output_size=512)
    # 1800 frames in 2 s would take 900 frames/s, far beyond this service on a CPU (this photo's
    # head fills little of the frame, and on a fast day all of a 750-frame clip was sent within
    # the 2 s), while the first frames arrive within a few hundred milliseconds.
    with pytest.raises(grpc.RpcError) as info:
        for response in stub.Animate(req, timeout=2.0):
            if response.HasField("frame"):
                frames.append(response.frame.index)
    expired = time.perf_counter()
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert 0 < len(frames) < 1800, "frames should stream before the deadline, and not all of them"
    wait_until(_settled)
    settled_in = time.perf_counter() - expired
    print(
        f"deadline: {len(frames)} frames sent,"
        f" settled {settled_in * 1000:.0f} ms after the client saw the expiry"
    )
    assert settled_in < 0.5


def test_a_slow_reader_holds_back_rendering(stub: pb_grpc.NostalgiaStub, portraits_dir: Path) -> None:
    wait_until(_settled)
    motion_calls = "nostalgia_triton_request_duration_seconds_count"
    before = gauge(motion_calls, model="motion")
    req = request(portraits_dir, pb.OUTPUT_FORMAT_PNG, duration_s=30.0, output_size=512)
    responses = stub.Animate(req, timeout=180)
    next(responses)  # metadata; then stop reading
    samples: list[tuple[float, float]] = []  # (motion calls so far, buffered frame bytes)
    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline:
        samples.append((gauge(motion_calls, model="motion") - before, buffered()))
        time.sleep(0.1)
        # Stalled: no new Triton call for the last 2 s.
        if len(samples) > 20 and samples[-20][0] == samples[-1][0]:
            break
    responses.cancel()
    wait_until(_settled)
    calls = samples[-1][0]
    total_calls = 1 + (750 - 4) / 25
    assert samples[-20][0] == calls, "rendering must pause while nobody reads"
    assert calls < total_calls / 2, f"{calls:.0f} of {total_calls:.0f} render calls ran without a reader"
    frame_bytes = 512 * 512 * 3
    most = max(b for _, b in samples)
    assert most <= 3 * 25 * frame_bytes, f"{most / 1e6:.0f} MB of frames waited for the encoder"
