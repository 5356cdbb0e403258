"""Load generator: N concurrent Animate streams for a bounded time, then throughput and latency figures.

``python -m bench.load [--target HOST:PORT] [--concurrency 1,4,16] [--seconds 30] ...``

Without ``--target`` it starts the embedded Triton and a gateway *process* (``python -m
nostalgia``) itself, so the gateway's and Triton's memory can be told apart from this client's:
their resident set is sampled every 200 ms over the whole process tree (Triton runs one python
backend stub process per model instance) and the peak is reported. Each worker opens one stream
after another until the time is up; streams still running then are allowed to finish.

Figures: completed streams and frames per second, time to first frame (client-side, request
sent to first Frame received) p50/p95/p99, stream latency p50/p95, and failures by status code.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench._portraits import portraits_dir
from nostalgia.triton import EmbeddedTriton
from nostalgia.triton.embedded import free_port
from nostalgia.v1 import nostalgia_pb2 as pb
from nostalgia.v1 import nostalgia_pb2_grpc as pb_grpc

__all__ = ["main"]

RUN_BY_DEFAULT = False  # minutes of full load: run it by name (`make load`)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_IMAGE = portraits_dir() / "deoldify_Dolores1920s.jpg"


# ---------------------------------------------------------------------------------------------- memory


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _rss_bytes(pids: Sequence[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


class PeakRss:
    """Samples the resident set of process trees in a thread; ``peaks`` holds the maxima in bytes."""

    def __init__(self, roots: dict[str, int], interval_s: float = 0.2) -> None:
        self.roots = roots
        self.interval_s = interval_s
        self.peaks = dict.fromkeys(roots, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, pid in self.roots.items():
                self.peaks[name] = max(self.peaks[name], _rss_bytes(_tree(pid)))
            self._stop.wait(self.interval_s)

    def reset(self) -> None:
        self.peaks = dict.fromkeys(self.roots, 0)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)


# ------------------------------------------------------------------------------------------ the service


@contextlib.contextmanager
def local_service(
    repository: Path, max_concurrent: int, max_queued: int
) -> Iterator[tuple[str, dict[str, int]]]:
    """Start Triton and a gateway process; yield the gateway address and the pids to watch."""
    triton = EmbeddedTriton(repository)
    print(f"starting embedded Triton on {repository} ...", flush=True)
    triton.start(timeout_s=600)
    port = free_port()
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    command = [
        sys.executable,
        "-m",
        "nostalgia",
        "--host=127.0.0.1",
        f"--port={port}",
        "--metrics-host=127.0.0.1",
        f"--metrics-port={free_port()}",
        f"--triton-url={triton.grpc_url}",
        f"--max-concurrent-calls={max_concurrent}",
        f"--max-queued-calls={max_queued}",
        "--log-level=WARNING",
        "--log-format=text",
    ]
    gateway = subprocess.Popen(command, env=env)
    address = f"127.0.0.1:{port}"
    try:
        _wait_serving(address, gateway)
        assert triton.pid is not None
        yield address, {"gateway": gateway.pid, "triton": triton.pid}
    finally:
        gateway.terminate()
        try:
            gateway.wait(30)
        except subprocess.TimeoutExpired:
            gateway.kill()
            gateway.wait(5)
        triton.stop()


def _wait_serving(address: str, process: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the gateway exited with code {process.returncode}")
            with contextlib.suppress(grpc.RpcError):
                reply = health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            time.sleep(0.25)
    raise RuntimeError(f"the gateway at {address} was not SERVING within {timeout_s:.0f}s")


# ---------------------------------------------------------------------------------------------- the load


@dataclass
class Results:
    ttff_s: list[float] = field(default_factory=list)
    latency_s: list[float] = field(default_factory=list)
    frames: int = 0
    codes: Counter[str] = field(default_factory=Counter)


async def _stream(
    stub: pb_grpc.NostalgiaStub, request: pb.AnimateRequest, timeout_s: float, out: Results
) -> None:
    start = time.perf_counter()
    first = 0.0
    frames = 0
    try:
        async for response in stub.Animate(request, timeout=timeout_s):
            if response.HasField("frame") or response.HasField("chunk"):
                frames += 1
                if not first:
                    first = time.perf_counter() - start
    except grpc.aio.AioRpcError as exc:
        out.codes[exc.code().name] += 1
        return
    out.codes["OK"] += 1
    out.frames += frames
    out.ttff_s.append(first)
    out.latency_s.append(time.perf_counter() - start)


async def run_load(
    address: str,
    request: pb.AnimateRequest,
    concurrency: int,
    seconds: float,
    timeout_s: float,
    backoff_s: float = 0.5,
) -> tuple[Results, float]:
    """``concurrency`` workers open streams back to back for ``seconds``; returns results and wall time."""
    results = Results()
    options = [
        ("grpc.max_receive_message_length", 64 * 1024 * 1024),
        ("grpc.max_send_message_length", 64 * 1024 * 1024),
    ]
    async with grpc.aio.insecure_channel(address, options=options) as channel:
        await channel.channel_ready()
        stub = pb_grpc.NostalgiaStub(channel)  # type: ignore[no-untyped-call]
        start = time.perf_counter()
        stop_at = start + seconds

        async def worker() -> None:
            while time.perf_counter() < stop_at:
                ok_before = results.codes["OK"]
                await _stream(stub, request, timeout_s, results)
                if results.codes["OK"] == ok_before:
                    await asyncio.sleep(backoff_s)  # refused or failed: back off as a good client does

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return results, time.perf_counter() - start


def _pct(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


def _report(concurrency: int, results: Results, wall_s: float, peaks: dict[str, int] | None) -> None:
    ok = results.codes["OK"]
    ttff = results.ttff_s
    errors = {code: n for code, n in sorted(results.codes.items()) if code != "OK"}
    memory = (
        "  ".join(f"peak RSS {name} {value / 2**20:.0f} MiB" for name, value in peaks.items())
        if peaks
        else "peak RSS n/a (external target)"
    )
    print(
        f"concurrency {concurrency:>3}: {ok} streams in {wall_s:.1f}s = {ok / wall_s:.2f} streams/s, "
        f"{results.frames / wall_s:.1f} frames/s | TTFF p50 {_pct(ttff, 50):.2f}s p95 {_pct(ttff, 95):.2f}s "
        f"p99 {_pct(ttff, 99):.2f}s | stream p50 {_pct(results.latency_s, 50):.2f}s "
        f"p95 {_pct(results.latency_s, 95):.2f}s | errors {errors or 'none'} | {memory}",
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default="", help="HOST:PORT of a running gateway; empty starts one here")
    parser.add_argument("--concurrency", default="1,4,16", help="comma-separated stream counts, one run each")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long each run opens new streams")
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE, help="photo to animate")
    parser.add_argument("--duration-s", type=float, default=2.0, help="clip length per stream")
    parser.add_argument("--fps", type=float, default=25.0)
    parser.add_argument("--output-size", type=int, default=512)
    parser.add_argument("--timeout-s", type=float, default=300.0, help="deadline of each stream")
    parser.add_argument("--backoff-s", type=float, default=0.5, help="a worker's pause after a failed stream")
    parser.add_argument(
        "--model-repository", type=Path, default=REPO / "model_repository", help="for the embedded Triton"
    )
    parser.add_argument("--max-concurrent-calls", type=int, default=4, help="the started gateway's limit")
    parser.add_argument("--max-queued-calls", type=int, default=16, help="the started gateway's queue")
    args = parser.parse_args(argv)
    request = pb.AnimateRequest(
        image=args.image.read_bytes(),
        duration_s=args.duration_s,
        fps=args.fps,
        output_size=args.output_size,
        seed=1,
    )
    levels = [int(n) for n in args.concurrency.split(",") if n.strip()]
    print(
        f"load: {args.image.name}, {args.duration_s:g}s at {args.fps:g} fps, {args.output_size}px, "
        f"{args.seconds:g}s per level, levels {levels}; machine has {os.cpu_count()} CPUs",
        flush=True,
    )

    def run_levels(address: str, sampler: PeakRss | None) -> None:
        for concurrency in levels:
            if sampler is not None:
                sampler.reset()
            results, wall = asyncio.run(
                run_load(address, request, concurrency, args.seconds, args.timeout_s, args.backoff_s)
            )
            _report(concurrency, results, wall, dict(sampler.peaks) if sampler else None)

    if args.target:
        run_levels(args.target, None)
        return 0
    with (
        local_service(args.model_repository, args.max_concurrent_calls, args.max_queued_calls) as (
            address,
            pids,
        ),
        PeakRss(pids) as sampler,
    ):
        run_levels(address, sampler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
