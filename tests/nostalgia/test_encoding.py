"""The incremental encoders, on frames made from a real portrait, checked by real decoders.

Decoding is done by PyAV (FFmpeg 8), Pillow (libwebp, giflib-compatible reader) and, where the
Debian ``ffmpeg`` package is installed, by the ``ffprobe`` binary as an outside opinion.
"""

from __future__ import annotations

import io
import json
import math
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from nostalgia.encoding import (
    PROVENANCE_TEXT,
    EncodedPiece,
    EncoderClosed,
    EncoderSettings,
    MediaFormat,
    create_encoder,
    from_proto,
    info,
)
from nostalgia.encoding.badge import badge_for
from nostalgia.encoding.framecount import Mp4FrameCounter, WebmFrameCounter
from nostalgia.v1 import nostalgia_pb2 as pb

WIDTH, HEIGHT, FPS, FRAMES = 320, 240, 25.0, 30
CONTAINERS = [MediaFormat.MP4, MediaFormat.WEBM, MediaFormat.GIF, MediaFormat.ANIMATED_WEBP]
IMAGES = [MediaFormat.JPEG, MediaFormat.PNG, MediaFormat.WEBP]

Frames = list[npt.NDArray[np.uint8]]


def portrait_clip(path: Path, width: int, height: int, count: int) -> Frames:
    """A still background with a moving, brightening central region, as an animated face would be."""
    image = Image.open(path).convert("RGB")
    margin = 16
    scale = max((width + 2 * margin) / image.width, (height + 2 * margin) / image.height)
    image = image.resize(
        (math.ceil(image.width * scale), math.ceil(image.height * scale)), Image.Resampling.LANCZOS
    )
    base = np.asarray(image)[: height + 2 * margin, : width + 2 * margin]
    frames = []
    y0, y1, x0, x1 = height // 5, height * 4 // 5, width // 4, width * 3 // 4
    for i in range(count):
        dx = round(8 * math.sin(2 * math.pi * i / 20))
        dy = round(5 * math.sin(2 * math.pi * i / 13))
        frame = base[margin : margin + height, margin : margin + width].copy()
        moved = base[margin + y0 + dy : margin + y1 + dy, margin + x0 + dx : margin + x1 + dx].astype(
            np.int16
        )
        frame[y0:y1, x0:x1] = np.clip(moved + i, 0, 255).astype(np.uint8)
        frames.append(frame)
    return frames


@pytest.fixture(scope="module")
def clip(portraits_dir: Path) -> Frames:
    return portrait_clip(portraits_dir / "deoldify_1925Girl.jpg", WIDTH, HEIGHT, FRAMES)


def encode(fmt: MediaFormat, frames: Frames, **kwargs: object) -> tuple[list[EncodedPiece], list[int]]:
    """All pieces, and for each the number of frames pushed when it came out."""
    encoder = create_encoder(fmt, frames[0].shape[1], frames[0].shape[0], FPS, **kwargs)  # type: ignore[arg-type]
    pieces: list[EncodedPiece] = []
    pushed_at: list[int] = []
    for index, frame in enumerate(frames):
        out = encoder.push(frame)
        pieces += out
        pushed_at += [index + 1] * len(out)
    tail = encoder.finish()
    pieces += tail
    pushed_at += [len(frames)] * len(tail)
    return pieces, pushed_at


def decode_pyav(data: bytes) -> tuple[list[av.VideoFrame], av.container.InputContainer]:
    container = av.open(io.BytesIO(data), mode="r")
    frames = list(container.decode(video=0))
    return frames, container


