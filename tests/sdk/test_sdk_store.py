"""The SQLite store: migrations, atomic app+ports records, append-only audit, secrets apart and 0600."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from proximity.errors import AlreadyExists, Conflict, NotFound
from proximity.models import App, AppStatus, Host, PortBinding
from proximity.settings import Settings
from proximity.store import Store
from proximity.store.migrations import LATEST_VERSION


def _host(name: str = "lab") -> Host:
    return Host(name=name, url="https://127.0.0.1:8006", auth="token", principal="root@pam!px")


def _app(name: str = "movies", vmid: int = 100, ports: list[PortBinding] | None = None) -> App:
    return App(
        name=name,
        catalog_id="jellyfin",
        host="lab",
        node="pve1",
        vmid=vmid,
        install_method="compose",
        status=AppStatus.RUNNING,
        ports=ports or [PortBinding(name="http", port=8096)],
    )


def test_migrations_are_versioned_and_idempotent(tmp_path: Path) -> None:
    store = Store(tmp_path)
    assert store.schema_version == LATEST_VERSION
    store.close()
    again = Store(tmp_path)  # reopening applies nothing twice
    rows = again.db.execute("SELECT version FROM schema_version").fetchall()
    assert [r[0] for r in rows] == list(range(1, LATEST_VERSION + 1))
    assert again.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_app_and_ports_are_recorded_together_or_not_at_all(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.add_host(_host())
    store.insert_app(_app())
    # same VMID on the same host: refused, and the ports of the refused app are not left behind
    with pytest.raises(AlreadyExists):
        store.insert_app(_app("other", 100, [PortBinding(name="web", port=80)]))
    assert store.db.execute("SELECT COUNT(*) FROM ports WHERE app = 'other'").fetchone()[0] == 0
    # duplicate port names inside one app: the app row is rolled back with them
    with pytest.raises(AlreadyExists):
        store.insert_app(
            _app("dup", 101, [PortBinding(name="web", port=80), PortBinding(name="web", port=81)])
        )
    assert store.find_app("dup") is None
    assert [a.name for a in store.list_apps()] == ["movies"]
    assert store.get_app("movies").ports == [PortBinding(name="http", port=8096)]


def test_host_with_apps_cannot_be_removed(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.add_host(_host())
    store.insert_app(_app())
    with pytest.raises(Conflict):
        store.remove_host("lab")
    store.delete_app("movies")
    store.remove_host("lab")
    with pytest.raises(NotFound):
        store.get_host("lab")


def test_audit_log_is_append_only(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.audit(who="ann", front_end="cli", action="apps.stop", target="movies", outcome="ok")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.db.execute("UPDATE audit SET outcome = 'forged'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.db.execute("DELETE FROM audit")
    (entry,) = store.audit_entries()
    assert (entry.who, entry.front_end, entry.action, entry.outcome) == ("ann", "cli", "apps.stop", "ok")


def test_secrets_never_reach_sqlite_and_file_is_owner_only(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.add_host(_host())
    store.secrets.put_host("lab", {"token_secret": SecretStr("s3cr3t-token-value")})
    mode = stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode)
    assert mode == 0o600
    assert store.secrets.host("lab")["token_secret"].get_secret_value() == "s3cr3t-token-value"
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("proximity.db*"))
    assert b"s3cr3t-token-value" not in raw
    assert "s3cr3t" not in repr(store.secrets.host("lab"))


def test_secret_from_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path)
    store.secrets.put_host("my-lab", {"token_secret": SecretStr("from-file")})
    monkeypatch.setenv("PROXIMITY_MY_LAB_TOKEN_SECRET", "from-env")
    assert store.secrets.host("my-lab")["token_secret"].get_secret_value() == "from-env"


def test_settings_round_trip_and_validation(tmp_path: Path) -> None:
    store = Store(tmp_path)
    assert store.settings() == Settings()
    store.save_settings(Settings(cores=3, bridge="vmbr1"))
    assert Store(tmp_path).settings().cores == 3
    with pytest.raises(ValueError):
        Settings(cores=0)
    stored = dict(store.db.execute("SELECT key, value FROM settings").fetchall())
    assert json.loads(stored["bridge"]) == "vmbr1"


def test_job_events_are_numbered_in_order(tmp_path: Path) -> None:
    from proximity.models import Job, JobState

    store = Store(tmp_path)
    store.save_job(Job(id="j1", kind="deploy", target="x", state=JobState.RUNNING, steps=["a"]))
    for i in range(3):
        store.add_event("j1", "info", "a", f"m{i}", 0.5)
    assert [(e.seq, e.message) for e in store.events("j1")] == [(1, "m0"), (2, "m1"), (3, "m2")]


def test_a_version_1_database_is_upgraded_in_place(tmp_path: Path) -> None:
    from proximity.store.migrations import MIGRATIONS, migrate

    conn = sqlite3.connect(tmp_path / "proximity.db", isolation_level=None)
    conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT)")
    conn.execute("BEGIN")
    MIGRATIONS[0](conn)
    conn.execute("INSERT INTO schema_version VALUES (1, 'then')")
    conn.execute(
        "INSERT INTO jobs (id, kind, target, state, steps, step_states, context, created_at, owner_pid) "
        "VALUES ('old', 'deploy', 'x', 'succeeded', '[]', '{}', '{}', '2026-01-01T00:00:00+00:00', 1)"
    )
    conn.execute("COMMIT")
    conn.close()
    store = Store(tmp_path)
    assert store.schema_version == LATEST_VERSION >= 2
    job = store.get_job("old")  # the old row survived and reads with the new column empty
    assert job.owner_pid == 1 and job.owner_started is None
    assert migrate(store.db.conn) == LATEST_VERSION  # nothing left to apply
