"""Every model the repository serves, and the builder that produces its TorchScript file."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

__all__ = ["BUILDERS", "builder"]

# model name in model_repository/ -> module exposing ``build(repository: Path) -> list[Path]``
BUILDERS: dict[str, str] = {
    "motion": "nostalgia_models.motion",
    "face_detector": "nostalgia_models.blazeface",
    "face_landmarks": "nostalgia_models.face_mesh",
    "upscaler_quality": "nostalgia_models.upscaler_quality",
    "upscaler_fast": "nostalgia_models.upscaler_fast",
}


def builder(name: str) -> Callable[[Path], list[Path]]:
    """Import the builder for one model lazily, so building one model never imports the others."""
    try:
        module = importlib.import_module(BUILDERS[name])
    except KeyError as exc:
        raise SystemExit(f"unknown model {name!r}; known: {', '.join(sorted(BUILDERS))}") from exc
    build: Callable[[Path], list[Path]] = module.build
    return build
