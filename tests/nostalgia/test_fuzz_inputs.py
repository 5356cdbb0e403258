"""Fuzzing the untrusted-input path: photo decoding and Animate request and encoder-option validation.

Thousands of generated inputs (mutations of real JPEG/PNG/WebP/TIFF bytes, PNG and JPEG headers
with random fields and valid checksums, random request fields) must each end in a decoded RGB
image or one of the gateway's caller-facing errors, never an unhandled exception and never a
long stall. Runs in-process (no servers), so thousands of examples stay within a minute.
"""

from __future__ import annotations

import io
import struct
import time
import zlib
from datetime import timedelta

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from bench._portraits import portraits_dir
from nostalgia.errors import InvalidInput, LimitExceeded, Unsupported
from nostalgia.imaging import DecodeLimits, decode_image
from nostalgia.rpc.animate import plan_request
from nostalgia.rpc.output import encoder_for
from nostalgia.v1 import nostalgia_pb2 as pb

# Pillow warns (rather than raises) about defects it recovers from, e.g. corrupt EXIF; the decoder
# carries on as production does, so those warnings are not test failures here.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:PIL.*")

PORTRAITS = portraits_dir()
# Small limits keep each example cheap while exercising the same checks as the defaults.
LIMITS = DecodeLimits(max_bytes=2 * 1024 * 1024, max_pixels=4_000_000, max_side=4000)
EXPECTED = (InvalidInput, LimitExceeded)
SLOWEST_EXAMPLE_S = 2.0
COUNTS: dict[str, int] = {}


