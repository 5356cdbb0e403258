"""The ``upscaler_quality`` model: Real-ESRGAN x4plus (RRDBNet) as TorchScript."""

from __future__ import annotations

from pathlib import Path

from .realesrgan import build_upscaler, load_quality

__all__ = ["build"]


def build(repository: Path) -> list[Path]:
    """Convert the pinned ncnn weights and write ``upscaler_quality/1/upscaler_quality.pt``."""
    return build_upscaler(load_quality(), repository / "upscaler_quality" / "1" / "upscaler_quality.pt")
