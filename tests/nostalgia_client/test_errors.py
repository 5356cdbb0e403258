"""Status codes from a real gRPC server become the documented exceptions, messages and exit codes."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import grpc
import pytest

import nostalgia_client as nc
from nostalgia_client.cli import main

from .conftest import ScriptedServer, frame_response, metadata_response

CASES = [
    # code, server details, trailers, SDK exception, CLI exit code, words the CLI message must hold
    (
        grpc.StatusCode.INVALID_ARGUMENT,
        "fps must be between 1 and 60, not 500",
        (),
        nc.InvalidInput,
        3,
        "the service rejected the request: fps must be between 1 and 60",
    ),
    (grpc.StatusCode.OUT_OF_RANGE, "face_index 3 out of range", (), nc.InvalidInput, 3, "face_index 3"),
    (
        grpc.StatusCode.FAILED_PRECONDITION,
        "no face found in the photo",
        (),
        nc.NoFace,
        4,
        "no face found in photo.jpg: try a photo where a face is clearly visible",
    ),
    (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "photo is 20000x20000 pixels; the limit is 40 megapixels",
        (),
        nc.LimitExceeded,
        5,
        "too large: photo is 20000x20000",
    ),
    (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "at capacity: 8 animations in progress",
        (),
        nc.Overloaded,
        6,
        "is busy: try again in a few seconds",
    ),
    (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "admission refused",
        (("grpc-retry-pushback-ms", "500"),),
        nc.Overloaded,
        6,
        "is busy",
    ),
    (
        grpc.StatusCode.UNAVAILABLE,
        "the model server is not ready",
        (),
        nc.Unavailable,
        7,
        "is it running? start it with `make run`",
    ),
    (grpc.StatusCode.DEADLINE_EXCEEDED, "deadline passed", (), nc.DeadlineExceeded, 8, "timed out"),
    (grpc.StatusCode.UNAUTHENTICATED, "missing x-api-key", (), nc.AuthenticationError, 9, "--api-key"),
    (grpc.StatusCode.PERMISSION_DENIED, "key lacks animate", (), nc.PermissionDenied, 9, "may not use"),
    (
        grpc.StatusCode.UNIMPLEMENTED,
        "ListDrivers is not available in this build",
        (),
        nc.NotSupported,
        10,
        "does not offer",
    ),
    (grpc.StatusCode.INTERNAL, "internal error in Animate", (), nc.ServerError, 1, "failed (INTERNAL)"),
    (grpc.StatusCode.DATA_LOSS, "bytes lost", (), nc.ServerError, 1, "failed (DATA_LOSS)"),
]
IDS = [f"{c[0].name}-{c[3].__name__}" for c in CASES]


@pytest.mark.parametrize(("code", "details", "trailers", "error", "exit_code", "words"), CASES, ids=IDS)
def test_sync_client_raises_the_documented_exception(
    scripted: ScriptedServer,
    code: grpc.StatusCode,
    details: str,
    trailers: tuple[tuple[str, str], ...],
    error: type[nc.NostalgiaError],
    exit_code: int,
    words: str,
) -> None:
    scripted.script.status, scripted.script.trailers = (code, details), trailers
    with nc.Client(scripted.address) as client:
        with pytest.raises(error) as caught:
            client.list_drivers()
        assert caught.value.code == code and caught.value.details == details
        assert caught.value.method == "ListDrivers"
        assert isinstance(caught.value.__cause__, grpc.RpcError)
        with pytest.raises(error):  # the stream reports the failure before returning
            client.animate(b"photo bytes")


@pytest.mark.parametrize(("code", "details", "trailers", "error", "exit_code", "words"), CASES, ids=IDS)
def test_async_client_raises_the_documented_exception(
    scripted: ScriptedServer,
    code: grpc.StatusCode,
    details: str,
    trailers: tuple[tuple[str, str], ...],
    error: type[nc.NostalgiaError],
    exit_code: int,
    words: str,
) -> None:
    scripted.script.status, scripted.script.trailers = (code, details), trailers

    async def run() -> None:
        async with nc.AsyncClient(scripted.address) as client:
            with pytest.raises(error) as caught:
                await client.detect_faces(b"photo bytes")
            assert caught.value.code == code and caught.value.details == details
            assert isinstance(caught.value.__cause__, grpc.aio.AioRpcError)
            with pytest.raises(error):
                await client.animate(b"photo bytes")

    asyncio.run(run())


@pytest.mark.parametrize(("code", "details", "trailers", "error", "exit_code", "words"), CASES, ids=IDS)
def test_cli_explains_the_failure_and_exits_with_its_code(
    scripted: ScriptedServer,
    tmp_path: Path,
    code: grpc.StatusCode,
    details: str,
    trailers: tuple[tuple[str, str], ...],
    error: type[nc.NostalgiaError],
    exit_code: int,
    words: str,
) -> None:
    scripted.script.status, scripted.script.trailers = (code, details), trailers
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"not really a jpeg; the scripted server never decodes it")
    out, err = io.StringIO(), io.StringIO()
    argv = ["--server", scripted.address, "animate", str(photo), "-o", str(tmp_path / "clip.mp4")]
    assert main(argv, stdout=out, stderr=err) == exit_code
    message = err.getvalue().replace(str(tmp_path) + "/", "")
    assert message.startswith("nostalgia: ") and words in message, message
    assert out.getvalue() == ""
    assert not (tmp_path / "clip.mp4").exists() and not (tmp_path / "clip.mp4.part").exists()


def test_unreachable_service_tells_how_to_start_it(dead_address: str, tmp_path: Path) -> None:
    err = io.StringIO()
    code = main(["drivers", "--server", dead_address, "--timeout", "5"], stdout=io.StringIO(), stderr=err)
    assert code == 7
    expected = f"cannot reach the service at {dead_address}: is it running? start it with `make run`"
    assert expected in err.getvalue()
    with nc.Client(dead_address, timeout=5) as client, pytest.raises(nc.Unavailable) as caught:
        client.list_drivers()
    assert caught.value.retryable


def test_deadline_from_the_client_timeout(scripted: ScriptedServer) -> None:
    scripted.script.delay_s = 1.0
    with nc.Client(scripted.address, timeout=0.2) as client:
        with pytest.raises(nc.DeadlineExceeded):
            client.list_drivers()
        assert client.list_drivers(timeout=5)[0].name == "blink"  # per-call override
    err = io.StringIO()
    argv = ["drivers", "--server", scripted.address, "--timeout", "0.2"]
    assert main(argv, stdout=io.StringIO(), stderr=err) == 8
    assert "timed out after 0.2 s" in err.getvalue() and "raise --timeout" in err.getvalue()


def test_messages_larger_than_the_limit_are_a_limit_error(scripted: ScriptedServer) -> None:
    scripted.script.responses = [
        metadata_response(),
        frame_response(0, b"x" * 50_000),
    ]
    with nc.Client(scripted.address, max_message_bytes=10_000) as client:
        animation = client.animate(b"photo")
        with pytest.raises(nc.LimitExceeded, match="larger than max"):
            list(animation)


def test_api_key_is_sent_as_metadata(scripted: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with nc.Client(scripted.address, api_key="s3cret") as client:
        client.list_drivers()
    assert scripted.script.seen_metadata[-1]["x-api-key"] == "s3cret"

    assert main(["drivers", "--server", scripted.address, "--api-key", "k1"], stdout=io.StringIO()) == 0
    assert scripted.script.seen_metadata[-1]["x-api-key"] == "k1"

    monkeypatch.setenv("NOSTALGIA_API_KEY", "from-env")
    monkeypatch.setenv("NOSTALGIA_SERVER", scripted.address)
    assert main(["drivers"], stdout=io.StringIO()) == 0
    assert scripted.script.seen_metadata[-1]["x-api-key"] == "from-env"

    with nc.Client() as client:  # the SDK reads the same variables
        client.list_drivers()
    assert scripted.script.seen_metadata[-1]["x-api-key"] == "from-env"

    monkeypatch.delenv("NOSTALGIA_API_KEY")
    assert main(["drivers"], stdout=io.StringIO()) == 0
    assert "x-api-key" not in scripted.script.seen_metadata[-1]


def test_local_file_problems_exit_11(tmp_path: Path, scripted: ScriptedServer) -> None:
    err = io.StringIO()
    assert main(["faces", str(tmp_path / "missing.jpg"), "--server", scripted.address], stderr=err) == 11
    assert f"cannot read {tmp_path / 'missing.jpg'}: no such file" in err.getvalue()

    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"x")
    blocker = tmp_path / "file"
    blocker.write_text("a file where a directory is needed")
    err = io.StringIO()
    argv = ["--server", scripted.address, "enhance", str(photo), "-o", str(blocker / "big.png")]
    assert main(argv, stdout=io.StringIO(), stderr=err) == 11
    assert "cannot write" in err.getvalue()


def test_unavailable_calls_are_resent(scripted: ScriptedServer) -> None:
    scripted.script.status = (grpc.StatusCode.UNAVAILABLE, "the model server is restarting")
    scripted.script.failures_left = 2
    with nc.Client(scripted.address) as client:  # two retries by default
        assert client.list_drivers()[0].name == "blink"
    assert len(scripted.script.seen_requests) == 3

    scripted.script.failures_left = 1
    with nc.Client(scripted.address, retries=0) as client, pytest.raises(nc.Unavailable, match="restarting"):
        client.list_drivers()

    scripted.script.failures_left = 1
    scripted.script.status = (grpc.StatusCode.RESOURCE_EXHAUSTED, "photo too large")
    with nc.Client(scripted.address) as client, pytest.raises(nc.LimitExceeded):
        client.list_drivers()  # only UNAVAILABLE is retried
    assert len(scripted.script.seen_requests) == 5

    with pytest.raises(ValueError, match=r"retries must be within 0\.\.4"):
        nc.Client(scripted.address, retries=9)
