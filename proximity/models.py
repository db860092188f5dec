"""The typed objects the SDK hands out: hosts, nodes, storages, apps, jobs, backups, schedules.

Models are pydantic. Those with verbs (``App``, ``Host``, ``Backup``, ``Job``) keep a private link to the
collection that made them, docker-py style: ``app.stop()`` is ``px.apps.stop(app.name)``. With
``Proximity`` the verbs return values; with ``AsyncProximity`` they return awaitables.
No model holds a secret in a plain field; secrets are ``SecretStr`` and never reach ``repr``.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, field_validator


def utcnow() -> datetime:
    return datetime.now(UTC)


class Model(BaseModel):
    """Base with a Jupyter table view (secrets masked by pydantic's SecretStr)."""

    model_config = ConfigDict(extra="forbid")

    def _repr_html_(self) -> str:
        rows = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                shown = "••••••" if value.get_secret_value() else ""
            elif isinstance(value, list):
                shown = ", ".join(str(item) for item in value)
            elif isinstance(value, dict):
                shown = ", ".join(f"{k}={v}" for k, v in value.items())
            else:
                shown = "" if value is None else str(value)
            rows.append(
                f"<tr><th style='text-align:left'>{html.escape(name)}</th>"
                f"<td style='text-align:left'>{html.escape(shown)}</td></tr>"
            )
        title = html.escape(type(self).__name__)
        return f"<table><caption style='text-align:left'><b>{title}</b></caption>{''.join(rows)}</table>"


class Bound(Model):
    """A model whose verbs go through the collection that returned it."""

    _collection: Any = PrivateAttr(default=None)

    def _bind(self, collection: Any) -> Bound:
        self._collection = collection
        return self

    def _require(self) -> Any:
        if self._collection is None:
            raise RuntimeError(f"this {type(self).__name__} is not attached to a Proximity client")
        return self._collection

    def _refresh_from(self, other: Bound) -> None:
        for name in type(self).model_fields:
            setattr(self, name, getattr(other, name))


# ---------------------------------------------------------------- hosts


class HostCredentials(Model):
    """How to log in to a host. Token preferred; password gets a ticket. Never stored in SQLite."""

    token_id: str | None = Field(default=None, pattern=r"^[^!\s]+@[^!\s]+![A-Za-z][\w.-]*$")
    token_secret: SecretStr | None = None
    user: str | None = Field(default=None, pattern=r"^[^!\s]+@[^!\s]+$")
    password: SecretStr | None = None
    ssh_user: str = "root"
    ssh_password: SecretStr | None = None
    ssh_key: SecretStr | None = Field(default=None, description="Private key (OpenSSH/PEM text)")

    @field_validator("token_id", "token_secret")
    @classmethod
    def _fits_a_header(cls, value: str | SecretStr | None) -> str | SecretStr | None:
        """Both travel in the ``Authorization`` header: printable ASCII only (a PVE token secret is a UUID).
        A line break there would also make ``requests`` quote the whole header in its error."""
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if text is not None and not all(" " < char < "\x7f" for char in text):
            raise ValueError(
                "must be printable ASCII without spaces or line breaks (check for a trailing newline)"
            )
        return value

    def api_kind(self) -> str:
        """``token`` or ``password``: which API login these credentials allow."""
        if self.token_id and self.token_secret:
            return "token"
        if self.user and self.password:
            return "password"
        raise ValueError("credentials need a token id + secret, or a user + password")

    def ssh_secret(self) -> SecretStr | None:
        """The SSH password: the explicit one, else the API password (root@pam logs in over SSH too)."""
        return self.ssh_password or self.password


class Host(Bound):
    """A recorded Proxmox VE host (no secrets: those live in the secrets file)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    url: str
    auth: str = Field(description="'token' or 'password'")
    principal: str = Field(description="token id or user name (not secret)")
    verify_tls: bool = True
    ca_path: str | None = None
    fingerprint: str | None = None
    ssh_user: str = "root"
    ssh_port: int = Field(default=22, ge=1, le=65535)
    ssh_host_keys: dict[str, str] = Field(default_factory=dict, description="node -> pinned host key")
    added_at: datetime = Field(default_factory=utcnow)

    def test(self) -> Any:
        return self._require().test(self.name)

    def nodes(self) -> Any:
        return self._require().nodes(self.name)

    def storages(self, node: str | None = None) -> Any:
        return self._require().storages(self.name, node=node)

    def remove(self, *, confirm: bool = False) -> Any:
        return self._require().remove(self.name, confirm=confirm)

    def reload(self) -> Any:
        return self._require().reload(self)


class Node(Model):
    """A cluster node with its live capacity (bytes; ``cpu`` as a fraction)."""

    host: str
    name: str
    online: bool
    ip: str | None = None
    cpu: float = Field(default=0.0, description="Fraction of all cores in use, 0..1")
    cores: int = 0
    mem_used: int = 0
    mem_total: int = 0
    disk_used: int = 0
    disk_total: int = 0

    @property
    def mem_free(self) -> int:
        """Memory not in use, in bytes."""
        return max(self.mem_total - self.mem_used, 0)

    @property
    def headroom(self) -> float:
        """A 0..1 score of spare capacity: the scarcer of free memory and free CPU."""
        if not self.online or self.mem_total <= 0:
            return 0.0
        return min(self.mem_free / self.mem_total, max(1.0 - self.cpu, 0.0))


class Storage(Model):
    """A storage as a node sees it (sizes in bytes)."""

    host: str
    node: str
    name: str
    type: str
    content: list[str]
    shared: bool = False
    active: bool = True
    avail: int = 0
    total: int = 0


class ConnectionReport(Model):
    """The result of ``px.hosts.test``: API version and latency, SSH per node, or the error."""

    host: str
    ok: bool
    version: str | None = None
    nodes: list[str] = []
    api_latency_ms: float | None = None
    ssh_ok: dict[str, bool] = {}
    error: str | None = None


# ---------------------------------------------------------------- apps


class AppStatus(StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"
    DEPLOYING = "deploying"
    FAILED = "failed"
    MISSING = "missing"  # the CT vanished behind Proximity's back
    UNKNOWN = "unknown"  # the host could not be asked


class PortBinding(Model):
    """A port the app listens on, from its catalog entry."""

    name: str
    port: int
    protocol: str = "tcp"


class App(Bound):
    """An installed app: its container, where it runs, its sizes, state and URL."""

    name: str
    catalog_id: str
    host: str
    node: str
    vmid: int
    install_method: str
    version: str = ""
    status: AppStatus = AppStatus.UNKNOWN
    ip: str | None = None
    url: str | None = None
    ports: list[PortBinding] = []
    cores: int = 1
    memory_mb: int = 512
    disk_gb: int = 8
    adopted: bool = False
    created_at: datetime = Field(default_factory=utcnow)

    def reload(self) -> Any:
        return self._require().reload(self)

    def start(self) -> Any:
        return self._require().start(self.name)

    def stop(self) -> Any:
        return self._require().stop(self.name)

    def shutdown(self, timeout: int = 60) -> Any:
        return self._require().shutdown(self.name, timeout=timeout)

    def restart(self) -> Any:
        return self._require().restart(self.name)

    def delete(self, *, purge: bool = False, confirm: bool = False) -> Any:
        return self._require().delete(self.name, purge=purge, confirm=confirm)

    def clone(self, new_name: str) -> Any:
        return self._require().clone(self.name, new_name)

    def resize(
        self, *, cores: int | None = None, memory_mb: int | None = None, disk_gb: int | None = None
    ) -> Any:
        return self._require().resize(self.name, cores=cores, memory_mb=memory_mb, disk_gb=disk_gb)

    def migrate(self, node: str) -> Any:
        return self._require().migrate(self.name, node)

    def logs(self, *, lines: int = 100, deployment: bool = False) -> Any:
        return self._require().logs(self.name, lines=lines, deployment=deployment)

    def metrics(self, timeframe: str = "hour") -> Any:
        return self._require().metrics(self.name, timeframe=timeframe)

    def update(self) -> Any:
        return self._require().update(self.name)

    def backup(self, **options: Any) -> Any:
        return self._require().backup(self.name, **options)


class MetricPoint(Model):
    """One RRD sample of a container (``cpu`` as a fraction, memory and I/O in bytes)."""

    time: datetime
    cpu: float | None = None
    mem: float | None = None
    maxmem: float | None = None
    netin: float | None = None
    netout: float | None = None
    diskread: float | None = None
    diskwrite: float | None = None


# ---------------------------------------------------------------- jobs


class JobState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # failed and rolled back
    ROLLBACK_FAILED = "rollback-failed"  # failed and the rollback did not finish: needs a look
    CANCELLED = "cancelled"


class StepState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    UNDOING = "undoing"
    UNDONE = "undone"
    UNDO_FAILED = "undo-failed"


class JobEvent(Model):
    """One event of a job, in order (``seq``)."""

    job_id: str
    seq: int
    time: datetime
    kind: str = Field(
        description="job-started, step-started, step-done, step-failed, retry, undo-..., job-..."
    )
    step: str | None = None
    message: str = ""
    progress: float = Field(ge=0.0, le=1.0, description="Fraction of the job's steps done")


class Job(Bound):
    """A run of a verb as ordered steps, with its state and the state of each step."""

    id: str
    kind: str
    target: str
    state: JobState
    steps: list[str] = []
    step_states: dict[str, StepState] = {}
    error: str | None = None
    context: dict[str, Any] = Field(default_factory=dict, description="Non-secret values the steps share")
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    owner_pid: int | None = None
    owner_started: str | None = Field(default=None, description="Start time of the owner process, if known")

    @property
    def progress(self) -> float:
        """Fraction of the steps done, 0..1."""
        if not self.steps:
            return 0.0
        done = sum(1 for s in self.steps if self.step_states.get(s) == StepState.DONE)
        return done / len(self.steps)

    def events(self) -> Any:
        return self._require().events(self.id)

    def reload(self) -> Any:
        return self._require().reload(self)


# ---------------------------------------------------------------- backups


class Backup(Bound):
    """A vzdump archive of an app's container, as recorded in the backups index."""

    volid: str
    host: str
    node: str
    storage: str
    vmid: int
    app: str | None = None
    size: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    protected: bool = False
    notes: str = ""

    def restore(self, *, as_name: str | None = None, confirm: bool = False) -> Any:
        return self._require().restore(self.volid, as_name=as_name, confirm=confirm)

    def delete(self, *, confirm: bool = False) -> Any:
        return self._require().delete(self.volid, confirm=confirm)

    def protect(self, protected: bool = True) -> Any:
        return self._require().protect(self.volid, protected=protected)


class Schedule(Model):
    """A recurring backup of one app."""

    id: int | None = None
    app: str
    every_s: int = Field(ge=60, description="Interval between backups")
    keep: int = Field(default=7, ge=1, description="Backups of this app kept by the scheduler")
    storage: str | None = None
    last_run: datetime | None = None
    enabled: bool = True


class AuditEntry(Model):
    """One line of the append-only audit log: who did what, through which front end, and how it ended."""

    id: int
    time: datetime
    who: str
    front_end: str
    action: str
    target: str
    outcome: str
    prev_hash: str = ""  # the audit hash chain (proximity.store.audit_chain)
    hash: str = ""


class Drift(Model):
    """A difference between what Proximity recorded and what Proxmox reports, found by reconcile()."""

    app: str
    field: str
    recorded: str
    actual: str
    repaired: bool
