"""Access to a served dashboard over real HTTP(S) and websockets (``proximity dashboard`` in a child process,
no simulator needed): only hashes in the users file, lockout and its expiry, the session cookie's flags
(HttpOnly, SameSite=Lax, Secure over TLS), login CSRF refused by Origin, and the websocket's Origin
allow-list (a foreign origin is refused even with a valid session token; the served origin is accepted)."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
import requests

from dashboards.users import MAX_FAILURES, USERS_FILE
from tests.dashboard.conftest import serve_dashboard

pytestmark = pytest.mark.timeout(120)

EVIL = "http://evil.example"
PASSWORD = "operator-password-9"


@dataclass
class Dashboard:
    url: str  # "http(s)://127.0.0.1:<port>/"
    home: Path
    admin_password: str
    ca: Path | None = None

    @property
    def origin(self) -> str:
        return self.url.rstrip("/")

    @property
    def verify(self) -> str | bool:
        return str(self.ca) if self.ca else True


def _cli(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from proximity.cli import main; main()", "dashboard", "--db", str(home)]
    return subprocess.run(
        [*command, *args], input=stdin, text=True, capture_output=True, check=True, timeout=60
    )


def _serve(home: Path, *extra: str) -> Iterator[Dashboard]:
    for served in serve_dashboard(home, *extra):
        yield Dashboard(served.url, home, served.admin_password)


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    home = tmp_path_factory.mktemp("access-home")
    yield from _serve(home)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    from proximity.sim.tls import generate_certificate

    home = tmp_path_factory.mktemp("access-tls-home")
    certificate = generate_certificate(home / "tls")
    for dashboard in _serve(
        home, "--tls-cert", str(certificate.cert_path), "--tls-key", str(certificate.key_path)
    ):
        dashboard.ca = certificate.cert_path
        yield dashboard


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    home = tmp_path_factory.mktemp("access-proxied-home")
    yield from _serve(home, "--behind-proxy")


def _login(
    dashboard: Dashboard,
    user: str,
    password: str,
    origin: str | None = None,
    extra_headers: dict[str, str] | None = None,
) -> requests.Response:
    headers = {"Origin": origin} if origin else {}
    headers.update(extra_headers or {})
    return requests.post(
        f"{dashboard.url}login",
        data={"username": user, "password": password},
        headers=headers,
        allow_redirects=False,
        timeout=30,
        verify=dashboard.verify,
    )


def _cookie_attributes(response: requests.Response, name: str) -> dict[str, str]:
    """The attributes of one Set-Cookie header, lower-cased (requests folds several headers into one)."""
    raw = response.raw.headers.getlist("Set-Cookie")
    for header in raw:
        if header.startswith(f"{name}="):
            parsed = SimpleCookie()
            parsed.load(header)
            morsel = parsed[name]
            flags = {part.strip().lower() for part in header.split(";")[1:]}
            return {
                "httponly": str("httponly" in flags),
                "secure": str("secure" in flags),
                "samesite": str(morsel["samesite"]).lower(),
            }
    raise AssertionError(f"no {name} cookie in {raw}")


def _audit(dashboard: Dashboard, who: str) -> list[tuple[str, str]]:
    with sqlite3.connect(dashboard.home / "proximity.db") as db:
        return list(
            db.execute("SELECT action, outcome FROM audit WHERE who = ? ORDER BY id", [who]).fetchall()
        )


# ------------------------------------------------------------------ users file, cookies, lockout


def test_the_users_file_holds_hashes_only(plain: Dashboard) -> None:
    _cli(plain.home, "users", "add", "hashy", "--role", "operator", "--password-file", "-", stdin=PASSWORD)
    assert _login(plain, "hashy", PASSWORD).status_code == 302
    users_file = plain.home / USERS_FILE
    assert users_file.stat().st_mode & 0o777 == 0o600
    for path in [users_file, *plain.home.glob("proximity.db*")]:
        data = path.read_bytes()
        assert PASSWORD.encode() not in data, path
        assert plain.admin_password.encode() not in data, path
    record = json.loads(users_file.read_text())["hashy"]
    assert len(bytes.fromhex(record["password_hash"])) == 64 and len(bytes.fromhex(record["salt"])) == 16


def test_the_session_cookie_is_httponly_and_samesite_lax_without_secure_over_http(plain: Dashboard) -> None:
    answer = _login(plain, "admin", plain.admin_password, origin=plain.origin)
    assert answer.status_code == 302 and "error" not in answer.headers["Location"]
    for name in ("user", "id_token"):
        assert _cookie_attributes(answer, name) == {"httponly": "True", "secure": "False", "samesite": "lax"}


def test_behind_a_tls_proxy_the_cookie_is_secure_only_when_the_proxy_says_https(
    plain: Dashboard, proxied: Dashboard
) -> None:
    https = {"X-Forwarded-Proto": "https"}
    answer = _login(proxied, "admin", proxied.admin_password, origin=proxied.origin, extra_headers=https)
    assert answer.status_code == 302 and "error" not in answer.headers["Location"]
    assert _cookie_attributes(answer, "user")["secure"] == "True"
    plain_http = _login(proxied, "admin", proxied.admin_password, origin=proxied.origin)
    assert _cookie_attributes(plain_http, "user")["secure"] == "False"
    # without --behind-proxy the header is not trusted
    ignored = _login(plain, "admin", plain.admin_password, origin=plain.origin, extra_headers=https)
    assert _cookie_attributes(ignored, "user")["secure"] == "False"


def test_lockout_after_failures_and_its_expiry(plain: Dashboard) -> None:
    _cli(plain.home, "users", "add", "lotte", "--role", "viewer", "--password-file", "-", stdin=PASSWORD)
    for _ in range(MAX_FAILURES):
        assert "error" in _login(plain, "lotte", "wrong-password-x").headers["Location"]
    assert "error" in _login(plain, "lotte", PASSWORD).headers["Location"]  # locked: right password refused
    # the lock's time passes: the server compares locked_until with its own clock at every attempt
    users_file = plain.home / USERS_FILE
    users = json.loads(users_file.read_text())
    assert users["lotte"]["locked_until"] > time.time() + 200
    users["lotte"]["locked_until"] = time.time() - 1
    users_file.write_text(json.dumps(users))
    answer = _login(plain, "lotte", PASSWORD)
    assert answer.status_code == 302 and "error" not in answer.headers["Location"]
    assert [outcome for _, outcome in _audit(plain, "lotte")] == [*["failed"] * MAX_FAILURES, "locked", "ok"]


# ------------------------------------------------------------------ CSRF: login form and websocket


def test_a_login_post_from_a_foreign_origin_is_refused(plain: Dashboard) -> None:
    for origin in (EVIL, "null", f"{EVIL}:{plain.url.rsplit(':', 1)[1].rstrip('/')}"):
        answer = _login(plain, "admin", plain.admin_password, origin=origin)
        assert answer.status_code == 403, origin
        assert "Set-Cookie" not in answer.headers
    assert ("login", "refused (foreign origin)") in _audit(plain, "admin")
    accepted = _login(plain, "admin", plain.admin_password, origin=plain.origin)
    assert accepted.status_code == 302 and "user" in accepted.cookies


def _session_token(dashboard: Dashboard) -> tuple[requests.Session, str]:
    """Sign in and load the app page: Bokeh puts the session's token in it."""
    session = requests.Session()  # verify= on each call: REQUESTS_CA_BUNDLE would override session.verify
    login = session.post(
        f"{dashboard.url}login",
        data={"username": "admin", "password": dashboard.admin_password},
        headers={"Origin": dashboard.origin},
        timeout=30,
        verify=dashboard.verify,
    )
    assert login.status_code == 200
    page = session.get(dashboard.url, timeout=60, verify=dashboard.verify)
    token = re.search(r'"token":"([^"]+)"', page.text)
    assert token, page.text[:500]
    return session, token.group(1)


