"""Encoder figures for the reference clip: bytes per format, encode time per frame, first MP4 fragment.

The reference clip is 512x512, 4 s at 25 fps, made from a real portrait: a still background
with a moving, brightening central region, which is what an animated face looks like to an
encoder. Frames are pushed as fast as the encoder takes them, so the times are the encoder's
own cost per frame (the badge included), not the pipeline's.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from bench._portraits import portraits_dir
from nostalgia.encoding import EncoderSettings, MediaFormat, create_encoder

__all__ = ["main", "reference_clip"]

SIZE, FPS, SECONDS = 512, 25.0, 4.0
PORTRAIT = "deoldify_1925Girl.jpg"


def reference_clip(
    path: Path, size: int = SIZE, count: int = round(SECONDS * FPS)
) -> list[npt.NDArray[np.uint8]]:
    """A square clip of a real photo whose central region moves and brightens from frame to frame."""
    margin = 16
    image = Image.open(path).convert("RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 4
    base = np.asarray(
        image.crop((left, top, left + side, top + side)).resize(
            (size + 2 * margin,) * 2, Image.Resampling.LANCZOS
        )
    )
    frames = []
    lo, hi = size // 5, size * 4 // 5
    for i in range(count):
        dx = round(8 * math.sin(2 * math.pi * i / 50))
        dy = round(5 * math.sin(2 * math.pi * i / 37))
        frame = base[margin : margin + size, margin : margin + size].copy()
        moved = base[margin + lo + dy : margin + hi + dy, margin + lo + dx : margin + hi + dx].astype(
            np.int16
        )
        frame[lo:hi, lo:hi] = np.clip(moved + (i % 20), 0, 255).astype(np.uint8)
        frames.append(frame)
    return frames


def main(argv: list[str]) -> int:
    frames = reference_clip(portraits_dir() / PORTRAIT)
    count = len(frames)
    print(
        f"reference clip: {SIZE}x{SIZE}, {count} frames at {FPS:g} fps ({count / FPS:g} s), default settings"
    )
    print(f"{'format':<14} {'bytes':>11} {'kbit/s':>8} {'ms/frame':>9} {'cpu ms/fr':>9} {'first piece':>22}")
    for fmt in MediaFormat:
        encoder = create_encoder(fmt, SIZE, SIZE, FPS, EncoderSettings())
        total = 0
        first_playable: tuple[float, int] | None = None
        start, cpu_start = time.perf_counter(), time.process_time()
        for index, frame in enumerate(frames):
            for piece in encoder.push(frame):
                total += len(piece.data)
                if first_playable is None and piece.frames_complete:
                    first_playable = (time.perf_counter() - start, index + 1)
        tail = encoder.finish()
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        total += sum(len(p.data) for p in tail)
        if first_playable is None:
            first_playable = (elapsed, count)
        first = f"{first_playable[0] * 1e3:7.1f} ms after {first_playable[1]:>3} fr"
        kbps = total * 8 / 1000 / (count / FPS)
        per_frame = f"{elapsed / count * 1e3:>9.2f} {cpu / count * 1e3:>9.2f}"
        print(f"{fmt.value:<14} {total:>11,} {kbps:>8.0f} {per_frame} {first:>22}", flush=True)
    print("ms/frame: wall clock; cpu ms/fr: this process's CPU time (all threads), steadier on a shared host")
    print("first piece: when the first frame could be shown (MP4: first moof+mdat; animated WebP: at finish)")
    return 0
