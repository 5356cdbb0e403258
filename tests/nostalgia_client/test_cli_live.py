"""The installed `nostalgia` command, run as a subprocess against the real gateway.

Checks the files it writes (decoded with PyAV), what it prints, its exit codes, and that the
progress bar appears on a terminal (a pseudo-terminal here) and nowhere else.
"""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

import av

NOSTALGIA = Path(sys.executable).with_name("nostalgia")
PORTRAIT = "deoldify_Dolores1920s.jpg"
SMALL = "deoldify_abe.jpg"
GROUP = "deoldify_40sCouple.jpg"
NO_FACE = "deoldify_AnselAdamsYosemite.jpg"


def nostalgia(gateway: Any, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOSTALGIA_")}
    env["NOSTALGIA_SERVER"] = gateway.address
    return subprocess.run(
        [str(NOSTALGIA), *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


def decode_image(path: Path) -> tuple[int, int]:
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == 1
    return frames[0].width, frames[0].height


def test_console_script_is_installed() -> None:
    assert NOSTALGIA.exists(), "run `make setup` (pip install -e .) to install the nostalgia command"
    result = subprocess.run([str(NOSTALGIA), "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and result.stdout.startswith("nostalgia ")


def test_animate_to_frames(gateway: Any, portraits_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "frames"
    result = nostalgia(
        gateway, "animate", str(portraits_dir / PORTRAIT), "-o", f"{out}/",
        "--duration", "1", "--fps", "8", "--size", "200", "--seed", "3",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # not a terminal: no progress bar
    files = sorted(out.iterdir())
    assert [p.name for p in files] == [f"frame_{i:05d}.jpg" for i in range(8)]
    sizes = {decode_image(p) for p in files}
    assert len(sizes) == 1 and max(sizes.pop()) == 200
    line = result.stdout.strip()
    assert line.startswith(f"wrote 8 jpeg frames to {out}/: ") and "8 frames at 8 fps" in line
    assert "seed 3" in line and "first frame after" in line


def test_animate_to_a_clip(gateway: Any, portraits_dir: Path, tmp_path: Path) -> None:
    clip = tmp_path / "out.mp4"
    result = nostalgia(gateway, "animate", str(portraits_dir / SMALL), "-o", str(clip), "--duration", "1")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]
    with av.open(str(clip)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == 25 and result.stdout.startswith(f"wrote {clip}: ")


def test_progress_bar_on_a_terminal(gateway: Any, portraits_dir: Path, tmp_path: Path) -> None:
    primary, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOSTALGIA_")}
    args = [str(NOSTALGIA), "--server", gateway.address, "animate", str(portraits_dir / SMALL)]
    args += ["-o", str(tmp_path / "f"), "--duration", "1", "--fps", "10", "--size", "128"]
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=secondary, env=env) as process:
        os.close(secondary)
        terminal = io.BytesIO()
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # the terminal closes when the command exits
                break
            if not chunk:
                break
            terminal.write(chunk)
        stdout = process.stdout.read().decode() if process.stdout else ""
        assert process.wait(timeout=300) == 0
    os.close(primary)
    drawn = terminal.getvalue().decode()
    assert "animating [" in drawn and "10/10 frames" in drawn and "\r" in drawn
    assert stdout.startswith("wrote 10 jpeg frames")


def test_animate_bad_input(gateway: Any, tmp_path: Path) -> None:
    text = tmp_path / "notes.jpg"
    text.write_text("this is a text file with a .jpg name")
    result = nostalgia(gateway, "animate", str(text), "-o", str(tmp_path / "f/"))
    assert result.returncode == 3
    assert result.stderr.startswith("nostalgia: the service rejected the request: ")
    result = nostalgia(gateway, "animate", str(tmp_path / "missing.jpg"), "-o", str(tmp_path / "f/"))
    assert result.returncode == 11 and "no such file" in result.stderr
    result = nostalgia(gateway, "animate", str(text), "-o", str(tmp_path / "still.png"))
    assert result.returncode == 3 and "an animation is many frames" in result.stderr


def test_animate_no_face(gateway: Any, portraits_dir: Path, tmp_path: Path) -> None:
    result = nostalgia(gateway, "animate", str(portraits_dir / NO_FACE), "-o", str(tmp_path / "f/"))
    assert result.returncode == 4
    assert f"no face found in {portraits_dir / NO_FACE}: try a photo where a face is clearly visible" in (
        result.stderr
    )
    assert list(tmp_path.iterdir()) == []


def test_faces(gateway: Any, portraits_dir: Path, tmp_path: Path) -> None:
    annotated = tmp_path / "faces.png"
    result = nostalgia(gateway, "faces", str(portraits_dir / GROUP), "--annotate", str(annotated))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{portraits_dir / GROUP}: 640x773, ") and lines[0].endswith(" faces")
    assert lines[1].split()[:3] == ["#", "score", "x"]
    assert lines[2].split()[0] == "0" and lines[3].split()[0] == "1"
    assert decode_image(annotated) == (640, 773)
    as_json = nostalgia(gateway, "faces", str(portraits_dir / GROUP), "--json")
    parsed = json.loads(as_json.stdout)
    assert parsed["width"] == 640 and len(parsed["faces"]) >= 2


def test_drivers(gateway: Any) -> None:
    result = nostalgia(gateway, "drivers")
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["driver", "seconds", "blinks", "description"]
    assert "nostalgia" in {row.split()[0] for row in rows}


def test_enhance(gateway: Any, portraits_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "big.png"
    result = nostalgia(
        gateway, "enhance", str(portraits_dir / SMALL), "-o", str(out), "--scale", "2", "--model", "fast"
    )
    assert result.returncode == 0, result.stderr
    assert decode_image(out) == (440, 552)
    assert result.stdout.startswith(f"wrote {out}: 440x552 image/png")
