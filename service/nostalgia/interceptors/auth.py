"""API-key authentication: callers present ``x-api-key`` metadata; health stays open for probes.

Keys come from settings (a comma-separated list, a file, or both). Each key may be limited to
some RPCs (its scopes); a key with no scopes may call every RPC. A missing or unknown key gets
UNAUTHENTICATED, a known key outside its scopes PERMISSION_DENIED. Keys are kept only as SHA-256
digests so the process memory and logs never hold them in a form worth stealing, and lookups do
not compare secret bytes one by one.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc import aio

__all__ = ["ALL_SCOPES", "OPEN_SERVICES", "ApiKeys", "AuthInterceptor", "parse_key_entry"]

_LOG = logging.getLogger("nostalgia.auth")

HEADER = "x-api-key"
ALL_SCOPES = "*"
# Probes must reach health without a secret; reflection and our API need a key.
OPEN_SERVICES = frozenset({"grpc.health.v1.Health"})
# Reflection only describes the API, so any valid key may use it whatever its scopes.
ANY_KEY_SERVICES = frozenset(
    {"grpc.reflection.v1alpha.ServerReflection", "grpc.reflection.v1.ServerReflection"}
)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_key_entry(entry: str) -> tuple[str, frozenset[str]]:
    """``KEY``, ``KEY:Animate+ListDrivers`` or ``KEY Animate ListDrivers`` -> (key, scopes)."""
    entry = entry.strip()
    if ":" in entry:
        key, _, scope_text = entry.partition(":")
        scopes = [s for s in scope_text.replace("+", " ").split() if s]
    else:
        key, *scopes = entry.split()
    key = key.strip()
    if not key:
        raise ValueError("an API key entry has an empty key")
    return key, frozenset(scopes or [ALL_SCOPES])


@dataclass(frozen=True)
class ApiKeys:
    """Digest of each accepted key -> the RPC method names it may call (``*``: all)."""

    scopes_by_digest: dict[str, frozenset[str]]

    @classmethod
    def from_entries(cls, entries: Iterable[str]) -> ApiKeys:
        table: dict[str, frozenset[str]] = {}
        for entry in entries:
            if entry.strip() and not entry.lstrip().startswith("#"):
                key, scopes = parse_key_entry(entry)
                table[_digest(key)] = scopes
        return cls(table)

    @classmethod
    def from_settings(cls, inline: str, file: str) -> ApiKeys | None:
        """The configured keys, or None when none are configured (authentication off)."""
        entries = [e for e in inline.split(",") if e.strip()]
        if file:
            entries += Path(file).read_text().splitlines()
        if not entries:
            return None
        keys = cls.from_entries(entries)
        if not keys.scopes_by_digest:
            raise ValueError(f"no API key found in {file or 'api_keys'}")
        return keys

    def scopes(self, key: str) -> frozenset[str] | None:
        return self.scopes_by_digest.get(_digest(key))


def _key_of(metadata: Iterable[Any] | None) -> str | None:
    for item in metadata or ():
        name, value = item[0], item[1]
        if name.lower() == HEADER:
            return value.decode() if isinstance(value, bytes) else str(value)
    return None


def _denying(
    handler: grpc.RpcMethodHandler[Any, Any], code: grpc.StatusCode, message: str
) -> grpc.RpcMethodHandler[Any, Any]:
    """A handler of ``handler``'s shape that only aborts: the real one never runs."""
    kwargs = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }

    async def deny_unary(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        await context.abort(code, message)

    async def deny_stream(request: Any, context: aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
        await context.abort(code, message)
        yield  # pragma: no cover - abort raises

    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(deny_stream, **kwargs)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(deny_unary, **kwargs)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(deny_stream, **kwargs)
    return grpc.unary_unary_rpc_method_handler(deny_unary, **kwargs)


class AuthInterceptor(aio.ServerInterceptor):  # type: ignore[type-arg]
    """Checks ``x-api-key`` against ``keys`` before any handler runs."""

    def __init__(self, keys: ApiKeys) -> None:
        self.keys = keys

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        service, _, method = handler_call_details.method.lstrip("/").rpartition("/")
        if handler is None or service in OPEN_SERVICES:
            return handler
        key = _key_of(handler_call_details.invocation_metadata)
        if not key:
            return _denying(
                handler, grpc.StatusCode.UNAUTHENTICATED, f"missing API key: send it in `{HEADER}` metadata"
            )
        scopes = self.keys.scopes(key)
        if scopes is None:
            _LOG.warning("unknown API key", extra={"method": method, "key_sha256_prefix": _digest(key)[:8]})
            return _denying(handler, grpc.StatusCode.UNAUTHENTICATED, "unknown API key")
        if ALL_SCOPES in scopes or method in scopes or service in ANY_KEY_SERVICES:
            return handler
        return _denying(handler, grpc.StatusCode.PERMISSION_DENIED, f"this API key may not call {method}")
