"""Async Triton calls over gRPC, with Triton's failures translated into the gateway's error tree.

Every model call in the gateway goes through ``TritonClient.infer`` so deadlines, error
translation and call observation (metrics) live in one place.
"""

from __future__ import annotations

import contextlib
import ipaddress
import time
from collections.abc import Callable, Mapping, Sequence

import grpc
import numpy as np
import tritonclient.grpc.aio as triton_aio
from numpy.typing import NDArray
from tritonclient.grpc import InferInput, InferRequestedOutput, InferResult, KeepAliveOptions
from tritonclient.grpc._client import MAX_GRPC_MESSAGE_SIZE
from tritonclient.utils import InferenceServerException, np_to_triton_dtype, triton_to_np_dtype

from ..errors import BackendError, BackendUnavailable, DeadlineExceeded
from .shared_memory import OutputRegion, SharedOutputs

__all__ = ["OutputRegion", "TritonClient", "add_call_observer", "add_output_observer", "is_loopback"]

_UNAVAILABLE = ("StatusCode.UNAVAILABLE", "StatusCode.CANCELLED")
_observers: list[Callable[[str, float, bool], None]] = []
_output_observers: list[Callable[[str, str, int], None]] = []


def add_call_observer(observer: Callable[[str, float, bool], None]) -> None:
    """Call ``observer(model, seconds, ok)`` after every Triton inference call."""
    if observer not in _observers:
        _observers.append(observer)


def add_output_observer(observer: Callable[[str, str, int], None]) -> None:
    """Call ``observer(model, transport, nbytes)`` for every output received ("shared_memory" or "grpc")."""
    if observer not in _output_observers:
        _output_observers.append(observer)


def is_loopback(url: str) -> bool:
    """Whether ``host:port`` names this host, where Triton could share our ``/dev/shm``."""
    host = url.rsplit(":", 1)[0].strip("[]") if ":" in url else url
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class TritonClient:
    """One gRPC connection to Triton, shared by every request of the gateway.

    ``shared_memory`` lets large outputs come back through system shared memory (see
    :mod:`.shared_memory`); ``None`` uses it when ``url`` is a loopback address.
    """

    def __init__(self, url: str, default_timeout_s: float = 60.0, shared_memory: bool | None = None) -> None:
        self.url = url
        self.default_timeout_s = default_timeout_s
        self._client = triton_aio.InferenceServerClient(url=url, channel_args=_channel_args())
        self._shared = SharedOutputs(
            self._client,
            enabled=is_loopback(url) if shared_memory is None else shared_memory,
            retry_for_s=default_timeout_s + 10.0,
        )

    @property
    def uses_shared_memory(self) -> bool:
        """Whether outputs may come back through shared memory (false once Triton could not open it)."""
        return self._shared.enabled

    def output_region(self, nbytes: int) -> contextlib.AbstractAsyncContextManager[OutputRegion | None]:
        """A shared-memory region of ``nbytes`` for one request's outputs, or ``None`` (use gRPC).

        Pass it to :meth:`infer` as ``regions={"OUTPUT": region}`` for each call of the request.
        """
        return self._shared.region(nbytes)

    async def close(self) -> None:
        await self._shared.drain()
        await self._client.close()

    async def is_ready(self, models: Sequence[str] = ()) -> bool:
        """True when the server and the given models answer ready; False on any failure."""
        try:
            if not await self._client.is_server_ready():
                return False
            for model in models:
                if not await self._client.is_model_ready(model):
                    return False
        except (InferenceServerException, OSError, grpc.RpcError):
            return False
        return True

    async def model_names(self) -> list[str]:
        """Models in the repository that Triton reports READY."""
        try:
            index = await self._client.get_model_repository_index(as_json=True)
        except InferenceServerException as exc:
            raise _translate(exc, "repository index") from exc
        return sorted(m["name"] for m in index.get("models", []) if m.get("state") == "READY")

    async def infer(
        self,
        model: str,
        inputs: Mapping[str, NDArray[np.generic]],
        outputs: Sequence[str],
        timeout_s: float | None = None,
        regions: Mapping[str, OutputRegion | None] | None = None,
    ) -> dict[str, NDArray[np.generic]]:
        """Run one inference; ``timeout_s`` bounds the call (derive it from the caller's deadline).

        Outputs named in ``regions`` are written by Triton into that region (when it is not
        ``None``) and copied out, instead of coming back in the gRPC response.
        """
        request_inputs = []
        for name, array in inputs.items():
            tensor = InferInput(name, list(array.shape), np_to_triton_dtype(array.dtype))
            tensor.set_data_from_numpy(np.ascontiguousarray(array))
            request_inputs.append(tensor)
        shared = {name: region for name, region in (regions or {}).items() if region is not None}
        wanted = []
        for name in outputs:
            requested = InferRequestedOutput(name)
            if name in shared:
                requested.set_shared_memory(shared[name].name, shared[name].nbytes)
            wanted.append(requested)
        timeout = self.default_timeout_s if timeout_s is None else max(timeout_s, 0.001)
        start = time.perf_counter()
        ok = False
        try:
            result = await self._client.infer(model, request_inputs, outputs=wanted, client_timeout=timeout)
            arrays = {
                name: _read_shared(result, name, shared[name]) if name in shared else result.as_numpy(name)
                for name in outputs
            }
            received = {name: value for name, value in arrays.items() if value is not None and value.size}
            missing = [name for name in outputs if name not in received]
            if missing:
                raise BackendError(f"model {model} returned no data for {', '.join(missing)}")
            for name, value in received.items():
                transport = "shared_memory" if name in shared else "grpc"
                for observe in _output_observers:
                    observe(model, transport, int(value.nbytes))
            ok = True
            return received
        except InferenceServerException as exc:
            raise _translate(exc, model) from exc
        finally:
            elapsed = time.perf_counter() - start
            for observer in _observers:
                observer(model, elapsed, ok)


