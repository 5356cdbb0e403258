"""Small edits and reads of WebP's RIFF container (https://developers.google.com/speed/webp/docs/riff_container)."""

from __future__ import annotations

__all__ = ["add_xmp", "milliseconds_in_prefix"]

_VP8X_XMP = 0x04


def _chunks(data: bytes) -> list[tuple[bytes, int, int]]:
    """(fourcc, start, end) of each top-level chunk after the 12-byte RIFF/WEBP header."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("not a RIFF WebP file")
    chunks = []
    offset = 12
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset + 4 : offset + 8], "little")
        end = offset + 8 + size + (size & 1)
        chunks.append((data[offset : offset + 4], offset, end))
        offset = end
    return chunks


def add_xmp(data: bytes, xmp: bytes) -> bytes:
    """Append an XMP chunk to an extended (VP8X) WebP and set its flag and the RIFF size."""
    chunks = _chunks(data)
    if not chunks or chunks[0][0] != b"VP8X":
        raise ValueError("XMP needs the extended WebP format (VP8X first)")
    if any(fourcc == b"XMP " for fourcc, _, _ in chunks):
        raise ValueError("WebP already carries XMP")
    out = bytearray(data)
    out[20] |= _VP8X_XMP  # VP8X flags byte: 12 (RIFF header) + 8 (chunk header)
    out += b"XMP " + len(xmp).to_bytes(4, "little") + xmp + (b"\0" if len(xmp) & 1 else b"")
    out[4:8] = (len(out) - 8).to_bytes(4, "little")
    return bytes(out)


def milliseconds_in_prefix(data: bytes, prefix_length: int) -> int:
    """Play time of the ANMF frames of an animated WebP that end within its first ``prefix_length`` bytes.

    Time rather than a count of ANMF chunks, because libwebp merges identical consecutive
    frames into one longer one.
    """
    total = 0
    for fourcc, start, end in _chunks(data):
        if fourcc == b"ANMF" and end <= prefix_length:
            total += int.from_bytes(data[start + 8 + 12 : start + 8 + 15], "little")
    return total
