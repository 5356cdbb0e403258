"""The SDK's exceptions, and the one place that turns gRPC status codes into them.

Callers catch meaning, not transport: a `NoFace` is handled differently from an `Overloaded`,
and neither should require importing grpc. Every exception raised for a failed call is one of::

    NostalgiaError                 base; .code (grpc.StatusCode or None), .details (server text)
    ├── InvalidInput               INVALID_ARGUMENT, OUT_OF_RANGE: the photo or an option is wrong
    │                              (also a ValueError; raised before sending for bad arguments)
    ├── NoFace                     FAILED_PRECONDITION: valid photo, but no usable face in it
    ├── ResourceExhausted          RESOURCE_EXHAUSTED
    │   ├── LimitExceeded            a size limit (photo, clip length, output size) was exceeded
    │   └── Overloaded               the service is at capacity right now; retrying later is safe
    ├── Unavailable                UNAVAILABLE: service (or its model server) not reachable; retryable
    ├── DeadlineExceeded           DEADLINE_EXCEEDED: the call's timeout passed first
    ├── AuthenticationError        UNAUTHENTICATED: missing or wrong API key
    ├── PermissionDenied           PERMISSION_DENIED: the key may not call this method
    ├── NotSupported               UNIMPLEMENTED: this server does not offer the method (yet)
    ├── Cancelled                  CANCELLED: the call was cancelled
    ├── ServerError                INTERNAL, UNKNOWN, DATA_LOSS and anything else: a server fault
    └── ProtocolError              the server's answer broke the API contract (no status code)

The original `grpc.RpcError` is kept as ``__cause__`` (``raise ... from exc``).
"""

from __future__ import annotations

import grpc

__all__ = [
    "AuthenticationError",
    "Cancelled",
    "DeadlineExceeded",
    "InvalidInput",
    "LimitExceeded",
    "NoFace",
    "NostalgiaError",
    "NotSupported",
    "Overloaded",
    "PermissionDenied",
    "ProtocolError",
    "ResourceExhausted",
    "ServerError",
    "Unavailable",
    "from_rpc_error",
]


class NostalgiaError(Exception):
    """Base of every error the SDK raises for a failed call.

    `code` is the gRPC status code when the failure came from the wire, `details` the server's
    message (or ours), and `method` the RPC name ("Animate", ...) when known.
    """

    def __init__(
        self, details: str, *, code: grpc.StatusCode | None = None, method: str | None = None
    ) -> None:
        super().__init__(details)
        self.details = details
        self.code = code
        self.method = method

    @property
    def retryable(self) -> bool:
        """Whether sending the same request again later can succeed without changing it."""
        return False


class InvalidInput(NostalgiaError, ValueError):
    """The photo or an option was rejected, by the server or before sending; details say why."""


class NoFace(NostalgiaError):
    """The photo decoded fine but holds no usable face (or not the one asked for)."""


class ResourceExhausted(NostalgiaError):
    """A limit was hit: see `LimitExceeded` (change the request) and `Overloaded` (retry later)."""


class LimitExceeded(ResourceExhausted):
    """A size limit was exceeded: a smaller photo, shorter clip or smaller output is needed."""


class Overloaded(ResourceExhausted):
    """The service is at capacity right now; the same request can succeed a little later."""

    @property
    def retryable(self) -> bool:
        return True


class Unavailable(NostalgiaError):
    """The service, or the model server behind it, could not be reached; retrying is safe."""

    @property
    def retryable(self) -> bool:
        return True


class DeadlineExceeded(NostalgiaError):
    """The call's timeout passed before the work finished."""

    @property
    def retryable(self) -> bool:
        return True


class AuthenticationError(NostalgiaError):
    """The service wants an API key and got none, or a wrong one."""


class PermissionDenied(NostalgiaError):
    """The API key is valid but not allowed to make this call."""


class NotSupported(NostalgiaError):
    """The server does not implement this method (an older or partial deployment)."""


class Cancelled(NostalgiaError):
    """The call was cancelled before it finished."""


class ServerError(NostalgiaError):
    """The server failed in a way that is not the caller's fault (INTERNAL, UNKNOWN, ...)."""


class ProtocolError(NostalgiaError):
    """The server's answer did not follow the API (for example, frames before metadata)."""


_BY_CODE: dict[grpc.StatusCode, type[NostalgiaError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidInput,
    grpc.StatusCode.OUT_OF_RANGE: InvalidInput,
    grpc.StatusCode.FAILED_PRECONDITION: NoFace,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.UNAUTHENTICATED: AuthenticationError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.UNIMPLEMENTED: NotSupported,
    grpc.StatusCode.CANCELLED: Cancelled,
}

# RESOURCE_EXHAUSTED covers two situations that need opposite reactions. The server says
# which in its message (these words mark the temporary one) or with a retry hint in its trailers.
_OVERLOAD_WORDS = ("capacity", "busy", "overload", "too many", "queue", "concurrent", "try again", "retry")


def _status(exc: grpc.RpcError) -> tuple[grpc.StatusCode | None, str]:
    """Code and details of an RpcError; both sync and aio errors are `grpc.Call`-like."""
    code_fn = getattr(exc, "code", None)
    details_fn = getattr(exc, "details", None)
    code = code_fn() if callable(code_fn) else None
    details = details_fn() if callable(details_fn) else None
    return (code if isinstance(code, grpc.StatusCode) else None), (details or str(exc) or "no details")


def _asks_for_retry(exc: grpc.RpcError) -> bool:
    """Whether the trailers carry a retry hint (gRPC's pushback or an HTTP-style retry-after)."""
    trailers_fn = getattr(exc, "trailing_metadata", None)
    trailers = trailers_fn() if callable(trailers_fn) else None
    keys = {str(key).lower() for key, _ in trailers or ()}
    return bool(keys & {"grpc-retry-pushback-ms", "retry-after"})


def from_rpc_error(exc: grpc.RpcError, method: str | None = None) -> NostalgiaError:
    """The SDK exception for a failed call; raise it with ``raise from_rpc_error(e) from e``."""
    code, details = _status(exc)
    cls: type[NostalgiaError]
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        lowered = details.lower()
        temporary = any(word in lowered for word in _OVERLOAD_WORDS) or _asks_for_retry(exc)
        cls = Overloaded if temporary else LimitExceeded
    elif code is not None and code in _BY_CODE:
        cls = _BY_CODE[code]
    else:
        cls = ServerError
    return cls(details, code=code, method=method)
