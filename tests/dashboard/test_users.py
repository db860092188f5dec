"""The dashboard's users file: scrypt hashes with per-user salts, owner-only files, lockout, last admin."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from dashboards.users import (
    LOCKOUT_S,
    MAX_FAILURES,
    Role,
    Theme,
    UserError,
    UserStore,
    cookie_secret,
    hash_password,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_passwords_are_salted_scrypt_hashes_in_an_owner_only_file(tmp_path: Path) -> None:
    users = UserStore(tmp_path)
    users.add("alice", Role.ADMIN, "correct horse battery")
    users.add("bob", Role.VIEWER, "correct horse battery")
    text = users.path.read_text()
    assert "correct horse battery" not in text
    raw = json.loads(text)
    assert raw["alice"]["salt"] != raw["bob"]["salt"]
    assert raw["alice"]["password_hash"] != raw["bob"]["password_hash"]
    salt = bytes.fromhex(raw["alice"]["salt"])
    assert raw["alice"]["password_hash"] == hash_password("correct horse battery", salt)
    assert stat.S_IMODE(users.path.stat().st_mode) == 0o600
    assert "correct" not in repr(users.get("alice"))


def test_verify_accepts_the_right_password_only(tmp_path: Path) -> None:
    users = UserStore(tmp_path)
    users.add("alice", "operator", "a-long-password")
    assert users.verify("alice", "a-long-password") is not None
    assert users.verify("alice", "a-long-passwore") is None
    assert users.verify("nobody", "a-long-password") is None


def test_repeated_failures_lock_the_account_for_a_while(tmp_path: Path) -> None:
    clock = Clock()
    users = UserStore(tmp_path, clock=clock)
    users.add("alice", Role.ADMIN, "a-long-password")
    for _ in range(MAX_FAILURES):
        assert users.verify("alice", "wrong-password") is None
    assert users.is_locked("alice")
    assert users.verify("alice", "a-long-password") is None  # even the right password, while locked
    clock.now += LOCKOUT_S + 1
    assert users.verify("alice", "a-long-password") is not None
    assert not users.is_locked("alice")


def test_weak_passwords_bad_names_and_the_last_admin_are_refused(tmp_path: Path) -> None:
    users = UserStore(tmp_path)
    with pytest.raises(UserError):
        users.add("alice", Role.ADMIN, "short")
    with pytest.raises(UserError):
        users.add("Alice Smith", Role.ADMIN, "a-long-password")
    users.add("alice", Role.ADMIN, "a-long-password")
    with pytest.raises(UserError):
        users.add("alice", Role.VIEWER, "a-long-password")
    with pytest.raises(UserError):
        users.remove("alice")
    users.add("root2", Role.ADMIN, "a-long-password")
    users.remove("alice")
    assert [u.name for u in users.list()] == ["root2"]


def test_preferences_persist(tmp_path: Path) -> None:
    users = UserStore(tmp_path)
    users.add("alice", Role.VIEWER, "a-long-password")
    users.set_preferences("alice", theme=Theme.MATRIX, sounds=True)
    again = UserStore(tmp_path).get("alice")
    assert again is not None and again.theme == Theme.MATRIX and again.sounds


def test_cookie_secret_is_generated_once_and_owner_only(tmp_path: Path) -> None:
    first = cookie_secret(tmp_path)
    assert len(first) >= 48
    assert cookie_secret(tmp_path) == first
    path = next(tmp_path.glob("dashboard-cookie-secret"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
