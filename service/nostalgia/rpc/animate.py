"""``Animate``: decode the photo, render the clip in Triton chunk by chunk, stream frames as they come.

Frames are rendered in chunks so the first frame leaves before the last is computed: a small
first chunk keeps time-to-first-frame low, larger later chunks keep Triton busy, and the next
chunk is requested while the current one is being encoded.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import grpc
import numpy as np
from numpy.typing import NDArray

from ..app import App
from ..enhance.for_motion import enhanced_face_crop, enhanced_photo, face_source_side, wants_enhancement
from ..errors import InvalidInput, NoFace
from ..faces import Face, find_faces, find_largest_faces
from ..imaging import decode_image
from ..inference import OutputRegion
from ..motion import driver_info, keyframe_controls, preset_controls
from ..motion.framing import Subject, face_subject, photo_subject
from ..motion.pose import turn_within_reach
from ..timing import StageTimer
from ..v1 import nostalgia_pb2 as pb
from .detect_faces import FACE_CONFIG, face_message
from .output import OutputStream, encoder_for

__all__ = ["AnimatePlan", "animate", "plan_request"]

FIRST_CHUNK = 4
CHUNK = 25
DEFAULT_FPS = 25.0
DEFAULT_DURATION_S = 4.0
DEFAULT_SIZE = 512
MAX_FPS = 60.0
MAX_DURATION_S = 30.0
MIN_SIZE, MAX_SIZE = 64, 2048


@dataclass(frozen=True)
class AnimatePlan:
    """A validated request, with every default filled in."""

    fps: float
    duration_s: float
    frame_count: int
    output_size: int
    quality: int
    seed: int


def plan_request(
    request: pb.AnimateRequest,
    max_fps: float = MAX_FPS,
    max_duration_s: float = MAX_DURATION_S,
    max_size: int = MAX_SIZE,
) -> AnimatePlan:
    """Check every numeric field and fill defaults; raises ``InvalidInput`` naming the bad field.

    The maxima are the operator's limits (``Settings.max_fps`` and friends).
    """
    # Defaults never exceed the operator's limits: an unset field must not be an error.
    fps = request.fps or min(DEFAULT_FPS, max_fps)
    if not (math.isfinite(fps) and 1.0 <= fps <= max_fps):
        raise InvalidInput(f"fps must be between 1 and {max_fps:g} (the limit), not {request.fps:g}")
    duration = request.duration_s or min(_default_duration(request), max_duration_s)
    if not (math.isfinite(duration) and 0.2 <= duration <= max_duration_s):
        raise InvalidInput(
            f"duration_s must be between 0.2 and {max_duration_s:g} (the limit), not {request.duration_s:g}"
        )
    size = request.output_size or min(DEFAULT_SIZE, max_size)
    if not MIN_SIZE <= size <= max_size:
        raise InvalidInput(f"output_size must be between {MIN_SIZE} and {max_size} (the limit), not {size}")
    quality = request.encoding.quality or 90
    if not 1 <= quality <= 100:
        raise InvalidInput(f"encoding.quality must be between 1 and 100, not {quality}")
    seed = request.seed or secrets.randbits(63)
    return AnimatePlan(
        fps=fps,
        duration_s=duration,
        frame_count=max(1, round(duration * fps)),
        output_size=size,
        quality=quality,
        seed=seed,
    )


def _default_duration(request: pb.AnimateRequest) -> float:
    """The driver's own length, or up to the last keyframe; checks the driver name on the way."""
    if request.WhichOneof("motion") == "keyframes":
        times = [k.time_s for k in request.keyframes.keyframes]
        last = max(times, default=0.0)
        return last if math.isfinite(last) and last >= 0.2 else DEFAULT_DURATION_S
    try:
        return driver_info(request.driver or "nostalgia").default_duration_s
    except ValueError as exc:
        raise InvalidInput(f"{exc} (ListDrivers lists them)") from exc


def motion_controls(request: pb.AnimateRequest, plan: AnimatePlan) -> NDArray[np.float32]:
    """The motion model's CONTROLS for every frame, from the preset or the caller's keyframes."""
    try:
        if request.WhichOneof("motion") == "keyframes":
            return keyframe_controls(
                request.keyframes.keyframes, plan.duration_s, plan.fps, loop=request.loop
            )
        return preset_controls(
            request.driver or "nostalgia", plan.duration_s, plan.fps, plan.seed, loop=request.loop
        )
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc


async def _enhance_subject(
    request: pb.AnimateRequest,
    app: App,
    context: grpc.aio.ServicerContext[pb.AnimateRequest, pb.AnimateResponse],
    photo: NDArray[np.uint8],
    face: Face,
    subject: Subject,
    timer: StageTimer,
) -> tuple[Subject, bool]:
    """Swap the subject's interpolated image for an upscaled one when the enhance mode asks for it."""
    height, width = subject.image.shape[:2]
    if request.framing == pb.FRAMING_FACE:
        source_side = face_source_side(face.landmarks, width)
    else:
        source_side = float(max(photo.shape[:2]))
    if not wants_enhancement(request.enhance, source_side, max(height, width)):
        return subject, False
    with timer.stage("enhance"):
        if request.framing == pb.FRAMING_FACE:
            image = await enhanced_face_crop(app.triton, photo, face.landmarks, width, context.time_remaining)
        else:
            image = await enhanced_photo(app.triton, photo, width, height, context.time_remaining)
    return replace(subject, image=image), True


