"""Super-resolution for the gateway: overlapping tiles and the upscaler calls to Triton."""

__all__: list[str] = []
