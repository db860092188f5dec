"""Users, API tokens, tickets, CSRF tokens, roles, ACLs and permission checks as PVE does them.

Secrets (passwords, token values, the ticket key) never appear in reprs or error messages.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
import uuid
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from proximity.sim.errors import ApiError
from proximity.sim.schema_formats import PRIVILEGES

TICKET_LIFETIME = 7200  # seconds, as PVE
ALL_PRIVILEGES: frozenset[str] = PRIVILEGES  # every PVE 9 privilege (the Administrator role's)
_VM_ADMIN = frozenset(p for p in ALL_PRIVILEGES if p.startswith("VM."))
ROLES: dict[str, frozenset[str]] = {
    "Administrator": ALL_PRIVILEGES,
    "NoAccess": frozenset(),
    "PVEAuditor": frozenset(
        {"Datastore.Audit", "Mapping.Audit", "Pool.Audit", "SDN.Audit", "Sys.Audit", "VM.Audit"}
    ),
    "PVEVMAdmin": _VM_ADMIN,
    "PVEVMUser": frozenset(
        {"VM.Audit", "VM.Backup", "VM.Config.CDROM", "VM.Config.Cloudinit", "VM.Console", "VM.PowerMgmt"}
    ),
    "PVEDatastoreUser": frozenset({"Datastore.AllocateSpace", "Datastore.Audit"}),
    "PVEDatastoreAdmin": frozenset(
        {"Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.AllocateTemplate", "Datastore.Audit"}
    ),
}


@dataclass
class User:
    userid: str
    password_hash: str = field(default="", repr=False)
    comment: str = ""
    enable: bool = True


@dataclass
class Token:
    userid: str
    tokenid: str
    secret_hash: str = field(repr=False)
    privsep: bool = True
    comment: str = ""
    expire: int = 0

    @property
    def full_id(self) -> str:
        return f"{self.userid}!{self.tokenid}"


@dataclass(frozen=True)
class Acl:
    path: str
    ugid: str  # a userid or a full token id
    roleid: str
    propagate: bool = True


@dataclass(frozen=True)
class Identity:
    """Who is calling: a user (ticket) or a token."""

    userid: str
    tokenid: str | None = None
    by_ticket: bool = False

    @property
    def name(self) -> str:
        """The name PVE writes into UPIDs and logs: ``root@pam`` or ``root@pam!proximity``."""
        return f"{self.userid}!{self.tokenid}" if self.tokenid else self.userid


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class AuthError(ApiError):
    def __init__(self, message: str = "authentication failure") -> None:
        super().__init__(401, message)


class Auth:
    """The access-control state of the cluster (users.cfg, token.cfg, acl) plus ticket signing."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        self.tokens: dict[str, Token] = {}  # full token id -> token
        self.acls: list[Acl] = []
        self._key = secrets.token_bytes(32)

    # -- setting up -----------------------------------------------------------------------------
    def add_user(self, userid: str, password: str | None = None, comment: str = "") -> User:
        user = User(userid, _hash(password) if password else "", comment)
        with self.lock:
            self.users[userid] = user
        return user

    def set_password(self, userid: str, password: str) -> None:
        with self.lock:
            self.users[userid].password_hash = _hash(password)

    def add_token(
        self,
        userid: str,
        tokenid: str,
        privsep: bool = True,
        comment: str = "",
        secret: str | None = None,
        expire: int = 0,
    ) -> tuple[Token, str]:
        """Create a token; returns it and its secret (shown once, as PVE does)."""
        value = secret or str(uuid.uuid4())
        with self.lock:
            if userid not in self.users:
                raise ApiError(500, f"no such user ('{userid}')")
            full_id = f"{userid}!{tokenid}"
            if full_id in self.tokens:
                raise ApiError(500, "Token already exists.")
            token = Token(userid, tokenid, _hash(value), privsep, comment, expire)
            self.tokens[full_id] = token
        return token, value

    def remove_token(self, userid: str, tokenid: str) -> None:
        full_id = f"{userid}!{tokenid}"
        with self.lock:
            if full_id not in self.tokens:
                raise ApiError(500, f"no such token '{tokenid}' for user '{userid}'")
            del self.tokens[full_id]
            self.acls = [acl for acl in self.acls if acl.ugid != full_id]

    def grant(self, path: str, ugid: str, roleid: str, propagate: bool = True) -> None:
        if roleid not in ROLES:
            raise ApiError(500, f"role '{roleid}' does not exist")
        with self.lock:
            self.acls = [
                a for a in self.acls if not (a.path == path and a.ugid == ugid and a.roleid == roleid)
            ]
            self.acls.append(Acl(path, ugid, roleid, propagate))

    def revoke(self, path: str, ugid: str, roleid: str) -> None:
        with self.lock:
            self.acls = [
                a for a in self.acls if not (a.path == path and a.ugid == ugid and a.roleid == roleid)
            ]

    # -- authenticating -------------------------------------------------------------------------
    def login(self, username: str, password: str) -> Identity:
        """``POST /access/ticket``: a password, or a still-valid ticket (renewal)."""
        if password.startswith("PVE:"):
            identity = self.check_ticket(password)
            if identity.userid != username:
                raise AuthError()
            return identity
        with self.lock:
            user = self.users.get(username)
            valid = (
                user is not None
                and user.enable
                and user.password_hash != ""
                and hmac.compare_digest(user.password_hash, _hash(password))
            )
        if not valid:
            raise AuthError()
        return Identity(username, by_ticket=True)

    def issue_ticket(self, userid: str) -> str:
        stamp = f"{int(time.time()):08X}"
        data = f"PVE:{userid}:{stamp}"
        return f"{data}::{self._sign(data)}"

    def check_ticket(self, ticket: str, *, not_before: int = 0) -> Identity:
        """The identity a ticket proves; ``not_before``: tickets stamped earlier count as expired."""
        data, sep, signature = ticket.rpartition("::")
        parts = data.split(":")
        if not sep or len(parts) != 3 or parts[0] != "PVE":
            raise AuthError("invalid ticket")
        if not hmac.compare_digest(signature, self._sign(data)):
            raise AuthError("invalid ticket")
        try:
            issued = int(parts[2], 16)
        except ValueError as error:
            raise AuthError("invalid ticket") from error
        age = time.time() - issued
        if age > TICKET_LIFETIME or age < -300 or issued < not_before:
            raise AuthError("ticket expired")
        with self.lock:
            user = self.users.get(parts[1])
        if user is None or not user.enable:
            raise AuthError()
        return Identity(parts[1], by_ticket=True)

    def issue_csrf(self, userid: str) -> str:
        stamp = f"{int(time.time()):08X}"
        return f"{stamp}:{self._sign(f'{stamp}:{userid}')}"

    def check_csrf(self, identity: Identity, token: str | None) -> None:
        stamp, _, signature = (token or "").partition(":")
        expected = self._sign(f"{stamp}:{identity.userid}")
        valid = bool(token) and hmac.compare_digest(signature, expected)
        if valid:
            try:
                valid = time.time() - int(stamp, 16) <= TICKET_LIFETIME
            except ValueError:
                valid = False
        if not valid:
            raise AuthError("Permission denied - invalid csrf token")

    def check_token(self, header: str) -> Identity:
        """``PVEAPIToken=user@realm!tokenid=secret``."""
        value = header[len("PVEAPIToken=") :] if header.startswith("PVEAPIToken=") else ""
        full_id, sep, secret = value.partition("=")
        with self.lock:
            token = self.tokens.get(full_id) if sep else None
            user = self.users.get(token.userid) if token else None
        if token is None or user is None or not user.enable:
            raise AuthError()
        if not hmac.compare_digest(token.secret_hash, _hash(secret)):
            raise AuthError()
        if token.expire and token.expire < time.time():
            raise AuthError()
        return Identity(token.userid, token.tokenid)

    # -- authorising ----------------------------------------------------------------------------
    def privileges(self, identity: Identity, path: str) -> AbstractSet[str]:
        user_privs = self._privileges_of(identity.userid, path)
        if identity.tokenid is None:
            return user_privs
        with self.lock:
            token = self.tokens.get(identity.name)
        if token is None:
            return frozenset()
        if not token.privsep:
            return user_privs
        return user_privs & self._privileges_of(identity.name, path)

    def check(self, identity: Identity, path: str, privileges: tuple[str, ...], any_of: bool = False) -> None:
        """Raise 403 ``Permission check failed (<path>, <priv>)`` as PVE does."""
        have = self.privileges(identity, path)
        if any_of:
            if not any(privilege in have for privilege in privileges):
                raise ApiError(403, f"Permission check failed ({path}, {' | '.join(privileges)})")
            return
        for privilege in privileges:
            if privilege not in have:
                raise ApiError(403, f"Permission check failed ({path}, {privilege})")

    def permission_map(self, identity: Identity, paths: list[str]) -> dict[str, dict[str, int]]:
        """``GET /access/permissions``: {path: {privilege: propagate}}."""
        return {path: {p: 1 for p in sorted(self.privileges(identity, path))} for path in paths}

    def acl_paths(self) -> list[str]:
        with self.lock:
            return sorted({acl.path for acl in self.acls} | {"/"})

    # -- persistence ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        with self.lock:
            return {
                "key": base64.b64encode(self._key).decode(),
                "users": [vars(u) for u in self.users.values()],
                "tokens": [vars(t) for t in self.tokens.values()],
                "acls": [vars(a) for a in self.acls],
            }

    def load_dict(self, data: dict[str, Any]) -> None:
        with self.lock:
            self._key = base64.b64decode(data["key"])
            self.users = {u["userid"]: User(**u) for u in data["users"]}
            self.tokens = {f"{t['userid']}!{t['tokenid']}": Token(**t) for t in data["tokens"]}
            self.acls = [Acl(**a) for a in data["acls"]]

    # -- internals ------------------------------------------------------------------------------
    def _sign(self, data: str) -> str:
        return base64.b64encode(hmac.new(self._key, data.encode(), hashlib.sha256).digest()).decode()

    def _privileges_of(self, ugid: str, path: str) -> AbstractSet[str]:
        if ugid == "root@pam":
            return ALL_PRIVILEGES
        prefixes = ["/"]
        parts = [p for p in path.split("/") if p]
        for i in range(1, len(parts) + 1):
            prefixes.append("/" + "/".join(parts[:i]))
        current: set[str] | None = None
        with self.lock:
            for prefix in prefixes:
                entries = [
                    a
                    for a in self.acls
                    if a.path == prefix and a.ugid == ugid and (a.propagate or prefix == prefixes[-1])
                ]
                if entries:  # a more specific ACL replaces what the parent path granted
                    current = set().union(*(ROLES[a.roleid] for a in entries))
        return current or set()
