"""Hostile and unusual uploads over real gRPC: every one gets a clean status naming the problem.

Limits (bytes, pixels, duration, fps, output size) are operator settings; a gateway started with
small limits shows they are honoured. Unusual but valid photos (16-bit, CMYK, huge EXIF) must
be accepted and come out with the right colours.
"""

from __future__ import annotations

import io
import resource
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import cv2
import grpc
import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from nostalgia.config import Settings
from nostalgia.local import start_gateway
from nostalgia.v1 import nostalgia_pb2 as pb
from nostalgia.v1 import nostalgia_pb2_grpc as pb_grpc

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:PIL.*")

PHOTO = "deoldify_Dolores1920s.jpg"
INVALID = grpc.StatusCode.INVALID_ARGUMENT
EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A real decompression bomb: a 1-bit PNG of ``width x height`` black pixels, ~110 KB on disk.

    Fully decoded to RGB it would take width*height*3 bytes (2.7 GB for the default).
    """
    row = b"\x00" * (1 + (width + 7) // 8)
    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


def _error(stub: pb_grpc.NostalgiaStub, request: pb.AnimateRequest) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        list(stub.Animate(request, timeout=60))
    error = info.value
    assert isinstance(error, grpc.RpcError)
    return error


def _frames(stub: pb_grpc.NostalgiaStub, image: bytes) -> list[NDArray[np.uint8]]:
    request = pb.AnimateRequest(image=image, duration_s=0.2, fps=5, output_size=128, seed=1)
    frames = [r.frame.data for r in stub.Animate(request, timeout=120) if r.HasField("frame")]
    decoded = [cv2.imdecode(np.frombuffer(f, np.uint8), cv2.IMREAD_COLOR) for f in frames]
    return [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in decoded]


@pytest.fixture(scope="module")
def photo_rgb(portraits_dir: Path) -> NDArray[np.uint8]:
    """The test portrait, small, as RGB."""
    bgr = cv2.imread(str(portraits_dir / PHOTO), cv2.IMREAD_COLOR)
    assert bgr is not None
    scale = 256 / max(bgr.shape[:2])
    small = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_decompression_bomb_is_refused_from_its_header(stub: pb_grpc.NostalgiaStub) -> None:
    bomb = png_bomb()
    assert len(bomb) < 200_000, "the bomb should be small on the wire"
    before = _peak_rss_mib()
    start = time.perf_counter()
    error = _error(stub, pb.AnimateRequest(image=bomb))
    elapsed = time.perf_counter() - start
    assert error.code() == EXHAUSTED
    assert "30000x30000" in (error.details() or "") and "limit" in (error.details() or "")
    assert elapsed < 2.0, f"refusing a bomb took {elapsed:.2f}s: it was decoded"
    # The gateway runs in this process: decoding 900 Mpx would have raised the peak by gigabytes.
    assert _peak_rss_mib() - before < 200


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("zero-size", "image is empty"),
        ("wrong magic", "not in a recognised format"),
        ("truncated", "truncated or corrupt"),
        ("animated GIF", "format GIF is not accepted"),
        ("multi-page TIFF", "2 frames"),
        ("animated WebP", "3 frames"),
        ("animated PNG", "2 frames"),
    ],
)
def test_broken_and_unsupported_files_are_invalid_argument(
    stub: pb_grpc.NostalgiaStub, photo_rgb: NDArray[np.uint8], name: str, message: str
) -> None:
    still = Image.fromarray(photo_rgb)
    frames = [still, still.transpose(Image.Transpose.FLIP_LEFT_RIGHT), still.rotate(5)]
    jpeg = _save(still, "JPEG", quality=90)
    uploads = {
        "zero-size": b"",
        "wrong magic": b"\x00\x01\x02\x03" + jpeg[4:],
        "truncated": jpeg[: len(jpeg) // 2],
        "animated GIF": _save(still, "GIF", save_all=True, append_images=frames[1:]),
        "multi-page TIFF": _save(still, "TIFF", save_all=True, append_images=frames[1:2]),
        "animated WebP": _save(still, "WEBP", save_all=True, append_images=frames[1:]),
        "animated PNG": _save(still, "PNG", save_all=True, append_images=frames[1:2]),
    }
    error = _error(stub, pb.AnimateRequest(image=uploads[name]))
    assert error.code() == INVALID, f"{name}: {error.code()} {error.details()}"
    assert message in (error.details() or ""), f"{name}: {error.details()}"


def _close(frame: NDArray[np.uint8], expected: NDArray[np.uint8]) -> float:
    resized = cv2.resize(expected, (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_AREA)
    return float(np.abs(frame.astype(np.int16) - resized.astype(np.int16)).mean())


def test_sixteen_bit_photos_are_accepted_with_their_tones(
    stub: pb_grpc.NostalgiaStub, photo_rgb: NDArray[np.uint8]
) -> None:
    wide = photo_rgb.astype(np.uint16) * 257
    grey = cv2.cvtColor(photo_rgb, cv2.COLOR_RGB2GRAY)
    uploads = {
        "16-bit RGB PNG": (
            cv2.imencode(".png", cv2.cvtColor(wide, cv2.COLOR_RGB2BGR))[1].tobytes(),
            photo_rgb,
        ),
        "16-bit RGB TIFF": (
            cv2.imencode(".tiff", cv2.cvtColor(wide, cv2.COLOR_RGB2BGR))[1].tobytes(),
            photo_rgb,
        ),
        "16-bit grey PNG": (
            cv2.imencode(".png", grey.astype(np.uint16) * 257)[1].tobytes(),
            np.repeat(grey[:, :, None], 3, axis=2),
        ),
    }
    for name, (data, expected) in uploads.items():
        frames = _frames(stub, data)
        assert frames, name
        error = _close(frames[0], expected)
        assert error < 8.0, f"{name}: first frame differs from the photo by {error:.1f} on average"


def test_cmyk_photos_are_accepted_with_their_colours(
    stub: pb_grpc.NostalgiaStub, photo_rgb: NDArray[np.uint8]
) -> None:
    cmyk = Image.fromarray(photo_rgb).convert("CMYK")
    for fmt in ("JPEG", "TIFF"):
        frames = _frames(stub, _save(cmyk, fmt, quality=95) if fmt == "JPEG" else _save(cmyk, fmt))
        error = _close(frames[0], photo_rgb)
        assert error < 8.0, f"CMYK {fmt}: first frame differs from the photo by {error:.1f} on average"
    # A print-workflow CMYK photo printed in black ink only (K) must come out as neutral greys.
    grey = cv2.cvtColor(photo_rgb, cv2.COLOR_RGB2GRAY)
    inked = np.zeros((*grey.shape, 4), np.uint8)
    inked[..., 3] = 255 - grey
    size = (grey.shape[1], grey.shape[0])
    frame = _frames(stub, _save(Image.frombytes("CMYK", size, inked.tobytes()), "TIFF"))[0]
    error = _close(frame, np.repeat(grey[:, :, None], 3, axis=2))
    assert error < 8.0, f"K-only CMYK: first frame differs from the grey photo by {error:.1f} on average"
    chroma = frame.astype(np.int16).max(axis=2) - frame.astype(np.int16).min(axis=2)
    assert float(np.median(chroma)) < 6, "K-only ink must stay neutral grey"


def test_huge_exif_is_accepted_and_its_orientation_applied(
    stub: pb_grpc.NostalgiaStub, photo_rgb: NDArray[np.uint8]
) -> None:
    exif = Image.Exif()
    exif[0x010E] = "x" * 4_000_000  # ImageDescription: a 4 MB EXIF block
    exif[0x0112] = 6  # stored rotated: display turns it 90 degrees clockwise
    stored = Image.fromarray(np.ascontiguousarray(np.rot90(photo_rgb, 1)))
    data = _save(stored, "PNG", exif=exif.tobytes())
    assert len(data) > 4_000_000
    frames = _frames(stub, data)
    assert frames[0].shape[0] > frames[0].shape[1], "the portrait should come out upright (tall)"
    assert _close(frames[0], photo_rgb) < 8.0


@pytest.fixture(scope="module")
def strict_stub(gateway_settings: Settings) -> Iterator[pb_grpc.NostalgiaStub]:
    """A gateway whose operator set small limits."""
    settings = replace(
        gateway_settings,
        max_upload_bytes=1_000_000,
        max_image_pixels=200_000,
        max_image_side=1000,
        max_duration_s=2.0,
        max_fps=30.0,
        max_output_size=256,
        max_message_bytes=2 * 1024 * 1024,
    )
    settings.validate()
    running = start_gateway(settings)
    try:
        with grpc.insecure_channel(running.address) as channel:
            yield pb_grpc.NostalgiaStub(channel)
    finally:
        running.stop()


def test_operator_limits_are_enforced_and_named(
    strict_stub: pb_grpc.NostalgiaStub, photo_rgb: NDArray[np.uint8]
) -> None:
    small = _save(Image.fromarray(photo_rgb), "JPEG", quality=90)
    # Bytes: a valid JPEG padded past the limit (decoders ignore what follows the end marker).
    error = _error(strict_stub, pb.AnimateRequest(image=small + b"\x00" * 1_100_000))
    assert error.code() == EXHAUSTED and "limit is 1000000 bytes" in (error.details() or "")
    # A message past max_message_bytes is refused by gRPC itself, before any of it is decoded.
    error = _error(strict_stub, pb.AnimateRequest(image=small + b"\x00" * 3_000_000))
    assert error.code() == EXHAUSTED, error.details()
    # Pixels: 640x480 = 307200 > 200000, though every side is within 1000.
    big = _save(Image.new("RGB", (640, 480), (128, 100, 90)), "JPEG")
    error = _error(strict_stub, pb.AnimateRequest(image=big))
    assert error.code() == EXHAUSTED and "200000 pixels" in (error.details() or "")
    for request, field in (
        (pb.AnimateRequest(image=small, duration_s=3.0), "duration_s must be between 0.2 and 2"),
        (pb.AnimateRequest(image=small, fps=48), "fps must be between 1 and 30"),
        (pb.AnimateRequest(image=small, output_size=512), "output_size must be between 64 and 256"),
    ):
        error = _error(strict_stub, request)
        assert error.code() == INVALID and field in (error.details() or ""), error.details()
    # Within every limit the same gateway serves the photo.
    ok = list(strict_stub.Animate(pb.AnimateRequest(image=small, duration_s=0.4, fps=10, output_size=128)))
    assert ok[-1].HasField("summary") and ok[-1].summary.frames == 4
