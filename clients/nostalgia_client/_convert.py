"""Protobuf messages -> the SDK's dataclasses, kept apart so the types stay free of wire details."""

from __future__ import annotations

from collections.abc import Iterable

from nostalgia.v1 import nostalgia_pb2 as pb

from ._formats import Framing, OutputFormat
from ._types import (
    AnimationInfo,
    AnimationSummary,
    Box,
    Chunk,
    Driver,
    EnhancedImage,
    Face,
    FaceDetection,
    Frame,
    Point,
    Point3,
    StageTiming,
)

__all__ = [
    "animation_info",
    "animation_summary",
    "chunk",
    "driver",
    "enhanced_image",
    "face",
    "face_detection",
    "frame",
]


def _timings(stages: Iterable[pb.StageTiming]) -> tuple[StageTiming, ...]:
    return tuple(StageTiming(s.stage, s.seconds) for s in stages)


def face(msg: pb.Face) -> Face:
    return Face(
        box=Box(msg.box.x_min, msg.box.y_min, msg.box.x_max, msg.box.y_max),
        score=msg.score,
        keypoints=tuple(Point(p.x, p.y) for p in msg.keypoints),
        landmarks=tuple(Point3(p.x, p.y, p.z) for p in msg.landmarks),
        roll_deg=msg.roll_deg,
        landmark_score=msg.landmark_score,
    )


def face_detection(msg: pb.DetectFacesResponse) -> FaceDetection:
    return FaceDetection(
        faces=tuple(face(f) for f in msg.faces),
        width=msg.width,
        height=msg.height,
        timings=_timings(msg.stages),
    )


def driver(msg: pb.Driver) -> Driver:
    return Driver(msg.name, msg.description, msg.default_duration_s, msg.blinks)


def enhanced_image(msg: pb.EnhanceResponse) -> EnhancedImage:
    return EnhancedImage(
        data=msg.image,
        mime_type=msg.mime_type,
        width=msg.width,
        height=msg.height,
        face=face(msg.face) if msg.HasField("face") else None,
        timings=_timings(msg.stages),
    )


def animation_info(msg: pb.AnimateMetadata) -> AnimationInfo:
    return AnimationInfo(
        request_id=msg.request_id,
        format=OutputFormat.from_proto(msg.format),
        mime_type=msg.mime_type,
        width=msg.width,
        height=msg.height,
        fps=msg.fps,
        frame_count=msg.frame_count,
        duration_s=msg.duration_s,
        driver=msg.driver,
        face=face(msg.face) if msg.HasField("face") else None,
        face_index=msg.face_index,
        framing=Framing.from_proto(msg.framing),
        enhanced=msg.enhanced,
        seed=msg.seed,
    )


def frame(msg: pb.Frame) -> Frame:
    return Frame(index=msg.index, timestamp_s=msg.timestamp_s, data=msg.data)


def chunk(msg: pb.ContainerChunk) -> Chunk:
    return Chunk(sequence=msg.sequence, data=msg.data, frames_complete=msg.frames_complete)


def animation_summary(msg: pb.AnimateSummary) -> AnimationSummary:
    return AnimationSummary(
        frames=msg.frames,
        bytes=msg.bytes,
        time_to_first_frame_s=msg.time_to_first_frame_s,
        total_s=msg.total_s,
        timings=_timings(msg.stages),
    )
