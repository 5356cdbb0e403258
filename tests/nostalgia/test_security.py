"""TLS, mutual TLS and API keys on real gateways, with certificates made here by `cryptography`.

Each call that gets past the guards sends an empty image, so reaching the handler shows as
INVALID_ARGUMENT without costing a model call.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc

from nostalgia.config import Settings
from nostalgia.local import BackgroundGateway, start_gateway
from nostalgia.v1 import nostalgia_pb2 as pb
from nostalgia.v1 import nostalgia_pb2_grpc as pb_grpc


@dataclass(frozen=True)
class Pem:
    cert: bytes
    key: bytes


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _issue(
    subject: str, issuer: Pem | None, *, ca: bool = False, server: bool = False, client: bool = False
) -> Pem:
    """A P-256 key and a certificate for it, self-signed when ``issuer`` is None."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    if issuer is None:
        issuer_name, signing_key = _name(subject), key
    else:
        issuer_cert = x509.load_pem_x509_certificate(issuer.cert)
        issuer_name = issuer_cert.subject
        loaded = serialization.load_pem_private_key(issuer.key, password=None)
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)
        signing_key = loaded
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    if client:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    cert = builder.sign(signing_key, hashes.SHA256())
    return Pem(
        cert=cert.public_bytes(serialization.Encoding.PEM),
        key=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )


@dataclass(frozen=True)
class Pki:
    ca: Pem
    server: Pem
    client: Pem
    stranger: Pem  # a client certificate from a CA the gateway does not trust
    files: dict[str, str]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    ca = _issue("Nostalgia test CA", None, ca=True)
    server = _issue("localhost", ca, server=True)
    client = _issue("backend-service", ca, client=True)
    other_ca = _issue("Someone else's CA", None, ca=True)
    stranger = _issue("intruder", other_ca, client=True)
    folder = tmp_path_factory.mktemp("pki")
    files = {}
    for name, data in (("ca.pem", ca.cert), ("server.pem", server.cert), ("server.key", server.key)):
        (folder / name).write_bytes(data)
        files[name] = str(folder / name)
    return Pki(ca, server, client, stranger, files)


def _serve(settings: Settings) -> Iterator[BackgroundGateway]:
    settings.validate()
    running = start_gateway(settings)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def tls_gateway(gateway_settings: Settings, pki: Pki) -> Iterator[BackgroundGateway]:
    yield from _serve(
        replace(gateway_settings, tls_cert_file=pki.files["server.pem"], tls_key_file=pki.files["server.key"])
    )


@pytest.fixture(scope="module")
def mtls_gateway(gateway_settings: Settings, pki: Pki) -> Iterator[BackgroundGateway]:
    yield from _serve(
        replace(
            gateway_settings,
            tls_cert_file=pki.files["server.pem"],
            tls_key_file=pki.files["server.key"],
            tls_client_ca_file=pki.files["ca.pem"],
        )
    )


