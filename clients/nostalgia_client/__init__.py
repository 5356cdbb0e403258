"""Python SDK and command-line tool for the Nostalgia service (animates old portrait photos).

Quick use::

    from nostalgia_client import Client

    with Client("localhost:50051") as client:
        client.animate_to_file("grandma.jpg", "grandma.mp4", driver="smile")
        for face in client.detect_faces("family.jpg").faces:
            print(face.box, face.score)

`AsyncClient` offers the same methods for asyncio. Failures raise the `NostalgiaError`
subclasses documented in `nostalgia_client._errors` (NoFace, InvalidInput, Unavailable, ...).
"""

from ._aio import AsyncAnimation, AsyncClient
from ._client import Animation, Client
from ._connection import DEFAULT_SERVER, DEFAULT_TIMEOUT_S
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
    ProtocolError,
    ResourceExhausted,
    ServerError,
    Unavailable,
)
from ._formats import EnhanceMode, Framing, ImageFormat, OutputFormat, UpscalerModel
from ._requests import AnimateOptions, EnhanceOptions, Photo
from ._types import (
    AnimationInfo,
    AnimationResult,
    AnimationSummary,
    Box,
    Chunk,
    Driver,
    EnhancedImage,
    Face,
    FaceDetection,
    Frame,
    Keyframe,
    Point,
    Point3,
    StageTiming,
)

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_SERVER",
    "DEFAULT_TIMEOUT_S",
    "AnimateOptions",
    "Animation",
    "AnimationInfo",
    "AnimationResult",
    "AnimationSummary",
    "AsyncAnimation",
    "AsyncClient",
    "AuthenticationError",
    "Box",
    "Cancelled",
    "Chunk",
    "Client",
    "DeadlineExceeded",
    "Driver",
    "EnhanceMode",
    "EnhanceOptions",
    "EnhancedImage",
    "Face",
    "FaceDetection",
    "Frame",
    "Framing",
    "ImageFormat",
    "InvalidInput",
    "Keyframe",
    "LimitExceeded",
    "NoFace",
    "NostalgiaError",
    "NotSupported",
    "OutputFormat",
    "Overloaded",
    "PermissionDenied",
    "Photo",
    "Point",
    "Point3",
    "ProtocolError",
    "ResourceExhausted",
    "ServerError",
    "StageTiming",
    "Unavailable",
    "UpscalerModel",
    "__version__",
]
