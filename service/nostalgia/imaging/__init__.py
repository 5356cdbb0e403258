"""Image handling on the gateway: decoding uploads and resizing, with numpy and Pillow/OpenCV only."""

from .decode import DecodeLimits, decode_image

__all__ = ["DecodeLimits", "decode_image"]