def _chunks(total: int, first: int = FIRST_CHUNK) -> list[range]:
    bounds = [0, min(first, total)]
    while bounds[-1] < total:
        bounds.append(min(bounds[-1] + CHUNK, total))
    return [range(a, b) for a, b in itertools.pairwise(bounds)]


async def animate(
    request: pb.AnimateRequest,
    context: grpc.aio.ServicerContext[pb.AnimateRequest, pb.AnimateResponse],
    app: App,
) -> AsyncIterator[pb.AnimateResponse]:
    timer = StageTimer()
    settings = app.settings
    plan = plan_request(request, settings.max_fps, settings.max_duration_s, settings.max_output_size)
    controls = motion_controls(request, plan)
    with timer.stage("decode"):
        photo = await asyncio.to_thread(decode_image, request.image, app.decode_limits)
    if request.face_index == 0:
        # Only the largest face is wanted: the coarse-to-fine search stops once it has it (and
        # the faces of about its size, which are the ones near enough to be held still).
        faces = await find_largest_faces(photo, app.triton, FACE_CONFIG, context.time_remaining(), timer)
    else:
        faces = await find_faces(photo, app.triton, FACE_CONFIG, context.time_remaining(), timer)
    if not faces:
        raise NoFace("no face was found in the photo, so there is nothing to animate")
    if request.face_index >= len(faces):
        raise InvalidInput(
            f"face_index {request.face_index} is out of range: the photo has {len(faces)} face(s)"
        )
    face = faces[request.face_index]
    framing = pb.FRAMING_FACE if request.framing == pb.FRAMING_FACE else pb.FRAMING_PHOTO
    with timer.stage("align"):
        frame_subject = face_subject if framing == pb.FRAMING_FACE else photo_subject
        others = [f.landmarks for i, f in enumerate(faces) if i != request.face_index]
        subject: Subject = await asyncio.to_thread(
            frame_subject, photo, face.landmarks, plan.output_size, others
        )
    subject, enhanced = await _enhance_subject(request, app, context, photo, face, subject, timer)
    if request.WhichOneof("motion") != "keyframes":
        controls = turn_within_reach(controls, subject.landmarks)
    del photo
    image = subject.image
    height, width = image.shape[:2]
    output = OutputStream(encoder_for(request, width, height, plan.fps, plan.frame_count))
    yield pb.AnimateResponse(
        metadata=pb.AnimateMetadata(
            request_id=uuid.uuid4().hex,
            format=request.format or pb.OUTPUT_FORMAT_JPEG,
            mime_type=output.encoder.mime_type,
            width=output.encoder.width,
            height=output.encoder.height,
            fps=plan.fps,
            frame_count=plan.frame_count,
            duration_s=plan.frame_count / plan.fps,
            driver="keyframes"
            if request.WhichOneof("motion") == "keyframes"
            else request.driver or "nostalgia",
            face=face_message(face, with_landmarks=False),
            face_index=request.face_index,
            framing=framing,
            enhanced=enhanced,
            seed=plan.seed,
        )
    )

    async def render(frames: range, region: OutputRegion | None) -> NDArray[np.uint8]:
        remaining = context.time_remaining()
        inputs: dict[str, NDArray[np.generic]] = {
            "IMAGE": image[None],
            "LANDMARKS": subject.landmarks[None],
            "CONTROLS": controls[frames.start : frames.stop][None],
        }
        if len(subject.still):
            inputs["STILL"] = subject.still[None]
        result = await app.triton.infer(
            "motion",
            inputs,
            ["FRAMES"],
            timeout_s=remaining,
            regions={"FRAMES": region},
        )
        clip: NDArray[np.uint8] = result["FRAMES"][0]
        return clip

    async def rendered() -> AsyncIterator[NDArray[np.uint8]]:
        # Runs ahead of the encoder by the output's bounded queue, so Triton renders the next
        # chunk while this one is encoded; a slow reader stops it there.
        chunks = _chunks(plan.frame_count, output.first_batch_frames(FIRST_CHUNK))
        largest = max(len(c) for c in chunks) * image.nbytes
        async with app.triton.output_region(largest) as region:
            for frames in chunks:
                with timer.stage("motion"):
                    clip = await render(frames, region)
                yield clip

    async for response in output.responses(rendered()):
        yield response
    timer.add("encode", output.encode_seconds)
    ttff = output.first_output_at - timer.started if output.first_output_at else 0.0
    yield pb.AnimateResponse(
        summary=pb.AnimateSummary(
            frames=plan.frame_count,
            bytes=output.bytes_sent,
            time_to_first_frame_s=ttff,
            total_s=timer.elapsed(),
            stages=[pb.StageTiming(stage=k, seconds=v) for k, v in timer.stages.items()],
        )
    )
