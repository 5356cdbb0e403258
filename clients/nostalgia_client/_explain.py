"""What the CLI tells a person when something fails, and the exit code scripts can branch on.

Each failure class gets its own code and a message that names the thing that went wrong and the
next step to take, because "StatusCode.FAILED_PRECONDITION" helps nobody at a terminal.
"""

from __future__ import annotations

import enum
import errno
from dataclasses import dataclass

from ._errors import (
    AuthenticationError,
    Cancelled,
    DeadlineExceeded,
    InvalidInput,
    LimitExceeded,
    NoFace,
    NostalgiaError,
    NotSupported,
    Overloaded,
    PermissionDenied,
    Unavailable,
)

__all__ = ["EXIT_CODES_HELP", "Context", "ExitCode", "explain", "explain_os_error"]


class ExitCode(enum.IntEnum):
    OK = 0
    FAILURE = 1
    USAGE = 2
    INVALID_INPUT = 3
    NO_FACE = 4
    LIMIT_EXCEEDED = 5
    BUSY = 6
    UNAVAILABLE = 7
    TIMEOUT = 8
    AUTH = 9
    NOT_SUPPORTED = 10
    FILE_ERROR = 11
    INTERRUPTED = 130


EXIT_CODES_HELP = """\
exit codes:
  0    success
  1    unexpected failure (a server-side error or a bug; the message has details)
  2    wrong command-line usage
  3    the photo or an option was rejected (the message says which)
  4    no usable face in the photo
  5    a size limit was exceeded (photo, clip length or output size)
  6    the service is busy: try again shortly
  7    cannot reach the service (or its model server)
  8    timed out (see --timeout)
  9    API key missing, wrong or not allowed (see --api-key)
  10   the service does not offer this command (yet)
  11   cannot read the photo or write the output file
  130  interrupted
"""


@dataclass(frozen=True)
class Context:
    """What the command was doing, to phrase messages in the user's terms."""

    command: str
    server: str
    photo: str | None = None
    timeout: float | None = None
    face_index: int = 0


def _said(exc: NostalgiaError) -> str:
    return f"\n  (the service said: {exc.details})" if exc.details else ""


def _transport(exc: NostalgiaError) -> str:
    """Details that may come from the local gRPC library rather than the service."""
    return f"\n  (details: {exc.details})" if exc.details else ""


def explain(exc: NostalgiaError, ctx: Context) -> tuple[str, ExitCode]:
    """A message for `exc` and the exit code for its class."""
    photo = ctx.photo or "the photo"
    local = exc.code is None
    if isinstance(exc, NoFace):
        if ctx.face_index:
            return (
                f"cannot use face #{ctx.face_index} of {photo}: run `nostalgia faces {photo}` to see the "
                f"faces found and pick one with --face{_said(exc)}",
                ExitCode.NO_FACE,
            )
        return (
            f"no face found in {photo}: try a photo where a face is clearly visible "
            f"(facing the camera, not too small or blurred){_said(exc)}",
            ExitCode.NO_FACE,
        )
    if isinstance(exc, InvalidInput):
        if local:
            return exc.details, ExitCode.INVALID_INPUT
        return f"the service rejected the request: {exc.details}", ExitCode.INVALID_INPUT
    if isinstance(exc, LimitExceeded):
        return (
            f"too large: {exc.details}\n  use a smaller photo, a shorter --duration or a smaller --size",
            ExitCode.LIMIT_EXCEEDED,
        )
    if isinstance(exc, Overloaded):
        return f"the service at {ctx.server} is busy: try again in a few seconds{_said(exc)}", ExitCode.BUSY
    if isinstance(exc, Unavailable):
        return (
            f"cannot reach the service at {ctx.server}: is it running? start it with `make run`, "
            f"or point --server (or NOSTALGIA_SERVER) at it{_transport(exc)}",
            ExitCode.UNAVAILABLE,
        )
    if isinstance(exc, DeadlineExceeded):
        waited = f" after {ctx.timeout:g} s" if ctx.timeout else ""
        hint = "raise --timeout"
        if ctx.command == "animate":
            hint += ", or ask for less work (--duration, --size, --enhance off)"
        return f"timed out{waited} waiting for the service at {ctx.server}: {hint}", ExitCode.TIMEOUT
    if isinstance(exc, AuthenticationError):
        return (
            f"the service at {ctx.server} needs a valid API key: pass --api-key or set "
            f"NOSTALGIA_API_KEY{_said(exc)}",
            ExitCode.AUTH,
        )
    if isinstance(exc, PermissionDenied):
        return (
            f"this API key may not use `{ctx.command}` on {ctx.server}: ask for a key with access"
            f"{_said(exc)}",
            ExitCode.AUTH,
        )
    if isinstance(exc, NotSupported):
        return (
            f"the service at {ctx.server} does not offer this yet (it answered UNIMPLEMENTED to "
            f"`{ctx.command}`): update the server, or use a deployment that has it{_said(exc)}",
            ExitCode.NOT_SUPPORTED,
        )
    if isinstance(exc, Cancelled):
        return f"the request was cancelled{_said(exc)}", ExitCode.INTERRUPTED
    kind = exc.code.name if exc.code is not None else type(exc).__name__
    return (
        f"the service at {ctx.server} failed ({kind}): {exc.details}\n"
        "  this is not a problem with your input; if it persists, report it with the server logs",
        ExitCode.FAILURE,
    )


def explain_os_error(exc: OSError, ctx: Context, writing: bool) -> tuple[str, ExitCode]:
    """A message for a local file problem: the photo (reading) or the output (writing)."""
    name = exc.filename if exc.filename is not None else (ctx.photo or "file")
    reason = exc.strerror or str(exc)
    if not writing and exc.errno == errno.ENOENT:
        return f"cannot read {name}: no such file", ExitCode.FILE_ERROR
    verb = "write" if writing else "read"
    return f"cannot {verb} {name}: {reason}", ExitCode.FILE_ERROR
