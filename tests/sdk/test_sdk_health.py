"""The health probe against real local servers: https with an app's self-signed certificate, the query
string of the path, any expected status, TCP checks, and failures that must stay failures."""

from __future__ import annotations

import datetime
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from proximity import HealthCheckFailed, ValidationError
from proximity.collections.health import wait_healthy

pytestmark = pytest.mark.timeout(60)


class _Recorder(BaseHTTPRequestHandler):
    """Answers every GET with the status the server was made with, and remembers the request target."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.server.paths.append(self.path)  # type: ignore[attr-defined]
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "app.local")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def _serve(status: int = 200, tls: tuple[Path, Path] | None = None) -> Iterator[Any]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.status, server.paths = status, []  # type: ignore[attr-defined]
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def plain() -> Iterator[Any]:
    yield from _serve()


@pytest.fixture
def unauthorized() -> Iterator[Any]:
    yield from _serve(status=401)


@pytest.fixture
def self_signed(tmp_path: Path) -> Iterator[Any]:
    yield from _serve(tls=_self_signed(tmp_path))


def _probe(server: Any, **options: Any) -> str:
    port = server.server_address[1]
    return anyio.run(lambda: wait_healthy("127.0.0.1", port, **{"timeout_s": 2, **options}))


def test_https_probe_accepts_the_apps_self_signed_certificate(self_signed: Any) -> None:
    answer = _probe(self_signed, path="/api/health", https=True)
    assert answer == "GET /api/health -> 200 (https, self-signed)"


def test_https_probe_on_a_plain_http_port_fails(plain: Any) -> None:
    with pytest.raises(HealthCheckFailed, match="not healthy"):  # the TLS handshake never succeeds
        _probe(plain, https=True, timeout_s=1)
    assert plain.paths == []  # and no request was ever made in the clear


def test_http_probe_sends_the_query_string(plain: Any) -> None:
    assert _probe(plain, path="/api?mode=version") == "GET /api?mode=version -> 200 (http)"
    assert plain.paths[-1] == "/api?mode=version"


def test_any_listed_status_counts_and_others_do_not(unauthorized: Any) -> None:
    assert _probe(unauthorized, expect=[200, 401]).startswith("GET / -> 401")
    with pytest.raises(HealthCheckFailed, match="-> 401"):
        _probe(unauthorized, expect=[200], timeout_s=0.3)


def test_tcp_check_connects_and_fails_on_a_closed_port(plain: Any) -> None:
    assert _probe(plain, kind="tcp").startswith("tcp 127.0.0.1:")
    port = plain.server_address[1]
    plain.shutdown()
    plain.server_close()
    with pytest.raises(HealthCheckFailed):
        anyio.run(lambda: wait_healthy("127.0.0.1", port, kind="tcp", timeout_s=0.3))


def test_a_health_path_with_spaces_is_refused(plain: Any) -> None:
    with pytest.raises(ValidationError):
        _probe(plain, path="/a b")
