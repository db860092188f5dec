"""Versioned schema migrations: an ordered list of functions, each applied once, in one transaction.

Add a migration by appending a function; never edit one that has shipped. Migrations use plain SQL on
the connection (not sqlite-utils' table helpers, which commit on their own) so each is atomic.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

V1_SQL = [
    """CREATE TABLE hosts (
        name TEXT PRIMARY KEY, url TEXT NOT NULL, auth TEXT NOT NULL, principal TEXT NOT NULL,
        verify_tls INTEGER NOT NULL DEFAULT 1, ca_path TEXT, fingerprint TEXT, ssh_user TEXT NOT NULL,
        ssh_port INTEGER NOT NULL, ssh_host_keys TEXT NOT NULL DEFAULT '{}', added_at TEXT NOT NULL)""",
    """CREATE TABLE apps (
        name TEXT PRIMARY KEY, catalog_id TEXT NOT NULL, host TEXT NOT NULL REFERENCES hosts(name),
        node TEXT NOT NULL, vmid INTEGER NOT NULL, install_method TEXT NOT NULL, version TEXT NOT NULL,
        status TEXT NOT NULL, ip TEXT, url TEXT, cores INTEGER NOT NULL, memory_mb INTEGER NOT NULL,
        disk_gb INTEGER NOT NULL, adopted INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, job_id TEXT)""",
    # PVE reuses the VMID of a container deleted behind our back: a "missing" record does not hold it.
    "CREATE UNIQUE INDEX apps_host_vmid ON apps(host, vmid) WHERE status != 'missing'",
    """CREATE TABLE ports (
        app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE, name TEXT NOT NULL,
        port INTEGER NOT NULL, protocol TEXT NOT NULL, PRIMARY KEY (app, name))""",
    """CREATE TABLE jobs (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, target TEXT NOT NULL, state TEXT NOT NULL,
        steps TEXT NOT NULL, step_states TEXT NOT NULL, error TEXT, context TEXT NOT NULL,
        created_at TEXT NOT NULL, finished_at TEXT, owner_pid INTEGER)""",
    "CREATE INDEX jobs_state ON jobs(state)",
    """CREATE TABLE job_events (
        job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, seq INTEGER NOT NULL, time TEXT NOT NULL,
        kind TEXT NOT NULL, step TEXT, message TEXT NOT NULL, progress REAL NOT NULL,
        PRIMARY KEY (job_id, seq))""",
    """CREATE TABLE backups (
        host TEXT NOT NULL, volid TEXT NOT NULL, node TEXT NOT NULL, storage TEXT NOT NULL,
        vmid INTEGER NOT NULL, app TEXT, size INTEGER NOT NULL, created_at TEXT NOT NULL,
        protected INTEGER NOT NULL DEFAULT 0, notes TEXT NOT NULL DEFAULT '', PRIMARY KEY (host, volid))""",
    """CREATE TABLE schedules (
        id INTEGER PRIMARY KEY, app TEXT NOT NULL, every_s INTEGER NOT NULL, keep INTEGER NOT NULL,
        storage TEXT, last_run TEXT, enabled INTEGER NOT NULL DEFAULT 1)""",
    "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE audit (
        id INTEGER PRIMARY KEY, time TEXT NOT NULL, who TEXT NOT NULL, front_end TEXT NOT NULL,
        action TEXT NOT NULL, target TEXT NOT NULL, outcome TEXT NOT NULL)""",
    # The audit log is append-only: the database itself refuses edits and deletions.
    """CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    """CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
]


def _v1_initial(conn: sqlite3.Connection) -> None:
    for statement in V1_SQL:
        conn.execute(statement)


def _v2_job_owner_start(conn: sqlite3.Connection) -> None:
    # A PID alone is not an identity (PIDs are reused); its start time makes it one.
    conn.execute("ALTER TABLE jobs ADD COLUMN owner_started TEXT")


def _v3_audit_hash_chain(conn: sqlite3.Connection) -> None:
    """Chain the audit log (``proximity.store.audit_chain``): every entry gets the previous entry's hash and
    its own. Existing entries are chained here, in id order, with the update trigger lifted for this
    transaction only; from now on a trigger refuses an entry that does not extend the chain's head."""
    from proximity.store.audit_chain import GENESIS, HASHED_FIELDS, entry_hash

    conn.execute("ALTER TABLE audit ADD COLUMN prev_hash TEXT")
    conn.execute("ALTER TABLE audit ADD COLUMN hash TEXT")
    conn.execute("DROP TRIGGER audit_no_update")
    prev = GENESIS
    for row in conn.execute(f"SELECT {', '.join(HASHED_FIELDS)} FROM audit ORDER BY id").fetchall():
        digest = entry_hash(row, prev)
        conn.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?", [prev, digest, row[0]])
        prev = digest
    conn.execute(
        """CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"""
    )
    conn.execute(
        f"""CREATE TRIGGER audit_extends_chain BEFORE INSERT ON audit
        WHEN NEW.hash IS NULL
            OR NEW.prev_hash IS NOT COALESCE((SELECT hash FROM audit ORDER BY id DESC LIMIT 1), '{GENESIS}')
        BEGIN SELECT RAISE(ABORT, 'an audit entry must extend the hash chain'); END"""
    )


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _v1_initial,
    _v2_job_owner_start,
    _v3_audit_hash_chain,
]
LATEST_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the migrations not yet applied; returns the schema version now in force.

    ``conn`` must be in autocommit mode (``isolation_level=None``) so BEGIN/COMMIT here are the only ones.
    """
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT)")
    current = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0]
    for version, migration in enumerate(MIGRATIONS, start=1):
        if version <= current:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated between our read and our lock.
            done = conn.execute("SELECT 1 FROM schema_version WHERE version = ?", [version]).fetchone()
            if not done:
                migration(conn)
                conn.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, datetime('now'))", [version]
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        current = version
    return current
