"""The self-signed certificate: a CA bundle, pinned by its fingerprint, SAN 127.0.0.1 + localhost."""

from __future__ import annotations

import hashlib
import http.client
import ssl
from typing import Any

import pytest
from proxmoxer import ProxmoxAPI


def test_ca_path_works_as_requests_ca_bundle(simulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", simulator.ca_path)
    user, name = simulator.token_id.split("!")
    for host in ("127.0.0.1", "localhost"):
        px = ProxmoxAPI(
            host,
            port=simulator.port,
            user=user,
            token_name=name,
            token_value=simulator.token_secret,
            verify_ssl=True,
        )
        assert px.version.get()["release"] == "9.1"


def test_fingerprint_is_the_served_certificate(simulator: Any) -> None:
    der = ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate((simulator.host, simulator.port)))
    digest = hashlib.sha256(der).hexdigest().upper()
    assert simulator.fingerprint == ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def test_one_connection_serves_many_answers(simulator: Any) -> None:
    """Keep-alive as pveproxy: answers (errors included) leave the connection open for the next request."""
    context = ssl.create_default_context(cafile=simulator.ca_path)
    connection = http.client.HTTPSConnection(simulator.host, simulator.port, context=context, timeout=10)
    headers = {"Authorization": f"PVEAPIToken={simulator.token_id}={simulator.token_secret}"}
    sockets = []
    try:
        answers = (("/version", 200), ("/nope", 501), ("/cluster/resources", 200), ("/version", 200))
        for path, status in answers:
            connection.request("GET", f"/api2/json{path}", headers=headers)
            answer = connection.getresponse()
            body = answer.read()
            assert answer.status == status and int(answer.getheader("Content-Length", "-1")) == len(body)
            sockets.append(connection.sock)
        assert sockets[0] is not None and all(sock is sockets[0] for sock in sockets)  # never reopened
    finally:
        connection.close()
