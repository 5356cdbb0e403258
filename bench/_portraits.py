"""Where the benches and tests find the shared test photos: one rule, so all of them honour the override."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["portraits_dir"]


def portraits_dir() -> Path:
    """``NOSTALGIA_PORTRAITS`` if set, else ``../shared/portraits`` beside the repository."""
    configured = os.environ.get("NOSTALGIA_PORTRAITS")
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "shared" / "portraits"
