"""Login for the dashboard: Panel's login page and signed cookie, checked against Proximity's own users file
(scrypt hashes, lockout) instead of Panel's plain-text basic-auth file. Every attempt goes to the audit log.

Hardening over Panel's handler:
- the session cookies (``user``, ``id_token``) are HttpOnly, ``SameSite=Lax`` and, when the dashboard is
  served over TLS (``--tls-cert/--tls-key``), ``Secure``;
- a login POST whose ``Origin`` header is not one of the served origins (the websocket's allow-list) is
  refused with 403 before the password is looked at (login CSRF); browsers always send ``Origin`` on a
  cross-origin POST, and a request without one (curl, scripts) is not a browser being tricked.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

from bokeh.server.util import check_allowlist
from panel.auth import BasicAuthProvider, BasicLoginHandler
from panel.config import config
from panel.io.state import state
from panel.util import base64url_encode
from tornado.web import HTTPError

from dashboards.users import UserStore
from proximity.store import Store

SAME_SITE = "Lax"  # Strict would also drop the cookie on a link into the dashboard from elsewhere


def origin_allowed(origin: str, allowed: Sequence[str]) -> bool:
    """Whether an ``Origin`` header names one of ``allowed`` (host:port, Bokeh's allow-list rules)."""
    parsed = urlparse(origin)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return False  # "null" (sandboxed frames, file://) and anything odd
    netloc = parsed.netloc.lower()
    if ":" not in netloc.rsplit("]", 1)[-1]:
        netloc += ":443" if parsed.scheme == "https" else ":80"
    return check_allowlist(netloc, list(allowed))


def make_auth_provider(users: UserStore, store: Store, allowed_origins: Sequence[str]) -> BasicAuthProvider:
    """An auth provider whose login handler validates with ``users`` and writes to ``store``'s audit log."""
    origins = list(allowed_origins)

    class ProximityLoginHandler(BasicLoginHandler):
        def post(self) -> None:
            origin = self.request.headers.get("Origin")
            if origin is not None and not origin_allowed(origin, origins):
                store.audit(
                    who=self.get_argument("username", "")[:64],
                    front_end="dashboard",
                    action="login",
                    target=origin[:200],
                    outcome="refused (foreign origin)",
                )
                raise HTTPError(403, "login from a foreign origin")
            super().post()

        def _validate(self, username: str, password: str) -> bool:
            if users.is_locked(username):
                store.audit(
                    who=username[:64], front_end="dashboard", action="login", target="", outcome="locked"
                )
                return False
            ok = users.verify(username, password) is not None
            store.audit(
                who=username[:64],
                front_end="dashboard",
                action="login",
                target="",
                outcome="ok" if ok else "failed",
            )
            return ok

        def set_current_user(self, user: str) -> None:
            if not user:
                super().set_current_user(user)
                return
            self.clear_cookie("is_guest")
            id_token: Any = base64url_encode(json.dumps({"user": user}))
            if state.encryption:
                id_token = state.encryption.encrypt(id_token.encode("utf-8"))
            for name, value in (("user", user), ("id_token", id_token)):
                self.set_secure_cookie(
                    name,
                    value,
                    expires_days=config.oauth_expiry,
                    httponly=True,
                    samesite=SAME_SITE,
                    secure=self.request.protocol == "https",
                    path=config.cookie_path,
                )

    class ProximityAuthProvider(BasicAuthProvider):
        @property
        def login_handler(self) -> Any:
            ProximityLoginHandler._login_endpoint = self._login_endpoint
            ProximityLoginHandler._login_template = self._login_template
            return ProximityLoginHandler

    return ProximityAuthProvider()
