"""The dashboard's link to the SDK: one ``Proximity`` client per signed-in user (so the SDK's audit log names
the user, front end ``dashboard``), a shared reader for listings, the live event hub, and ``UserActions``:
every action a page can take, each checked against the user's role on the server before the SDK is called.

Everything here blocks; pages call it from worker threads so the Bokeh server never waits on Proxmox.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from dashboards.chat import ChatPlan, ChatProgress, chat_plan, permission_for
from dashboards.events import EventHub
from dashboards.permissions import Action, allowed
from dashboards.users import Role, Theme, User, UserStore
from proximity.catalog.schema import CatalogEntry
from proximity.client import Proximity
from proximity.errors import ConfirmationRequired, NotFound, PermissionDenied, ProximityError
from proximity.models import App, Backup, Host, Job, JobEvent, MetricPoint, Node, Schedule, Storage
from proximity.omni.ask import ask as omni_ask
from proximity.omni.planner import Ranker
from proximity.omni.runner import RunResult
from proximity.settings import Settings

FRONT_END = "dashboard"
APPS_CACHE_S = 1.5
SCHEDULER_INTERVAL_S = 30.0
T = TypeVar("T")


@dataclass(frozen=True)
class Placement:
    host: str
    node: str
    free_mb: int
    candidates: list[str]


@dataclass(frozen=True)
class UpdateOutcome:
    """What a safe update did: the app runs the catalog's version and passed its health check, or the job
    failed and was rolled back (``undone`` the steps put back, ``undo_failed`` those that could not be)."""

    app: str
    version_before: str
    version_after: str
    status: str
    job_id: str | None  # None: nothing ran (an OCI install already at the catalog's version)
    error: str = ""  # the typed error that stopped the update, "HealthCheckFailed: ..."
    undone: tuple[str, ...] = ()
    undo_failed: tuple[str, ...] = ()

    @property
    def updated(self) -> bool:
        return self.job_id is not None and not self.error

    def summary(self) -> str:
        if self.job_id is None:
            return f"{self.app} is already at {self.version_after}: nothing to update"
        if self.updated:
            return (
                f"{self.app} updated: version {self.version_after} (was {self.version_before}), "
                f"health check passed, {self.status}"
            )
        if self.undo_failed:
            return (
                f"{self.app} update failed ({self.error}) and the rollback is incomplete: could not undo "
                f"{', '.join(self.undo_failed)}; check the app ({self.status})"
            )
        undone = ", ".join(self.undone) or "nothing to undo"
        return (
            f"{self.app} update failed ({self.error}); rolled back automatically ({undone}): "
            f"{self.app} is {self.status} at version {self.version_after}"
        )


class DashboardService:
    """Shared by every session of one server."""

    def __init__(
        self,
        home: Path,
        users: UserStore,
        *,
        scheduler: bool = True,
        chat_ranker: Ranker | None | str = "auto",
    ):
        self.home = home
        self.users = users
        self.chat_ranker = chat_ranker  # the Omni-Prompt's model: "auto" (if installed) or None (parser only)
        self.events = EventHub()
        self._clients: dict[str, Proximity] = {}
        self._lock = threading.Lock()
        self.reader = self._open("dashboard")
        self._apps_cache: tuple[float, list[App]] = (0.0, [])
        self._apps_lock = threading.Lock()
        self._rack_cache: tuple[float, tuple[list[Any], dict[str, Any]] | None] = (0.0, None)
        self._deploying: dict[str, str] = {}  # app name -> catalog id, for deploys in flight in this server
        self._stopping = threading.Event()
        self._scheduler: threading.Thread | None = None
        if scheduler:
            self._scheduler = threading.Thread(target=self._run_schedules, name="px-dash-sched", daemon=True)
            self._scheduler.start()

    def _open(self, who: str) -> Proximity:
        client = Proximity(self.home, front_end=FRONT_END, who=who)
        client.subscribe(self._on_event)
        return client

    def _on_event(self, event: JobEvent) -> None:
        self.events.publish(event)
        if event.kind in ("job-succeeded", "job-failed", "job-cancelled"):
            self.invalidate_apps()

    def client(self, user: str) -> Proximity:
        with self._lock:
            client = self._clients.get(user)
            if client is None:
                client = self._open(user)
                self._clients[user] = client
            return client

    def for_user(self, user: str, fixed_role: Role | None = None) -> UserActions:
        return UserActions(self, user, fixed_role)

    # ------------------------------------------------------------ shared reads

    def apps(self) -> list[App]:
        """Live app states, shared by all sessions for ``APPS_CACHE_S`` (one cluster/resources per host)."""
        with self._apps_lock:
            taken, apps = self._apps_cache
            if time.monotonic() - taken < APPS_CACHE_S:
                return apps
            apps = self.reader.apps.list()
            self._apps_cache = (time.monotonic(), apps)
            return apps

    def rack_units(self) -> tuple[list[Any], dict[str, Any]]:
        """The rack's units and kinds (``dashboards.rack.feed.collect``), shared like ``apps()``."""
        from dashboards.rack.feed import collect

        with self._apps_lock:
            taken, cached = self._rack_cache
            if cached is not None and time.monotonic() - taken < APPS_CACHE_S:
                return cached
            deploying = dict(self._deploying)
        fresh = collect(self.reader, deploying)
        with self._apps_lock:
            self._rack_cache = (time.monotonic(), fresh)
        return fresh

    def deploying(self) -> dict[str, str]:
        """Deploys this server is running now (shown before the SDK records the app, at its create step)."""
        with self._apps_lock:
            return dict(self._deploying)

    def deploy_started(self, name: str, catalog_id: str) -> None:
        with self._apps_lock:
            self._deploying[name] = catalog_id
        self.invalidate_apps()

    def deploy_ended(self, name: str) -> None:
        with self._apps_lock:
            self._deploying.pop(name, None)
        self.invalidate_apps()

    def invalidate_apps(self) -> None:
        self._apps_cache = (0.0, self._apps_cache[1])
        self._rack_cache = (0.0, self._rack_cache[1])

    def catalog(self) -> Any:
        return self.reader.catalog

    def _run_schedules(self) -> None:
        while not self._stopping.wait(SCHEDULER_INTERVAL_S):
            try:
                for backup in self.reader.run_scheduler_once():
                    self.events.note(f"scheduled backup {backup.volid}")
            except ProximityError as error:
                self.events.note(f"scheduled backups: {type(error).__name__}: {error}")

    def close(self) -> None:
        self._stopping.set()
        with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
        for client in [*clients, self.reader]:
            client.close()


