"""The client holds the server to the Animate stream's contract and never leaves half-written files."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest

import nostalgia_client as nc
from nostalgia.v1 import nostalgia_pb2 as pb

from .conftest import ScriptedServer, frame_response, metadata_response, summary_response


def test_frames_before_metadata_are_a_protocol_error(scripted: ScriptedServer) -> None:
    scripted.script.responses = [frame_response(0, b"a"), summary_response(1)]
    with nc.Client(scripted.address) as client, pytest.raises(nc.ProtocolError, match="instead of metadata"):
        client.animate(b"photo")


def test_a_stream_without_summary_is_a_protocol_error(scripted: ScriptedServer) -> None:
    scripted.script.responses = [metadata_response(2), frame_response(0, b"a"), frame_response(1, b"b")]
    with nc.Client(scripted.address) as client:
        animation = client.animate(b"photo")
        with pytest.raises(nc.ProtocolError, match="without its summary"):
            list(animation)


def test_an_empty_stream_is_a_protocol_error(scripted: ScriptedServer) -> None:
    with nc.Client(scripted.address) as client, pytest.raises(nc.ProtocolError, match="before its metadata"):
        client.animate(b"photo")


def test_collect_and_summary(scripted: ScriptedServer) -> None:
    scripted.script.responses = [
        metadata_response(2),
        frame_response(0, b"first"),
        frame_response(1, b"second"),
        summary_response(2),
    ]
    with nc.Client(scripted.address) as client:
        animation = client.animate(b"photo", driver="blink", seed=5)
        assert animation.info.frame_count == 2 and animation.summary is None
        result = animation.collect()
    assert [f.data for f in result.frames] == [b"first", b"second"]
    assert result.summary.frames == 2 and animation.summary == result.summary
    request = scripted.script.seen_requests[-1]
    assert request.driver == "blink" and request.seed == 5 and request.image == b"photo"


def test_failure_mid_stream_leaves_no_partial_clip(scripted: ScriptedServer, tmp_path: Path) -> None:
    scripted.script.responses = [
        metadata_response(3, pb.OUTPUT_FORMAT_MP4),
        pb.AnimateResponse(chunk=pb.ContainerChunk(sequence=0, data=b"ftypmoov", frames_complete=0)),
    ]
    scripted.script.fail_after_responses = (grpc.StatusCode.UNAVAILABLE, "the model server went away")
    clip = tmp_path / "clip.mp4"
    with nc.Client(scripted.address) as client, pytest.raises(nc.Unavailable, match="went away"):
        client.animate_to_file(b"photo", clip)
    assert list(tmp_path.iterdir()) == []


def test_server_must_send_the_format_asked_for(scripted: ScriptedServer, tmp_path: Path) -> None:
    scripted.script.responses = [metadata_response(1, pb.OUTPUT_FORMAT_JPEG), summary_response(0)]
    with nc.Client(scripted.address) as client, pytest.raises(nc.ProtocolError, match="asked for webm"):
        client.animate_to_file(b"photo", tmp_path / "clip.webm")
    assert list(tmp_path.iterdir()) == []


def test_async_stream_contract(scripted: ScriptedServer) -> None:
    scripted.script.responses = [metadata_response(2), frame_response(0, b"a"), frame_response(1, b"b")]

    async def run() -> None:
        async with nc.AsyncClient(scripted.address) as client:
            animation = await client.animate(b"photo")
            received = []
            with pytest.raises(nc.ProtocolError, match="without its summary"):
                async for item in animation.frames():
                    received.append(item)
            assert [f.index for f in received] == [0, 1]

    asyncio.run(run())


def test_arguments_are_checked_before_sending(scripted: ScriptedServer, tmp_path: Path) -> None:
    with nc.Client(scripted.address) as client:
        with pytest.raises(nc.InvalidInput, match="either a driver or keyframes"):
            client.animate(b"p", driver="smile", keyframes=[nc.Keyframe(0.0)])
        with pytest.raises(nc.InvalidInput, match="unknown format 'avi'; choose one of: jpeg, png"):
            client.animate(b"p", format="avi")
        with pytest.raises(ValueError, match="scale must be 2 or 4"):  # InvalidInput is a ValueError
            client.enhance(b"p", scale=3)
        with pytest.raises(nc.InvalidInput, match="an animation is many frames"):
            client.animate_to_file(b"p", tmp_path / "still.jpg")
        with pytest.raises(nc.InvalidInput, match="is empty"):
            client.detect_faces(b"")
        with pytest.raises(FileNotFoundError):
            client.detect_faces(tmp_path / "missing.jpg")
    assert scripted.script.seen_requests == []


def test_photo_from_path_bytes_or_file_object(scripted: ScriptedServer, tmp_path: Path) -> None:
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"\xff\xd8 pretend jpeg")
    with nc.Client(scripted.address) as client, photo.open("rb") as handle:
        client.detect_faces(photo)
        client.detect_faces(str(photo))
        client.detect_faces(photo.read_bytes())
        client.detect_faces(handle)
    assert [r.image for r in scripted.script.seen_requests] == [b"\xff\xd8 pretend jpeg"] * 4
    assert all(r.skip_landmarks for r in scripted.script.seen_requests)


def test_keyframes_default_to_open_eyes(scripted: ScriptedServer) -> None:
    scripted.script.responses = [metadata_response(0), summary_response(0)]
    with nc.Client(scripted.address) as client:
        client.animate(b"p", keyframes=[nc.Keyframe(0.0), nc.Keyframe(1.0, yaw_deg=10, smile=0.5)]).collect()
    sent = scripted.script.seen_requests[-1].keyframes.keyframes
    assert [k.eye_open_left for k in sent] == [1.0, 1.0]
    assert sent[1].yaw_deg == 10 and sent[1].smile == 0.5
    assert not scripted.script.seen_requests[-1].HasField("visible_mark")


def test_frames_of_a_container_points_to_chunks(scripted: ScriptedServer) -> None:
    chunk = pb.AnimateResponse(chunk=pb.ContainerChunk(sequence=0, data=b"RIFF", frames_complete=1))
    metadata = metadata_response(1, pb.OUTPUT_FORMAT_ANIMATED_WEBP)
    scripted.script.responses = [metadata, chunk, summary_response(1)]
    with nc.Client(scripted.address) as client:
        animation = client.animate(b"photo", format="animated-webp")
        assert animation.info.format is nc.OutputFormat.ANIMATED_WEBP
        with pytest.raises(nc.InvalidInput, match="arrives as chunks"):
            next(animation.frames())
        assert animation.collect().data == b"RIFF"
    assert scripted.script.seen_requests[-1].format == pb.OUTPUT_FORMAT_ANIMATED_WEBP
