"""The gateway's only door to Triton: typed async calls with errors translated to ours."""

from .client import OutputRegion, TritonClient, add_call_observer, add_output_observer, is_loopback

__all__ = ["OutputRegion", "TritonClient", "add_call_observer", "add_output_observer", "is_loopback"]