def _reach(channel: grpc.Channel) -> grpc.StatusCode:
    """The status of a cheap Animate call through ``channel`` (INVALID_ARGUMENT: it got through)."""
    try:
        list(pb_grpc.NostalgiaStub(channel).Animate(pb.AnimateRequest(image=b""), timeout=10))
    except grpc.RpcError as exc:
        return exc.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def test_tls_serves_clients_that_trust_the_ca_and_refuses_plaintext(
    tls_gateway: BackgroundGateway, pki: Pki
) -> None:
    address = f"localhost:{tls_gateway.port}"
    with grpc.secure_channel(address, grpc.ssl_channel_credentials(root_certificates=pki.ca.cert)) as channel:
        assert _reach(channel) == grpc.StatusCode.INVALID_ARGUMENT
    with grpc.insecure_channel(address) as channel:
        assert _reach(channel) == grpc.StatusCode.UNAVAILABLE
    untrusted = _issue("Another CA", None, ca=True)
    with grpc.secure_channel(
        address, grpc.ssl_channel_credentials(root_certificates=untrusted.cert)
    ) as channel:
        assert _reach(channel) == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_requires_a_client_certificate_from_the_trusted_ca(
    mtls_gateway: BackgroundGateway, pki: Pki
) -> None:
    address = f"localhost:{mtls_gateway.port}"

    def credentials(client: Pem | None) -> grpc.ChannelCredentials:
        if client is None:
            return grpc.ssl_channel_credentials(root_certificates=pki.ca.cert)
        return grpc.ssl_channel_credentials(
            pki.ca.cert, private_key=client.key, certificate_chain=client.cert
        )

    for label, client, expected in (
        ("trusted client certificate", pki.client, grpc.StatusCode.INVALID_ARGUMENT),
        ("no client certificate", None, grpc.StatusCode.UNAVAILABLE),
        ("certificate from an untrusted CA", pki.stranger, grpc.StatusCode.UNAVAILABLE),
    ):
        with grpc.secure_channel(address, credentials(client)) as channel:
            assert _reach(channel) == expected, label


def test_settings_reject_half_configured_tls(gateway_settings: Settings, pki: Pki) -> None:
    with pytest.raises(ValueError, match="set together"):
        replace(gateway_settings, tls_cert_file=pki.files["server.pem"]).validate()
    with pytest.raises(ValueError, match="mutual TLS"):
        replace(gateway_settings, tls_client_ca_file=pki.files["ca.pem"]).validate()


@pytest.fixture(scope="module")
def keyed_gateway(
    gateway_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BackgroundGateway]:
    keys_file = tmp_path_factory.mktemp("keys") / "api-keys"
    keys_file.write_text("# team keys\nfile-key-animate Animate\n\nfile-key-lister ListDrivers\n")
    yield from _serve(
        replace(
            gateway_settings, api_keys="env-key-all, env-key-detect:DetectFaces", api_keys_file=str(keys_file)
        )
    )


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (None, grpc.StatusCode.UNAUTHENTICATED),
        ("", grpc.StatusCode.UNAUTHENTICATED),
        ("not-a-key", grpc.StatusCode.UNAUTHENTICATED),
        ("env-key-all", grpc.StatusCode.INVALID_ARGUMENT),
        ("file-key-animate", grpc.StatusCode.INVALID_ARGUMENT),
        ("env-key-detect", grpc.StatusCode.PERMISSION_DENIED),
        ("file-key-lister", grpc.StatusCode.PERMISSION_DENIED),
    ],
)
def test_api_keys_guard_animate(
    keyed_gateway: BackgroundGateway, key: str | None, expected: grpc.StatusCode
) -> None:
    metadata = None if key is None else [("x-api-key", key)]
    with grpc.insecure_channel(keyed_gateway.address) as channel:
        stub = pb_grpc.NostalgiaStub(channel)
        with pytest.raises(grpc.RpcError) as info:
            list(stub.Animate(pb.AnimateRequest(image=b""), metadata=metadata, timeout=10))
    assert info.value.code() == expected, info.value.details()
    if expected == grpc.StatusCode.UNAUTHENTICATED:
        assert "API key" in (info.value.details() or "")


def test_health_needs_no_key_so_probes_work(keyed_gateway: BackgroundGateway) -> None:
    with grpc.insecure_channel(keyed_gateway.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        response = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
    assert response.status in (
        health_pb2.HealthCheckResponse.SERVING,
        health_pb2.HealthCheckResponse.NOT_SERVING,
    )


def test_keys_file_that_holds_no_key_is_a_startup_error(gateway_settings: Settings, tmp_path: Path) -> None:
    empty = tmp_path / "keys"
    empty.write_text("# nobody\n\n")
    with pytest.raises(RuntimeError, match="no API key"):
        start_gateway(replace(gateway_settings, api_keys_file=str(empty)))
