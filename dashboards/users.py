"""The dashboard's users: a JSON file owned by Proximity (mode 0600) in the state directory.

Passwords are stored as stdlib ``hashlib.scrypt`` hashes with a per-user random salt (never in clear, never
Panel's plain-text basic-auth file). Repeated failed logins lock the account for a while. Each user keeps
their dashboard preferences (theme, sounds) here too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field

USERS_FILE = "dashboard-users.json"
COOKIE_SECRET_FILE = "dashboard-cookie-secret"
USERNAME_PATTERN = r"^[a-z][a-z0-9_.-]{0,31}$"
MIN_PASSWORD_LENGTH = 10
MAX_FAILURES = 5
LOCKOUT_S = 300.0
# scrypt cost: n=2**14, r=8 (~16 MiB, tens of ms): the interactive-login figure from the scrypt paper
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    VIEWER = "viewer"


class Theme(StrEnum):
    DARK = "dark"
    LIGHT = "light"
    MATRIX = "matrix"


class UserError(ValueError):
    """A refused user operation (bad name, weak password, unknown user)."""


class User(BaseModel):
    name: str = Field(pattern=USERNAME_PATTERN)
    role: Role
    salt: str = Field(repr=False)
    password_hash: str = Field(repr=False)
    theme: Theme = Theme.DARK
    sounds: bool = False
    failures: int = 0
    locked_until: float = 0.0


def hash_password(password: str, salt: bytes) -> str:
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=64 * 1024 * 1024
    )
    return digest.hex()


def _write_private(path: Path, text: str) -> None:
    """Write a file readable by its owner only, atomically (no window where it is world-readable)."""
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def cookie_secret(home: Path) -> str:
    """The secret signing the session cookies: generated once, stored owner-only in the state dir."""
    path = home / COOKIE_SECRET_FILE
    if path.exists():
        value = path.read_text(encoding="utf-8").strip()
        if value:
            return value
    value = secrets.token_urlsafe(48)
    _write_private(path, value)
    return value


class UserStore:
    """Users of one state directory. Thread-safe; every change is written to disk at once."""

    def __init__(self, home: Path, clock: Callable[[], float] = time.time):
        self.path = home / USERS_FILE
        self._clock = clock
        self._lock = threading.Lock()

    # ------------------------------------------------------------ reading and writing the file

    def _load(self) -> dict[str, User]:
        if not self.path.exists():
            return {}
        raw = json.loads(self.path.read_text(encoding="utf-8"))
        return {name: User(**value) for name, value in raw.items()}

    def _save(self, users: dict[str, User]) -> None:
        payload = {name: user.model_dump(mode="json") for name, user in users.items()}
        _write_private(self.path, json.dumps(payload, indent=1, sort_keys=True))

    # ------------------------------------------------------------ queries

    def list(self) -> list[User]:
        with self._lock:
            return sorted(self._load().values(), key=lambda u: u.name)

    def get(self, name: str) -> User | None:
        with self._lock:
            return self._load().get(name)

    def is_empty(self) -> bool:
        return not self.list()

    # ------------------------------------------------------------ changes

    def add(self, name: str, role: Role | str, password: str) -> User:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise UserError(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")
        salt = secrets.token_bytes(16)
        try:
            user = User(
                name=name, role=Role(role), salt=salt.hex(), password_hash=hash_password(password, salt)
            )
        except ValueError as error:
            raise UserError(f"invalid user name or role: {name!r}") from error
        with self._lock:
            users = self._load()
            if name in users:
                raise UserError(f"a user named {name!r} already exists")
            users[name] = user
            self._save(users)
        return user

    def set_password(self, name: str, password: str) -> None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise UserError(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")
        salt = secrets.token_bytes(16)
        self._update(name, salt=salt.hex(), password_hash=hash_password(password, salt), failures=0)

    def set_role(self, name: str, role: Role | str) -> None:
        self._update(name, role=Role(role))

    def set_preferences(
        self, name: str, *, theme: Theme | str | None = None, sounds: bool | None = None
    ) -> None:
        changes: dict[str, object] = {}
        if theme is not None:
            changes["theme"] = Theme(theme)
        if sounds is not None:
            changes["sounds"] = sounds
        self._update(name, **changes)

    def remove(self, name: str) -> None:
        with self._lock:
            users = self._load()
            if name not in users:
                raise UserError(f"no user named {name!r}")
            remaining_admins = [u for u in users.values() if u.role == Role.ADMIN and u.name != name]
            if users[name].role == Role.ADMIN and not remaining_admins:
                raise UserError("the last admin cannot be removed")
            del users[name]
            self._save(users)

    def _update(self, name: str, **changes: object) -> None:
        with self._lock:
            users = self._load()
            if name not in users:
                raise UserError(f"no user named {name!r}")
            users[name] = users[name].model_copy(update=changes)
            self._save(users)

    # ------------------------------------------------------------ login

    def verify(self, name: str, password: str) -> User | None:
        """The user when the password matches and the account is not locked; failures are counted and
        lock the account for ``LOCKOUT_S`` after ``MAX_FAILURES`` in a row."""
        with self._lock:
            users = self._load()
            user = users.get(name)
            if user is None:
                # spend the same time as a real check, so timing does not reveal which names exist
                hash_password(password, b"\0" * 16)
                return None
            now = self._clock()
            if user.locked_until > now:
                return None
            matches = hmac.compare_digest(
                hash_password(password, bytes.fromhex(user.salt)), user.password_hash
            )
            if matches:
                users[name] = user.model_copy(update={"failures": 0, "locked_until": 0.0})
            else:
                failures = user.failures + 1
                locked_until = now + LOCKOUT_S if failures >= MAX_FAILURES else 0.0
                users[name] = user.model_copy(
                    update={"failures": 0 if locked_until else failures, "locked_until": locked_until}
                )
            self._save(users)
            return users[name] if matches else None

    def is_locked(self, name: str) -> bool:
        user = self.get(name)
        return user is not None and user.locked_until > self._clock()


def generate_password() -> str:
    return secrets.token_urlsafe(12)
