"""Large model outputs through system shared memory, when Triton runs on this host.

A chunk of 25 rendered 512x512 frames is 19.7 MB. Sent back over gRPC it is serialised by
Triton, copied through the loopback socket and parsed again here, which on a small CPU cost a
fifth of the motion model's own time. When Triton can open this host's ``/dev/shm``, it writes
the output straight into a region we own instead, and the gateway copies it out once.

A region belongs to one request: created when the request starts rendering, used for each of
its chunks in turn, and gone when the request ends, so no frame outlives its request here.
Its file is unlinked as soon as Triton has mapped it; nothing is left in ``/dev/shm`` even if
the gateway dies. Triton refuses to unregister a region that a request it is still running
writes into (a cancelled call whose batch is under way), so release retries in the background
until that batch is done.

Whether shared memory is used is settled by the first registration: a Triton that cannot open
our region (another host, another container's ``/dev/shm``) answers with an error, and every
later call goes over gRPC, logged once. A region that cannot be allocated (``/dev/shm`` full)
means that request goes over gRPC.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mmap
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import numpy as np
import tritonclient.grpc.aio as triton_aio
from numpy.typing import NDArray
from tritonclient.utils import InferenceServerException

__all__ = ["REGION_PREFIX", "OutputRegion", "SharedOutputs"]

_LOG = logging.getLogger("nostalgia.inference")
_SHM_DIR = Path("/dev/shm")
_IN_USE = "currently in use"
# Names of the gateway's regions, in /dev/shm and in Triton: this, the process id and a UUID.
REGION_PREFIX = "nostalgia-frames-"


class OutputRegion:
    """A registered shared-memory region of ``nbytes`` that Triton writes one output into."""

    def __init__(self, name: str, nbytes: int, mapping: mmap.mmap) -> None:
        self.name = name
        self.nbytes = nbytes
        self._mapping = mapping

    def read(self, shape: tuple[int, ...], dtype: np.dtype[np.generic]) -> NDArray[np.generic]:
        """A copy of the output Triton wrote (the region is reused for the request's next call)."""
        count = int(np.prod(shape, dtype=np.int64))
        if count * dtype.itemsize > self.nbytes:
            raise ValueError(f"an output of shape {shape} does not fit the {self.nbytes}-byte region")
        # A copy, not a view: a view exported from the mapping would keep it from closing.
        return np.frombuffer(self._mapping, dtype=dtype, count=count).reshape(shape).copy()

    def close(self) -> None:
        self._mapping.close()


class SharedOutputs:
    """Creates, registers and releases output regions for one Triton client."""

    def __init__(
        self, client: triton_aio.InferenceServerClient, enabled: bool, retry_for_s: float = 120.0
    ) -> None:
        self._client = client
        self._retry_for_s = retry_for_s
        self.enabled = enabled
        self._releasing: set[asyncio.Task[None]] = set()

    @contextlib.asynccontextmanager
    async def region(self, nbytes: int) -> AsyncIterator[OutputRegion | None]:
        """A region for the duration of the ``async with``; ``None`` when outputs must go over gRPC."""
        region = await self._create(nbytes) if self.enabled and nbytes > 0 else None
        try:
            yield region
        finally:
            if region is not None:
                region.close()
                self._release(region.name)

    async def _create(self, nbytes: int) -> OutputRegion | None:
        name = f"{REGION_PREFIX}{os.getpid()}-{uuid.uuid4().hex}"
        path = _SHM_DIR / name
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        except OSError as exc:
            _LOG.debug("no shared memory region: %s", exc)
            return None
        try:
            # Reserve the pages now: tmpfs grows lazily, and a full /dev/shm would otherwise
            # surface as SIGBUS in Triton when it writes the output.
            os.posix_fallocate(fd, 0, nbytes)
            mapping = mmap.mmap(fd, nbytes)
        except OSError as exc:
            path.unlink(missing_ok=True)
            _LOG.info("output goes over gRPC: no %d bytes in %s (%s)", nbytes, _SHM_DIR, exc)
            return None
        finally:
            os.close(fd)  # the mapping keeps the region alive
        try:
            await self._client.register_system_shared_memory(name, f"/{name}", nbytes)
        except InferenceServerException as exc:
            mapping.close()
            if "Unable to open shared memory region" in (exc.message() or ""):
                self.enabled = False
                _LOG.warning("Triton cannot open this host's shared memory, so outputs go over gRPC: %s", exc)
            return None
        except BaseException:
            # Cancelled while registering: Triton may have mapped it all the same.
            mapping.close()
            self._release(name)
            raise
        finally:
            path.unlink(missing_ok=True)
        return OutputRegion(name, nbytes, mapping)

    def _release(self, name: str) -> None:
        task = asyncio.get_running_loop().create_task(self._unregister(name), name=f"release-{name}")
        self._releasing.add(task)
        task.add_done_callback(self._releasing.discard)

    async def _unregister(self, name: str) -> None:
        """Unregister ``name``, waiting while Triton still writes a cancelled call's output into it."""
        delay, waited = 0.05, 0.0
        while True:
            try:
                await self._client.unregister_system_shared_memory(name)
                return
            except InferenceServerException as exc:
                if _IN_USE not in (exc.message() or "") or waited >= self._retry_for_s:
                    # Triton is gone (its registrations went with it) or never let go: nothing to free here.
                    _LOG.debug("shared memory region %s not unregistered: %s", name, exc)
                    return
            except (grpc.RpcError, OSError) as exc:
                _LOG.debug("shared memory region %s not unregistered: %s", name, exc)
                return
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 1.0)

    async def drain(self, timeout_s: float = 5.0) -> None:
        """Wait (bounded) for pending releases, so a closing client leaves nothing registered."""
        if self._releasing:
            await asyncio.wait(set(self._releasing), timeout=timeout_s)
