"""The reference request, end to end over gRPC against the real embedded Triton and gateway.

A 512x512-face portrait, preset ``nostalgia``, 4 s at 25 fps, 512x512 output: time to first
frame, total time, frames per second, per-stage seconds and peak memory of each process, and the
same times for the first request after the servers started.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path

import grpc

from nostalgia.config import Settings, default_model_repository
from nostalgia.local import start_gateway
from nostalgia.logs import configure_logging
from nostalgia.triton import EmbeddedTriton
from nostalgia.v1 import nostalgia_pb2 as pb
from nostalgia.v1 import nostalgia_pb2_grpc as pb_grpc

from ._memory import peak_rss_mib
from ._portraits import portraits_dir

__all__ = ["main"]


def _one(stub: pb_grpc.NostalgiaStub, request: pb.AnimateRequest) -> tuple[float, float, pb.AnimateSummary]:
    start = time.perf_counter()
    first = 0.0
    summary = pb.AnimateSummary()
    for response in stub.Animate(request, timeout=300):
        kind = response.WhichOneof("payload")
        if kind in ("frame", "chunk") and not first:
            first = time.perf_counter() - start
        elif kind == "summary":
            summary = response.summary
    return first, time.perf_counter() - start, summary


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench request")
    parser.add_argument("--photo", type=Path, default=portraits_dir() / "sadtalker_art_20.png")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--framing", choices=["face", "photo"], default="face")
    args, _ = parser.parse_known_args(argv)
    configure_logging("WARNING", "text")
    triton = EmbeddedTriton(default_model_repository())
    triton.start()
    gateway = start_gateway(
        replace(Settings(), host="127.0.0.1", port=0, metrics_port=0, triton_url=triton.grpc_url)
    )
    request = pb.AnimateRequest(
        image=args.photo.read_bytes(),
        driver="nostalgia",
        duration_s=4.0,
        fps=25,
        output_size=512,
        framing=pb.FRAMING_FACE if args.framing == "face" else pb.FRAMING_PHOTO,
        enhance=pb.ENHANCE_MODE_OFF,
        seed=1,
    )
    try:
        with grpc.insecure_channel(gateway.address) as channel:
            stub = pb_grpc.NostalgiaStub(channel)
            # The first request after start-up, reported on its own: anything the servers leave to
            # their first call (connections, lazily built state) shows up there, not in the median.
            first = _one(stub, request)
            runs = [_one(stub, request) for _ in range(args.runs)]
        ttff = statistics.median(r[0] for r in runs)
        total = statistics.median(r[1] for r in runs)
        summary = runs[-1][2]
        print(
            f"photo {args.photo.name}, framing {args.framing}, {summary.frames} frames, median of {args.runs}"
        )
        print(f"  time to first frame  {ttff * 1000:8.0f} ms")
        print(f"  total                {total * 1000:8.0f} ms")
        print(f"  frames per second    {summary.frames / total:8.1f}")
        first_ttff, first_total = first[0] * 1000, first[1] * 1000
        print(f"  first request after start: first frame {first_ttff:.0f} ms, total {first_total:.0f} ms")
        for stage in summary.stages:
            print(f"  stage {stage.stage:<14} {stage.seconds * 1000:8.0f} ms")
        print(f"  peak RSS gateway+client process {peak_rss_mib():8.0f} MiB")
        if triton.pid is not None:
            triton_mib = peak_rss_mib(triton.pid, tree=True)
            print(f"  peak RSS triton with its python-backend stubs {triton_mib:8.0f} MiB")
    finally:
        gateway.stop()
        triton.stop()
    return 0
