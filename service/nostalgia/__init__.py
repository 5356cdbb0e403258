"""Nostalgia gateway: the gRPC service that animates old portrait photos.

The gateway decodes and checks uploads, finds and aligns faces, turns motion presets into
per-frame parameters, composites and encodes frames, and streams them back. Every neural
network and the per-frame warp run in NVIDIA Triton; the gateway never imports torch.
"""

__version__ = "0.1.0"
