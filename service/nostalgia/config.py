"""Every setting of the gateway, typed, read once from flags and ``NOSTALGIA_*`` environment variables.

Flags win over environment variables, which win over the defaults below. Nothing else in the
package reads ``os.environ`` or ``sys.argv``: a setting that is not here does not exist.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = ["Settings", "default_model_repository"]

_MiB = 1024 * 1024


def default_model_repository() -> Path:
    """The repository shipped beside the package (a source checkout's ``model_repository/``)."""
    return Path(__file__).resolve().parents[2] / "model_repository"


@dataclass(frozen=True)
class Settings:
    """Gateway configuration. Field docs double as ``--help`` text."""

    host: str = field(default="0.0.0.0", metadata={"help": "address the gRPC server binds"})
    port: int = field(default=50051, metadata={"help": "gRPC port (0 picks a free one)"})
    metrics_host: str = field(default="0.0.0.0", metadata={"help": "address of the Prometheus endpoint"})
    metrics_port: int = field(default=9464, metadata={"help": "Prometheus /metrics port (0: free port)"})
    triton_url: str = field(
        default="", metadata={"help": "host:port of an external Triton gRPC endpoint; empty starts one"}
    )
    triton_grpc_port: int = field(default=8001, metadata={"help": "embedded Triton gRPC port (0: free)"})
    triton_http_port: int = field(default=8000, metadata={"help": "embedded Triton HTTP port (0: free)"})
    triton_metrics_port: int = field(
        default=8002, metadata={"help": "embedded Triton metrics port (0: free)"}
    )
    model_repository: Path = field(
        default_factory=default_model_repository, metadata={"help": "Triton model repository"}
    )
    triton_startup_timeout_s: float = field(
        default=300.0, metadata={"help": "how long to wait for the embedded Triton's models to be ready"}
    )
    triton_shared_memory: str = field(
        default="auto",
        metadata={
            "help": "auto, on or off: rendered frames come back through /dev/shm instead of gRPC"
            " (auto: when Triton's address is loopback; falls back to gRPC if Triton cannot open it)"
        },
    )
    triton_timeout_s: float = field(
        default=60.0, metadata={"help": "longest single Triton call when the caller set no deadline"}
    )
    max_message_bytes: int = field(
        default=32 * _MiB, metadata={"help": "largest gRPC message accepted or sent, bytes"}
    )
    shutdown_grace_s: float = field(
        default=30.0, metadata={"help": "on SIGTERM, how long in-flight streams may finish"}
    )
    max_upload_bytes: int = field(
        default=25 * _MiB,
        metadata={"help": "largest photo upload accepted, bytes (RESOURCE_EXHAUSTED above)"},
    )
    max_image_pixels: int = field(
        default=50_000_000, metadata={"help": "largest photo accepted, pixels; checked from the header"}
    )
    max_image_side: int = field(default=12_000, metadata={"help": "longest photo side accepted, pixels"})
    max_duration_s: float = field(default=30.0, metadata={"help": "longest Animate clip, seconds"})
    max_fps: float = field(default=60.0, metadata={"help": "highest Animate frame rate"})
    max_output_size: int = field(default=2048, metadata={"help": "largest output side, pixels"})
    max_enhance_pixels: int = field(
        default=1_048_576,
        metadata={"help": "largest photo Enhance upscales, pixels (RESOURCE_EXHAUSTED above)"},
    )
    max_concurrent_calls: int = field(
        default=4, metadata={"help": "heavy calls (Animate, Enhance, DetectFaces) running at once"}
    )
    max_queued_calls: int = field(
        default=16, metadata={"help": "heavy calls waiting for a slot; beyond it RESOURCE_EXHAUSTED at once"}
    )
    tls_cert_file: str = field(
        default="", metadata={"help": "PEM server certificate chain; empty: plaintext"}
    )
    tls_key_file: str = field(default="", metadata={"help": "PEM private key of tls_cert_file"})
    tls_client_ca_file: str = field(
        default="", metadata={"help": "PEM CA bundle; set to require client certificates (mutual TLS)"}
    )
    api_keys: str = field(
        default="",
        metadata={
            "help": "comma-separated API keys, each `KEY` or `KEY:Method+Method`; empty with no file: open"
        },
    )
    api_keys_file: str = field(
        default="", metadata={"help": "file of API keys, one `KEY [Method ...]` per line, # comments"}
    )
    log_level: str = field(default="INFO", metadata={"help": "DEBUG, INFO, WARNING or ERROR"})
    log_format: str = field(default="json", metadata={"help": "json (one object per line) or text"})

    @classmethod
    def from_args(cls, argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> Settings:
        """Parse flags (``--triton-url``) over environment (``NOSTALGIA_TRITON_URL``) over defaults."""
        environ = os.environ if env is None else env
        parser = argparse.ArgumentParser(
            prog="python -m nostalgia",
            description="Nostalgia gateway: animate old portrait photos over gRPC.",
        )
        defaults = cls()
        for f in fields(cls):
            env_name = f"NOSTALGIA_{f.name.upper()}"
            default: Any = getattr(defaults, f.name)
            convert = _converter(type(default))
            if env_name in environ:
                default = convert(environ[env_name])
            parser.add_argument(
                "--" + f.name.replace("_", "-"),
                type=convert,
                default=default,
                help=f"{f.metadata.get('help', '')} (env {env_name}; default: %(default)s)",
            )
        values = vars(parser.parse_args(argv))
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Reject settings that cannot work, with a message naming the setting."""
        if self.log_format not in ("json", "text"):
            raise ValueError(f"log_format must be 'json' or 'text', not {self.log_format!r}")
        if self.triton_shared_memory not in ("auto", "on", "off"):
            raise ValueError(
                f"triton_shared_memory must be 'auto', 'on' or 'off', not {self.triton_shared_memory!r}"
            )
        if self.max_message_bytes < _MiB:
            raise ValueError("max_message_bytes must be at least 1 MiB")
        for name in ("max_upload_bytes", "max_image_pixels", "max_image_side", "max_output_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, not {getattr(self, name)}")
        if self.max_upload_bytes >= self.max_message_bytes:
            raise ValueError("max_upload_bytes must be below max_message_bytes (the request carries more)")
        if not (self.max_duration_s > 0 and self.max_fps >= 1):
            raise ValueError("max_duration_s must be positive and max_fps at least 1")
        if self.max_concurrent_calls < 1 or self.max_queued_calls < 0:
            raise ValueError("max_concurrent_calls must be at least 1 and max_queued_calls at least 0")
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            raise ValueError("tls_cert_file and tls_key_file must be set together")
        if self.tls_client_ca_file and not self.tls_cert_file:
            raise ValueError("tls_client_ca_file (mutual TLS) needs tls_cert_file and tls_key_file")
        for name in ("port", "metrics_port", "triton_grpc_port", "triton_http_port", "triton_metrics_port"):
            value = getattr(self, name)
            if not 0 <= value <= 65535:
                raise ValueError(f"{name} must be a port number (0-65535), not {value}")


def _converter(kind: type) -> Any:
    if kind is bool:
        return lambda text: text.strip().lower() in ("1", "true", "yes", "on")
    if kind is Path or issubclass(kind, Path):
        return Path
    return kind
