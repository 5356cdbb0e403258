"""The embedded Triton: the ``tritonserver`` binary shipped in the ``nvidia-pytriton`` wheel.

That wheel carries Triton with only the python backend, plus a python-backend stub per Python
version that must sit beside ``libtriton_python.so``. We assemble a private backend directory
of symlinks (symlinks, because the stub finds its CUDA runtime through an ``$ORIGIN`` rpath)
and start the server with our virtual environment's ``bin`` first on ``PATH``: the stub embeds
the system libpython and finds numpy and torch through the first ``python3`` there.

The server also gets the settings in :data:`RUNTIME_ENV` (unless the caller set them):

- Allocator: by default glibc hands every large block back to the kernel when it is freed, so
  each request of the motion model faults a few hundred megabytes of fresh pages in again (its
  sampling grid, float frames and output); on a small virtual machine that page-fault work cost
  as much as the rendering itself. Keeping large blocks in the heap makes the model about 1.5x
  faster on CPU. They are glibc's single-setting variables rather than one ``GLIBC_TUNABLES``
  list because ``tritonserver`` passes only the first entry of that list on to the backend stubs.
- OpenMP: torch's worker threads spin for a while after each parallel operation by default.
  Beside the gateway, which encodes the frames on the same cores while the next chunk renders,
  that spinning takes the encoder's core and the straggling thread holds back every operation;
  sleeping at once (``PASSIVE``) made the reference request about 10% faster end to end on two
  cores, and the model alone no slower.

The python backend passes tensors through ``/dev/shm`` regions of its own, which it removes when
the server shuts down cleanly but not when the server is killed (a crash, an OOM kill): each
dead server would leave 64 MiB per model behind until the host reboots. Every embedded server
therefore gets a prefix of its own for those regions, and whatever carries it is removed once
the process is gone, however it ended.

A server that ends without being asked to (a crash, an OOM kill) is reported once, at ERROR,
with how it ended and the last lines it printed whatever their level: a crash's stack trace
comes as plain lines that the usual filtering would drop, and those lines are what tells an
operator (or a red test run) why the model server went away.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "RUNTIME_ENV",
    "EmbeddedTriton",
    "TritonStartError",
    "describe_exit",
    "free_port",
    "log_level",
]

_LOG = logging.getLogger("nostalgia.triton")
_SHM_DIR = Path("/dev/shm")
# Blocks under 1 GiB come from the heap, and up to 512 MiB of free heap is kept for the next request;
# idle OpenMP threads sleep instead of spinning.
RUNTIME_ENV = {
    "MALLOC_MMAP_THRESHOLD_": "1073741824",
    "MALLOC_TRIM_THRESHOLD_": "536870912",
    "OMP_WAIT_POLICY": "PASSIVE",
}
_LEVELS = {"I": logging.INFO, "W": logging.WARNING, "E": logging.ERROR, "F": logging.CRITICAL}
# What Triton says at start-up on a host without a GPU: expected there, so not an operator's alarm.
_NO_GPU_NOTICES = (
    "CudaDriverHelper has not been initialized",
    "Unable to allocate pinned system memory",
    "DCGM unable to start",
)
# Lines of Triton's output kept for the report of an unexpected exit.
_RECENT_LINES = 40


def log_level(line: str) -> int:
    """The logging level for one line of Triton's output (glog prefix: I, W, E or F and a date)."""
    if not line[1:2].isdigit():
        return logging.INFO
    if any(notice in line for notice in _NO_GPU_NOTICES):
        return logging.INFO
    return _LEVELS.get(line[0], logging.INFO)


def describe_exit(returncode: int) -> str:
    """How a process ended, from ``Popen.returncode`` (negative: the signal that killed it)."""
    if returncode >= 0:
        return f"exited with code {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = f"signal {-returncode}"
    return f"killed by {name}"


class TritonStartError(RuntimeError):
    """The embedded Triton could not be started or did not become ready in time."""


