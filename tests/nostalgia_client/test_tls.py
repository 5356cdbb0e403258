"""TLS and mutual TLS with certificates made by openssl for the test, against a real TLS server."""

from __future__ import annotations

import asyncio
import io
import shutil
import subprocess
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest

import nostalgia_client as nc
from nostalgia.v1 import nostalgia_pb2_grpc as pb_grpc
from nostalgia_client.cli import main

from .conftest import ScriptedServicer

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _issue(name: str, cn: str, extensions: str, cwd: Path) -> None:
    """A P-256 key and a certificate for it signed by the test CA."""
    (cwd / f"{name}.ext").write_text(extensions + "\n")
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}.key", cwd=cwd)
    _openssl("req", "-new", "-key", f"{name}.key", "-subj", f"/CN={cn}", "-out", f"{name}.csr", cwd=cwd)
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=cwd,
    )  # fmt: skip


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cwd = tmp_path_factory.mktemp("pki")
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key", cwd=cwd)
    _openssl(
        "req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=nostalgia test CA", "-days", "2",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
        "-out", "ca.pem", cwd=cwd,
    )  # fmt: skip
    _issue("server", "localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1", cwd)
    _issue("client", "nostalgia test client", "extendedKeyUsage=clientAuth", cwd)
    return cwd


@pytest.fixture(scope="module")
def mtls_address(pki: Path) -> Iterator[str]:
    """A server that requires a client certificate signed by the test CA."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    pb_grpc.add_NostalgiaServicer_to_server(ScriptedServicer(), server)
    credentials = grpc.ssl_server_credentials(
        [((pki / "server.key").read_bytes(), (pki / "server.pem").read_bytes())],
        root_certificates=(pki / "ca.pem").read_bytes(),
        require_client_auth=True,
    )
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    try:
        yield f"localhost:{port}"
    finally:
        server.stop(grace=None)


def test_mutual_tls_with_paths_or_bytes(pki: Path, mtls_address: str) -> None:
    with nc.Client(
        mtls_address,
        root_certificates=pki / "ca.pem",
        client_certificate=pki / "client.pem",
        client_key=(pki / "client.key").read_bytes(),
        timeout=10,
    ) as client:
        assert [d.name for d in client.list_drivers()] == ["blink"]
        assert client.connection.tls


def test_async_mutual_tls(pki: Path, mtls_address: str) -> None:
    async def run() -> list[str]:
        async with nc.AsyncClient(
            mtls_address,
            root_certificates=str(pki / "ca.pem"),
            client_certificate=str(pki / "client.pem"),
            client_key=str(pki / "client.key"),
            timeout=10,
        ) as client:
            return [d.name for d in await client.list_drivers()]

    assert asyncio.run(run()) == ["blink"]


def test_without_a_client_certificate_the_server_refuses(pki: Path, mtls_address: str) -> None:
    client = nc.Client(mtls_address, root_certificates=pki / "ca.pem", timeout=10)
    with client, pytest.raises(nc.Unavailable):
        client.list_drivers()


def test_plain_text_client_cannot_talk_to_a_tls_server(mtls_address: str) -> None:
    with nc.Client(mtls_address, timeout=10) as client, pytest.raises(nc.Unavailable):
        client.list_drivers()


def test_half_a_client_identity_is_a_usage_error(pki: Path) -> None:
    with pytest.raises(ValueError, match="needs both client_certificate and client_key"):
        nc.Client("localhost:1", client_certificate=pki / "client.pem")
    err = io.StringIO()
    assert main(["drivers", "--cert", str(pki / "client.pem")], stderr=err) == 2
    assert "needs both" in err.getvalue()


def test_cli_tls_flags(pki: Path, mtls_address: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    argv = ["drivers", "--server", mtls_address, "--ca-cert", str(pki / "ca.pem")]
    argv += ["--cert", str(pki / "client.pem"), "--key", str(pki / "client.key"), "--timeout", "10"]
    assert main(argv, stdout=out, stderr=err) == 0, err.getvalue()
    assert out.getvalue().splitlines()[1].startswith("blink")
    err = io.StringIO()
    assert main(["drivers", "--ca-cert", str(pki / "nope.pem")], stderr=err) == 11
    assert f"cannot read {pki / 'nope.pem'}: no such file" in err.getvalue()
