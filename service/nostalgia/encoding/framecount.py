"""Count the frames that a prefix of a streamed container fully contains.

``ContainerChunk.frames_complete`` promises the caller how many frames the bytes so far hold.
The muxers decide when fragments and clusters are written, so rather than guess from what was
pushed, these readers walk the emitted bytes themselves: MP4 boxes (each ``moof`` lists its
samples in ``trun``, which are complete once the following ``mdat`` is) and WebM's EBML
elements (each SimpleBlock or BlockGroup is one frame). Both read incrementally and keep at
most one small box in memory.
"""

from __future__ import annotations

__all__ = ["Mp4FrameCounter", "WebmFrameCounter"]


class _SkippingReader:
    """Shared plumbing: a header buffer plus a count of payload bytes to pass over."""

    def __init__(self) -> None:
        self.frames = 0
        self._buffer = bytearray()
        self._skip = 0
        self._on_skipped = 0  # frames that become complete when the current skip ends

    def feed(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            if self._skip:
                step = min(self._skip, len(view))
                self._skip -= step
                view = view[step:]
                if self._skip == 0:
                    self.frames += self._on_skipped
                    self._on_skipped = 0
                continue
            self._buffer += view
            view = memoryview(b"")
            self._parse()
            if self._skip and self._buffer:
                # The buffer's tail belongs to the payload being skipped: feed it through again.
                rest = bytes(self._buffer)
                self._buffer.clear()
                view = memoryview(rest)
        return self.frames

    def _parse(self) -> None:
        raise NotImplementedError


class Mp4FrameCounter(_SkippingReader):
    """Frames complete in a fragmented MP4 (ftyp, moov, then moof+mdat pairs)."""

    def __init__(self) -> None:
        super().__init__()
        self._pending = 0  # samples listed by the last moof, waiting for their mdat

    def _parse(self) -> None:
        while not self._skip:
            if len(self._buffer) < 8:
                return
            size = int.from_bytes(self._buffer[0:4], "big")
            kind = bytes(self._buffer[4:8])
            header = 8
            if size == 1:
                if len(self._buffer) < 16:
                    return
                size, header = int.from_bytes(self._buffer[8:16], "big"), 16
            if size < header:
                raise ValueError(f"malformed MP4 box {kind!r} of size {size}")
            if kind == b"moof":
                if len(self._buffer) < size:
                    return
                self._pending += _trun_samples(bytes(self._buffer[header:size]))
                del self._buffer[:size]
                continue
            del self._buffer[:header]
            self._skip = size - header
            if kind == b"mdat":
                self._on_skipped, self._pending = self._pending, 0
            if self._skip == 0:
                self.frames += self._on_skipped
                self._on_skipped = 0


def _trun_samples(payload: bytes) -> int:
    """Sum of trun sample counts in a moof payload (trun lives in traf)."""
    total, offset = 0, 0
    while offset + 8 <= len(payload):
        size = int.from_bytes(payload[offset : offset + 4], "big")
        kind = payload[offset + 4 : offset + 8]
        if size < 8:
            break
        if kind == b"traf":
            total += _trun_samples(payload[offset + 8 : offset + size])
        elif kind == b"trun":
            total += int.from_bytes(payload[offset + 12 : offset + 16], "big")
        offset += size
    return total


_SEGMENT = 0x18538067
_CLUSTER = 0x1F43B675
_BLOCKS = frozenset({0xA3, 0xA0})  # SimpleBlock, BlockGroup


class WebmFrameCounter(_SkippingReader):
    """Frames complete in a streamed WebM: every SimpleBlock/BlockGroup fully received counts one."""

    def _parse(self) -> None:
        while not self._skip:
            element = _ebml_header(self._buffer)
            if element is None:
                return
            element_id, size, header = element
            del self._buffer[:header]
            if element_id in (_SEGMENT, _CLUSTER):
                continue  # descend: their children follow directly
            if size is None:
                raise ValueError(f"EBML element 0x{element_id:X} of unknown size")
            self._skip = size
            if element_id in _BLOCKS:
                self._on_skipped = 1
            if self._skip == 0:
                self.frames += self._on_skipped
                self._on_skipped = 0


def _ebml_header(buffer: bytearray) -> tuple[int, int | None, int] | None:
    """(id, size or None when unknown, header length) of the element at the buffer's start."""
    if not buffer:
        return None
    id_len = _vint_length(buffer[0])
    if id_len > 4:
        raise ValueError(f"malformed EBML id byte 0x{buffer[0]:02X}")
    if len(buffer) < id_len + 1:
        return None
    size_len = _vint_length(buffer[id_len])
    if len(buffer) < id_len + size_len:
        return None
    element_id = int.from_bytes(buffer[:id_len], "big")
    raw = int.from_bytes(buffer[id_len : id_len + size_len], "big")
    value = raw & ((1 << (7 * size_len)) - 1)
    size = None if value == (1 << (7 * size_len)) - 1 else value
    return element_id, size, id_len + size_len


def _vint_length(first: int) -> int:
    if first == 0:
        raise ValueError("malformed EBML variable-length integer")
    return 9 - first.bit_length()
