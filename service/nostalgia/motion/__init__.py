"""Motion drivers: functions of time that give the motion model one control vector per frame.

Pure numpy on purpose: the gateway computes the controls and the ``motion`` model in Triton turns
them into frames, so the gateway never needs torch.
"""

from .controls import CONTROL_NAMES, NEUTRAL, NUM_CONTROLS, clamp_controls, frame_count, frame_times
from .keyframes import KeyframeLike, keyframe_controls
from .presets import DriverInfo, driver_info, driver_infos, preset_controls

__all__ = [
    "CONTROL_NAMES",
    "NEUTRAL",
    "NUM_CONTROLS",
    "DriverInfo",
    "KeyframeLike",
    "clamp_controls",
    "driver_info",
    "driver_infos",
    "frame_count",
    "frame_times",
    "keyframe_controls",
    "preset_controls",
]