def _seeds() -> list[bytes]:
    """Real photo bytes re-encoded small, in every accepted container."""
    source = cv2.imread(str(PORTRAITS / "deoldify_Dolores1920s.jpg"), cv2.IMREAD_COLOR)
    assert source is not None, f"test photo missing under {PORTRAITS}; set NOSTALGIA_PORTRAITS"
    small = cv2.resize(source, (48, 64), interpolation=cv2.INTER_AREA)
    rgb = Image.fromarray(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
    seeds = [cv2.imencode(ext, small)[1].tobytes() for ext in (".jpg", ".png", ".webp", ".tiff", ".bmp")]
    for image, fmt, options in (
        (rgb.convert("CMYK"), "JPEG", {}),
        (rgb.convert("L"), "PNG", {}),
        (rgb.convert("RGBA"), "PNG", {}),
        (rgb, "JPEG", {"progressive": True}),
    ):
        out = io.BytesIO()
        image.save(out, fmt, **options)
        seeds.append(out.getvalue())
    return seeds


SEEDS = _seeds()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A real photo's bytes with byte flips, splices, deletions, insertions and truncation."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "set", "delete", "insert", "truncate", "duplicate"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif op == "truncate":
            del data[at:]
        elif op == "duplicate":
            data[at:at] = data[at : at + draw(st.integers(1, 256))]
    return bytes(data)


@st.composite
def png_headers(draw: st.DrawFn) -> bytes:
    """A PNG with a random IHDR (valid CRC) and a small, possibly wrong, image body."""
    width = draw(st.one_of(st.integers(0, 70), st.integers(0, 2**31 - 1)))
    height = draw(st.one_of(st.integers(0, 70), st.integers(0, 2**31 - 1)))
    depth = draw(st.sampled_from([1, 2, 4, 8, 16, 3, 0, 255]))
    colour = draw(st.sampled_from([0, 2, 3, 4, 6, 1, 7]))
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, draw(st.integers(0, 1)))
    body = zlib.compress(draw(st.binary(max_size=4096)))
    chunks = [_png_chunk(b"IHDR", ihdr)]
    if colour == 3 and draw(st.booleans()):
        chunks.append(_png_chunk(b"PLTE", draw(st.binary(max_size=96))))
    if draw(st.booleans()):
        chunks.append(_png_chunk(b"eXIf", draw(st.binary(max_size=512))))
    chunks += [_png_chunk(b"IDAT", body), _png_chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


@st.composite
def jpeg_headers(draw: st.DrawFn) -> bytes:
    """A real JPEG whose frame header (SOF) claims random dimensions and component counts."""
    data = bytearray(SEEDS[0])
    sof = data.find(b"\xff\xc0")
    assert sof > 0
    struct.pack_into(">HH", data, sof + 5, draw(st.integers(0, 65535)), draw(st.integers(0, 65535)))
    if draw(st.booleans()):
        data[sof + 9] = draw(st.integers(0, 5))
    return bytes(data)


@st.composite
def random_headers(draw: st.DrawFn) -> bytes:
    """A known magic number followed by random bytes."""
    magic = draw(
        st.sampled_from(
            [
                b"\xff\xd8\xff",
                b"\x89PNG\r\n\x1a\n",
                b"RIFF\x00\x00\x00\x00WEBPVP8 ",
                b"II*\x00",
                b"MM\x00*",
                b"BM",
                b"",
            ]
        )
    )
    return magic + draw(st.binary(max_size=2048))


def _check_decode(data: bytes, kind: str) -> None:
    COUNTS[kind] = COUNTS.get(kind, 0) + 1
    start = time.perf_counter()
    try:
        image = decode_image(data, LIMITS)
    except EXPECTED:
        pass
    else:
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        assert image.shape[0] * image.shape[1] <= LIMITS.max_pixels
        assert image.flags.c_contiguous
    elapsed = time.perf_counter() - start
    assert elapsed < SLOWEST_EXAMPLE_S, f"decoding {len(data)} bytes took {elapsed:.2f}s"


FUZZ = settings(
    max_examples=1500,
    deadline=timedelta(seconds=SLOWEST_EXAMPLE_S),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
    database=None,
)


@FUZZ
@given(data=mutated())
def test_mutated_photos_decode_or_are_rejected_cleanly(data: bytes) -> None:
    _check_decode(data, "mutated")


@settings(FUZZ, max_examples=1000)
@given(data=st.one_of(png_headers(), jpeg_headers()))
def test_random_headers_decode_or_are_rejected_cleanly(data: bytes) -> None:
    _check_decode(data, "headers")


@settings(FUZZ, max_examples=500)
@given(data=random_headers())
def test_random_bytes_behind_magic_numbers_are_rejected_cleanly(data: bytes) -> None:
    _check_decode(data, "magic")


def _floats() -> st.SearchStrategy[float]:
    return st.one_of(
        st.floats(allow_nan=True, allow_infinity=True, width=32), st.floats(-1, 120, width=32), st.just(0.0)
    )


@settings(FUZZ, max_examples=1500)
@given(
    fps=_floats(),
    duration=_floats(),
    size=st.one_of(st.integers(0, 2**32 - 1), st.integers(0, 4096)),
    quality=st.one_of(st.integers(0, 2**32 - 1), st.integers(0, 120)),
    bitrate=st.one_of(st.integers(0, 2**32 - 1), st.integers(0, 100_000), st.just(0)),
    keyframe_interval=st.one_of(st.integers(0, 2**32 - 1), st.integers(0, 400), st.just(0)),
    visible_mark=st.sampled_from([None, True, False]),
    output=st.integers(0, 7),
    driver=st.text(max_size=40),
    face_index=st.integers(0, 2**32 - 1),
    seed=st.integers(0, 2**64 - 1),
)
def test_random_request_fields_are_planned_or_rejected_cleanly(
    fps: float,
    duration: float,
    size: int,
    quality: int,
    bitrate: int,
    keyframe_interval: int,
    visible_mark: bool | None,
    output: int,
    driver: str,
    face_index: int,
    seed: int,
) -> None:
    COUNTS["request"] = COUNTS.get("request", 0) + 1
    request = pb.AnimateRequest(
        fps=fps,
        duration_s=duration,
        output_size=size,
        format=output,  # type: ignore[arg-type]
        driver=driver,
        face_index=face_index,
        seed=seed,
        encoding=pb.EncodingOptions(
            quality=quality, bitrate_kbps=bitrate, keyframe_interval=keyframe_interval
        ),
    )
    if visible_mark is not None:
        request.visible_mark = visible_mark
    try:
        plan = plan_request(request)
    except (InvalidInput, LimitExceeded, Unsupported) as exc:
        assert str(exc), "a rejection must say what is wrong"
        return
    assert 1 <= plan.fps <= 60 and 0.2 <= plan.duration_s <= 30
    assert plan.frame_count == max(1, round(plan.duration_s * plan.fps)) and plan.frame_count <= 1800
    assert 64 <= plan.output_size <= 2048 and 1 <= plan.quality <= 100
    # The encoder options are validated when the encoder is made, before any frame is rendered.
    side = plan.output_size // 2 * 2
    try:
        encoder = encoder_for(request, side, side, plan.fps, plan.frame_count)
    except (InvalidInput, LimitExceeded, Unsupported) as exc:
        assert str(exc), "a rejection must say what is wrong"
        return
    encoder.close()


def test_report_example_counts() -> None:
    """Prints how many inputs the fuzz tests above ran (visible with ``-s``)."""
    print(f"\nfuzz examples run: {COUNTS} (total {sum(COUNTS.values())})")
