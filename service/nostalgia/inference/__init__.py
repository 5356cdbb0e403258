"""The gateway's only door to Triton: typed async calls with errors translated to ours."""

from .client import TritonClient

__all__ = ["TritonClient"]
