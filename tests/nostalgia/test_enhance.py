"""``Enhance`` over real gRPC, through the real gateway and Triton, on real portraits."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import cv2
import grpc
import numpy as np
import numpy.typing as npt
import pytest
import torch
from PIL import Image

from nostalgia.faces import AlignmentLayout, align_eyes, aligned_crop
from nostalgia.v1 import nostalgia_pb2 as pb
from nostalgia.v1 import nostalgia_pb2_grpc as pb_grpc

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.*deprecated:DeprecationWarning")

Array = npt.NDArray[Any]
REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 300


def _rgb(portraits_dir: Path, name: str) -> Array:
    with Image.open(portraits_dir / name) as image:
        return np.asarray(image.convert("RGB"))


def _png(image: Array) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "PNG")
    return buffer.getvalue()


def _decode(data: bytes) -> Array:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def _psnr(a: Array, b: Array) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0**2 / max(mse, 1e-12))


def _enhance(stub: pb_grpc.NostalgiaStub, **fields: Any) -> pb.EnhanceResponse:
    response: pb.EnhanceResponse = stub.Enhance(pb.EnhanceRequest(**fields), timeout=TIMEOUT)
    return response


def _error(stub: pb_grpc.NostalgiaStub, **fields: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        stub.Enhance(pb.EnhanceRequest(**fields), timeout=TIMEOUT)
    return info.value


def test_x4_of_a_whole_photo_is_a_faithful_larger_photo(
    stub: pb_grpc.NostalgiaStub, portraits_dir: Path
) -> None:
    """Lincoln, 220x276: taller than one fast tile, so the gateway tiles and stitches it."""
    data = (portraits_dir / "deoldify_abe.jpg").read_bytes()
    source = _rgb(portraits_dir, "deoldify_abe.jpg")
    response = _enhance(stub, image=data, model=pb.UPSCALER_MODEL_FAST)
    assert response.mime_type == "image/png"
    assert (response.width, response.height) == (4 * 220, 4 * 276)
    out = _decode(response.image)
    assert out.shape == (4 * 276, 4 * 220, 3)
    # Brought back to the input size, the result is the photo again, not a plausible-looking other image.
    back = cv2.resize(out, (220, 276), interpolation=cv2.INTER_AREA)
    assert _psnr(back, source) > 28
    # And it is sharper than a plain bicubic enlargement.
    bicubic = cv2.resize(source, (4 * 220, 4 * 276), interpolation=cv2.INTER_CUBIC)
    assert (
        cv2.Laplacian(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var()
        > cv2.Laplacian(cv2.cvtColor(bicubic, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var()
    )
    assert {s.stage for s in response.stages} >= {"decode", "enhance", "encode"}


def test_served_model_gives_exactly_the_converted_network_output(
    stub: pb_grpc.NostalgiaStub, portraits_dir: Path
) -> None:
    """One tile through gateway and Triton equals the TorchScript file run in-process, bit for bit."""
    crop = np.ascontiguousarray(_rgb(portraits_dir, "bopbtl_old_h.png")[140:200, 150:210])
    response = _enhance(stub, image=_png(crop), model=pb.UPSCALER_MODEL_FAST)
    model = torch.jit.load(str(REPO / "model_repository" / "upscaler_fast" / "1" / "upscaler_fast.pt")).eval()
    with torch.inference_mode():
        expected = model(torch.from_numpy(crop)[None]).numpy()[0]
    np.testing.assert_array_equal(_decode(response.image), expected)


def test_scale_2_jpeg_and_webp(stub: pb_grpc.NostalgiaStub, portraits_dir: Path) -> None:
    source = _rgb(portraits_dir, "bopbtl_old_w_scratch_b.png")[64:192, 64:192]
    for fmt, mime in ((pb.IMAGE_FORMAT_JPEG, "image/jpeg"), (pb.IMAGE_FORMAT_WEBP, "image/webp")):
        response = _enhance(stub, image=_png(source), scale=2, model=pb.UPSCALER_MODEL_FAST, format=fmt)
        assert response.mime_type == mime
        out = _decode(response.image)
        assert out.shape == (256, 256, 3) and (response.width, response.height) == (256, 256)
        resized = cv2.resize(source, (256, 256), interpolation=cv2.INTER_CUBIC)
        assert _psnr(out, resized) > 24, mime


def test_quality_and_fast_models_both_upscale_and_differ(
    stub: pb_grpc.NostalgiaStub, portraits_dir: Path
) -> None:
    crop = np.ascontiguousarray(_rgb(portraits_dir, "deoldify_Dolores1920s.jpg")[260:308, 300:348])
    outs = {}
    for model in (pb.UPSCALER_MODEL_QUALITY, pb.UPSCALER_MODEL_FAST):
        response = _enhance(stub, image=_png(crop), model=model)
        out = _decode(response.image)
        assert out.shape == (192, 192, 3)
        back = cv2.resize(out, (48, 48), interpolation=cv2.INTER_AREA)
        assert _psnr(back, crop) > 27, model
        outs[model] = out.astype(np.int16)
    assert np.abs(outs[pb.UPSCALER_MODEL_QUALITY] - outs[pb.UPSCALER_MODEL_FAST]).mean() > 1.0


def test_photo_over_the_pixel_limit_is_refused_with_the_limit_named(
    stub: pb_grpc.NostalgiaStub, portraits_dir: Path
) -> None:
    big = cv2.resize(_rgb(portraits_dir, "deoldify_marktwain.jpg"), (1200, 900))
    error = _error(stub, image=_png(big), model=pb.UPSCALER_MODEL_FAST)
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "1200x900" in error.details() and "1048576" in error.details()


@pytest.mark.parametrize(
    ("fields", "code", "words"),
    [
        ({"image": b"not a photo at all"}, grpc.StatusCode.INVALID_ARGUMENT, "format"),
        ({"image": b""}, grpc.StatusCode.INVALID_ARGUMENT, "empty"),
        ({"scale": 3}, grpc.StatusCode.INVALID_ARGUMENT, "scale"),
        ({"quality": 101, "format": pb.IMAGE_FORMAT_JPEG}, grpc.StatusCode.INVALID_ARGUMENT, "quality"),
        ({"model": 9}, grpc.StatusCode.INVALID_ARGUMENT, "model"),
        ({"format": 9}, grpc.StatusCode.INVALID_ARGUMENT, "format"),
        ({"face_only": True}, grpc.StatusCode.FAILED_PRECONDITION, "no face"),
        ({"scale": 3, "face_only": True}, grpc.StatusCode.INVALID_ARGUMENT, "scale"),
    ],
)
def test_bad_requests_get_clear_statuses(
    stub: pb_grpc.NostalgiaStub,
    portraits_dir: Path,
    fields: dict[str, Any],
    code: grpc.StatusCode,
    words: str,
) -> None:
    request: dict[str, Any] = {"image": (portraits_dir / "triton_car.jpg").read_bytes()}
    request.update(fields)
    error = _error(stub, **request)
    assert error.code() == code
    assert words in error.details()


def test_face_only_upscales_the_aligned_face_even_of_a_photo_over_the_limit(
    stub: pb_grpc.NostalgiaStub, portraits_dir: Path
) -> None:
    """Girl with a Pearl Earring, 1092x1280: too big for a whole-photo upscale, fine for its face."""
    name = "liveportrait_source_s10.jpg"
    source = _rgb(portraits_dir, name)
    response = _enhance(
        stub, image=(portraits_dir / name).read_bytes(), face_only=True, model=pb.UPSCALER_MODEL_FAST
    )
    face = response.face
    assert len(face.keypoints) == 5 and len(face.landmarks) == 468
    assert 0 <= face.box.x_min < face.box.x_max <= 1092 and 0 <= face.box.y_min < face.box.y_max <= 1280
    assert face.score > 0.5 and face.landmark_score > 0.7
    out = _decode(response.image)
    side = response.width // 4
    assert response.width == response.height == 4 * side and out.shape == (4 * side, 4 * side, 3)
    assert 32 <= side <= 512
    # The output is the canonical eye-aligned crop of that face, upscaled.
    right, left = (np.array([p.x, p.y]) for p in face.keypoints[:2])
    expected = aligned_crop(source, align_eyes(right, left, AlignmentLayout(size=side)))
    back = cv2.resize(out, (side, side), interpolation=cv2.INTER_AREA)
    assert _psnr(back, expected) > 26
    assert {"detect", "landmarks", "align", "enhance"} <= {s.stage for s in response.stages}


def test_face_index_beyond_the_faces_found_is_invalid(
    stub: pb_grpc.NostalgiaStub, portraits_dir: Path
) -> None:
    data = (portraits_dir / "deoldify_abe.jpg").read_bytes()
    error = _error(stub, image=data, face_only=True, face_index=5, model=pb.UPSCALER_MODEL_FAST)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "face_index 5" in error.details()
