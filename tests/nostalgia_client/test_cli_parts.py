"""The CLI's pieces that need no server: file-name rules, parsing, tables, progress, keyframe files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from nostalgia.v1 import nostalgia_pb2 as pb
from nostalgia_client import ImageFormat, Keyframe, OutputFormat
from nostalgia_client._commands import human_bytes, load_keyframes
from nostalgia_client._formats import image_format_for_path, output_target_for_path
from nostalgia_client._progress import ProgressBar, render_progress
from nostalgia_client._table import render_table
from nostalgia_client.cli import build_parser, main

from .conftest import ScriptedServer


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("clip.mp4", OutputFormat.MP4),
        ("CLIP.MP4", OutputFormat.MP4),
        ("clip.m4v", OutputFormat.MP4),
        ("clip.webm", OutputFormat.WEBM),
        ("loop.gif", OutputFormat.GIF),
        ("loop.webp", OutputFormat.ANIMATED_WEBP),
    ],
)
def test_container_format_from_extension(name: str, fmt: OutputFormat) -> None:
    target = output_target_for_path(name)
    assert target.format is fmt and not target.is_frames and target.path == Path(name)


def test_directories_and_patterns_mean_frames(tmp_path: Path) -> None:
    assert output_target_for_path("frames/").format is OutputFormat.JPEG
    assert output_target_for_path("frames").frame_name == "frame_{:05d}.jpg"
    existing = tmp_path / "out.d"
    existing.mkdir()
    assert output_target_for_path(existing, "png").frame_name == "frame_{:05d}.png"
    pattern = output_target_for_path("shots/f_%04d.png")
    assert pattern.path == Path("shots") and pattern.format is OutputFormat.PNG
    assert pattern.frame_name is not None and pattern.frame_name.format(7) == "f_0007.png"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("still.jpg", "an animation is many frames"),
        ("clip.avi", "unknown output type '.avi'"),
        ("f_%04d.bmp", "must end in .jpg, .png or .webp"),
    ],
)
def test_bad_output_names_say_what_works(name: str, words: str) -> None:
    with pytest.raises(ValueError, match=words) as caught:
        output_target_for_path(name)
    assert ".mp4" in str(caught.value) or "pattern" in str(caught.value)


def test_frame_format_must_be_an_image() -> None:
    with pytest.raises(ValueError, match="frame format must be jpeg, png or webp"):
        output_target_for_path("frames/", "mp4")


def test_image_format_from_extension() -> None:
    assert image_format_for_path("a.PNG") is ImageFormat.PNG
    assert image_format_for_path("a.jpeg") is ImageFormat.JPEG
    assert image_format_for_path("a.webp") is ImageFormat.WEBP
    with pytest.raises(ValueError, match=r"use \.png, \.jpg or \.webp"):
        image_format_for_path("a.tiff")


@given(st.sampled_from(list(OutputFormat)))
def test_formats_round_trip_through_the_wire_enum(fmt: OutputFormat) -> None:
    assert OutputFormat.from_proto(fmt.to_proto()) is fmt


def test_table_aligns_numbers_right_and_text_left() -> None:
    rows = [["smile", "4.0", "A smile."], ["nod", "12.5", "Nods."]]
    table = render_table(["name", "seconds", "what"], rows)
    assert table.splitlines() == [
        "name   seconds  what",
        "smile      4.0  A smile.",
        "nod       12.5  Nods.",
    ]
    with pytest.raises(ValueError, match="expected 3"):
        render_table(["a", "b", "c"], [["1"]])


def test_progress_line() -> None:
    assert render_progress("animating", 5, 10, 1.25, width=10) == "animating [#####.....]  5/10 frames  1.2 s"
    assert render_progress("animating", 3, 0, 0.5) == "animating  3 frames  0.5 s"
    assert render_progress("animating", 0, 0, 0.0) == "animating: waiting for the service  0.0 s"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_draws_only_on_a_terminal() -> None:
    ticks = iter(float(i) for i in range(100))
    tty = _Tty()
    bar = ProgressBar(tty, "animating", clock=lambda: next(ticks))
    for done in range(1, 5):
        bar.update(done, 4)
    bar.close()
    text = tty.getvalue()
    assert text.count("\r") >= 5 and "4/4 frames" in text and text.endswith("\r")
    pipe = io.StringIO()
    quiet = ProgressBar(pipe, "animating")
    quiet.update(1, 4)
    quiet.close()
    assert pipe.getvalue() == ""


def test_keyframes_file(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    path.write_text(json.dumps([{"time_s": 0}, {"time_s": 1.5, "yaw_deg": 12, "smile": 0.8}]))
    assert load_keyframes(str(path)) == [Keyframe(0.0), Keyframe(1.5, yaw_deg=12.0, smile=0.8)]
    path.write_text(json.dumps({"keyframes": [{"time_s": 0, "eye_open_left": 0}]}))
    assert load_keyframes(str(path))[0].eye_open_left == 0.0
    path.write_text(json.dumps([{"time_s": 0, "grin": 1}]))
    with pytest.raises(ValueError, match="unknown fields \\['grin'\\]"):
        load_keyframes(str(path))


def test_human_bytes() -> None:
    sizes = [human_bytes(n) for n in (12, 1234, 2_500_000, 3 * 10**9)]
    assert sizes == ["12 B", "1.2 kB", "2.5 MB", "3.0 GB"]


def test_connection_flags_work_before_and_after_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOSTALGIA_SERVER", raising=False)
    parser = build_parser()
    assert parser.parse_args(["drivers"]).server == "localhost:50051"
    assert parser.parse_args(["--server", "a:1", "drivers"]).server == "a:1"
    assert parser.parse_args(["drivers", "--server", "b:2"]).server == "b:2"
    assert parser.parse_args(["--timeout", "3", "faces", "p.jpg"]).timeout == 3.0
    monkeypatch.setenv("NOSTALGIA_SERVER", "env:9")
    assert build_parser().parse_args(["drivers"]).server == "env:9"


def test_animate_arguments() -> None:
    args = build_parser().parse_args(
        ["animate", "p.jpg", "-o", "o.mp4", "--driver", "smile", "--duration", "2", "--size", "256", "--loop"]
    )
    assert (args.driver, args.duration, args.size, args.loop, args.face) == ("smile", 2.0, 256, True, 0)


def test_usage_errors_exit_2() -> None:
    err = io.StringIO()
    assert main(["animate", "p.jpg"], stderr=err) == 2
    assert "the following arguments are required: -o/--output" in err.getvalue()
    quiet = io.StringIO()
    both = ["animate", "p.jpg", "-o", "x.mp4", "--driver", "a", "--keyframes", "k.json"]
    assert main(both, stderr=quiet) == 2
    assert main(["enhance", "p.jpg", "-o", "x.png", "--scale", "3"], stderr=quiet) == 2
    assert main(["bogus"], stderr=quiet) == 2


def test_help_documents_exit_codes() -> None:
    out = io.StringIO()
    assert main(["--help"], stdout=out) == 0
    for line in ("4    no usable face", "7    cannot reach the service", "10   the service does not offer"):
        assert line in out.getvalue()


def _face(x: float, y: float, size: float, score: float) -> pb.Face:
    keypoints = [(0.3, 0.4), (0.7, 0.4), (0.5, 0.6), (0.35, 0.8), (0.65, 0.8)]
    return pb.Face(
        box=pb.Box(x_min=x, y_min=y, x_max=x + size, y_max=y + size),
        score=score,
        keypoints=[pb.Point(x=x + u * size, y=y + v * size) for u, v in keypoints],
        roll_deg=-2.5,
        landmark_score=0.9,
    )


def test_faces_table_json_and_annotation(scripted: ScriptedServer, tmp_path: Path) -> None:
    scripted.script.detection = pb.DetectFacesResponse(
        width=200, height=160, faces=[_face(20, 30, 100, 0.97), _face(140, 20, 40, 0.81)]
    )
    photo = tmp_path / "two.png"
    Image.new("RGB", (200, 160), (90, 90, 90)).save(photo)
    out, err = io.StringIO(), io.StringIO()
    argv = ["faces", str(photo), "--annotate", str(tmp_path / "boxes.png"), "--server", scripted.address]
    assert main(argv, stdout=out, stderr=err) == 0, err.getvalue()
    assert out.getvalue().splitlines() == [
        f"{photo}: 200x160, 2 faces",
        "#  score    x   y  width  height  roll°  mesh score",
        "0   0.97   20  30    100     100   -2.5        0.90",
        "1   0.81  140  20     40      40   -2.5        0.90",
        f"wrote {tmp_path / 'boxes.png'}",
    ]
    with Image.open(tmp_path / "boxes.png") as drawn:
        assert drawn.size == (200, 160)
        assert drawn.getpixel((20, 100)) == (0, 255, 0)  # left edge of the first box
        assert drawn.getpixel((60, 100)) == (90, 90, 90)  # inside it, untouched
    out = io.StringIO()
    assert main(["faces", str(photo), "--json", "--server", scripted.address], stdout=out) == 0
    parsed = json.loads(out.getvalue())
    assert parsed["faces"][1]["box"] == {"x_min": 140.0, "y_min": 20.0, "x_max": 180.0, "y_max": 60.0}


def test_photo_from_standard_input(scripted: ScriptedServer) -> None:
    class Stdin(io.StringIO):
        buffer = io.BytesIO(b"\x89PNG pretend")

    out = io.StringIO()
    assert main(["faces", "-", "--server", scripted.address], stdout=out, stdin=Stdin()) == 0
    assert scripted.script.seen_requests[-1].image == b"\x89PNG pretend"
    assert out.getvalue() == "-: 10x10, 0 faces\n"


def test_drivers_table(scripted: ScriptedServer) -> None:
    out = io.StringIO()
    assert main(["drivers", "--server", scripted.address], stdout=out) == 0
    assert out.getvalue() == "driver  seconds  blinks  description\nblink       3.0  yes     Blinks.\n"
