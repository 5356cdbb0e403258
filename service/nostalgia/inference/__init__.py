"""The gateway's only door to Triton: typed async calls with errors translated to ours."""

from .client import OutputRegion, TritonClient, is_loopback

__all__ = ["OutputRegion", "TritonClient", "is_loopback"]
