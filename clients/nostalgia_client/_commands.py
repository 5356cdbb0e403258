"""The CLI's subcommands: argparse arguments in, SDK calls, human-readable results out.

Results go to stdout (one summary line, a table or JSON); progress and errors go to stderr, so
``nostalgia faces photo.jpg --json | jq`` stays clean.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from ._annotate import annotate_faces
from ._client import Client
from ._errors import InvalidInput
from ._formats import image_format_for_path
from ._progress import ProgressBar
from ._requests import AnimateOptions, EnhanceOptions
from ._table import render_table
from ._types import AnimationResult, Keyframe

__all__ = ["animate", "drivers", "enhance", "faces", "human_bytes", "load_keyframes"]


def human_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def load_keyframes(path: str) -> list[Keyframe]:
    """Keyframes from a JSON file: a list of objects (or {"keyframes": [...]}) with Keyframe fields."""
    data: Any = json.loads(Path(path).read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data = data.get("keyframes")
    if not isinstance(data, list) or not data:
        raise InvalidInput(f"{path}: expected a non-empty JSON list of keyframes")
    known = {f.name for f in dataclasses.fields(Keyframe)}
    keyframes = []
    for number, item in enumerate(data):
        if not isinstance(item, dict) or "time_s" not in item:
            raise InvalidInput(f"{path}: keyframe #{number} must be an object with at least time_s")
        unknown = sorted(set(item) - known)
        if unknown:
            raise InvalidInput(
                f"{path}: keyframe #{number} has unknown fields {unknown}; known: {sorted(known)}"
            )
        keyframes.append(Keyframe(**{k: float(v) for k, v in item.items()}))
    return keyframes


def _animate_options(args: argparse.Namespace) -> AnimateOptions:
    options: AnimateOptions = {"face_index": args.face}
    if args.driver is not None:
        options["driver"] = args.driver
    if args.keyframes is not None:
        options["keyframes"] = load_keyframes(args.keyframes)
    pairs: Sequence[tuple[str, Any]] = (
        ("duration_s", args.duration),
        ("fps", args.fps),
        ("output_size", args.size),
        ("framing", args.framing),
        ("enhance", args.enhance),
        ("seed", args.seed),
        ("quality", args.quality),
        ("bitrate_kbps", args.bitrate),
        ("keyframe_interval", args.keyframe_interval),
    )
    for key, value in pairs:
        if value is not None:
            options[key] = value  # type: ignore[literal-required]
    if args.loop:
        options["loop"] = True
    if args.no_mark:
        options["visible_mark"] = False
    return options


def _animation_line(result: AnimationResult, output: str, took_s: float) -> str:
    info, summary = result.info, result.summary
    if info.format.is_container:
        what = f"wrote {output}"
    else:
        what = f"wrote {len(result.paths)} {info.format.value} frames to {output}"
    total_bytes = sum(p.stat().st_size for p in result.paths)
    return (
        f"{what}: {info.width}x{info.height}, {summary.frames} frames at {info.fps:g} fps "
        f"({info.duration_s:.1f} s), {human_bytes(total_bytes)}; driver {info.driver}, "
        f"face #{info.face_index}, seed {info.seed}; took {took_s:.1f} s, "
        f"first frame after {summary.time_to_first_frame_s:.1f} s"
    )


def animate(args: argparse.Namespace, client: Client, photo: bytes, out: TextIO, err: TextIO) -> None:
    options = _animate_options(args)
    bar = ProgressBar(err, "animating", enabled=False if args.quiet else None)
    bar.update(0, 0)
    start = time.monotonic()
    try:
        result = client.animate_to_file(
            photo, args.output, frame_format=args.frame_format, on_progress=bar.update, **options
        )
    finally:
        bar.close()
    if not args.quiet:
        out.write(_animation_line(result, args.output, time.monotonic() - start) + "\n")


def enhance(args: argparse.Namespace, client: Client, photo: bytes, out: TextIO, err: TextIO) -> None:
    options: EnhanceOptions = {"face_only": args.face_only, "face_index": args.face}
    if args.scale is not None:
        options["scale"] = args.scale
    if args.model is not None:
        options["model"] = args.model
    if args.quality is not None:
        options["quality"] = args.quality
    interactive = err.isatty() and not args.quiet
    if interactive:
        err.write(f"enhancing {args.photo} ...")
        err.flush()
    start = time.monotonic()
    try:
        image = client.enhance_to_file(photo, args.output, **options)
    finally:
        if interactive:
            err.write("\r\033[K")
            err.flush()
    if not args.quiet:
        face = f", face #{args.face}" if args.face_only else ""
        out.write(
            f"wrote {args.output}: {image.width}x{image.height} {image.mime_type}, "
            f"{human_bytes(len(image.data))}{face}; took {time.monotonic() - start:.1f} s\n"
        )


def faces(args: argparse.Namespace, client: Client, photo: bytes, out: TextIO, err: TextIO) -> None:
    if args.annotate is not None:
        image_format_for_path(args.annotate)  # fail on a bad name before the call
    detection = client.detect_faces(photo, landmarks=args.landmarks)
    if args.annotate is not None:
        annotate_faces(photo, detection, args.annotate)
    if args.json:
        out.write(json.dumps(dataclasses.asdict(detection), indent=2) + "\n")
        return
    count = len(detection.faces)
    header = f"{args.photo}: {detection.width}x{detection.height}, {count} face{'s' if count != 1 else ''}"
    rows = [
        [
            str(i),
            f"{f.score:.2f}",
            f"{f.box.x_min:.0f}",
            f"{f.box.y_min:.0f}",
            f"{f.box.width:.0f}",
            f"{f.box.height:.0f}",
            f"{f.roll_deg:.1f}",
            f"{f.landmark_score:.2f}",
        ]
        for i, f in enumerate(detection.faces)
    ]
    lines = [header]
    if rows:
        lines.append(render_table(["#", "score", "x", "y", "width", "height", "roll°", "mesh score"], rows))
    if args.annotate is not None and not args.quiet:
        lines.append(f"wrote {args.annotate}")
    out.write("\n".join(lines) + "\n")


def drivers(args: argparse.Namespace, client: Client, photo: bytes, out: TextIO, err: TextIO) -> None:
    found = client.list_drivers()
    if args.json:
        out.write(json.dumps([dataclasses.asdict(d) for d in found], indent=2) + "\n")
        return
    rows = [
        [d.name, f"{d.default_duration_s:.1f}", "yes" if d.blinks else "no", d.description] for d in found
    ]
    out.write(render_table(["driver", "seconds", "blinks", "description"], rows) + "\n")
