"""The ``upscaler_fast`` model: realesr-animevideov3 x4 (SRVGGNetCompact) as TorchScript."""

from __future__ import annotations

from pathlib import Path

from .realesrgan import build_upscaler, load_fast

__all__ = ["build"]


def build(repository: Path) -> list[Path]:
    """Convert the pinned ncnn weights and write ``upscaler_fast/1/upscaler_fast.pt``."""
    return build_upscaler(load_fast(), repository / "upscaler_fast" / "1" / "upscaler_fast.pt")