async def _open_websocket(dashboard: Dashboard, token: str, cookies: str, origin: str) -> tuple[int, str]:
    """Open the app's websocket as a browser would; returns (HTTP status, first message or error)."""
    import ssl

    from tornado.httpclient import HTTPClientError, HTTPRequest
    from tornado.websocket import websocket_connect

    ws_url = dashboard.url.replace("http", "ws", 1) + "ws"
    request = HTTPRequest(
        ws_url,
        headers={"Origin": origin, "Cookie": cookies},
        ssl_options=ssl.create_default_context(cafile=str(dashboard.ca)) if dashboard.ca else None,
        request_timeout=30,
    )
    try:
        connection = await websocket_connect(request, subprotocols=["bokeh", token])
    except HTTPClientError as error:
        return error.code, str(error)
    try:
        message = await asyncio.wait_for(connection.read_message(), timeout=30)
        return 101, str(message)
    finally:
        connection.close()


def _websocket(dashboard: Dashboard, origin: str) -> tuple[int, str]:
    session, token = _session_token(dashboard)
    cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    return asyncio.run(_open_websocket(dashboard, token, cookies, origin))


def test_the_websocket_refuses_a_foreign_origin_and_accepts_the_served_one(plain: Dashboard) -> None:
    status, detail = _websocket(plain, EVIL)
    assert status == 403, detail
    status, detail = _websocket(plain, plain.origin)
    assert status == 101 and "ACK" in detail, detail


# ------------------------------------------------------------------ TLS


def test_over_tls_the_cookie_is_secure_and_the_websocket_checks_origin(tls: Dashboard) -> None:
    assert tls.url.startswith("https://")
    answer = _login(tls, "admin", tls.admin_password, origin=tls.origin)
    assert answer.status_code == 302
    for name in ("user", "id_token"):
        assert _cookie_attributes(answer, name) == {"httponly": "True", "secure": "True", "samesite": "lax"}
    with pytest.raises(requests.exceptions.ConnectionError):  # no plain HTTP on the TLS port
        requests.get(tls.url.replace("https://", "http://"), timeout=10)
    assert _websocket(tls, EVIL)[0] == 403
    status, detail = _websocket(tls, tls.origin)
    assert status == 101 and "ACK" in detail, detail


def test_tls_options_are_checked_before_anything_starts(tmp_path: Path) -> None:
    from dashboards.server import DashboardConfigError, check_tls

    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    assert check_tls(None, None) is False
    with pytest.raises(DashboardConfigError, match="both"):
        check_tls(cert, None)
    with pytest.raises(DashboardConfigError, match="no such file"):
        check_tls(cert, tmp_path / "missing.key")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from proximity.cli import main; main()",
            "dashboard",
            "--db",
            str(tmp_path / "s"),
        ]
        + ["--port", "0", "--tls-cert", str(cert)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "both --tls-cert and --tls-key" in result.stderr
    assert "created user" not in result.stdout  # refused before the first admin was made
