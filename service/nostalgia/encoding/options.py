"""Encoder settings with the defaults the proto promises (zero means "the format's default")."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EncoderSettings"]

DEFAULT_QUALITY = 90


@dataclass(frozen=True, slots=True)
class EncoderSettings:
    """What a caller may tune. Zero leaves the choice to the format.

    ``quality`` (1..100) drives JPEG, WebP and animated WebP; ``bitrate_kbps`` switches MP4 and
    WebM from constant quality to a target bitrate; ``keyframe_interval`` (frames) sets the GOP
    and so the MP4 fragment length, which is the latency to the first playable fragment.
    """

    quality: int = 0
    bitrate_kbps: int = 0
    keyframe_interval: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.quality <= 100:
            raise ValueError(f"quality must be within 1..100 (or 0 for the default), got {self.quality}")
        if self.bitrate_kbps < 0:
            raise ValueError(f"bitrate_kbps must not be negative, got {self.bitrate_kbps}")
        if self.keyframe_interval < 0:
            raise ValueError(f"keyframe_interval must not be negative, got {self.keyframe_interval}")

    def effective_quality(self) -> int:
        return self.quality or DEFAULT_QUALITY

    def effective_keyframe_interval(self, fps: float) -> int:
        """Half a second of frames by default: a fragment every 0.5 s keeps first-play latency low."""
        return self.keyframe_interval or max(1, round(fps / 2))
