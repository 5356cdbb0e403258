"""Connection settings shared by `Client` and `AsyncClient`: address, TLS, API key, limits.

Defaults come from the environment (NOSTALGIA_SERVER, NOSTALGIA_API_KEY) so the same script runs
against a laptop and a deployment without edits.
"""

from __future__ import annotations

import enum
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
import grpc.aio

__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES",
    "DEFAULT_RETRIES",
    "DEFAULT_SERVER",
    "DEFAULT_TIMEOUT_S",
    "USE_DEFAULT",
    "Connection",
    "PemSource",
    "UseDefault",
]

DEFAULT_SERVER = "localhost:50051"
DEFAULT_TIMEOUT_S = 120.0
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
DEFAULT_RETRIES = 2
MAX_RETRIES = 4  # gRPC caps a retry policy at five attempts


def _retry_config(retries: int) -> str:
    """A gRPC service config that resends UNAVAILABLE calls; gRPC never retries a stream that has
    already delivered a response, so a half-received animation is never duplicated."""
    policy = {
        "maxAttempts": retries + 1,
        "initialBackoff": "0.2s",
        "maxBackoff": "2s",
        "backoffMultiplier": 2,
        "retryableStatusCodes": ["UNAVAILABLE"],
    }
    return json.dumps(
        {"methodConfig": [{"name": [{"service": "nostalgia.v1.Nostalgia"}], "retryPolicy": policy}]}
    )


class UseDefault(enum.Enum):
    """Marks a per-call argument left to the client's default (where None has its own meaning)."""

    USE_DEFAULT = "use-default"


USE_DEFAULT = UseDefault.USE_DEFAULT

PemSource = bytes | str | os.PathLike[str]
"""PEM data as bytes, or the path of a PEM file."""


def _pem(source: PemSource | None) -> bytes | None:
    if source is None or isinstance(source, bytes):
        return source
    return Path(source).read_bytes()


@dataclass(frozen=True)
class Connection:
    """Where and how to connect.

    tls: None means "TLS when any certificate is given". root_certificates: CA bundle to trust
    (system roots when None). client_certificate + client_key: for mutual TLS.
    server_name: expected name in the server certificate, when it differs from the address.
    api_key: sent as `x-api-key` metadata on every call. timeout: default per-call deadline
    in seconds (None: no deadline). max_message_bytes: largest message sent or received.
    retries: how many times gRPC itself resends a call that failed with UNAVAILABLE before any
    answer arrived (with exponential backoff); the API documents such retries as safe.
    """

    target: str
    tls: bool
    root_certificates: bytes | None
    client_certificate: bytes | None
    client_key: bytes | None
    server_name: str | None
    api_key: str | None
    timeout: float | None
    max_message_bytes: int
    retries: int

    @classmethod
    def create(
        cls,
        target: str | None = None,
        *,
        tls: bool | None = None,
        root_certificates: PemSource | None = None,
        client_certificate: PemSource | None = None,
        client_key: PemSource | None = None,
        server_name: str | None = None,
        api_key: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT_S,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        retries: int = DEFAULT_RETRIES,
    ) -> Connection:
        if (client_certificate is None) != (client_key is None):
            raise ValueError("mutual TLS needs both client_certificate and client_key")
        if not 0 <= retries <= MAX_RETRIES:
            raise ValueError(f"retries must be within 0..{MAX_RETRIES} (got {retries})")
        if timeout is not None and timeout <= 0:
            raise ValueError(f"timeout must be positive seconds or None (got {timeout})")
        wants_tls = any(x is not None for x in (root_certificates, client_certificate, server_name))
        return cls(
            target=target or os.environ.get("NOSTALGIA_SERVER") or DEFAULT_SERVER,
            tls=wants_tls if tls is None else tls,
            root_certificates=_pem(root_certificates),
            client_certificate=_pem(client_certificate),
            client_key=_pem(client_key),
            server_name=server_name,
            api_key=api_key if api_key is not None else os.environ.get("NOSTALGIA_API_KEY") or None,
            timeout=timeout,
            max_message_bytes=max_message_bytes,
            retries=retries,
        )

    def _options(self) -> list[tuple[str, str | int]]:
        options: list[tuple[str, str | int]] = [
            ("grpc.max_send_message_length", self.max_message_bytes),
            ("grpc.max_receive_message_length", self.max_message_bytes),
            ("grpc.primary_user_agent", "nostalgia-client/0.1"),
        ]
        if self.server_name:
            options.append(("grpc.ssl_target_name_override", self.server_name))
        if self.retries:
            options.append(("grpc.service_config", _retry_config(self.retries)))
        return options

    def _credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=self.root_certificates,
            private_key=self.client_key,
            certificate_chain=self.client_certificate,
        )

    def channel(self) -> grpc.Channel:
        if self.tls:
            return grpc.secure_channel(self.target, self._credentials(), options=self._options())
        return grpc.insecure_channel(self.target, options=self._options())

    def aio_channel(self) -> grpc.aio.Channel:
        if self.tls:
            return grpc.aio.secure_channel(self.target, self._credentials(), options=self._options())
        return grpc.aio.insecure_channel(self.target, options=self._options())

    def metadata(self) -> Sequence[tuple[str, str]]:
        return (("x-api-key", self.api_key),) if self.api_key else ()

    def deadline(self, timeout: float | UseDefault | None) -> float | None:
        """The per-call timeout: the call's own when given (None = no deadline), else the default."""
        return self.timeout if isinstance(timeout, UseDefault) else timeout
