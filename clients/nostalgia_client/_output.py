"""Writes an animation stream to disk as it arrives, for `animate_to_file` in both clients.

A container goes to ``<name>.part`` and is renamed only once the stream ended well, so a failed
or interrupted run never leaves a truncated clip under the requested name.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import BinaryIO

from ._errors import ProtocolError
from ._formats import OutputTarget
from ._types import AnimationInfo, Chunk, Frame

__all__ = ["OutputWriter"]


class OutputWriter:
    """Sink for one animation: a container file or a directory of frames."""

    def __init__(self, target: OutputTarget) -> None:
        self.target = target
        self.paths: list[Path] = []
        self._file: BinaryIO | None = None
        self._part: Path | None = None

    def open(self, info: AnimationInfo) -> None:
        if info.format is not self.target.format:
            wanted, sent = self.target.format.value, info.format.value
            raise ProtocolError(f"asked for {wanted} output but the server sent {sent}")
        if self.target.is_frames:
            self.target.path.mkdir(parents=True, exist_ok=True)
        else:
            self.target.path.parent.mkdir(parents=True, exist_ok=True)
            self._part = self.target.path.with_name(self.target.path.name + ".part")
            self._file = self._part.open("wb")

    def write(self, item: Frame | Chunk) -> None:
        if isinstance(item, Frame):
            if self.target.frame_name is None:
                raise ProtocolError("the server sent a single frame for a container format")
            path = self.target.path / self.target.frame_name.format(item.index)
            path.write_bytes(item.data)
            self.paths.append(path)
        else:
            if self._file is None:
                raise ProtocolError("the server sent a container chunk for an image format")
            self._file.write(item.data)

    def finish(self) -> tuple[Path, ...]:
        if self._file is not None and self._part is not None:
            self._file.close()
            self._file = None
            self._part.replace(self.target.path)
            self.paths = [self.target.path]
        return tuple(self.paths)

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._part is not None:
            with contextlib.suppress(FileNotFoundError):
                self._part.unlink()
