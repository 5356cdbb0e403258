"""Animate over real gRPC: frames stream as they are rendered, and bad requests get clear errors."""

from __future__ import annotations

import itertools
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
    photo = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    # Only the head moves: consecutive frames differ inside the face's box, the corners stay still.
    scale = meta.width / photo.shape[1]
    box = meta.face.box
    x0, y0, x1, y1 = (int(v * scale) for v in (box.x_min, box.y_min, box.x_max, box.y_max))
    heads = [img[y0:y1, x0:x1].astype(int) for img in images]
    diffs = [np.abs(a - b).mean() for a, b in itertools.pairwise(heads)]
    assert min(diffs[5:]) > 0.05, "consecutive frames should differ once the motion is under way"
    corner = (slice(0, meta.height // 8), slice(0, meta.width // 8))
    assert max(np.abs(img[corner].astype(int) - images[0][corner]).mean() for img in images) < 1.0
    assert meta.driver == "nostalgia" and meta.framing == pb.FRAMING_PHOTO and meta.face.score > 0.5

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
    arrivals = [t - received[0][0] for t, r in received if r.HasField("frame")]
    assert len(arrivals) == 100
    # Counted from the metadata (rendering starts then): the first frame leaves after one
    # small chunk, the last after all of them.
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


def test_face_framing_gives_the_aligned_square_face(stub: pb_grpc.NostalgiaStub, portraits_dir: Path) -> None:
    data = (portraits_dir / PHOTO).read_bytes()
    request = pb.AnimateRequest(
        image=data, driver="blink", duration_s=1.0, fps=10, output_size=256, framing=pb.FRAMING_FACE, seed=3
    )
    received = _call(stub, request)
    meta = received[0][1].metadata
    assert (meta.width, meta.height) == (256, 256) and meta.framing == pb.FRAMING_FACE
    assert meta.driver == "blink" and meta.frame_count == 10 and meta.seed == 3
    images = [_decode(r.frame.data) for _, r in received if r.HasField("frame")]
    assert len(images) == 10 and images[0].shape == (256, 256, 3)


def test_keyframes_drive_the_clip_and_the_same_seed_gives_the_same_clip(
    stub: pb_grpc.NostalgiaStub, portraits_dir: Path
) -> None:
    data = (portraits_dir / PHOTO).read_bytes()
    keys = pb.Keyframes(keyframes=[pb.Keyframe(time_s=0.0), pb.Keyframe(time_s=0.8, yaw_deg=12.0, smile=0.6)])
    received = _call(stub, pb.AnimateRequest(image=data, keyframes=keys, fps=10, output_size=256, format=2))
    meta = received[0][1].metadata
    # With no duration given, the clip runs to the last keyframe.
    assert meta.driver == "keyframes" and meta.frame_count == 8
    frames = [_decode(r.frame.data) for _, r in received if r.HasField("frame")]
    assert np.abs(frames[-1].astype(int) - frames[0]).mean() > 0.5

    def clip(seed: int) -> list[bytes]:
        request = pb.AnimateRequest(
            image=data, driver="lively", duration_s=0.6, fps=10, output_size=128, seed=seed
        )
        return [r.frame.data for _, r in _call(stub, request) if r.HasField("frame")]

    assert clip(5) == clip(5)


@pytest.mark.parametrize(
    ("changes", "code", "message"),
    [
        ({"driver": "moonwalk"}, grpc.StatusCode.INVALID_ARGUMENT, "unknown driver 'moonwalk'"),
        ({"face_index": 7}, grpc.StatusCode.INVALID_ARGUMENT, "face_index 7 is out of range"),
        (
            {"keyframes": pb.Keyframes(keyframes=[pb.Keyframe(time_s=1.0), pb.Keyframe(time_s=0.5)])},
            grpc.StatusCode.INVALID_ARGUMENT,
            "strictly increase",
        ),
    ],
)
def test_bad_motion_requests_are_rejected_with_context(
    stub: pb_grpc.NostalgiaStub,
    portraits_dir: Path,
    changes: dict[str, object],
    code: grpc.StatusCode,
    message: str,
) -> None:
    request = pb.AnimateRequest(image=(portraits_dir / PHOTO).read_bytes(), duration_s=0.4, **changes)  # type: ignore[arg-type]
    with pytest.raises(grpc.RpcError) as info:
        list(stub.Animate(request, timeout=60))
    assert info.value.code() == code
    assert message in info.value.details()


def test_a_photo_without_a_face_is_failed_precondition(
    stub: pb_grpc.NostalgiaStub, portraits_dir: Path
) -> None:
    data = (portraits_dir / "deoldify_AnselAdamsYosemite.jpg").read_bytes()
    with pytest.raises(grpc.RpcError) as info:
        list(stub.Animate(pb.AnimateRequest(image=data, duration_s=0.4), timeout=60))
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "no face" in info.value.details()


def test_list_drivers_describes_every_preset(stub: pb_grpc.NostalgiaStub) -> None:
    drivers = stub.ListDrivers(pb.ListDriversRequest(), timeout=10).drivers
    names = [d.name for d in drivers]
    assert names[0] == "nostalgia"
    assert {"blink", "smile", "nod", "look-around", "tilt", "wink", "surprise", "lively"} <= set(names)
    assert all(d.description and d.default_duration_s > 0 and d.blinks for d in drivers)
