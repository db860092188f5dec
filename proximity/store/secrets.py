"""Secrets live apart from SQLite: an owner-only (0600) JSON file in the state dir, or the environment.

Layout: ``{"hosts": {name: {field: value}}, "apps": {name: {ENV_NAME: value}}}``.
Environment overrides for host secrets: ``PROXIMITY_<HOST>_<FIELD>`` (host upper-cased, ``-`` -> ``_``),
for instance ``PROXIMITY_LAB_TOKEN_SECRET``.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

from pydantic import SecretStr

HOST_FIELDS = ("token_secret", "password", "ssh_password", "ssh_key")


def env_name(host: str, field: str) -> str:
    return f"PROXIMITY_{host.upper().replace('-', '_')}_{field.upper()}"


class SecretsFile:
    """A small JSON vault written atomically with mode 0600. Values come back as ``SecretStr``."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()

    def _read(self) -> dict[str, dict[str, dict[str, str]]]:
        if not self.path.exists():
            return {"hosts": {}, "apps": {}}
        mode = self.path.stat().st_mode & 0o777
        if mode & 0o077:
            os.chmod(self.path, 0o600)  # repair permissions loosened by hand
        data = json.loads(self.path.read_text(encoding="utf-8"))
        data.setdefault("hosts", {})
        data.setdefault("apps", {})
        return data

    def _write(self, data: dict[str, dict[str, dict[str, str]]]) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """In-process lock plus an advisory file lock, so two processes never lose each other's writes."""
        with self._lock:
            if fcntl is None:  # pragma: no cover - not POSIX
                yield
                return
            fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)

    def _put(self, section: str, owner: str, values: dict[str, SecretStr | None]) -> None:
        with self._exclusive():
            data = self._read()
            kept = {k: v.get_secret_value() for k, v in values.items() if v is not None}
            if kept:
                data[section][owner] = kept
            else:
                data[section].pop(owner, None)
            self._write(data)

    def _get(self, section: str, owner: str) -> dict[str, SecretStr]:
        with self._lock:
            stored = self._read()[section].get(owner, {})
        return {k: SecretStr(v) for k, v in stored.items()}

    def put_host(self, host: str, values: dict[str, SecretStr | None]) -> None:
        unknown = set(values) - set(HOST_FIELDS)
        if unknown:
            raise ValueError(f"unknown host secret fields: {sorted(unknown)}")
        self._put("hosts", host, values)

    def host(self, host: str) -> dict[str, SecretStr]:
        """The host's secrets; an environment variable wins over the file."""
        values = self._get("hosts", host)
        for field in HOST_FIELDS:
            from_env = os.environ.get(env_name(host, field))
            if from_env:
                values[field] = SecretStr(from_env)
        return values

    def put_app(self, app: str, values: dict[str, SecretStr | None]) -> None:
        self._put("apps", app, values)

    def app(self, app: str) -> dict[str, SecretStr]:
        return self._get("apps", app)

    def forget_host(self, host: str) -> None:
        self._put("hosts", host, {})

    def forget_app(self, app: str) -> None:
        self._put("apps", app, {})
