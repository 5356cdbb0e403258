"""Running NVIDIA Triton beside the gateway when no external server is configured."""

from .embedded import EmbeddedTriton, TritonStartError

__all__ = ["EmbeddedTriton", "TritonStartError"]