def free_port() -> int:
    """A TCP port that was free a moment ago on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pytriton_dir() -> Path:
    try:
        import pytriton
    except ImportError as exc:
        raise TritonStartError("nvidia-pytriton is not installed: run `make setup`") from exc
    return Path(pytriton.__file__).resolve().parent / "tritonserver"


@dataclass
class EmbeddedTriton:
    """A ``tritonserver`` child process serving ``model_repository``. Ports of 0 are picked free."""

    model_repository: Path
    grpc_port: int = 0
    http_port: int = 0
    metrics_port: int = 0
    shm_bytes: int = 64 * 1024 * 1024

    def __post_init__(self) -> None:
        self.grpc_port = self.grpc_port or free_port()
        self.http_port = self.http_port or free_port()
        self.metrics_port = self.metrics_port or free_port()
        self._process: subprocess.Popen[str] | None = None
        self._workdir: Path | None = None
        self._log_thread: threading.Thread | None = None
        self._stopping = False
        self._recent: collections.deque[str] = collections.deque(maxlen=_RECENT_LINES)
        # How the server ended without being asked to (``describe_exit``); None while it runs, and when
        # stop() was what ended it.
        self.exit_reason: str | None = None
        # The python backend names its shared-memory regions with this, then a UUID.
        self.shm_prefix = f"nostalgia-triton-{os.getpid()}-{uuid.uuid4().hex[:8]}-"

    @property
    def grpc_url(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def command(self) -> list[str]:
        assert self._workdir is not None
        return [
            str(_pytriton_dir() / "bin" / "tritonserver"),
            f"--model-repository={self.model_repository.resolve()}",
            f"--backend-directory={self._workdir / 'backends'}",
            f"--grpc-port={self.grpc_port}",
            f"--http-port={self.http_port}",
            f"--metrics-port={self.metrics_port}",
            "--allow-metrics=true",
            "--allow-cpu-metrics=true",
            "--strict-readiness=true",
            "--exit-on-error=true",
            "--log-verbose=0",
            f"--backend-config=python,shm-region-prefix-name={self.shm_prefix}",
            f"--backend-config=python,shm-default-byte-size={self.shm_bytes}",
            f"--backend-config=python,shm-growth-byte-size={self.shm_bytes}",
        ]

    def start(self, timeout_s: float = 300.0) -> None:
        """Start the server and block until it and every model are ready."""
        if self._process is not None and self._process.poll() is None:
            return
        self._stopping = False
        self.exit_reason = None
        self._recent.clear()
        self._workdir = Path(tempfile.mkdtemp(prefix="nostalgia-triton-"))
        self._link_backend(self._workdir / "backends" / "python")
        env = dict(os.environ)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        for name, value in RUNTIME_ENV.items():
            env.setdefault(name, value)
        _LOG.info(
            "starting embedded triton", extra={"grpc_port": self.grpc_port, "http_port": self.http_port}
        )
        self._process = subprocess.Popen(
            self.command(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            start_new_session=True,
        )
        self._log_thread = threading.Thread(target=self._forward_logs, name="triton-log", daemon=True)
        self._log_thread.start()
        self.wait_ready(timeout_s)

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                code = None if self._process is None else self._process.returncode
                raise TritonStartError(
                    f"tritonserver exited with code {code} before becoming ready; see its log"
                )
            if self.is_ready():
                _LOG.info("embedded triton ready", extra={"pid": self.pid})
                return
            time.sleep(0.25)
        self.stop()
        raise TritonStartError(f"tritonserver was not ready within {timeout_s:.0f}s")

    def is_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.http_url}/v2/health/ready", timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop(self, timeout_s: float = 30.0) -> None:
        """Ask the server to exit (SIGTERM), then kill it if it does not within ``timeout_s``."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            self._stopping = True
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        if self._log_thread is not None:
            self._log_thread.join(timeout=5)
            self._log_thread = None
        if process is not None and process.stdout is not None:
            process.stdout.close()
        if process is not None:
            self._remove_backend_regions()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def kill(self) -> None:
        """Stop abruptly (SIGKILL of the whole process group), as a crash would, then tidy up our side."""
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(10)
        self.stop()

    def recent_log(self) -> list[str]:
        """The last lines the server printed, of every level."""
        return list(self._recent)

    def backend_regions(self) -> list[Path]:
        """The python backend's shared-memory files of this server (none once it has stopped)."""
        return sorted(_SHM_DIR.glob(f"{self.shm_prefix}*"))

    def _remove_backend_regions(self) -> None:
        for path in self.backend_regions():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                _LOG.info("removed a shared-memory region the server left", extra={"path": str(path)})

    def _link_backend(self, target: Path) -> None:
        source = _pytriton_dir()
        stub = source / "python_backend_stubs" / f"{sys.version_info.major}.{sys.version_info.minor}"
        target.mkdir(parents=True)
        for path in (
            source / "backends" / "python" / "libtriton_python.so",
            source / "backends" / "python" / "triton_python_backend_utils.py",
            stub / "triton_python_backend_stub",
        ):
            if not path.exists():
                raise TritonStartError(f"the nvidia-pytriton wheel lacks {path}")
            (target / path.name).symlink_to(path)

    def _forward_logs(self) -> None:
        process = self._process
        if process is None or process.stdout is None:
            return
        for line in process.stdout:
            text = line.rstrip()
            if not text:
                continue
            self._recent.append(text)
            _LOG.log(log_level(text), text)
        # End of output: the server has exited or is about to; a stop we asked for is no news.
        returncode = process.wait()
        if self._stopping:
            return
        self.exit_reason = describe_exit(returncode)
        _LOG.error(
            "tritonserver ended unexpectedly (%s); its last lines:\n%s",
            self.exit_reason,
            "\n".join(self._recent),
            extra={"pid": process.pid, "returncode": returncode},
        )