class UserActions:
    """What one user does. The role is read from the users file at every call, so a demoted or removed
    user loses rights at once; a refusal is written to the audit log and raised as ``PermissionDenied``."""

    def __init__(self, service: DashboardService, user: str, fixed_role: Role | None = None):
        self.service = service
        self.user = user
        self.fixed_role = fixed_role  # only for the loopback-only "--no-login" mode: the local owner

    @property
    def role(self) -> Role:
        if self.fixed_role is not None:
            return self.fixed_role
        record = self.service.users.get(self.user)
        if record is None:
            raise PermissionDenied(f"{self.user} is not a dashboard user")
        return record.role

    def can(self, action: Action) -> bool:
        try:
            return allowed(self.role, action)
        except PermissionDenied:
            return False

    def can_manage_users(self) -> bool:
        return self.can(Action.USERS_MANAGE)

    def _check(self, action: Action, target: str) -> Proximity:
        client = self.service.client(self.user)
        if not self.can(action):
            client.store.audit(
                who=self.user, front_end=FRONT_END, action=action.value, target=target, outcome="denied"
            )
            self.service.events.note(f"{self.user}: {action.value} {target} refused (role)")
            raise PermissionDenied(f"{self.user} may not {action.value}")
        return client

    def _done(self, text: str) -> None:
        self.service.events.note(f"{self.user}: {text}")
        self.service.invalidate_apps()

    # ------------------------------------------------------------ apps

    def placement(self, entry: CatalogEntry, memory_mb: int, host: str | None = None) -> Placement:
        """Where a deploy would go: the online node with the most headroom that has the memory free (the
        SDK's own rule), shown before confirming and then passed to the deploy as ``node``."""
        client = self._check(Action.VIEW, entry.id)
        hosts = [h.name for h in client.hosts.list()]
        if not hosts:
            raise NotFound("no host added yet: add one on the Hosts page")
        host_name = host or hosts[0]
        nodes: list[Node] = client.hosts.nodes(host_name)
        fitting = [n for n in nodes if n.online and n.mem_free >= memory_mb * 1024 * 1024]
        if not fitting:
            raise ProximityError(f"no online node of {host_name} has {memory_mb} MiB of memory free")
        best = max(fitting, key=lambda n: (n.headroom, n.name))
        return Placement(host_name, best.name, best.mem_free // (1024 * 1024), [n.name for n in fitting])

    def deploy(
        self,
        catalog_id: str,
        *,
        name: str,
        host: str,
        node: str,
        cores: int,
        memory_mb: int,
        disk_gb: int,
        env: dict[str, Any],
        on_event: Callable[[JobEvent], None] | None = None,
    ) -> App:
        client = self._check(Action.DEPLOY, name)
        self.service.events.note(f"{self.user}: deploying {catalog_id} as {name} on {node}")
        self.service.deploy_started(name, catalog_id)
        try:
            app = client.apps.deploy(
                catalog_id,
                name=name,
                host=host,
                node=node,
                cores=cores,
                memory=memory_mb,
                disk=disk_gb,
                env=env,
                on_event=on_event,
            )
        finally:
            self.service.deploy_ended(name)
        self._done(f"deployed {name} ({app.url or 'no URL'})")
        return app

    def start(self, name: str) -> App:
        app = self._check(Action.START, name).apps.start(name)
        self._done(f"started {name}")
        return app

    def stop(self, name: str) -> App:
        app = self._check(Action.STOP, name).apps.stop(name)
        self._done(f"stopped {name}")
        return app

    def restart(self, name: str) -> App:
        app = self._check(Action.RESTART, name).apps.restart(name)
        self._done(f"restarted {name}")
        return app

    def delete(self, name: str, *, typed_name: str, purge: bool) -> None:
        """Destroy an app; ``typed_name`` must repeat the app's name (the confirmation the user gave)."""
        client = self._check(Action.DELETE, name)
        if typed_name != name:
            raise ConfirmationRequired(f"type {name!r} to confirm deleting it")
        client.apps.delete(name, purge=purge, confirm=True)
        self._done(f"deleted {name}{' and its backups' if purge else ' (final backup kept)'}")

    def app(self, name: str) -> App:
        return self._check(Action.VIEW, name).apps.get(name)

    def app_logs(self, name: str, lines: int = 60) -> str:
        return self._check(Action.VIEW, name).apps.logs(name, lines=lines)

    def metrics(self, name: str, timeframe: str = "hour") -> list[MetricPoint]:
        """The app's measured figures from Proxmox's RRD (``rrddata``) over ``timeframe``."""
        return self._check(Action.VIEW, name).apps.metrics(name, timeframe=timeframe)

    def migration_targets(self, name: str) -> list[str]:
        """The online nodes of the app's host it could move to (every one but its own)."""
        client = self._check(Action.VIEW, name)
        app = client.apps.get(name, live=False)
        return [n.name for n in client.hosts.nodes(app.host) if n.online and n.name != app.node]

    def clone(self, name: str, new_name: str, *, on_event: Callable[[JobEvent], None] | None = None) -> App:
        client = self._check(Action.CLONE, name)
        self.service.events.note(f"{self.user}: cloning {name} as {new_name}")
        app = client.apps.clone(name, new_name, on_event=on_event)
        self._done(f"cloned {name} as {new_name} ({app.url or 'no URL'})")
        return app

    def update(self, name: str, *, on_event: Callable[[JobEvent], None] | None = None) -> UpdateOutcome:
        """Safe update (snapshot, update, health check; rolled back automatically on failure). A rollback is
        an outcome, not an error: it is returned with what was undone. Errors before any job ran (no update
        method, another job on the app) are raised as they are."""
        client = self._check(Action.UPDATE, name)
        before = client.apps.get(name, live=False)
        events: list[JobEvent] = []

        def record(event: JobEvent) -> None:
            events.append(event)
            if on_event is not None:
                on_event(event)

        self.service.events.note(f"{self.user}: updating {name}")
        error = ""
        try:
            client.apps.update(name, on_event=record)
        except ProximityError as failure:
            if not events:
                raise
            error = f"{type(failure).__name__}: {failure}"
        after = client.apps.get(name)
        outcome = UpdateOutcome(
            app=name,
            version_before=before.version,
            version_after=after.version,
            status=after.status.value,
            job_id=events[0].job_id if events else None,
            error=error,
            undone=tuple(e.step or "" for e in events if e.kind == "undo-done"),
            undo_failed=tuple(e.step or "" for e in events if e.kind == "undo-failed"),
        )
        self._done(outcome.summary())
        return outcome

    def resize(
        self,
        name: str,
        *,
        cores: int | None = None,
        memory_mb: int | None = None,
        disk_gb: int | None = None,
        on_event: Callable[[JobEvent], None] | None = None,
    ) -> App:
        """Change cores, memory (MiB) or the root disk (GiB, grows only); ``None`` leaves a size as it is."""
        client = self._check(Action.RESIZE, name)
        app = client.apps.resize(name, cores=cores, memory_mb=memory_mb, disk_gb=disk_gb, on_event=on_event)
        self._done(f"resized {name} to {app.cores} cores, {app.memory_mb} MiB, {app.disk_gb} GiB")
        return app

    def migrate(self, name: str, node: str, *, on_event: Callable[[JobEvent], None] | None = None) -> App:
        client = self._check(Action.MIGRATE, name)
        self.service.events.note(f"{self.user}: moving {name} to {node}")
        app = client.apps.migrate(name, node, on_event=on_event)
        self._done(f"moved {name} to {app.node} ({app.status.value})")
        return app

    # ------------------------------------------------------------ backups

    def backups(self, app: str | None = None) -> list[Backup]:
        return self._check(Action.VIEW, app or "*").backups.list(app)

    def backup(self, app: str, *, protected: bool = False) -> Backup:
        backup = self._check(Action.BACKUP_CREATE, app).backups.create(app, protected=protected)
        self._done(f"backed up {app} to {backup.volid}")
        return backup

    def restore(self, volid: str, *, as_name: str | None, typed_name: str | None = None) -> App:
        """In place (replaces the app's current container: ``typed_name`` must repeat the app's name) or
        as a new app."""
        client = self._check(Action.BACKUP_RESTORE, volid)
        if as_name:
            app = client.backups.restore(volid, as_name=as_name)
        else:
            target = client.backups.get(volid).app or ""
            if typed_name != target:
                raise ConfirmationRequired(f"type {target!r} to confirm restoring over it")
            app = client.backups.restore(volid, confirm=True)
        self._done(f"restored {volid} as {app.name}")
        return app

    def delete_backup(self, volid: str, *, typed_volid: str) -> None:
        client = self._check(Action.BACKUP_DELETE, volid)
        if typed_volid != volid:
            raise ConfirmationRequired("type the backup's name to confirm deleting it")
        client.backups.delete(volid, confirm=True)
        self._done(f"deleted backup {volid}")

    def protect(self, volid: str, protected: bool) -> Backup:
        backup = self._check(Action.BACKUP_PROTECT, volid).backups.protect(volid, protected=protected)
        self._done(f"{'protected' if protected else 'unprotected'} {volid}")
        return backup

    def schedules(self) -> list[Schedule]:
        return self._check(Action.VIEW, "schedules").backups.schedules()

    def schedule(self, app: str, every_hours: float, keep: int) -> Schedule:
        client = self._check(Action.BACKUP_SCHEDULE, app)
        schedule = client.backups.schedule(app, every=timedelta(hours=every_hours), keep=keep)
        self._done(f"scheduled backups of {app} every {every_hours:g} h, keep {keep}")
        return schedule

    def unschedule(self, schedule_id: int) -> None:
        self._check(Action.BACKUP_SCHEDULE, str(schedule_id)).backups.unschedule(schedule_id)
        self._done(f"removed schedule {schedule_id}")

    # ------------------------------------------------------------ hosts

    def hosts(self) -> list[Host]:
        return self._check(Action.VIEW, "hosts").hosts.list()

    def nodes(self, host: str) -> list[Node]:
        return self._check(Action.VIEW, host).hosts.nodes(host)

    def storages(self, host: str) -> list[Storage]:
        return self._check(Action.VIEW, host).hosts.storages(host)

    def add_host(self, name: str, url: str, **credentials: Any) -> Host:
        host = self._check(Action.HOST_ADD, name).hosts.add(name, url, **credentials)
        self._done(f"added host {name}")
        return host

    def test_host(self, name: str) -> Any:
        report = self._check(Action.HOST_TEST, name).hosts.test(name)
        self.service.events.note(f"{self.user}: tested {name}: {'ok' if report.ok else report.error}")
        return report

    def remove_host(self, name: str, *, typed_name: str) -> None:
        client = self._check(Action.HOST_REMOVE, name)
        if typed_name != name:
            raise ConfirmationRequired(f"type {name!r} to confirm removing the host")
        client.hosts.remove(name, confirm=True)
        self._done(f"removed host {name}")

    # ------------------------------------------------------------ jobs

    def jobs(self, limit: int = 50) -> list[Job]:
        return self._check(Action.VIEW, "jobs").jobs.list(limit=limit)

    def job_events(self, job_id: str) -> list[JobEvent]:
        return self._check(Action.VIEW, job_id).jobs.events(job_id)

    def cancel_job(self, job_id: str) -> None:
        self._check(Action.JOB_CANCEL, job_id).jobs.cancel(job_id)
        self._done(f"cancelled job {job_id}")

    # ------------------------------------------------------------ settings, users, preferences

    def settings(self) -> Settings:
        return self._check(Action.VIEW, "settings").settings()

    def update_settings(self, **changes: Any) -> Settings:
        settings = self._check(Action.SETTINGS_UPDATE, "settings").update_settings(**changes)
        self._done(f"updated settings {', '.join(sorted(changes))}")
        return settings

    def set_preferences(self, *, theme: Theme | None = None, sounds: bool | None = None) -> None:
        self._check(Action.PREFERENCES, self.user)
        self.service.users.set_preferences(self.user, theme=theme, sounds=sounds)

    def preferences(self) -> User | None:
        return self.service.users.get(self.user)

    def list_users(self) -> list[User]:
        self._check(Action.USERS_MANAGE, "users")
        return self.service.users.list()

    def add_user(self, name: str, role: Role, password: str) -> None:
        client = self._check(Action.USERS_MANAGE, name)
        self.service.users.add(name, role, password)
        client.store.audit(
            who=self.user, front_end=FRONT_END, action="users.add", target=name, outcome=role.value
        )
        self._done(f"added user {name} ({role.value})")

    def remove_user(self, name: str) -> None:
        client = self._check(Action.USERS_MANAGE, name)
        self.service.users.remove(name)
        client.store.audit(
            who=self.user, front_end=FRONT_END, action="users.remove", target=name, outcome="ok"
        )
        self._done(f"removed user {name}")

    # ------------------------------------------------------------ the Omni-Prompt chat

    def ask(self, text: str) -> ChatPlan:
        """Plan a request (English or Italian). Nothing runs; any signed-in user may ask and see the plan."""
        client = self._check(Action.VIEW, "omni")
        asked = omni_ask(client, text, ranker=self.service.chat_ranker)
        return chat_plan(self.user, asked, self.can)

    def run_plan(
        self, chat: ChatPlan, *, approve: bool, typed: list[str], progress: ChatProgress | None = None
    ) -> RunResult:
        """Run a plan this user asked for. Every step's permission is checked against the role *now*; one
        refused step refuses the whole plan before anything runs (each refusal audited). Then the
        Omni-Prompt's own rules: ``approve`` is the yes for changes, a destructive step runs only when its
        exact text is in ``typed``."""
        client = self.service.client(self.user)
        if chat.user != self.user:
            raise PermissionDenied(f"{self.user} may not run a plan made for {chat.user}")
        # the steps that will run (the plan itself, not its view), each against the role read now
        needed = [
            (index, step, permission_for(step)) for index, step in enumerate(chat.plan.steps) if step.executes
        ]
        refused = [
            (index, step, permission) for index, step, permission in needed if not self.can(permission)
        ]
        for _index, step, permission in refused:
            client.store.audit(
                who=self.user,
                front_end=FRONT_END,
                action=permission.value,
                target=f"omni: {step.call_text()}"[:500],
                outcome="denied",
            )
        if refused:
            names = ", ".join(
                f"step {index + 1} ({permission.value})" for index, _step, permission in refused
            )
            self.service.events.note(f"{self.user}: Omni-Prompt plan refused (role)")
            raise PermissionDenied(f"{self.user} ({self.role.value}) may not run {names}")
        result = chat.asked.run(confirm=approve, typed=typed, progress=progress.step if progress else None)
        outcome = (
            "not confirmed"
            if result.missing
            else "; ".join(f"{o.action}: {o.status}" for o in result.outcomes) or "nothing to run"
        )
        client.store.audit(
            who=self.user,
            front_end=FRONT_END,
            action="omni.run",
            target=chat.plan.request[:500],
            outcome=outcome,
        )
        self._done(f"Omni-Prompt: {outcome}")
        return result
