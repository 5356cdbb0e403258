"""Speed of the motion model: frames per second at 512x512, batches of 25 frames, in-process.

Loads the TorchScript file that Triton serves (``model_repository/motion/1/motion.pt``, built by
``make models``; scripted from the converter when it is missing) and renders the whole default
clip (``nostalgia``, 4 s at 25 fps) on a real face, framed as the gateway frames it, batch by
batch as the gateway asks for it. Blinks, smiles and gaze cost extra work where they happen, so
the figure is the rate over the whole clip, with the slowest and fastest batch beside it. Prints
the median over several runs and the machine's load, because a shared CPU makes single figures
noisy.

    python -m bench motion_speed [--frames 25] [--runs 5] [--size 512] [--threads N] [--triton]

The in-process figure is taken under the allocator settings the embedded Triton runs its models
with (``RUNTIME_ENV``): when they are not set the module restarts itself with them.

With ``--triton`` it also times the same request through an embedded Triton serving only the
``motion`` model (gRPC, one request of 25 frames at a time), as the gateway calls it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import _face_mesh as face_mesh
from bench._portraits import portraits_dir

__all__ = ["main"]

MODEL = Path(__file__).resolve().parents[1] / "model_repository" / "motion" / "1" / "motion.pt"
PHOTO = "sadtalker_art_20.png"


def _load(device: Any) -> tuple[Any, str]:
    import torch

    if MODEL.exists():
        model = torch.jit.load(str(MODEL), map_location=device).eval()
        return model, str(MODEL.relative_to(MODEL.parents[3]))
    from nostalgia_models.motion import LandmarkWarp

    return torch.jit.script(LandmarkWarp().eval()).to(device), "scripted from nostalgia_models.motion"


def main(argv: list[str]) -> int:
    from nostalgia.triton.embedded import RUNTIME_ENV

    if any(name not in os.environ for name in RUNTIME_ENV):
        # glibc reads them once, at start-up.
        env = {**RUNTIME_ENV, **os.environ}
        return subprocess.call([sys.executable, "-m", "bench", "motion_speed", *argv], env=env)
    import torch

    from nostalgia.motion import preset_controls
    from nostalgia.motion.framing import face_subject

    parser = argparse.ArgumentParser(prog="python -m bench motion_speed")
    parser.add_argument("--frames", type=int, default=25)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (default: all cores)")
    parser.add_argument("--triton", action="store_true", help="also time the model through embedded Triton")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])

    image = face_mesh.load_rgb(portraits_dir() / PHOTO)
    # Framed as the gateway frames a face, so the head covers as much of the frame as it does there.
    crop = face_subject(image, face_mesh.landmarks(image), args.size)
    controls = preset_controls("nostalgia", 4.0, 25.0, seed=1)
    batches = [controls[i : i + args.frames] for i in range(0, len(controls), args.frames)]
    for device in devices:
        model, origin = _load(device)
        img = torch.from_numpy(crop.image).to(device)
        lm = torch.from_numpy(crop.landmarks).to(device)
        clips: list[float] = []
        per_batch: list[float] = []
        with torch.inference_mode():
            for i in range(args.runs + 2):
                start = time.perf_counter()
                for batch in batches:
                    if device.type == "cuda":
                        torch.cuda.synchronize()
                    t0 = time.perf_counter()
                    model(img, lm, torch.from_numpy(batch).to(device))
                    if device.type == "cuda":
                        torch.cuda.synchronize()
                    if i >= 2:
                        per_batch.append(len(batch) / (time.perf_counter() - t0))
                if i >= 2:  # the first clips let TorchScript's profiling executor specialise
                    clips.append(time.perf_counter() - start)
        med, best = statistics.median(clips), min(clips)
        load = os.getloadavg()[0]
        print(
            f"motion {args.size}x{args.size}, {len(controls)}-frame nostalgia clip in batches of"
            f" {args.frames} on {device.type} ({torch.get_num_threads()} threads, {origin}):"
            f" median {med * 1e3:.0f} ms = {len(controls) / med:.0f} frames/s, best"
            f" {len(controls) / best:.0f} frames/s; batches {min(per_batch):.0f}-{max(per_batch):.0f}"
            f" frames/s [load average {load:.1f} on {os.cpu_count()} cores]",
            flush=True,
        )
    if args.triton:
        _through_triton(crop.image, crop.landmarks, batches, args.runs)
    return 0


def _through_triton(image: Any, landmarks: Any, batches: list[Any], runs: int) -> None:
    """Time the requests the gateway makes for one clip, against a Triton that serves only ``motion``.

    Frames come back through shared memory, as they do from a Triton on the gateway's host.
    """
    from nostalgia.triton.embedded import EmbeddedTriton

    with tempfile.TemporaryDirectory(prefix="motion-bench-") as tmp:
        shutil.copytree(MODEL.parents[1], Path(tmp) / "motion", ignore=shutil.ignore_patterns("__pycache__"))
        server = EmbeddedTriton(Path(tmp))
        server.start()
        try:
            times = asyncio.run(_timed_requests(server.grpc_url, image, landmarks, batches, runs))
        finally:
            server.stop()
    med = statistics.median(times)
    frames = sum(len(b) for b in batches)
    print(
        f"motion through Triton (gRPC calls of {len(batches[0])} frames, frames in shared memory):"
        f" median {med * 1e3:.0f} ms = {frames / med:.0f} frames/s, best {frames / min(times):.0f} frames/s"
        f" [load average {os.getloadavg()[0]:.1f}]",
        flush=True,
    )


async def _timed_requests(url: str, image: Any, landmarks: Any, batches: list[Any], runs: int) -> list[float]:
    from nostalgia.inference.client import TritonClient

    client = TritonClient(url)
    times = []
    try:
        for i in range(runs + 2):
            t0 = time.perf_counter()
            async with client.output_region(len(batches[0]) * image.nbytes) as region:
                for batch in batches:
                    inputs = {"IMAGE": image[None], "LANDMARKS": landmarks[None], "CONTROLS": batch[None]}
                    await client.infer("motion", inputs, ["FRAMES"], 300, {"FRAMES": region})
            if i >= 2:
                times.append(time.perf_counter() - t0)
    finally:
        await client.close()
    return times
