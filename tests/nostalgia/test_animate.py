"""Animate over real gRPC: frames stream as they are rendered, and bad requests get clear errors."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import grpc
import numpy as np
import pytest

from nostalgia.v1 import nostalgia_pb2 as pb
from nostalgia.v1 import nostalgia_pb2_grpc as pb_grpc

PHOTO = "deoldify_Dolores1920s.jpg"


def _decode(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "frame is not a decodable JPEG"
    return image


def _call(stub: pb_grpc.NostalgiaStub, request: pb.AnimateRequest) -> list[tuple[float, pb.AnimateResponse]]:
    start = time.perf_counter()
    return [(time.perf_counter() - start, r) for r in stub.Animate(request, timeout=120)]


def test_streams_jpeg_frames_that_move_and_start_from_the_photo(
    stub: pb_grpc.NostalgiaStub, portraits_dir: Path
) -> None:
    data = (portraits_dir / PHOTO).read_bytes()
    received = _call(stub, pb.AnimateRequest(image=data, duration_s=2.0, fps=25, output_size=384, seed=7))
    kinds = [r.WhichOneof("payload") for _, r in received]
    assert kinds[0] == "metadata" and kinds[-1] == "summary"
    assert set(kinds[1:-1]) == {"frame"}
    meta = received[0][1].metadata
    assert meta.frame_count == 50 and meta.fps == 25 and meta.mime_type == "image/jpeg"
    assert max(meta.width, meta.height) == 384 and meta.width % 2 == 0 and meta.height % 2 == 0
    frames = [r.frame for _, r in received[1:-1]]
    assert [f.index for f in frames] == list(range(50))
    assert frames[10].timestamp_s == pytest.approx(10 / 25)

    images = [_decode(f.data) for f in frames]
    assert all(img.shape == (meta.height, meta.width, 3) for img in images)
    diffs = [np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(images, images[1:], strict=False)]
    assert min(diffs[5:]) > 0.05, "consecutive frames should differ once the motion is under way"

    photo = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    expected = cv2.resize(photo, (meta.width, meta.height), interpolation=cv2.INTER_AREA)
    error = np.abs(images[0].astype(int) - expected.astype(int)).mean()
    assert error < 6.0, f"frame 0 should look like the photo (mean abs error {error:.1f})"
    assert np.abs(images[-1].astype(int) - expected.astype(int)).mean() > error

    summary = received[-1][1].summary
    assert summary.frames == 50 and summary.bytes == sum(len(f.data) for f in frames)
    assert {"decode", "motion", "encode"} <= {s.stage for s in summary.stages}
    assert 0 < summary.time_to_first_frame_s < summary.total_s


def test_first_frame_does_not_wait_for_the_last(stub: pb_grpc.NostalgiaStub, portraits_dir: Path) -> None:
    data = (portraits_dir / "deoldify_abe.jpg").read_bytes()
    received = _call(stub, pb.AnimateRequest(image=data, duration_s=4.0, fps=25, output_size=512))
    arrivals = [t for t, r in received if r.HasField("frame")]
    assert len(arrivals) == 100
    # The first frame leaves after one small chunk; the last after all of them.
    assert arrivals[0] < 0.5 * arrivals[-1], f"first frame at {arrivals[0]:.2f}s, last at {arrivals[-1]:.2f}s"


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (b"", "image is empty"),
        (b"this is not a photo at all", "not in a recognised format"),
    ],
)
def test_bad_images_are_invalid_argument(stub: pb_grpc.NostalgiaStub, image: bytes, message: str) -> None:
    with pytest.raises(grpc.RpcError) as info:
        list(stub.Animate(pb.AnimateRequest(image=image), timeout=30))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in info.value.details()


def test_truncated_jpeg_is_invalid_argument(stub: pb_grpc.NostalgiaStub, portraits_dir: Path) -> None:
    data = (portraits_dir / PHOTO).read_bytes()
    with pytest.raises(grpc.RpcError) as info:
        list(stub.Animate(pb.AnimateRequest(image=data[: len(data) // 3]), timeout=30))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "truncated" in info.value.details()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("fps", 500.0, "fps must be between"), ("duration_s", 99.0, "duration_s must be between")],
)
def test_out_of_range_options_are_invalid_argument(
    stub: pb_grpc.NostalgiaStub, portraits_dir: Path, field: str, value: float, message: str
) -> None:
    request = pb.AnimateRequest(image=(portraits_dir / PHOTO).read_bytes())
    setattr(request, field, value)
    with pytest.raises(grpc.RpcError) as info:
        list(stub.Animate(request, timeout=30))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in info.value.details()
