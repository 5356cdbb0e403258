"""Face detection, 468-point landmarks and alignment for the gateway (numpy and OpenCV only).

The networks run in Triton (``face_detector``, ``face_landmarks``); this package prepares
their inputs, interprets their outputs in photo coordinates and aligns faces for the stages
that follow.
"""

from .alignment import Alignment, AlignmentLayout, align_eyes, aligned_crop, paste_back
from .backend import InferenceBackend
from .detection import DetectionConfig, FaceDetection, detect_faces, plan_tiles
from .landmarks import FaceMesh, five_keypoints, landmark_faces, roll_degrees
from .largest import find_largest_face, find_largest_faces
from .pipeline import Face, FaceConfig, find_faces

__all__ = [
    "Alignment",
    "AlignmentLayout",
    "DetectionConfig",
    "Face",
    "FaceConfig",
    "FaceDetection",
    "FaceMesh",
    "InferenceBackend",
    "align_eyes",
    "aligned_crop",
    "detect_faces",
    "find_faces",
    "find_largest_face",
    "find_largest_faces",
    "five_keypoints",
    "landmark_faces",
    "paste_back",
    "plan_tiles",
    "roll_degrees",
]
