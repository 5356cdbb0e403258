"""``Enhance``: decode a photo, upscale it x2 or x4 with a Triton super-resolution model, encode it.

The input is capped in pixels (``Settings.max_enhance_pixels``) because the work and the
answer both grow with it: x4 multiplies the pixel count by 16, and the encoded result must
still fit in one gRPC message, which is checked before sending. With ``face_only`` the limit
applies to the aligned face crop, not the photo, so a face in a large photo can still be
enhanced.
"""

from __future__ import annotations

import asyncio
import io
from typing import Any

import grpc
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from ..app import App
from ..enhance.face_crop import face_crop
from ..enhance.upscale import Upscaler, upscale
from ..errors import InvalidInput, LimitExceeded
from ..faces import Face
from ..imaging import decode_image
from ..timing import StageTimer
from ..v1 import nostalgia_pb2 as pb
from .detect_faces import face_message

__all__ = ["encode_image", "enhance"]

DEFAULT_SCALE = 4
DEFAULT_QUALITY = 92
# Room left in the response message for everything but the image bytes.
_RESPONSE_OVERHEAD = 64 * 1024

_MODELS = {
    pb.UPSCALER_MODEL_UNSPECIFIED: Upscaler.QUALITY,
    pb.UPSCALER_MODEL_QUALITY: Upscaler.QUALITY,
    pb.UPSCALER_MODEL_FAST: Upscaler.FAST,
}
_FORMATS = {
    pb.IMAGE_FORMAT_UNSPECIFIED: ("PNG", "image/png"),
    pb.IMAGE_FORMAT_PNG: ("PNG", "image/png"),
    pb.IMAGE_FORMAT_JPEG: ("JPEG", "image/jpeg"),
    pb.IMAGE_FORMAT_WEBP: ("WEBP", "image/webp"),
}


def encode_image(image: NDArray[np.uint8], pil_format: str, quality: int) -> bytes:
    """One still image; PNG is lossless (``quality`` is ignored), JPEG keeps full chroma at >= 90."""
    buffer = io.BytesIO()
    picture = Image.fromarray(image)
    if pil_format == "PNG":
        picture.save(buffer, "PNG", compress_level=3)
    elif pil_format == "JPEG":
        picture.save(buffer, "JPEG", quality=quality, subsampling=0 if quality >= 90 else 2)
    else:
        picture.save(buffer, "WEBP", quality=quality, method=2)
    return buffer.getvalue()


def _check_request(request: pb.EnhanceRequest) -> tuple[int, Upscaler, str, str, int]:
    scale = request.scale or DEFAULT_SCALE
    if scale not in (2, 4):
        raise InvalidInput(f"scale must be 2 or 4, not {request.scale}")
    if request.model not in _MODELS:
        raise InvalidInput(f"model {request.model} is not a known UpscalerModel")
    if request.format not in _FORMATS:
        raise InvalidInput(f"format {request.format} is not a known ImageFormat")
    quality = request.quality or DEFAULT_QUALITY
    if not 1 <= quality <= 100:
        raise InvalidInput(f"quality must be between 1 and 100, not {request.quality}")
    pil_format, mime = _FORMATS[request.format]
    return scale, _MODELS[request.model], pil_format, mime, quality


async def enhance(
    request: pb.EnhanceRequest, context: grpc.aio.ServicerContext[Any, Any], app: App
) -> pb.EnhanceResponse:
    timer = StageTimer()
    scale, model, pil_format, mime, quality = _check_request(request)
    with timer.stage("decode"):
        photo = await asyncio.to_thread(decode_image, request.image, app.decode_limits)
    face: Face | None = None
    if request.face_only:
        # The photo may be larger than the upscale limit: only the face crop is upscaled.
        crop = await face_crop(
            photo, request.face_index, app.triton, time_left=context.time_remaining, timer=timer
        )
        photo, face = crop.image, crop.face
    height, width = photo.shape[:2]
    limit = app.settings.max_enhance_pixels
    if height * width > limit:
        raise LimitExceeded(
            f"image is {width}x{height} = {width * height} pixels; Enhance accepts at most {limit} pixels "
            "(max_enhance_pixels): downscale the photo or use face_only"
        )
    with timer.stage("enhance"):
        result = await upscale(app.triton, photo, model, scale, time_left=context.time_remaining)
    del photo
    with timer.stage("encode"):
        data = await asyncio.to_thread(encode_image, result, pil_format, quality)
    room = app.settings.max_message_bytes - _RESPONSE_OVERHEAD
    if len(data) > room:
        raise LimitExceeded(
            f"the {pil_format} result is {len(data)} bytes, more than the {room} bytes a response may carry "
            "(max_message_bytes): ask for JPEG or WebP, or scale 2"
        )
    return pb.EnhanceResponse(
        image=data,
        mime_type=mime,
        width=result.shape[1],
        height=result.shape[0],
        face=face_message(face, with_landmarks=True) if face is not None else None,
        stages=[pb.StageTiming(stage=name, seconds=seconds) for name, seconds in timer.stages.items()],
    )
