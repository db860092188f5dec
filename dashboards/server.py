"""Serving the dashboard: login (Proximity's users file, scrypt, lockout, signed cookies with an owner-only
``cookie_secret``), the first admin, and optionally the embedded simulator as host ``demo``."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dashboards.users import Role, UserStore, cookie_secret, generate_password
from proximity.client import Proximity
from proximity.errors import Conflict

DEMO_HOST = "demo"
ADMIN = "admin"


class DashboardConfigError(ValueError):
    """The requested serving options are unsafe or inconsistent."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class FirstAdmin:
    name: str
    password: str


def ensure_admin(users: UserStore) -> FirstAdmin | None:
    """Create the first admin with a random password when there are no users (shown once by the caller)."""
    if not users.is_empty():
        return None
    password = generate_password()
    users.add(ADMIN, Role.ADMIN, password)
    return FirstAdmin(ADMIN, password)


def add_demo_host(home: Path, simulator: Any) -> str:
    """Record the running simulator as host ``demo`` (absent, or recorded for an earlier simulator run and
    holding no apps, in which case it is re-pointed). Returns what happened, for the terminal."""
    with Proximity(home, front_end="dashboard", who="demo") as px:
        existing = {h.name for h in px.hosts.list()}
        if DEMO_HOST in existing:
            try:
                px.hosts.remove(DEMO_HOST, confirm=True)
            except Conflict as error:
                raise DashboardConfigError(
                    f"host {DEMO_HOST!r} in {home} belongs to an earlier simulator run and still has apps "
                    f"({error}); use a fresh state directory (--db DIR) for the demo"
                ) from None
        px.hosts.add(DEMO_HOST, **simulator.host_options())
    return "re-pointed" if DEMO_HOST in existing else "added"


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def check_tls(tls_cert: Path | None, tls_key: Path | None) -> bool:
    """Whether to serve over TLS: both files given and readable, or neither."""
    if (tls_cert is None) != (tls_key is None):
        raise DashboardConfigError("give both --tls-cert and --tls-key, or neither")
    for path in (tls_cert, tls_key):
        if path is not None and not path.is_file():
            raise DashboardConfigError(f"no such file: {path}")
    return tls_cert is not None


def serve(
    home: Path,
    *,
    host: str,
    port: int,
    login: bool,
    origins: list[str],
    ready: Any = None,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    behind_proxy: bool = False,
) -> None:
    """Serve until interrupted. ``ready`` (optional) is called with the URL once the server listens. With
    ``tls_cert``/``tls_key`` (PEM files) it speaks HTTPS/WSS only and the session cookies are ``Secure``.
    ``behind_proxy``: a TLS-terminating proxy forwards to us; its ``X-Forwarded-Proto: https`` makes the
    cookies ``Secure`` (Tornado's xheaders)."""
    import panel as pn

    from dashboards.app import create_app
    from dashboards.auth import make_auth_provider
    from dashboards.service import DashboardService

    if not login and not is_loopback(host):
        raise DashboardConfigError("login can only be turned off when listening on loopback")
    tls = check_tls(tls_cert, tls_key)
    users = UserStore(home)
    service = DashboardService(home, users)
    allowed = [f"{host}:{port}", f"localhost:{port}", f"127.0.0.1:{port}", *origins]
    options: dict[str, Any] = {}
    if login:
        options["auth_provider"] = make_auth_provider(users, service.reader.store, allowed)
    if tls:
        options.update(ssl_certfile=str(tls_cert), ssl_keyfile=str(tls_key))
    if behind_proxy:
        options["use_xheaders"] = True
    server = pn.serve(
        create_app(service, login),
        address=host,
        port=port,
        show=False,
        start=False,
        title="Proximity",
        websocket_origin=allowed,
        cookie_secret=cookie_secret(home),
        verbose=False,
        **options,
    )
    url = f"{'https' if tls else 'http'}://{host}:{port}/"
    if ready is not None:
        server.io_loop.add_callback(lambda: ready(url))
    try:
        server.start()
        server.io_loop.start()
    finally:
        service.close()
