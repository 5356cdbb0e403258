from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OutputFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTPUT_FORMAT_UNSPECIFIED: _ClassVar[OutputFormat]
    OUTPUT_FORMAT_JPEG: _ClassVar[OutputFormat]
    OUTPUT_FORMAT_PNG: _ClassVar[OutputFormat]
    OUTPUT_FORMAT_WEBP: _ClassVar[OutputFormat]
    OUTPUT_FORMAT_MP4: _ClassVar[OutputFormat]
    OUTPUT_FORMAT_WEBM: _ClassVar[OutputFormat]
    OUTPUT_FORMAT_GIF: _ClassVar[OutputFormat]
    OUTPUT_FORMAT_ANIMATED_WEBP: _ClassVar[OutputFormat]

class Framing(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FRAMING_UNSPECIFIED: _ClassVar[Framing]
    FRAMING_PHOTO: _ClassVar[Framing]
    FRAMING_FACE: _ClassVar[Framing]

class EnhanceMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENHANCE_MODE_UNSPECIFIED: _ClassVar[EnhanceMode]
    ENHANCE_MODE_OFF: _ClassVar[EnhanceMode]
    ENHANCE_MODE_AUTO: _ClassVar[EnhanceMode]
    ENHANCE_MODE_ON: _ClassVar[EnhanceMode]

class UpscalerModel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UPSCALER_MODEL_UNSPECIFIED: _ClassVar[UpscalerModel]
    UPSCALER_MODEL_QUALITY: _ClassVar[UpscalerModel]
    UPSCALER_MODEL_FAST: _ClassVar[UpscalerModel]

class ImageFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IMAGE_FORMAT_UNSPECIFIED: _ClassVar[ImageFormat]
    IMAGE_FORMAT_PNG: _ClassVar[ImageFormat]
    IMAGE_FORMAT_JPEG: _ClassVar[ImageFormat]
    IMAGE_FORMAT_WEBP: _ClassVar[ImageFormat]
OUTPUT_FORMAT_UNSPECIFIED: OutputFormat
OUTPUT_FORMAT_JPEG: OutputFormat
OUTPUT_FORMAT_PNG: OutputFormat
OUTPUT_FORMAT_WEBP: OutputFormat
OUTPUT_FORMAT_MP4: OutputFormat
OUTPUT_FORMAT_WEBM: OutputFormat
OUTPUT_FORMAT_GIF: OutputFormat
OUTPUT_FORMAT_ANIMATED_WEBP: OutputFormat
FRAMING_UNSPECIFIED: Framing
FRAMING_PHOTO: Framing
FRAMING_FACE: Framing
ENHANCE_MODE_UNSPECIFIED: EnhanceMode
ENHANCE_MODE_OFF: EnhanceMode
ENHANCE_MODE_AUTO: EnhanceMode
ENHANCE_MODE_ON: EnhanceMode
UPSCALER_MODEL_UNSPECIFIED: UpscalerModel
UPSCALER_MODEL_QUALITY: UpscalerModel
UPSCALER_MODEL_FAST: UpscalerModel
IMAGE_FORMAT_UNSPECIFIED: ImageFormat
IMAGE_FORMAT_PNG: ImageFormat
IMAGE_FORMAT_JPEG: ImageFormat
IMAGE_FORMAT_WEBP: ImageFormat

class Point(_message.Message):
    __slots__ = ("x", "y")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    x: float
    y: float
    def __init__(self, x: _Optional[float] = ..., y: _Optional[float] = ...) -> None: ...

class Point3(_message.Message):
    __slots__ = ("x", "y", "z")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    Z_FIELD_NUMBER: _ClassVar[int]
    x: float
    y: float
    z: float
    def __init__(self, x: _Optional[float] = ..., y: _Optional[float] = ..., z: _Optional[float] = ...) -> None: ...

class Box(_message.Message):
    __slots__ = ("x_min", "y_min", "x_max", "y_max")
    X_MIN_FIELD_NUMBER: _ClassVar[int]
    Y_MIN_FIELD_NUMBER: _ClassVar[int]
    X_MAX_FIELD_NUMBER: _ClassVar[int]
    Y_MAX_FIELD_NUMBER: _ClassVar[int]
    x_min: float
    y_min: float
    x_max: float
    y_max: float
    def __init__(self, x_min: _Optional[float] = ..., y_min: _Optional[float] = ..., x_max: _Optional[float] = ..., y_max: _Optional[float] = ...) -> None: ...

class Face(_message.Message):
    __slots__ = ("box", "score", "keypoints", "landmarks", "roll_deg", "landmark_score")
    BOX_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    KEYPOINTS_FIELD_NUMBER: _ClassVar[int]
    LANDMARKS_FIELD_NUMBER: _ClassVar[int]
    ROLL_DEG_FIELD_NUMBER: _ClassVar[int]
    LANDMARK_SCORE_FIELD_NUMBER: _ClassVar[int]
    box: Box
    score: float
    keypoints: _containers.RepeatedCompositeFieldContainer[Point]
    landmarks: _containers.RepeatedCompositeFieldContainer[Point3]
    roll_deg: float
    landmark_score: float
    def __init__(self, box: _Optional[_Union[Box, _Mapping]] = ..., score: _Optional[float] = ..., keypoints: _Optional[_Iterable[_Union[Point, _Mapping]]] = ..., landmarks: _Optional[_Iterable[_Union[Point3, _Mapping]]] = ..., roll_deg: _Optional[float] = ..., landmark_score: _Optional[float] = ...) -> None: ...

class Keyframe(_message.Message):
    __slots__ = ("time_s", "yaw_deg", "pitch_deg", "roll_deg", "eye_open_left", "eye_open_right", "smile", "brow", "gaze_x", "gaze_y")
    TIME_S_FIELD_NUMBER: _ClassVar[int]
    YAW_DEG_FIELD_NUMBER: _ClassVar[int]
    PITCH_DEG_FIELD_NUMBER: _ClassVar[int]
    ROLL_DEG_FIELD_NUMBER: _ClassVar[int]
    EYE_OPEN_LEFT_FIELD_NUMBER: _ClassVar[int]
    EYE_OPEN_RIGHT_FIELD_NUMBER: _ClassVar[int]
    SMILE_FIELD_NUMBER: _ClassVar[int]
    BROW_FIELD_NUMBER: _ClassVar[int]
    GAZE_X_FIELD_NUMBER: _ClassVar[int]
    GAZE_Y_FIELD_NUMBER: _ClassVar[int]
    time_s: float
    yaw_deg: float
    pitch_deg: float
    roll_deg: float
    eye_open_left: float
    eye_open_right: float
    smile: float
    brow: float
    gaze_x: float
    gaze_y: float
    def __init__(self, time_s: _Optional[float] = ..., yaw_deg: _Optional[float] = ..., pitch_deg: _Optional[float] = ..., roll_deg: _Optional[float] = ..., eye_open_left: _Optional[float] = ..., eye_open_right: _Optional[float] = ..., smile: _Optional[float] = ..., brow: _Optional[float] = ..., gaze_x: _Optional[float] = ..., gaze_y: _Optional[float] = ...) -> None: ...

class Keyframes(_message.Message):
    __slots__ = ("keyframes",)
    KEYFRAMES_FIELD_NUMBER: _ClassVar[int]
    keyframes: _containers.RepeatedCompositeFieldContainer[Keyframe]
    def __init__(self, keyframes: _Optional[_Iterable[_Union[Keyframe, _Mapping]]] = ...) -> None: ...

class EncodingOptions(_message.Message):
    __slots__ = ("quality", "bitrate_kbps", "keyframe_interval")
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    BITRATE_KBPS_FIELD_NUMBER: _ClassVar[int]
    KEYFRAME_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    quality: int
    bitrate_kbps: int
    keyframe_interval: int
    def __init__(self, quality: _Optional[int] = ..., bitrate_kbps: _Optional[int] = ..., keyframe_interval: _Optional[int] = ...) -> None: ...

class AnimateRequest(_message.Message):
    __slots__ = ("image", "driver", "keyframes", "face_index", "format", "duration_s", "fps", "output_size", "framing", "enhance", "seed", "loop", "encoding", "visible_mark")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    DRIVER_FIELD_NUMBER: _ClassVar[int]
    KEYFRAMES_FIELD_NUMBER: _ClassVar[int]
    FACE_INDEX_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_SIZE_FIELD_NUMBER: _ClassVar[int]
    FRAMING_FIELD_NUMBER: _ClassVar[int]
    ENHANCE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    LOOP_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    VISIBLE_MARK_FIELD_NUMBER: _ClassVar[int]
    image: bytes
    driver: str
    keyframes: Keyframes
    face_index: int
    format: OutputFormat
    duration_s: float
    fps: float
    output_size: int
    framing: Framing
    enhance: EnhanceMode
    seed: int
    loop: bool
    encoding: EncodingOptions
    visible_mark: bool
    def __init__(self, image: _Optional[bytes] = ..., driver: _Optional[str] = ..., keyframes: _Optional[_Union[Keyframes, _Mapping]] = ..., face_index: _Optional[int] = ..., format: _Optional[_Union[OutputFormat, str]] = ..., duration_s: _Optional[float] = ..., fps: _Optional[float] = ..., output_size: _Optional[int] = ..., framing: _Optional[_Union[Framing, str]] = ..., enhance: _Optional[_Union[EnhanceMode, str]] = ..., seed: _Optional[int] = ..., loop: _Optional[bool] = ..., encoding: _Optional[_Union[EncodingOptions, _Mapping]] = ..., visible_mark: _Optional[bool] = ...) -> None: ...

class AnimateMetadata(_message.Message):
    __slots__ = ("request_id", "format", "mime_type", "width", "height", "fps", "frame_count", "duration_s", "driver", "face", "face_index", "framing", "enhanced", "seed")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    MIME_TYPE_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    FRAME_COUNT_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    DRIVER_FIELD_NUMBER: _ClassVar[int]
    FACE_FIELD_NUMBER: _ClassVar[int]
    FACE_INDEX_FIELD_NUMBER: _ClassVar[int]
    FRAMING_FIELD_NUMBER: _ClassVar[int]
    ENHANCED_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    format: OutputFormat
    mime_type: str
    width: int
    height: int
    fps: float
    frame_count: int
    duration_s: float
    driver: str
    face: Face
    face_index: int
    framing: Framing
    enhanced: bool
    seed: int
    def __init__(self, request_id: _Optional[str] = ..., format: _Optional[_Union[OutputFormat, str]] = ..., mime_type: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., fps: _Optional[float] = ..., frame_count: _Optional[int] = ..., duration_s: _Optional[float] = ..., driver: _Optional[str] = ..., face: _Optional[_Union[Face, _Mapping]] = ..., face_index: _Optional[int] = ..., framing: _Optional[_Union[Framing, str]] = ..., enhanced: _Optional[bool] = ..., seed: _Optional[int] = ...) -> None: ...

class Frame(_message.Message):
    __slots__ = ("index", "timestamp_s", "data")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_S_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    index: int
    timestamp_s: float
    data: bytes
    def __init__(self, index: _Optional[int] = ..., timestamp_s: _Optional[float] = ..., data: _Optional[bytes] = ...) -> None: ...

class ContainerChunk(_message.Message):
    __slots__ = ("sequence", "data", "frames_complete")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    FRAMES_COMPLETE_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    data: bytes
    frames_complete: int
    def __init__(self, sequence: _Optional[int] = ..., data: _Optional[bytes] = ..., frames_complete: _Optional[int] = ...) -> None: ...

class StageTiming(_message.Message):
    __slots__ = ("stage", "seconds")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    stage: str
    seconds: float
    def __init__(self, stage: _Optional[str] = ..., seconds: _Optional[float] = ...) -> None: ...

class AnimateSummary(_message.Message):
    __slots__ = ("frames", "bytes", "time_to_first_frame_s", "total_s", "stages")
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    TIME_TO_FIRST_FRAME_S_FIELD_NUMBER: _ClassVar[int]
    TOTAL_S_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    frames: int
    bytes: int
    time_to_first_frame_s: float
    total_s: float
    stages: _containers.RepeatedCompositeFieldContainer[StageTiming]
    def __init__(self, frames: _Optional[int] = ..., bytes: _Optional[int] = ..., time_to_first_frame_s: _Optional[float] = ..., total_s: _Optional[float] = ..., stages: _Optional[_Iterable[_Union[StageTiming, _Mapping]]] = ...) -> None: ...

class AnimateResponse(_message.Message):
    __slots__ = ("metadata", "frame", "chunk", "summary")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    FRAME_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    metadata: AnimateMetadata
    frame: Frame
    chunk: ContainerChunk
    summary: AnimateSummary
    def __init__(self, metadata: _Optional[_Union[AnimateMetadata, _Mapping]] = ..., frame: _Optional[_Union[Frame, _Mapping]] = ..., chunk: _Optional[_Union[ContainerChunk, _Mapping]] = ..., summary: _Optional[_Union[AnimateSummary, _Mapping]] = ...) -> None: ...

class EnhanceRequest(_message.Message):
    __slots__ = ("image", "scale", "model", "face_only", "face_index", "format", "quality")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    FACE_ONLY_FIELD_NUMBER: _ClassVar[int]
    FACE_INDEX_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    image: bytes
    scale: int
    model: UpscalerModel
    face_only: bool
    face_index: int
    format: ImageFormat
    quality: int
    def __init__(self, image: _Optional[bytes] = ..., scale: _Optional[int] = ..., model: _Optional[_Union[UpscalerModel, str]] = ..., face_only: _Optional[bool] = ..., face_index: _Optional[int] = ..., format: _Optional[_Union[ImageFormat, str]] = ..., quality: _Optional[int] = ...) -> None: ...

class EnhanceResponse(_message.Message):
    __slots__ = ("image", "mime_type", "width", "height", "face", "stages")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    MIME_TYPE_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    FACE_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    image: bytes
    mime_type: str
    width: int
    height: int
    face: Face
    stages: _containers.RepeatedCompositeFieldContainer[StageTiming]
    def __init__(self, image: _Optional[bytes] = ..., mime_type: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., face: _Optional[_Union[Face, _Mapping]] = ..., stages: _Optional[_Iterable[_Union[StageTiming, _Mapping]]] = ...) -> None: ...

class DetectFacesRequest(_message.Message):
    __slots__ = ("image", "skip_landmarks")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    SKIP_LANDMARKS_FIELD_NUMBER: _ClassVar[int]
    image: bytes
    skip_landmarks: bool
    def __init__(self, image: _Optional[bytes] = ..., skip_landmarks: _Optional[bool] = ...) -> None: ...

class DetectFacesResponse(_message.Message):
    __slots__ = ("faces", "width", "height", "stages")
    FACES_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    faces: _containers.RepeatedCompositeFieldContainer[Face]
    width: int
    height: int
    stages: _containers.RepeatedCompositeFieldContainer[StageTiming]
    def __init__(self, faces: _Optional[_Iterable[_Union[Face, _Mapping]]] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., stages: _Optional[_Iterable[_Union[StageTiming, _Mapping]]] = ...) -> None: ...

class ListDriversRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Driver(_message.Message):
    __slots__ = ("name", "description", "default_duration_s", "blinks")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_DURATION_S_FIELD_NUMBER: _ClassVar[int]
    BLINKS_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    default_duration_s: float
    blinks: bool
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., default_duration_s: _Optional[float] = ..., blinks: _Optional[bool] = ...) -> None: ...

class ListDriversResponse(_message.Message):
    __slots__ = ("drivers",)
    DRIVERS_FIELD_NUMBER: _ClassVar[int]
    drivers: _containers.RepeatedCompositeFieldContainer[Driver]
    def __init__(self, drivers: _Optional[_Iterable[_Union[Driver, _Mapping]]] = ...) -> None: ...
