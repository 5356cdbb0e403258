"""Our TorchScript upscalers against the ``ncnn`` package on the same input, as time ratios, with peak memory.

Same work on both sides: one x4 forward pass of a whole crop of a real portrait (128->512
and 256->1024), the same weights, fp32, the same number of CPU threads, one after the
other on the same machine. Each engine runs in its own process so its peak resident
memory is its own; the figure printed is the peak during inference above the process's
memory after loading (weights and libraries), plus the absolute peak.

TorchScript optimises a graph over its first calls, so both engines are warmed up on a
small input first (a server pays this once at load); the timed call is then the best of
``--repeat`` runs.

    python -m bench upscaler [--models fast,quality] [--sizes 128,256] [--threads N] [--repeat N]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from bench._memory import peak_rss_mib
from bench._portraits import portraits_dir

__all__ = ["main"]

PORTRAIT = "liveportrait_source_s10.jpg"
MODELS = {"quality": "upscaler_quality", "fast": "upscaler_fast"}
REPO = Path(__file__).resolve().parents[1]


def _crop(size: int) -> npt.NDArray[np.uint8]:
    """A central square of the portrait (face and background), resized to ``size``."""
    with Image.open(portraits_dir() / PORTRAIT) as image:
        rgb = image.convert("RGB")
        side = min(rgb.size)
        left, top = (rgb.width - side) // 2, (rgb.height - side) // 3
        square = rgb.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.LANCZOS)
        return np.ascontiguousarray(np.asarray(square))


def _current_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak() -> None:
    """Make VmHWM start again from the current RSS (Linux >= 4.0: write 5 to clear_refs)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _worker(engine: str, model: str, size: int, threads: int, repeat: int) -> dict[str, Any]:
    """Load one engine, warm it up, time it; runs in a fresh process so memory figures are its own."""
    crop = _crop(size)
    warm = np.ascontiguousarray(crop[:32, :32])
    if engine == "torch":
        import torch

        torch.set_num_threads(threads)
        path = REPO / "model_repository" / MODELS[model] / "1" / f"{MODELS[model]}.pt"
        if not path.exists():
            raise SystemExit(f"{path} is missing: run `make models`")
        net = torch.jit.load(str(path)).eval()  # type: ignore[no-untyped-call]

        def run(x: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
            with torch.inference_mode():
                out: npt.NDArray[np.uint8] = net(torch.from_numpy(x)[None]).numpy()[0]
            return out

    else:
        from nostalgia_models import realesrgan
        from nostalgia_models.ncnn_reference import NcnnUpscaler

        stem = realesrgan.QUALITY_NCNN if model == "quality" else realesrgan.FAST_NCNN
        reference = NcnnUpscaler(stem, threads=threads)

        def run(x: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
            return np.rint(np.clip(reference.run(x), 0, 255)).astype(np.uint8)

    for _ in range(2):
        run(warm)
    loaded = _current_rss_mib()
    _reset_peak()
    best = float("inf")
    out = crop
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        out = run(crop)
        best = min(best, time.perf_counter() - start)
    peak = peak_rss_mib()
    return {
        "seconds": best,
        "loaded_mib": loaded,
        "peak_mib": peak,
        "shape": list(out.shape),
        "checksum": float(out.astype(np.float64).mean()),
    }


def _spawn(engine: str, model: str, size: int, threads: int, repeat: int) -> dict[str, Any]:
    cmd = [
        sys.executable,
        "-m",
        "bench.upscaler",
        "--worker",
        engine,
        model,
        str(size),
        str(threads),
        str(repeat),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=REPO)
    if done.returncode != 0:
        raise RuntimeError(f"{engine} {model} {size}: exit {done.returncode}: {done.stderr.strip()[-1500:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench upscaler", description=__doc__)
    parser.add_argument("--models", default="fast,quality")
    parser.add_argument("--sizes", default="128,256")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=1)
    args, _ = parser.parse_known_args(argv)
    print(f"upscaler x4, whole crop of {PORTRAIT}, fp32 CPU, {args.threads} threads, best of {args.repeat}")
    header = (
        f"{'model':8} {'in->out':>10} {'torch s':>8} {'ncnn s':>8} {'ncnn/torch':>10} "
        f"{'torch peak+':>11} {'ncnn peak+':>10} {'torch peak':>10} {'ncnn peak':>9}"
    )
    print(header)
    for model in args.models.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            ours = _spawn("torch", model, size, args.threads, args.repeat)
            ref = _spawn("ncnn", model, size, args.threads, args.repeat)
            ratio = ref["seconds"] / ours["seconds"]
            ours_extra, ref_extra = ours["peak_mib"] - ours["loaded_mib"], ref["peak_mib"] - ref["loaded_mib"]
            print(
                f"{model:8} {f'{size}->{4 * size}':>10} {ours['seconds']:8.2f} {ref['seconds']:8.2f} "
                f"{ratio:10.2f} {ours_extra:8.0f}MiB {ref_extra:7.0f}MiB "
                f"{ours['peak_mib']:7.0f}MiB {ref['peak_mib']:6.0f}MiB",
                flush=True,
            )
    print("ncnn/torch > 1: our TorchScript model is faster; peak+ is memory above the loaded model")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "--worker":
        _, _, engine, model, size, threads, repeat = sys.argv
        print(json.dumps(_worker(engine, model, int(size), int(threads), int(repeat))))
    else:
        sys.exit(main(sys.argv[1:]))
