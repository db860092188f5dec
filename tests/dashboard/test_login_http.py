"""The served dashboard over plain HTTP: the app needs a login, a good password gets a signed, HttpOnly
cookie, repeated failures lock the account (even for the right password) and every attempt is audited."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest
import requests

from dashboards.users import MAX_FAILURES
from tests.dashboard.conftest import Served

pytestmark = pytest.mark.timeout(120)


def _login(url: str, user: str, password: str) -> requests.Response:
    session = requests.Session()
    return session.post(
        f"{url}login", data={"username": user, "password": password}, allow_redirects=False, timeout=30
    )


def test_login_is_required_and_locks_after_failures(served: Served) -> None:
    first = requests.get(served.url, allow_redirects=False, timeout=30)
    assert first.status_code == 302 and "/login" in first.headers["Location"]

    subprocess.run(
        [
            sys.executable,
            "-c",
            "from proximity.cli import main; main()",
            "dashboard",
            "--db",
            str(served.home),
            "users",
            "add",
            "locky",
            "--role",
            "operator",
            "--password-file",
            "-",
        ],
        input="locky-password-1",
        text=True,
        check=True,
        capture_output=True,
    )
    good = _login(served.url, "locky", "locky-password-1")
    assert good.status_code == 302 and "error" not in good.headers["Location"]
    cookie = next(c for c in good.cookies if c.name == "user")
    assert cookie.has_nonstandard_attr("HttpOnly") or "httponly" in good.headers["Set-Cookie"].lower()
    assert "locky-password-1" not in good.headers["Set-Cookie"]

    for _ in range(MAX_FAILURES):
        bad = _login(served.url, "locky", "not-the-password")
        assert "error" in bad.headers["Location"]
    locked = _login(served.url, "locky", "locky-password-1")
    assert "error" in locked.headers["Location"]

    with sqlite3.connect(served.home / "proximity.db") as db:
        outcomes = [
            row[0]
            for row in db.execute(
                "SELECT outcome FROM audit WHERE who = 'locky' AND action = 'login' ORDER BY id"
            )
        ]
    assert outcomes == ["ok", *["failed"] * MAX_FAILURES, "locked"]
