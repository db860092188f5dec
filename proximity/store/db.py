"""The SQLite store: what only Proximity knows (hosts, apps, ports, jobs, backups, schedules, settings,
audit). Proxmox stays the source of truth for container state.

One connection per Store, shared by worker threads under a lock; WAL so readers in other processes
(the dashboard, a second CLI) never block; a busy timeout so concurrent writers wait instead of failing.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from proximity.errors import AlreadyExists, Conflict, NotFound
from proximity.models import (
    App,
    AppStatus,
    AuditEntry,
    Backup,
    Host,
    Job,
    JobEvent,
    JobState,
    PortBinding,
    Schedule,
    StepState,
    utcnow,
)
from proximity.settings import DB_FILE, SECRETS_FILE, Settings
from proximity.store.audit_chain import (
    GENESIS,
    HASHED_FIELDS,
    ChainAnchor,
    ChainReport,
    entry_hash,
    verify_rows,
)
from proximity.store.migrations import migrate
from proximity.store.secrets import SecretsFile

BUSY_TIMEOUT_MS = 10_000
CLAIM_KEY = "app_claims"  # in a job's context: {app name: claim mode} (see Store.claim_job)
CLAIM_MODES = ("create", "shared", "exclusive")


def _ts(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class Store:
    """Typed access to the state directory's database and secrets file."""

    def __init__(self, state_dir: Path):
        self.state_dir = state_dir
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = state_dir / DB_FILE
        conn = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        self.schema_version = migrate(conn)
        self.db = Database(conn)
        self.secrets = SecretsFile(state_dir / SECRETS_FILE)
        self._lock = threading.RLock()

    def close(self) -> None:
        with self._lock:
            self.db.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any error. Nesting joins the outer transaction."""
        with self._lock:
            conn = self.db.conn
            if conn.in_transaction:
                yield conn
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _rows(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self.db.execute(sql, list(params))
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]

    # ------------------------------------------------------------ hosts

    def add_host(self, host: Host) -> None:
        row = {
            "name": host.name,
            "url": host.url,
            "auth": host.auth,
            "principal": host.principal,
            "verify_tls": int(host.verify_tls),
            "ca_path": host.ca_path,
            "fingerprint": host.fingerprint,
            "ssh_user": host.ssh_user,
            "ssh_port": host.ssh_port,
            "ssh_host_keys": json.dumps(host.ssh_host_keys),
            "added_at": _ts(host.added_at),
        }
        try:
            with self.transaction() as conn:
                conn.execute(
                    f"INSERT INTO hosts ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                    list(row.values()),
                )
        except sqlite3.IntegrityError as exc:
            raise AlreadyExists(f"a host named {host.name!r} already exists") from exc

    def set_host_keys(self, name: str, keys: dict[str, str]) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE hosts SET ssh_host_keys = ? WHERE name = ?", [json.dumps(keys), name])

    def _host(self, row: dict[str, Any]) -> Host:
        return Host(
            name=row["name"],
            url=row["url"],
            auth=row["auth"],
            principal=row["principal"],
            verify_tls=bool(row["verify_tls"]),
            ca_path=row["ca_path"],
            fingerprint=row["fingerprint"],
            ssh_user=row["ssh_user"],
            ssh_port=row["ssh_port"],
            ssh_host_keys=json.loads(row["ssh_host_keys"]),
            added_at=_dt(row["added_at"]),
        )

    def get_host(self, name: str) -> Host:
        rows = self._rows("SELECT * FROM hosts WHERE name = ?", [name])
        if not rows:
            raise NotFound(f"no host named {name!r}")
        return self._host(rows[0])

    def list_hosts(self) -> list[Host]:
        return [self._host(row) for row in self._rows("SELECT * FROM hosts ORDER BY name")]

    def remove_host(self, name: str) -> None:
        with self.transaction() as conn:
            apps = conn.execute("SELECT COUNT(*) FROM apps WHERE host = ?", [name]).fetchone()[0]
            if apps:
                raise Conflict(f"host {name!r} still has {apps} app(s) recorded; delete or forget them first")
            conn.execute("DELETE FROM hosts WHERE name = ?", [name])
        self.secrets.forget_host(name)

    # ------------------------------------------------------------ apps and ports

    def insert_app(self, app: App, job_id: str | None = None) -> None:
        """Record an app and its ports in one transaction: both or neither."""
        row = {
            "name": app.name,
            "catalog_id": app.catalog_id,
            "host": app.host,
            "node": app.node,
            "vmid": app.vmid,
            "install_method": app.install_method,
            "version": app.version,
            "status": app.status.value,
            "ip": app.ip,
            "url": app.url,
            "cores": app.cores,
            "memory_mb": app.memory_mb,
            "disk_gb": app.disk_gb,
            "adopted": int(app.adopted),
            "created_at": _ts(app.created_at),
            "job_id": job_id,
        }
        try:
            with self.transaction() as conn:
                conn.execute(
                    f"INSERT INTO apps ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                    list(row.values()),
                )
                for port in app.ports:
                    conn.execute(
                        "INSERT INTO ports (app, name, port, protocol) VALUES (?, ?, ?, ?)",
                        [app.name, port.name, port.port, port.protocol],
                    )
        except sqlite3.IntegrityError as exc:
            raise AlreadyExists(
                f"an app named {app.name!r} (or CT {app.vmid} on {app.host}) is already recorded"
            ) from exc

    def update_app(self, name: str, **fields: Any) -> None:
        allowed = {
            "node",
            "vmid",
            "status",
            "ip",
            "url",
            "cores",
            "memory_mb",
            "disk_gb",
            "version",
            "install_method",
        }
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"cannot update app fields {sorted(unknown)}")
        values = [v.value if isinstance(v, AppStatus) else v for v in fields.values()]
        with self.transaction() as conn:
            cursor = conn.execute(
                f"UPDATE apps SET {', '.join(f'{k} = ?' for k in fields)} WHERE name = ?", [*values, name]
            )
            if cursor.rowcount == 0:
                raise NotFound(f"no app named {name!r}")

    def _app(self, row: dict[str, Any], ports: list[PortBinding]) -> App:
        return App(
            name=row["name"],
            catalog_id=row["catalog_id"],
            host=row["host"],
            node=row["node"],
            vmid=row["vmid"],
            install_method=row["install_method"],
            version=row["version"],
            status=AppStatus(row["status"]),
            ip=row["ip"],
            url=row["url"],
            ports=ports,
            cores=row["cores"],
            memory_mb=row["memory_mb"],
            disk_gb=row["disk_gb"],
            adopted=bool(row["adopted"]),
            created_at=_dt(row["created_at"]),
        )

    def _ports_by_app(self, names: list[str] | None = None) -> dict[str, list[PortBinding]]:
        rows = self._rows("SELECT * FROM ports ORDER BY app, port")
        by_app: dict[str, list[PortBinding]] = {}
        for row in rows:
            if names is None or row["app"] in names:
                by_app.setdefault(row["app"], []).append(
                    PortBinding(name=row["name"], port=row["port"], protocol=row["protocol"])
                )
        return by_app

    def get_app(self, name: str) -> App:
        rows = self._rows("SELECT * FROM apps WHERE name = ?", [name])
        if not rows:
            raise NotFound(f"no app named {name!r}")
        return self._app(rows[0], self._ports_by_app([name]).get(name, []))

    def find_app(self, name: str) -> App | None:
        try:
            return self.get_app(name)
        except NotFound:
            return None

    def list_apps(self, host: str | None = None) -> list[App]:
        if host is None:
            rows = self._rows("SELECT * FROM apps ORDER BY name")
        else:
            rows = self._rows("SELECT * FROM apps WHERE host = ? ORDER BY name", [host])
        ports = self._ports_by_app()
        return [self._app(row, ports.get(row["name"], [])) for row in rows]

    def app_job_id(self, name: str) -> str | None:
        """The job that deployed (or cloned/restored) the app."""
        rows = self._rows("SELECT job_id FROM apps WHERE name = ?", [name])
        return rows[0]["job_id"] if rows else None

    def delete_app(self, name: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM ports WHERE app = ?", [name])
            conn.execute("DELETE FROM apps WHERE name = ?", [name])
        self.secrets.forget_app(name)

    # ------------------------------------------------------------ jobs

    def _job_row(self, job: Job) -> dict[str, Any]:
        return {
            "id": job.id,
            "kind": job.kind,
            "target": job.target,
            "state": job.state.value,
            "steps": json.dumps(job.steps),
            "step_states": json.dumps({k: v.value for k, v in job.step_states.items()}),
            "error": job.error,
            "context": json.dumps(job.context),
            "created_at": _ts(job.created_at),
            "finished_at": _ts(job.finished_at),
            "owner_pid": job.owner_pid,
            "owner_started": job.owner_started,
        }

    def save_job(self, job: Job) -> None:
        row = self._job_row(job)
        updates = ", ".join(f"{k} = excluded.{k}" for k in row if k != "id")
        # an upsert, not INSERT OR REPLACE: a replace deletes the row and would cascade to its events
        with self.transaction() as conn:
            conn.execute(
                f"INSERT INTO jobs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))}) "
                f"ON CONFLICT(id) DO UPDATE SET {updates}",
                list(row.values()),
            )

    def take_over_job(self, job: Job, pid: int, started: str | None) -> bool:
        """Make this process the owner of an unfinished job whose owner died, unless another process did
        first (compare-and-set on the owner read with ``job``): two processes recovering at once never
        both roll the same job back. Updates ``job`` when it succeeds."""
        with self.transaction() as conn:
            taken = conn.execute(
                "UPDATE jobs SET owner_pid = ?, owner_started = ? "
                "WHERE id = ? AND owner_pid IS ? AND owner_started IS ? AND state IN (?, ?)",
                [
                    pid,
                    started,
                    job.id,
                    job.owner_pid,
                    job.owner_started,
                    JobState.PENDING.value,
                    JobState.RUNNING.value,
                ],
            ).rowcount
        if taken:
            job.owner_pid, job.owner_started = pid, started
        return bool(taken)

    def claim_job(self, job: Job, claims: dict[str, str]) -> None:
        """Save a new job together with its claims on app names, in one write transaction, so two processes
        sharing the database cannot both get conflicting claims. A claim (``CLAIM_MODES``) is "create" (no
        app has the name and no unfinished job claims it), "shared" (the app exists; other shared claims
        are fine: starts, stops, backups) or "exclusive" (the app exists and no unfinished job claims it:
        delete, update, migrate, restore over it), so no job acts on a VMID its app no longer holds."""
        with self.transaction() as conn:
            recorded = {
                row[0]
                for name in claims
                for row in conn.execute("SELECT name FROM apps WHERE name = ?", [name]).fetchall()
            }
            for name, mode in claims.items():
                if mode not in CLAIM_MODES:
                    raise ValueError(f"unknown claim mode {mode!r}")
                if mode == "create" and name in recorded:
                    raise AlreadyExists(f"an app named {name!r} already exists")
                if mode != "create" and name not in recorded:
                    raise NotFound(f"no app named {name!r}")
            unfinished = conn.execute(
                "SELECT id, context FROM jobs WHERE state IN (?, ?)",
                [JobState.PENDING.value, JobState.RUNNING.value],
            ).fetchall()
            for job_id, context in unfinished:
                held: dict[str, str] = json.loads(context).get(CLAIM_KEY) or {}
                for name, mode in claims.items():
                    other = held.get(name)
                    if other is None or (mode == "shared" and other == "shared"):
                        continue
                    hint = "if its process died, 'proximity jobs recover' finishes that job"
                    if mode == "create":
                        raise AlreadyExists(
                            f"an app named {name!r} is being created by job {job_id} ({hint})"
                        )
                    raise Conflict(f"{name} is busy with job {job_id} ({hint}); try again when it ends")
            job.context[CLAIM_KEY] = dict(claims)
            self.save_job(job)

    def _job(self, row: dict[str, Any]) -> Job:
        return Job(
            id=row["id"],
            kind=row["kind"],
            target=row["target"],
            state=JobState(row["state"]),
            steps=json.loads(row["steps"]),
            step_states={k: StepState(v) for k, v in json.loads(row["step_states"]).items()},
            error=row["error"],
            context=json.loads(row["context"]),
            created_at=_dt(row["created_at"]),
            finished_at=_dt(row["finished_at"]),
            owner_pid=row["owner_pid"],
            owner_started=row["owner_started"],
        )

    def get_job(self, job_id: str) -> Job:
        rows = self._rows("SELECT * FROM jobs WHERE id = ?", [job_id])
        if not rows:
            raise NotFound(f"no job {job_id!r}")
        return self._job(rows[0])

    def list_jobs(self, state: JobState | None = None, limit: int = 100) -> list[Job]:
        if state is None:
            rows = self._rows("SELECT * FROM jobs ORDER BY created_at DESC LIMIT ?", [limit])
        else:
            rows = self._rows(
                "SELECT * FROM jobs WHERE state = ? ORDER BY created_at DESC LIMIT ?", [state.value, limit]
            )
        return [self._job(row) for row in rows]

    def add_event(self, job_id: str, kind: str, step: str | None, message: str, progress: float) -> JobEvent:
        with self.transaction() as conn:
            seq = conn.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM job_events WHERE job_id = ?", [job_id]
            ).fetchone()[0]
            event = JobEvent(
                job_id=job_id,
                seq=seq,
                time=utcnow(),
                kind=kind,
                step=step,
                message=message,
                progress=max(0.0, min(progress, 1.0)),
            )
            conn.execute(
                "INSERT INTO job_events (job_id, seq, time, kind, step, message, progress) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [job_id, seq, _ts(event.time), kind, step, message, event.progress],
            )
        return event

    def events(self, job_id: str) -> list[JobEvent]:
        rows = self._rows("SELECT * FROM job_events WHERE job_id = ? ORDER BY seq", [job_id])
        return [
            JobEvent(
                job_id=r["job_id"],
                seq=r["seq"],
                time=_dt(r["time"]),
                kind=r["kind"],
                step=r["step"],
                message=r["message"],
                progress=r["progress"],
            )
            for r in rows
        ]

    def cancel_requested(self, job_id: str) -> bool:
        rows = self._rows(
            "SELECT 1 FROM job_events WHERE job_id = ? AND kind = 'cancel-requested' LIMIT 1", [job_id]
        )
        return bool(rows)

    # ------------------------------------------------------------ backups

    def upsert_backup(self, backup: Backup) -> None:
        row = {
            "host": backup.host,
            "volid": backup.volid,
            "node": backup.node,
            "storage": backup.storage,
            "vmid": backup.vmid,
            "app": backup.app,
            "size": backup.size,
            "created_at": _ts(backup.created_at),
            "protected": int(backup.protected),
            "notes": backup.notes,
        }
        with self.transaction() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO backups ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                list(row.values()),
            )

    def _backup(self, r: dict[str, Any]) -> Backup:
        return Backup(
            volid=r["volid"],
            host=r["host"],
            node=r["node"],
            storage=r["storage"],
            vmid=r["vmid"],
            app=r["app"],
            size=r["size"],
            created_at=_dt(r["created_at"]),
            protected=bool(r["protected"]),
            notes=r["notes"],
        )

    def list_backups(self, app: str | None = None, host: str | None = None) -> list[Backup]:
        sql, params = "SELECT * FROM backups WHERE 1=1", []
        if app is not None:
            sql, params = sql + " AND app = ?", [*params, app]
        if host is not None:
            sql, params = sql + " AND host = ?", [*params, host]
        return [self._backup(r) for r in self._rows(sql + " ORDER BY created_at DESC", params)]

    def get_backup(self, volid: str) -> Backup:
        rows = self._rows("SELECT * FROM backups WHERE volid = ?", [volid])
        if not rows:
            raise NotFound(f"no backup {volid!r} recorded")
        return self._backup(rows[0])

    def delete_backup(self, host: str, volid: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM backups WHERE host = ? AND volid = ?", [host, volid])

    # ------------------------------------------------------------ schedules

    def add_schedule(self, schedule: Schedule) -> Schedule:
        with self.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO schedules (app, every_s, keep, storage, last_run, enabled) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    schedule.app,
                    schedule.every_s,
                    schedule.keep,
                    schedule.storage,
                    _ts(schedule.last_run),
                    int(schedule.enabled),
                ],
            )
            new_id = cursor.lastrowid
        return schedule.model_copy(update={"id": new_id})

    def list_schedules(self) -> list[Schedule]:
        return [
            Schedule(
                id=r["id"],
                app=r["app"],
                every_s=r["every_s"],
                keep=r["keep"],
                storage=r["storage"],
                last_run=_dt(r["last_run"]),
                enabled=bool(r["enabled"]),
            )
            for r in self._rows("SELECT * FROM schedules ORDER BY id")
        ]

    def mark_schedule_run(self, schedule_id: int, when: datetime) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE schedules SET last_run = ? WHERE id = ?", [_ts(when), schedule_id])

    def remove_schedule(self, schedule_id: int) -> None:
        with self.transaction() as conn:
            if conn.execute("DELETE FROM schedules WHERE id = ?", [schedule_id]).rowcount == 0:
                raise NotFound(f"no schedule {schedule_id}")

    # ------------------------------------------------------------ settings

    def settings(self) -> Settings:
        values = {r["key"]: json.loads(r["value"]) for r in self._rows("SELECT key, value FROM settings")}
        known = {k: v for k, v in values.items() if k in Settings.model_fields}
        return Settings(**known)

    def save_settings(self, settings: Settings) -> None:
        with self.transaction() as conn:
            for key, value in settings.model_dump().items():
                conn.execute(
                    "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", [key, json.dumps(value)]
                )

    # ------------------------------------------------------------ audit

    def audit(self, *, who: str, front_end: str, action: str, target: str, outcome: str) -> None:
        """Append one entry to the hash chain. The head is read inside the same BEGIN IMMEDIATE transaction
        as the insert, so two processes appending at once cannot both extend the same head (no fork)."""
        with self.transaction() as conn:
            head = conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
            entry_id, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS)
            fields = [entry_id, _ts(utcnow()), who, front_end, action, target, outcome]
            conn.execute(
                "INSERT INTO audit (id, time, who, front_end, action, target, outcome, prev_hash, hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [*fields, prev_hash, entry_hash(fields, prev_hash)],
            )

    def verify_audit(self, anchor: ChainAnchor | None = None) -> ChainReport:
        """Recompute the audit log's hash chain from the first entry; the first broken entry is reported.
        With ``anchor`` (an earlier report's ``anchor``), also prove the log still holds that prefix."""
        columns = ", ".join([*HASHED_FIELDS, "prev_hash", "hash"])
        with self._lock:
            rows = self.db.conn.execute(f"SELECT {columns} FROM audit ORDER BY id").fetchall()
        return verify_rows(rows, anchor)

    def audit_entries(self, limit: int = 100) -> list[AuditEntry]:
        rows = self._rows("SELECT * FROM audit ORDER BY id DESC LIMIT ?", [limit])
        return [
            AuditEntry(
                id=r["id"],
                time=_dt(r["time"]),
                who=r["who"],
                front_end=r["front_end"],
                action=r["action"],
                target=r["target"],
                outcome=r["outcome"],
                prev_hash=r["prev_hash"] or "",
                hash=r["hash"] or "",
            )
            for r in rows
        ]


def default_who() -> str:
    """The local user, for the audit log."""
    try:
        return os.getlogin()
    except OSError:
        return os.environ.get("USER", "unknown")
