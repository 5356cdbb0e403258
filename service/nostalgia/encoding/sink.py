"""An in-memory, non-seekable byte sink for PyAV muxers.

Having no ``seek`` is deliberate: it makes the muxers write strictly forward (fragmented MP4,
streamed WebM) so every byte they hand over can be sent at once, and nothing touches disk.
"""

from __future__ import annotations

__all__ = ["ForwardSink"]


class ForwardSink:
    """Collects what a muxer writes until ``drain`` takes it."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.total = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self.total += len(chunk)
        return len(chunk)

    def seekable(self) -> bool:
        return False

    def flush(self) -> None:
        """Nothing is buffered here; present because some writers call it."""

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data