def _read_shared(result: InferResult, name: str, region: OutputRegion) -> NDArray[np.generic] | None:
    output = result.get_output(name)
    if output is None:
        return None
    dtype = np.dtype(triton_to_np_dtype(output.datatype))
    return region.read(tuple(int(d) for d in output.shape), dtype)


def _channel_args() -> list[tuple[str, int]]:
    """tritonclient's defaults, plus reconnect backoff capped at 2 s.

    gRPC's default backoff grows to two minutes while Triton is down, so after a long restart
    the gateway could stay UNAVAILABLE for half a minute with Triton already ready again.
    """
    keepalive = KeepAliveOptions()
    return [
        ("grpc.max_send_message_length", MAX_GRPC_MESSAGE_SIZE),
        ("grpc.max_receive_message_length", MAX_GRPC_MESSAGE_SIZE),
        ("grpc.keepalive_time_ms", keepalive.keepalive_time_ms),
        ("grpc.keepalive_timeout_ms", keepalive.keepalive_timeout_ms),
        ("grpc.keepalive_permit_without_calls", int(keepalive.keepalive_permit_without_calls)),
        ("grpc.http2.max_pings_without_data", keepalive.http2_max_pings_without_data),
        ("grpc.initial_reconnect_backoff_ms", 250),
        ("grpc.min_reconnect_backoff_ms", 250),
        ("grpc.max_reconnect_backoff_ms", 2000),
    ]


def _translate(exc: InferenceServerException, what: str) -> Exception:
    status = str(exc.status() or "")
    message = exc.message() or str(exc)
    if status == "StatusCode.DEADLINE_EXCEEDED" or "Deadline Exceeded" in message:
        return DeadlineExceeded(f"the model server did not answer in time ({what})")
    if status in _UNAVAILABLE or "failed to connect" in message.lower() or "unavailable" in message.lower():
        return BackendUnavailable(f"the model server is unavailable ({what}): {message}")
    return BackendError(f"the model server failed ({what}): {message}")