def ffprobe(data: bytes, directory: Path) -> dict[str, Any]:
    """ffprobe's view of a file (written to the test's temporary directory: a pipe hides the duration)."""
    binary = shutil.which("ffprobe")
    if binary is None:
        pytest.skip("ffprobe is not installed (Debian package ffmpeg)")
    path = directory / "clip"
    path.write_bytes(data)
    result = subprocess.run(
        [binary, "-v", "error", "-count_frames", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def test_every_proto_format_has_an_encoder() -> None:
    for value in pb.OutputFormat.values():
        fmt = from_proto(value)
        encoder = create_encoder(fmt, 64, 64, FPS)
        assert encoder.mime_type.split("/")[0] in ("image", "video")
        encoder.close()
    assert from_proto(pb.OUTPUT_FORMAT_UNSPECIFIED) is MediaFormat.JPEG
    with pytest.raises(ValueError, match="unknown output format"):
        from_proto(99)


@pytest.mark.parametrize("fmt", IMAGES, ids=lambda f: f.value)
def test_image_formats_give_one_tagged_image_per_frame(fmt: MediaFormat, clip: Frames) -> None:
    pieces, pushed_at = encode(fmt, clip[:5])
    assert [p.frames_complete for p in pieces] == [1, 2, 3, 4, 5]
    assert pushed_at == [1, 2, 3, 4, 5], "each image must come out when its frame goes in"
    for piece in pieces:
        image = Image.open(io.BytesIO(piece.data))
        assert image.format == {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}[fmt.value]
        assert image.size == (WIDTH, HEIGHT)
        if fmt is MediaFormat.JPEG:
            assert image.info["comment"].decode() == PROVENANCE_TEXT
        elif fmt is MediaFormat.PNG:
            assert image.info["Comment"] == PROVENANCE_TEXT
        else:
            assert PROVENANCE_TEXT.encode() in image.info["xmp"]


def test_png_frames_are_lossless_apart_from_the_badge(clip: Frames) -> None:
    marked, _ = encode(MediaFormat.PNG, clip[:2])
    plain, _ = encode(MediaFormat.PNG, clip[:2], visible_mark=False)
    badge = badge_for(WIDTH, HEIGHT)
    assert badge is not None
    h, w = badge.inverse_alpha.shape[:2]
    for index in range(2):
        with_mark = np.asarray(Image.open(io.BytesIO(marked[index].data)))
        without = np.asarray(Image.open(io.BytesIO(plain[index].data)))
        np.testing.assert_array_equal(without, clip[index])
        outside = np.ones((HEIGHT, WIDTH), bool)
        outside[badge.top : badge.top + h, badge.left : badge.left + w] = False
        np.testing.assert_array_equal(with_mark[outside], clip[index][outside])
        corner = with_mark[badge.top : badge.top + h, badge.left : badge.left + w].astype(int)
        assert (
            np.abs(corner - clip[index][badge.top : badge.top + h, badge.left : badge.left + w]).mean() > 10
        )
    assert badge.left + w < WIDTH and badge.top + h < HEIGHT, "the badge sits inside the bottom-right corner"


@pytest.mark.parametrize("fmt", [MediaFormat.MP4, MediaFormat.WEBM], ids=lambda f: f.value)
def test_video_decodes_with_the_right_frames_timing_and_tags(fmt: MediaFormat, clip: Frames) -> None:
    pieces, _ = encode(fmt, clip)
    data = b"".join(p.data for p in pieces)
    frames, container = decode_pyav(data)
    stream = container.streams.video[0]
    assert len(frames) == FRAMES
    assert (stream.codec_context.width, stream.codec_context.height) == (WIDTH, HEIGHT)
    assert stream.codec_context.name == {"mp4": "h264", "webm": "vp9"}[fmt.value]
    assert frames[0].format.name == "yuv420p"
    assert stream.average_rate == Fraction(25)
    last = frames[-1]
    assert last.time is not None
    assert last.time + 1 / FPS == pytest.approx(FRAMES / FPS, abs=1e-3)
    tags = {k.lower(): v for k, v in container.metadata.items()}
    assert tags["comment"] == PROVENANCE_TEXT
    assert tags["description"] == PROVENANCE_TEXT
    # The decoded picture is the portrait, not noise: compare frame 10 (away from the badge).
    decoded = frames[10].to_ndarray(format="rgb24").astype(int)
    assert np.abs(decoded[:100, :100] - clip[10][:100, :100]).mean() < 6
    container.close()


def test_mp4_streams_fragments_while_frames_are_pushed(clip: Frames) -> None:
    settings = EncoderSettings(keyframe_interval=6)
    pieces, pushed_at = encode(MediaFormat.MP4, clip, settings=settings)
    first = pieces[0].data
    assert first[4:8] == b"ftyp"
    moov_at = int.from_bytes(first[0:4], "big")
    assert first[moov_at + 4 : moov_at + 8] == b"moov"
    assert moov_at + int.from_bytes(first[moov_at : moov_at + 4], "big") <= len(first), "moov is whole"
    assert pushed_at[0] == 1, "ftyp+moov leave with the first frame"
    # A fragment per keyframe interval leaves as soon as the next interval starts.
    fragment_times = [
        (n, p.frames_complete) for n, p in zip(pushed_at, pieces, strict=True) if p.frames_complete
    ]
    assert fragment_times[0] == (7, 6)
    assert create_encoder(MediaFormat.MP4, WIDTH, HEIGHT, FPS, settings).frames_for_first_piece() == 7
    assert pushed_at.index(7) < len(pieces) - 1
    counts = [p.frames_complete for p in pieces]
    assert counts == sorted(counts) and counts[-1] == FRAMES
    assert sum(1 for p in pieces if b"moof" in p.data) == FRAMES // 6


@pytest.mark.parametrize("fmt", [MediaFormat.MP4, MediaFormat.WEBM], ids=lambda f: f.value)
def test_frames_complete_matches_what_a_prefix_decodes(fmt: MediaFormat, clip: Frames) -> None:
    pieces, _ = encode(fmt, clip, settings=EncoderSettings(keyframe_interval=8))
    received = b""
    checked = 0
    for piece in pieces:
        received += piece.data
        if piece.frames_complete:
            frames, container = decode_pyav(received)
            container.close()
            assert len(frames) == piece.frames_complete
            checked += 1
    assert checked >= 3


@pytest.mark.parametrize("counter", [Mp4FrameCounter, WebmFrameCounter])
def test_frame_counters_do_not_depend_on_how_bytes_are_split(
    counter: type[Mp4FrameCounter] | type[WebmFrameCounter], clip: Frames
) -> None:
    fmt = MediaFormat.MP4 if counter is Mp4FrameCounter else MediaFormat.WEBM
    pieces, _ = encode(fmt, clip[:12], settings=EncoderSettings(keyframe_interval=4))
    data = b"".join(p.data for p in pieces)
    byte_by_byte = counter()
    for i in range(len(data)):
        byte_by_byte.feed(data[i : i + 1])
    assert byte_by_byte.frames == 12
    odd = counter()
    for start in range(0, len(data), 777):
        odd.feed(data[start : start + 777])
    assert odd.frames == 12


def test_gif_streams_frames_loops_and_carries_a_comment(clip: Frames) -> None:
    pieces, pushed_at = encode(MediaFormat.GIF, clip)
    assert pushed_at[:3] == [1, 2, 3], "each GIF frame leaves as soon as it is pushed"
    assert [p.frames_complete for p in pieces][:-1] == list(range(1, FRAMES + 1))
    data = b"".join(p.data for p in pieces)
    assert data.startswith(b"GIF89a") and data.endswith(b";")
    image = Image.open(io.BytesIO(data))
    assert image.n_frames == FRAMES  # type: ignore[attr-defined]
    assert image.size == (WIDTH, HEIGHT)
    assert image.info["loop"] == 0, "loop forever"
    assert image.info["comment"].decode() == PROVENANCE_TEXT
    durations = []
    for index in range(FRAMES):
        image.seek(index)
        image.load()
        durations.append(image.info["duration"])
    assert sum(durations) == pytest.approx(1000 * FRAMES / FPS, abs=10)
    # The last frame, composed from the cropped updates, still looks like the portrait.
    final = np.asarray(image.convert("RGB")).astype(int)
    assert np.abs(final[:100, :100] - clip[-1][:100, :100]).mean() < 12
    frames, container = decode_pyav(data)
    assert len(frames) == FRAMES
    container.close()


def test_animated_webp_loops_with_xmp_and_correct_timing(clip: Frames) -> None:
    pieces, _ = encode(MediaFormat.ANIMATED_WEBP, clip, settings=EncoderSettings(quality=80))
    assert pieces[-1].frames_complete == FRAMES
    data = b"".join(p.data for p in pieces)
    assert int.from_bytes(data[4:8], "little") == len(data) - 8
    image = Image.open(io.BytesIO(data))
    assert image.size == (WIDTH, HEIGHT)
    assert image.info["loop"] == 0, "loop forever"
    assert b"Nostalgia" in image.info["xmp"] and b"DigitalSourceType" in image.info["xmp"]
    total_ms = 0
    frame_count: int = image.n_frames  # type: ignore[attr-defined]
    for index in range(frame_count):
        image.seek(index)
        image.load()
        total_ms += image.info["duration"]
    assert total_ms == pytest.approx(1000 * FRAMES / FPS, abs=2)
    final = np.asarray(image.convert("RGB")).astype(int)
    assert np.abs(final[:100, :100] - clip[-1][:100, :100]).mean() < 8


@pytest.mark.parametrize("fmt", CONTAINERS, ids=lambda f: f.value)
def test_ffprobe_agrees(fmt: MediaFormat, clip: Frames, tmp_path: Path) -> None:
    pieces, _ = encode(fmt, clip)
    data = b"".join(p.data for p in pieces)
    if fmt is MediaFormat.ANIMATED_WEBP:
        # Debian's FFmpeg cannot decode animated WebP; check only that it recognises the file.
        shutil.which("ffprobe") or pytest.skip("ffprobe is not installed (Debian package ffmpeg)")
        assert data[:4] == b"RIFF" and data[8:16] == b"WEBPVP8X"
        return
    probe = ffprobe(data, tmp_path)
    stream = probe["streams"][0]
    assert int(stream["nb_read_frames"]) == FRAMES
    assert (stream["width"], stream["height"]) == (WIDTH, HEIGHT)
    assert stream["r_frame_rate"] == "25/1"
    tags = {k.lower(): v for k, v in probe["format"].get("tags", {}).items()}
    assert tags["comment"] == PROVENANCE_TEXT
    if fmt is not MediaFormat.WEBM:  # an unseekable WebM has no duration element; MP4 and GIF do
        assert float(probe["format"]["duration"]) == pytest.approx(FRAMES / FPS, abs=0.05)


def test_odd_sizes_are_trimmed_to_even_for_yuv420p(clip: Frames) -> None:
    odd = [frame[:239, :319] for frame in clip[:4]]
    encoder = create_encoder(MediaFormat.MP4, 319, 239, FPS)
    assert (encoder.width, encoder.height) == (318, 238)
    pieces = encoder.push_many(odd) + encoder.finish()
    frames, container = decode_pyav(b"".join(p.data for p in pieces))
    assert (frames[0].width, frames[0].height) == (318, 238)
    container.close()
    gif = create_encoder(MediaFormat.GIF, 319, 239, FPS)
    assert (gif.width, gif.height) == (319, 239), "only the yuv420p formats need even sizes"
    gif.close()


def test_bitrate_and_keyframe_options_take_effect(clip: Frames) -> None:
    low, _ = encode(MediaFormat.MP4, clip, settings=EncoderSettings(bitrate_kbps=150))
    high, _ = encode(MediaFormat.MP4, clip, settings=EncoderSettings(bitrate_kbps=3000))
    assert sum(len(p.data) for p in low) < 0.5 * sum(len(p.data) for p in high)
    frames, container = decode_pyav(b"".join(p.data for p in high))
    assert sum(1 for f in frames if f.key_frame) == math.ceil(FRAMES / round(FPS / 2))
    container.close()
    with pytest.raises(ValueError, match="quality"):
        EncoderSettings(quality=101)


def test_lifecycle_and_input_checks(clip: Frames) -> None:
    encoder = create_encoder(MediaFormat.WEBM, WIDTH, HEIGHT, FPS)
    with pytest.raises(ValueError, match="uint8 RGB"):
        encoder.push(clip[0].astype(np.float32))  # type: ignore[arg-type,unused-ignore]
    with pytest.raises(ValueError, match="the clip is 320x240"):
        encoder.push(clip[0][:100])
    encoder.push(clip[0])
    encoder.close()
    encoder.close()
    with pytest.raises(EncoderClosed):
        encoder.push(clip[1])
    empty = create_encoder(MediaFormat.GIF, WIDTH, HEIGHT, FPS)
    with pytest.raises(ValueError, match="without frames"):
        empty.finish()
    with pytest.raises(ValueError, match="fps"):
        create_encoder(MediaFormat.MP4, WIDTH, HEIGHT, 0.0)


def test_every_format_has_a_mime_type() -> None:
    assert {fmt: info(fmt).mime_type for fmt in MediaFormat} == {
        MediaFormat.JPEG: "image/jpeg",
        MediaFormat.PNG: "image/png",
        MediaFormat.WEBP: "image/webp",
        MediaFormat.MP4: "video/mp4",
        MediaFormat.WEBM: "video/webm",
        MediaFormat.GIF: "image/gif",
        MediaFormat.ANIMATED_WEBP: "image/webp",
    }
