"""A thin, typed client over proxmoxer for one PVE host (or cluster).

What it adds to proxmoxer: TLS verification on by default (CA file or fingerprint pinning), booleans sent
as 1/0 (proxmoxer would send "True", which PVE refuses), typed errors with PVE's message, retries with
backoff for transient failures, and a call counter (for benchmarks and call-sequence tests).
Calls are synchronous; the async layer runs them in worker threads.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import requests
from proxmoxer.backends.https import (
    JsonSerializer,
    ProxmoxHTTPApiTokenAuth,
    ProxmoxHTTPAuthBase,
    ProxmoxHttpSession,
)
from proxmoxer.core import ProxmoxResource, ResourceException
from pydantic import SecretStr

from proximity.errors import (
    AuthFailed,
    InsecureConnectionWarning,
    ProximityError,
    ServerError,
    ValidationError,
)
from proximity.pve.errors import map_resource_error, map_transport_error
from proximity.pve.tls import PinnedAdapter

Params = dict[str, Any]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApiRetry:
    attempts: int = 4
    base_s: float = 0.1
    max_s: float = 2.0

    def delay(self, attempt: int) -> float:
        ceiling = min(self.max_s, self.base_s * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)


@dataclass(frozen=True)
class Connection:
    """Where and how to reach a PVE API. Secrets are SecretStr and never printed."""

    url: str
    token_id: str | None = None
    token_secret: SecretStr | None = None
    user: str | None = None
    password: SecretStr | None = None
    verify_tls: bool = True
    ca_path: str | None = None
    fingerprint: str | None = None
    timeout_s: float = 15.0

    def base_url(self) -> str:
        parts = urlsplit(self.url)
        if "@" in parts.netloc:  # said without the URL: it would carry a password into logs and the database
            raise ValidationError("the host URL must not hold credentials (user:password@); pass them apart")
        if parts.scheme != "https" or not parts.hostname:
            raise ValidationError(f"the host URL must be https://host[:port], not {self.url!r}")
        try:
            port = parts.port or 8006
        except ValueError:  # a port out of 0-65535, or not a number
            raise ValidationError(f"the host URL has no valid port: {self.url!r}") from None
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        return f"https://{host}:{port}/api2/json"

    def verify(self) -> bool | str:
        """What requests gets as ``verify``: with a pinned fingerprint the pin replaces CA checks."""
        if self.fingerprint:
            return False
        if self.ca_path:
            return self.ca_path
        return self.verify_tls


class _TicketAuth(ProxmoxHTTPAuthBase):
    """User/password login: a ticket fetched through our own (pinned) session, renewed before expiry."""

    renew_after_s = 3600

    def __init__(self, login: Callable[[], tuple[str, str]], **kwargs: Any):
        super().__init__(**kwargs)
        self._login = login
        self._lock = threading.Lock()
        self._renew()

    def _renew(self) -> None:
        self.ticket, self.csrf = self._login()
        self.born = time.monotonic()

    def renew_after_refusal(self, refused: str) -> None:
        """PVE refused ``refused`` before its time (its key rotated, the ticket expired while idle): log in
        again, once for all the threads that saw it refused."""
        with self._lock:
            if self.ticket == refused:
                self._renew()

    def get_cookies(self) -> Any:
        from requests.cookies import cookiejar_from_dict

        return cookiejar_from_dict({"PVEAuthCookie": self.ticket})

    def get_tokens(self) -> tuple[str, str]:
        return self.ticket, self.csrf

    def __call__(self, req: Any) -> Any:
        with self._lock:
            if time.monotonic() - self.born >= self.renew_after_s:
                self._renew()
        req.headers["Cookie"] = f"PVEAuthCookie={self.ticket}"
        if req.method != "GET":
            req.headers["CSRFPreventionToken"] = self.csrf
        return req


def _wire(value: Any) -> Any:
    """PVE wants booleans as 1/0; None means "leave out"."""
    if isinstance(value, bool):
        return 1 if value else 0
    return value


class PveApi:
    """One PVE API endpoint. ``get/post/put/delete`` take a path like ``nodes/pve1/lxc``."""

    def __init__(self, connection: Connection, retry: ApiRetry | None = None):
        self.connection = connection
        self.retry = retry or ApiRetry()
        self.base = connection.base_url()
        if connection.verify() is False and not connection.fingerprint:
            # proxmoxer silences urllib3's own warning at import, so say it here, on every connection
            message = (
                f"{connection.url}: TLS verification is OFF (verify_tls=False); pin the fingerprint instead"
            )
            warnings.warn(message, InsecureConnectionWarning, stacklevel=2)
            log.warning(message)
        self.calls = 0
        self.retried = 0  # calls sent again after a transient error (a POST may then have acted twice)
        self.call_log: list[tuple[str, str]] = []
        self._count_lock = threading.Lock()
        self._session = self._make_session()
        self._root = ProxmoxResource(base_url=self.base, session=self._session, serializer=JsonSerializer())

    def __repr__(self) -> str:
        return f"PveApi({self.connection.url!r})"

    def _adapter(self) -> requests.adapters.HTTPAdapter:
        if self.connection.fingerprint:
            return PinnedAdapter(self.connection.fingerprint, pool_maxsize=32)
        return requests.adapters.HTTPAdapter(pool_maxsize=32)

    def _make_session(self) -> ProxmoxHttpSession:
        conn = self.connection
        session = ProxmoxHttpSession()
        session.mount("https://", self._adapter())
        session.headers["accept"] = JsonSerializer().get_accept_types()
        common = {"verify_ssl": conn.verify(), "timeout": conn.timeout_s}
        if conn.token_id and conn.token_secret:
            user, _, token_name = conn.token_id.partition("!")
            session.auth = ProxmoxHTTPApiTokenAuth(
                user, token_name, conn.token_secret.get_secret_value(), **common
            )
        elif conn.user and conn.password:
            session.auth = _TicketAuth(self._login, **common)
        else:
            raise ValidationError("a host needs an API token (id + secret) or a user + password")
        return session

    def _login(self) -> tuple[str, str]:
        conn = self.connection
        assert conn.user and conn.password
        with requests.Session() as login:
            login.mount("https://", self._adapter())
            try:
                response = login.post(
                    f"{self.base}/access/ticket",
                    data={"username": conn.user, "password": conn.password.get_secret_value()},
                    verify=conn.verify(),
                    timeout=conn.timeout_s,
                )
            except requests.exceptions.RequestException as error:
                raise map_transport_error(error, conn.url) from None
        self._count("POST", "access/ticket")
        if response.status_code != 200:
            raise AuthFailed(f"login as {conn.user} refused: {response.reason}", status=response.status_code)
        data = response.json()["data"]
        return data["ticket"], data["CSRFPreventionToken"]

    def _count(self, method: str, path: str) -> None:
        with self._count_lock:
            self.calls += 1
            self.call_log.append((method, path))

    def request(self, method: str, path: str, params: Params | None = None) -> Any:
        """One API call, retried on transient errors. Returns the ``data`` of the answer."""
        wire = {k: _wire(v) for k, v in (params or {}).items() if v is not None}
        path = path.strip("/")
        attempt = 1
        ticket_auth = self._session.auth if isinstance(self._session.auth, _TicketAuth) else None
        logged_in_again = False
        while True:
            sent_ticket = ticket_auth.ticket if ticket_auth is not None else None
            try:
                return self._once(method, path, wire)
            except AuthFailed as error:
                # a refused ticket is renewed and the call sent again, once; refused credentials are final
                if ticket_auth is None or sent_ticket is None or logged_in_again or error.status != 401:
                    raise
                ticket_auth.renew_after_refusal(sent_ticket)
                logged_in_again = True
            except ProximityError as error:
                if not error.retryable or attempt >= self.retry.attempts:
                    raise
                time.sleep(self.retry.delay(attempt))
                attempt += 1
                with self._count_lock:
                    self.retried += 1

    def _once(self, method: str, path: str, wire: Params) -> Any:
        self._count(method, path)
        resource = self._root(path)
        try:
            if method == "GET":
                return resource.get(**wire)
            if method == "POST":
                return resource.post(**wire)
            if method == "PUT":
                return resource.put(**wire)
            if method == "DELETE":
                return resource.delete(**wire)
        except ResourceException as error:
            raise map_resource_error(error, f"{method} /{path}") from None
        except requests.exceptions.RequestException as error:
            mapped = map_transport_error(error, self.connection.url)
            if method == "GET" and isinstance(error, requests.exceptions.ReadTimeout):
                # a read changes nothing: asking again is safe (a POST may have acted, so it is not resent)
                mapped.retryable = True
            raise mapped from None
        except json.JSONDecodeError:
            raise ServerError(f"{method} /{path}: the answer was not JSON") from None
        except (UnicodeError, ValueError) as error:
            # requests refuses a header it cannot send, quoting it (a token secret included): never pass that on
            raise ValidationError(
                f"{method} /{path}: a value could not be sent ({type(error).__name__})"
            ) from None
        raise ValueError(f"unsupported HTTP method {method}")

    def set_timeout(self, seconds: float) -> None:
        """Seconds to wait for one answer, from the next call on (logins included)."""
        self.connection = replace(self.connection, timeout_s=seconds)
        self._session.auth.timeout = seconds

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params)

    def post(self, path: str, **params: Any) -> Any:
        return self.request("POST", path, params)

    def put(self, path: str, **params: Any) -> Any:
        return self.request("PUT", path, params)

    def delete(self, path: str, **params: Any) -> Any:
        return self.request("DELETE", path, params)

    def close(self) -> None:
        self._session.close()
