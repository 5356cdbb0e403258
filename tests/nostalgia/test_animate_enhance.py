"""Animate's enhancement modes over real gRPC: small faces are upscaled by the network, large ones are not."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from nostalgia.v1 import nostalgia_pb2 as pb
from nostalgia.v1 import nostalgia_pb2_grpc as pb_grpc

SMALL = "deoldify_abe.jpg"  # 220x276 photo: its face spans about 130 px
LARGE = "tpsmm_source.png"  # 680x676 photo with a large face


def _animate(
    stub: pb_grpc.NostalgiaStub, photo: Path, mode: int, framing: int, size: int = 512
) -> tuple[pb.AnimateMetadata, pb.AnimateSummary, np.ndarray]:
    request = pb.AnimateRequest(
        image=photo.read_bytes(),
        driver="blink",
        duration_s=0.4,
        output_size=size,
        framing=framing,
        enhance=mode,
        format=pb.OUTPUT_FORMAT_PNG,
        visible_mark=False,
        seed=3,
    )
    responses = list(stub.Animate(request, timeout=180))
    first = next(r.frame for r in responses if r.HasField("frame"))
    frame = cv2.imdecode(np.frombuffer(first.data, np.uint8), cv2.IMREAD_GRAYSCALE)
    return responses[0].metadata, responses[-1].summary, frame


def _sharpness(image: np.ndarray) -> float:
    return float(cv2.Laplacian(image, cv2.CV_64F).var())


def test_auto_upscales_a_small_face_with_the_network(
    stub: pb_grpc.NostalgiaStub, portraits_dir: Path
) -> None:
    photo = portraits_dir / SMALL
    meta, summary, enhanced = _animate(stub, photo, pb.ENHANCE_MODE_AUTO, pb.FRAMING_FACE)
    assert meta.enhanced
    assert "enhance" in {s.stage for s in summary.stages}
    off_meta, off_summary, plain = _animate(stub, photo, pb.ENHANCE_MODE_OFF, pb.FRAMING_FACE)
    assert not off_meta.enhanced and "enhance" not in {s.stage for s in off_summary.stages}
    assert enhanced.shape == plain.shape == (512, 512)
    # Same face in the same place, but with the detail interpolation cannot invent.
    assert np.abs(enhanced.astype(int) - plain.astype(int)).mean() < 12
    assert _sharpness(enhanced) > 1.2 * _sharpness(plain)


def test_auto_leaves_a_large_face_alone_and_on_forces_it(
    stub: pb_grpc.NostalgiaStub, portraits_dir: Path
) -> None:
    photo = portraits_dir / LARGE
    meta, _, _ = _animate(stub, photo, pb.ENHANCE_MODE_AUTO, pb.FRAMING_FACE, size=256)
    assert not meta.enhanced
    forced, summary, frame = _animate(stub, photo, pb.ENHANCE_MODE_ON, pb.FRAMING_FACE, size=256)
    assert forced.enhanced and "enhance" in {s.stage for s in summary.stages}
    assert frame.shape == (256, 256)


@pytest.mark.parametrize("mode", [pb.ENHANCE_MODE_UNSPECIFIED, pb.ENHANCE_MODE_AUTO])
def test_photo_framing_upscales_a_photo_smaller_than_the_output(
    stub: pb_grpc.NostalgiaStub, portraits_dir: Path, mode: int
) -> None:
    meta, _, frame = _animate(stub, portraits_dir / SMALL, mode, pb.FRAMING_PHOTO)
    assert meta.enhanced
    assert frame.shape == (meta.height, meta.width) and max(meta.width, meta.height) == 512
