"""``DetectFaces``: every face of a photo with box, key points, roll and (optionally) its mesh.

A photo with no face is an ordinary answer (an empty list), not an error: callers use this
RPC to decide whether a photo can be animated at all.
"""

from __future__ import annotations

import asyncio

import grpc

from ..app import App
from ..faces import Face, FaceConfig, find_faces
from ..imaging import decode_image
from ..timing import StageTimer
from ..v1 import nostalgia_pb2 as pb

__all__ = ["detect_faces", "face_message"]

FACE_CONFIG = FaceConfig()


def face_message(face: Face, with_landmarks: bool) -> pb.Face:
    """One ``Face`` message in photo pixels."""
    x0, y0, x1, y1 = face.box
    message = pb.Face(
        box=pb.Box(x_min=x0, y_min=y0, x_max=x1, y_max=y1),
        score=face.score,
        keypoints=[pb.Point(x=float(x), y=float(y)) for x, y in face.keypoints],
        roll_deg=face.roll_deg,
        landmark_score=face.landmark_score,
    )
    if with_landmarks:
        message.landmarks.extend(pb.Point3(x=float(x), y=float(y), z=float(z)) for x, y, z in face.landmarks)
    return message


async def detect_faces(
    request: pb.DetectFacesRequest,
    context: grpc.aio.ServicerContext[pb.DetectFacesRequest, pb.DetectFacesResponse],
    app: App,
) -> pb.DetectFacesResponse:
    timer = StageTimer()
    with timer.stage("decode"):
        photo = await asyncio.to_thread(decode_image, request.image, app.decode_limits)
    faces = await find_faces(photo, app.triton, FACE_CONFIG, context.time_remaining(), timer)
    height, width = photo.shape[:2]
    return pb.DetectFacesResponse(
        faces=[face_message(face, not request.skip_landmarks) for face in faces],
        width=width,
        height=height,
        stages=[pb.StageTiming(stage=name, seconds=seconds) for name, seconds in timer.stages.items()],
    )
