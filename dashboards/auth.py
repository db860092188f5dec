"""Login for the dashboard: Panel's login page and signed cookie, checked against Proximity's own users file
(scrypt hashes, lockout) instead of Panel's plain-text basic-auth file. Every attempt goes to the audit log."""

from __future__ import annotations

from typing import Any

from panel.auth import BasicAuthProvider, BasicLoginHandler

from dashboards.users import UserStore
from proximity.store import Store


def make_auth_provider(users: UserStore, store: Store) -> BasicAuthProvider:
    """An auth provider whose login handler validates with ``users`` and writes to ``store``'s audit log."""

    class ProximityLoginHandler(BasicLoginHandler):
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

    class ProximityAuthProvider(BasicAuthProvider):
        @property
        def login_handler(self) -> Any:
            ProximityLoginHandler._login_endpoint = self._login_endpoint
            ProximityLoginHandler._login_template = self._login_template
            return ProximityLoginHandler

    return ProximityAuthProvider()
