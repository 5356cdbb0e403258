"""The gateway's error tree, and the one place where it becomes a gRPC status.

    NostalgiaError                 base; never raised itself
    ├── InvalidInput               INVALID_ARGUMENT: the request or the photo is wrong
    ├── LimitExceeded              RESOURCE_EXHAUSTED: a size limit was exceeded
    ├── Overloaded                 RESOURCE_EXHAUSTED: at capacity right now; retry later
    ├── NoFace                     FAILED_PRECONDITION: a valid photo with nothing to animate
    ├── BackendUnavailable         UNAVAILABLE: Triton cannot be reached or is not ready
    ├── BackendError               INTERNAL: Triton answered with an error
    ├── DeadlineExceeded           DEADLINE_EXCEEDED: the caller's deadline passed
    └── Unsupported                UNIMPLEMENTED: a valid option this build does not offer

Lower layers (decoders, tritonclient) raise their own exceptions; the module that calls them
translates with ``raise InvalidInput(...) from exc`` so the cause stays in the logs while the
caller sees a message written for them.
"""

from __future__ import annotations

import grpc

__all__ = [
    "BackendError",
    "BackendUnavailable",
    "DeadlineExceeded",
    "InvalidInput",
    "LimitExceeded",
    "NoFace",
    "NostalgiaError",
    "Overloaded",
    "Unsupported",
    "status_of",
]


class NostalgiaError(Exception):
    """Base of every error the gateway reports to a caller."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL


class InvalidInput(NostalgiaError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class LimitExceeded(NostalgiaError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Overloaded(NostalgiaError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class NoFace(NostalgiaError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class BackendUnavailable(NostalgiaError):
    code = grpc.StatusCode.UNAVAILABLE


class BackendError(NostalgiaError):
    code = grpc.StatusCode.INTERNAL


class DeadlineExceeded(NostalgiaError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class Unsupported(NostalgiaError):
    code = grpc.StatusCode.UNIMPLEMENTED


def status_of(exc: NostalgiaError) -> tuple[grpc.StatusCode, str]:
    """The status code and caller-facing message for an error."""
    return exc.code, str(exc) or exc.__class__.__name__
