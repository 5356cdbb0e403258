"""The `nostalgia` command: animate, enhance and inspect portrait photos from a terminal.

Parsing and error reporting live here; each subcommand's work is in `_commands`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from . import __version__, _commands
from ._client import Client
from ._connection import DEFAULT_SERVER, DEFAULT_TIMEOUT_S
from ._errors import NostalgiaError
from ._explain import EXIT_CODES_HELP, Context, ExitCode, explain, explain_os_error
from ._formats import CONTAINER_EXTENSIONS, EnhanceMode, Framing, UpscalerModel

__all__ = ["build_parser", "main"]

_DESCRIPTION = "Bring old portrait photos to life with the Nostalgia service."

_EXAMPLES = f"""\
examples:
  nostalgia animate grandma.jpg -o grandma.mp4 --driver smile
  nostalgia animate grandma.jpg -o frames/ --duration 2 --framing face
  nostalgia enhance grandma.jpg -o big.png --scale 4 --model fast
  nostalgia faces family.jpg --annotate faces.png
  nostalgia drivers

environment:
  NOSTALGIA_SERVER   service address (default {DEFAULT_SERVER})
  NOSTALGIA_API_KEY  API key sent as x-api-key

"""


def _connection_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """Adds the connection flags. On subcommands their defaults are suppressed, so a flag given
    before the subcommand is not overwritten by the subcommand's default."""

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("connection")
    group.add_argument(
        "--server",
        metavar="HOST:PORT",
        default=default(os.environ.get("NOSTALGIA_SERVER") or DEFAULT_SERVER),
        help="service address (env NOSTALGIA_SERVER, default %(default)s)" if not suppress else None,
    )
    group.add_argument(
        "--api-key",
        metavar="KEY",
        default=default(os.environ.get("NOSTALGIA_API_KEY")),
        help="API key, sent as x-api-key (env NOSTALGIA_API_KEY)",
    )
    group.add_argument("--tls", action="store_true", default=default(False), help="use TLS (system CA roots)")
    for flag, text in (
        ("--ca-cert", "CA bundle to trust (implies --tls)"),
        ("--cert", "client certificate for mutual TLS"),
        ("--key", "client private key for mutual TLS"),
    ):
        group.add_argument(flag, metavar="PEM", default=default(None), help=text)
    group.add_argument(
        "--server-name", metavar="NAME", default=default(None), help="name expected in the server certificate"
    )
    group.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        default=default(DEFAULT_TIMEOUT_S),
        help=f"give up after this long (default {DEFAULT_TIMEOUT_S:g}; 0 = wait forever)",
    )
    group.add_argument(
        "-q", "--quiet", action="store_true", default=default(False), help="print nothing but errors"
    )


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def _add_animate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    clips = " ".join(sorted(CONTAINER_EXTENSIONS))
    p = sub.add_parser(
        "animate",
        help="animate a face in a photo into a clip or frames",
        description="Animate one face of PHOTO. The output type follows -o: a clip "
        f"({clips}) or a directory for one image per frame (--frame-format).",
    )
    p.add_argument("photo", help="the photo (JPEG, PNG, WebP, BMP, TIFF); - reads standard input")
    p.add_argument("-o", "--output", required=True, help="output file (.mp4 .webm .gif .webp) or directory")
    motion = p.add_mutually_exclusive_group()
    motion.add_argument("-d", "--driver", help="motion preset (see `nostalgia drivers`; default nostalgia)")
    motion.add_argument("--keyframes", metavar="JSON", help="file with your own keyframes (a JSON list)")
    p.add_argument("--duration", type=float, metavar="S", help="clip length in seconds (default: driver's)")
    p.add_argument("--fps", type=float, help="frames per second (default 25)")
    p.add_argument("--size", type=_positive_int, metavar="PX", help="longest output side (default 512)")
    p.add_argument("--framing", choices=[f.value for f in Framing], help="whole photo or face crop")
    p.add_argument("--enhance", choices=[m.value for m in EnhanceMode], help="upscale the face first")
    p.add_argument("--face", type=_positive_int, default=0, metavar="N", help="face index (see `faces`)")
    p.add_argument("--seed", type=_positive_int, help="same seed, same clip (default random)")
    p.add_argument("--loop", action="store_true", help="make the clip loop without a jump")
    p.add_argument("--no-mark", action="store_true", help='leave out the small "AI animated" badge')
    p.add_argument("--quality", type=_positive_int, help="JPEG/WebP quality 1..100")
    p.add_argument("--bitrate", type=_positive_int, metavar="KBPS", help="video bitrate for .mp4/.webm")
    p.add_argument(
        "--keyframe-interval", type=_positive_int, metavar="N", help="frames between video keyframes"
    )
    p.add_argument(
        "--frame-format",
        choices=["jpeg", "png", "webp"],
        help="image type when -o is a directory (default jpeg)",
    )
    _connection_options(p, suppress=True)
    p.set_defaults(handler=_commands.animate)


