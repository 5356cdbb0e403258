"""Incremental encoders for Animate's outputs: image frames and containers that play while they arrive.

Everything stays in memory. Every output carries a provenance note in its metadata, and
frames get a visible "AI animated" badge unless the caller turns it off.
"""

from __future__ import annotations

from nostalgia.encoding.base import EncodedPiece, Encoder, EncoderClosed, RgbFrame
from nostalgia.encoding.factory import create_encoder
from nostalgia.encoding.formats import FormatInfo, MediaFormat, from_proto, info
from nostalgia.encoding.options import EncoderSettings
from nostalgia.encoding.provenance import PROVENANCE_TEXT

__all__ = [
    "PROVENANCE_TEXT",
    "EncodedPiece",
    "Encoder",
    "EncoderClosed",
    "EncoderSettings",
    "FormatInfo",
    "MediaFormat",
    "RgbFrame",
    "create_encoder",
    "from_proto",
    "info",
]
