"""What every RPC handler shares for the life of the process: settings, the Triton client, health."""

from __future__ import annotations

from dataclasses import dataclass, field

from grpc_health.v1 import _async as health_aio

from .admission import Admission
from .config import Settings
from .imaging import DecodeLimits
from .inference import TritonClient

__all__ = ["App"]


@dataclass
class App:
    settings: Settings
    triton: TritonClient
    health: health_aio.HealthServicer = field(default_factory=health_aio.HealthServicer)
    decode_limits: DecodeLimits = field(default_factory=DecodeLimits)
    admission: Admission = field(default_factory=lambda: Admission(4, 16))

    @classmethod
    def create(cls, settings: Settings, triton_url: str) -> App:
        return cls(
            settings=settings,
            triton=TritonClient(
                triton_url,
                settings.triton_timeout_s,
                shared_memory={"on": True, "off": False}.get(settings.triton_shared_memory),
            ),
            decode_limits=DecodeLimits(
                max_bytes=settings.max_upload_bytes,
                max_pixels=settings.max_image_pixels,
                max_side=settings.max_image_side,
            ),
            admission=Admission(settings.max_concurrent_calls, settings.max_queued_calls),
        )

    async def close(self) -> None:
        await self.triton.close()