def _add_enhance(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "enhance",
        help="upscale a photo (or one face) 2x or 4x",
        description="Upscale PHOTO with a super-resolution model; "
        "the image type follows -o (.png .jpg .webp).",
    )
    p.add_argument("photo", help="the photo; - reads standard input")
    p.add_argument("-o", "--output", required=True, help="output image (.png .jpg .webp)")
    p.add_argument("--scale", type=int, choices=[2, 4], help="upscaling factor (default 4)")
    p.add_argument("--model", choices=[m.value for m in UpscalerModel], help="quality (default) or fast")
    p.add_argument("--face-only", action="store_true", help="enhance only the aligned crop of one face")
    p.add_argument("--face", type=_positive_int, default=0, metavar="N", help="with --face-only: which face")
    p.add_argument("--quality", type=_positive_int, help="JPEG/WebP quality 1..100")
    _connection_options(p, suppress=True)
    p.set_defaults(handler=_commands.enhance)


def _add_faces(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "faces", help="list the faces found in a photo", description="List the faces in PHOTO, largest first."
    )
    p.add_argument("photo", help="the photo; - reads standard input")
    p.add_argument("--annotate", metavar="IMAGE", help="also write the photo with boxes and key points drawn")
    p.add_argument(
        "--landmarks", action="store_true", help="ask for the 468-point mesh too (drawn, in --json)"
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _connection_options(p, suppress=True)
    p.set_defaults(handler=_commands.faces)


def _add_drivers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("drivers", help="list the motion presets", description="List the motion presets.")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _connection_options(p, suppress=True)
    p.set_defaults(handler=_commands.drivers)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nostalgia",
        description=_DESCRIPTION,
        epilog=_EXAMPLES + EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _connection_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_animate(sub)
    _add_enhance(sub)
    _add_faces(sub)
    _add_drivers(sub)
    return parser


def _read_photo(name: str, stdin: TextIO) -> bytes:
    if name == "-":
        return stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode()
    return Path(name).read_bytes()


def _client(args: argparse.Namespace) -> Client:
    return Client(
        args.server,
        tls=True if (args.tls or args.ca_cert) else None,
        root_certificates=args.ca_cert,
        client_certificate=args.cert,
        client_key=args.key,
        server_name=args.server_name,
        api_key=args.api_key,
        timeout=args.timeout or None,
    )


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stdin: TextIO | None = None,
) -> int:
    """Runs the CLI and returns its exit code (see `nostalgia --help`)."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):  # --help, usage errors
            args = build_parser().parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    ctx = Context(
        command=args.command,
        server=args.server,
        photo=getattr(args, "photo", None),
        timeout=args.timeout or None,
        face_index=getattr(args, "face", 0),
    )

    def fail(message: str, code: ExitCode) -> int:
        err.write(f"nostalgia: {message}\n")
        return int(code)

    try:
        photo = _read_photo(args.photo, stdin or sys.stdin) if ctx.photo is not None else b""
    except OSError as exc:
        return fail(*explain_os_error(exc, ctx, writing=False))
    if ctx.photo is not None and not photo:
        message = f"{ctx.photo} is empty: give a photo file (JPEG, PNG, WebP, BMP or TIFF)"
        return fail(message, ExitCode.INVALID_INPUT)
    handler: Callable[[argparse.Namespace, Client, bytes, TextIO, TextIO], None] = args.handler
    try:
        client = _client(args)
    except OSError as exc:  # a certificate or key file
        return fail(*explain_os_error(exc, ctx, writing=False))
    except ValueError as exc:
        return fail(str(exc), ExitCode.USAGE)
    try:
        with client:
            handler(args, client, photo, out, err)
    except NostalgiaError as exc:
        return fail(*explain(exc, ctx))
    except OSError as exc:
        return fail(*explain_os_error(exc, ctx, writing=True))
    except ValueError as exc:
        return fail(str(exc), ExitCode.INVALID_INPUT)
    except KeyboardInterrupt:
        err.write("\n")
        return fail("interrupted", ExitCode.INTERRUPTED)
    return int(ExitCode.OK)


if __name__ == "__main__":
    sys.exit(main())
