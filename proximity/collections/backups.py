"""``px.backups``: create (vzdump snapshot mode, zstd, to a storage that accepts backups), list, restore
(in place or as a new app), delete, protect; schedules stored in Proximity and run by ``Scheduler``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import anyio

from proximity.catalog.schema import CatalogEntry
from proximity.collections.common import (
    app_url,
    check_app_health,
    check_name,
    is_running,
    job_tag,
    parse_ct_description,
    start_again,
    wait_ip,
)
from proximity.collections.core import Core
from proximity.errors import (
    AlreadyExists,
    ConfirmationRequired,
    Conflict,
    NotFound,
    ProximityError,
    ValidationError,
)
from proximity.jobs import JobKind, Step, StepContext
from proximity.jobs.engine import EventCallback
from proximity.models import App, AppStatus, Backup, PortBinding, Schedule, utcnow
from proximity.pve.host import PveHost, rootfs_size_gb


def described_entry(core: Core, config: dict[str, Any]) -> tuple[CatalogEntry, str | None] | None:
    """The catalog entry (and install method) a container's description names, if the catalog has it."""
    parsed = parse_ct_description(str(config.get("description", "")))
    if parsed is None:
        return None
    entry = core.catalog.get(parsed[0])
    return (entry, parsed[1]) if entry is not None else None


class AsyncBackups:
    """``px.backups``: vzdump backups of apps, their index, restore, protection and schedules."""

    def __init__(self, core: Core):
        self._core = core
        core.runner.register(JobKind("backup", self._backup_steps))
        core.runner.register(JobKind("restore", self._restore_steps))

    def _bind(self, backup: Backup) -> Backup:
        return backup._bind(self)  # type: ignore[return-value]

    def attach_apps(self, apps: Any) -> None:
        """Wiring: give the collection the apps collection it restores into (done by the client)."""
        self._apps = apps

    # ------------------------------------------------------------ create

    async def create(
        self,
        app: str,
        *,
        storage: str | None = None,
        protected: bool = False,
        on_event: EventCallback | None = None,
    ) -> Backup:
        """Back up an app now. The storage is the given one, the Settings one, or one whose content
        includes ``backup`` (found, never guessed from the root disk)."""
        core = self._core
        record = core.store.get_app(app)
        values = {
            "app": app,
            "host": record.host,
            "node": record.node,
            "vmid": record.vmid,
            "storage": storage or core.settings.backup_storage,
            "protected": protected,
            "node_key": f"{record.host}/{record.node}",
            "volid": None,
        }
        try:
            job = await core.runner.run("backup", app, values, on_event=on_event, claims={app: "shared"})
        except BaseException as error:
            core.audit("backups.create", app, f"failed: {type(error).__name__}")
            raise
        volid = job.context["volid"]
        core.audit("backups.create", app, f"ok ({volid})")
        return await self.get(volid)

    async def backup_now(
        self,
        app: App,
        storage: str | None,
        values: dict[str, Any] | None = None,
        *,
        job_id: str | None = None,
    ) -> Backup:
        """The backup itself, without a job around it (used inside other jobs). ``job_id``: the job making
        it, named in the archive's notes so an undo finds an archive whose process died before indexing it."""
        core = self._core
        pve = core.pve(app.host)
        target = await core.call(pve.pick_storage, app.node, "backup", storage)
        notes = backup_notes(app.name, job_id)
        volid = await core.call(lambda: pve.vzdump(app.node, app.vmid, target, notes=notes))
        if values is not None:
            values["volid"] = volid
        listed = {b["volid"]: b for b in await core.call(pve.backups, app.node, target, app.vmid)}
        info = listed.get(volid, {})
        backup = Backup(
            volid=volid,
            host=app.host,
            node=app.node,
            storage=target,
            vmid=app.vmid,
            app=app.name,
            size=int(info.get("size") or 0),
            protected=bool(info.get("protected")),
            notes=str(info.get("notes") or ""),
            created_at=datetime.fromtimestamp(int(info["ctime"]), tz=UTC) if info.get("ctime") else utcnow(),
        )
        core.store.upsert_backup(backup)
        return backup

    async def discard_unindexed(self, host: str, node: str, vmid: int, job_id: str) -> list[str]:
        """Remove the archives job ``job_id`` made of CT ``vmid`` that never reached the index (the process
        died while vzdump ran, or before it recorded the archive). Returns their volids."""
        core = self._core
        pve = core.pve(host)
        marker = backup_notes_marker(job_id)
        removed: list[str] = []
        for storage in await core.call(pve.storages, node, "backup"):
            for item in await core.call(pve.backups, node, storage.name, vmid):
                volid = str(item["volid"])
                if marker not in str(item.get("notes") or "") or self._indexed(volid):
                    continue
                if item.get("protected"):
                    await core.call(pve.protect_volume, node, storage.name, volid, False)
                try:
                    await core.call(pve.delete_volume, node, storage.name, volid)
                except NotFound:
                    pass
                removed.append(volid)
        return removed

    def _indexed(self, volid: str) -> bool:
        try:
            self._core.store.get_backup(volid)
        except NotFound:
            return False
        return True

    def _backup_steps(self, values: dict[str, Any]) -> list[Step]:
        core = self._core

        async def dump(ctx: StepContext) -> None:
            app = core.store.get_app(values["app"])
            backup = await self.backup_now(app, values["storage"], values, job_id=ctx.job_id)
            await ctx.report(f"{backup.volid} ({backup.size} bytes)")
            if values["protected"]:
                await self.protect(backup.volid, protected=True)

        async def discard(ctx: StepContext) -> None:
            if values.get("volid") and self._indexed(values["volid"]):
                await self.remove(core.store.get_backup(values["volid"]), force=True)
            await self.discard_unindexed(values["host"], values["node"], values["vmid"], ctx.job_id)

        return [Step("vzdump", dump, discard, retry=True, label="Back up (vzdump, snapshot mode, zstd)")]

    # ------------------------------------------------------------ reading

    async def list(
        self, app: str | None = None, *, host: str | None = None, refresh: bool = True
    ) -> list[Backup]:
        """Backups of the recorded apps; ``refresh`` re-reads the backup storages so files removed outside
        Proximity disappear from the index and protection flags are current."""
        core = self._core
        if refresh:
            await self._refresh(host)
        return [self._bind(b) for b in core.store.list_backups(app=app, host=host)]

    async def _refresh(self, host: str | None) -> None:
        core = self._core
        recorded = core.store.list_backups(host=host)
        places = sorted({(b.host, b.node, b.storage) for b in recorded})
        for host_name, node, storage in places:
            try:
                items = {i["volid"]: i for i in await core.call(core.pve(host_name).backups, node, storage)}
            except ProximityError:
                continue
            for backup in (b for b in recorded if (b.host, b.node, b.storage) == (host_name, node, storage)):
                info = items.get(backup.volid)
                if info is None:
                    core.store.delete_backup(host_name, backup.volid)
                elif bool(info.get("protected")) != backup.protected:
                    core.store.upsert_backup(
                        backup.model_copy(update={"protected": bool(info.get("protected"))})
                    )

    async def get(self, volid: str) -> Backup:
        """The recorded backup ``volid`` (``NotFound`` if there is none)."""
        return self._bind(self._core.store.get_backup(volid))

    # ------------------------------------------------------------ delete, protect

    async def delete(self, volid: str, *, confirm: bool = False, force: bool = False) -> None:
        """Delete a backup archive and its record; needs ``confirm=True``, and ``force`` for a protected one."""
        if not confirm:
            raise ConfirmationRequired(f"deleting backup {volid!r} needs confirm=True")
        await self.remove(self._core.store.get_backup(volid), force=force)
        self._core.audit("backups.delete", volid, "ok")

    async def remove(self, backup: Backup, *, force: bool = False) -> None:
        """Delete ``backup``'s archive and record without asking (``force`` also removes a protected one)."""
        core = self._core
        pve = core.pve(backup.host)
        if backup.protected:
            if not force:
                raise Conflict(f"backup {backup.volid} is protected; unprotect it first")
            await core.call(pve.protect_volume, backup.node, backup.storage, backup.volid, False)
        try:
            await core.call(pve.delete_volume, backup.node, backup.storage, backup.volid)
        except NotFound:
            pass
        core.store.delete_backup(backup.host, backup.volid)

    async def protect(self, volid: str, *, protected: bool = True) -> Backup:
        """Protect a backup from deletion and pruning (or lift it with ``protected=False``)."""
        core = self._core
        backup = core.store.get_backup(volid)
        await core.call(core.pve(backup.host).protect_volume, backup.node, backup.storage, volid, protected)
        core.store.upsert_backup(backup.model_copy(update={"protected": protected}))
        core.audit("backups.protect" if protected else "backups.unprotect", volid, "ok")
        return await self.get(volid)

    # ------------------------------------------------------------ restore

    async def restore(
        self,
        volid: str,
        *,
        as_name: str | None = None,
        confirm: bool = False,
        on_event: EventCallback | None = None,
    ) -> App:
        """Restore in place (replaces the app's container: needs confirm) or as a new app ``as_name``."""
        core = self._core
        backup = core.store.get_backup(volid)
        if as_name is None:
            if not backup.app or core.store.find_app(backup.app) is None:
                raise NotFound(f"the app of {volid} is gone; restore it as a new app (as_name=...)")
            if not confirm:
                raise ConfirmationRequired(
                    f"restoring {volid} over {backup.app!r} replaces its container; confirm=True"
                )
            app = core.store.get_app(backup.app)
            values = {
                "mode": "in-place",
                "volid": volid,
                "app": app.name,
                "host": app.host,
                "node": app.node,
                "vmid": app.vmid,
                "node_key": f"{app.host}/{app.node}",
            }
        else:
            check_name(as_name)  # the new app's name is its container's hostname
            if core.store.find_app(as_name) is not None:
                raise AlreadyExists(f"an app named {as_name!r} already exists")
            values = {
                "mode": "new",
                "volid": volid,
                "app": as_name,
                "source_app": backup.app,
                "host": backup.host,
                "node": backup.node,
                "vmid": None,
                "node_key": f"{backup.host}/{backup.node}",
            }
        try:
            claims = {values["app"]: "create" if values["mode"] == "new" else "exclusive"}
            await core.runner.run("restore", values["app"], values, on_event=on_event, claims=claims)
        except BaseException as error:
            core.audit("backups.restore", volid, f"failed: {type(error).__name__}")
            raise
        core.audit("backups.restore", volid, f"ok -> {values['app']}")
        return await self._apps.get(values["app"])

    def _restore_steps(self, values: dict[str, Any]) -> list[Step]:
        core = self._core

        def pve() -> PveHost:
            return core.pve(values["host"])

        async def stop(ctx: StepContext) -> None:
            if "was_running" not in values:  # kept from the first try: a retry finds the CT stopped by it
                values["was_running"] = await is_running(core, pve(), values["node"], values["vmid"])
            if values["was_running"]:
                await core.call(pve().stop, values["node"], values["vmid"])

        async def start_if_it_ran(ctx: StepContext) -> None:
            if values.get("was_running"):
                await start_again(core, pve(), values["node"], values["vmid"])

        async def restore_in_place(ctx: StepContext) -> None:
            backup = core.store.get_backup(values["volid"])
            await core.call(
                lambda: pve().restore(values["node"], values["vmid"], backup.volid, storage=None, force=True)
            )

        async def restore_new(ctx: StepContext) -> None:
            host = pve()
            values["vmid"] = await core.call(
                lambda: host.restore_new(
                    values["node"], values["volid"], storage=None, hostname=values["app"]
                )
            )

        async def destroy_new(ctx: StepContext) -> None:
            if values.get("vmid"):
                await core.call(pve().delete_ct_if_exists, values["node"], values["vmid"])

        async def record_new(ctx: StepContext) -> None:
            if core.store.find_app(values["app"]) is not None:
                if core.store.app_job_id(values["app"]) == ctx.job_id:
                    return  # recorded by an earlier try of this step
                raise AlreadyExists(f"an app named {values['app']!r} was recorded while this job ran")
            source = core.store.find_app(values["source_app"]) if values.get("source_app") else None
            config = await core.call(pve().ct_config, values["node"], values["vmid"])
            catalog_id, method, ports = "custom", "restored", []
            if source is not None:
                catalog_id, method, ports = source.catalog_id, source.install_method, source.ports
            elif (described := described_entry(core, config)) is not None:
                # the source's record is gone (a deleted app's final backup): the description says what ran
                entry, described_method = described
                catalog_id, method = entry.id, described_method or entry.install[0].type
                ports = [PortBinding(name=p.name, port=p.port, protocol=p.protocol) for p in entry.ports]
            app = App(
                name=values["app"],
                catalog_id=catalog_id,
                host=values["host"],
                node=values["node"],
                vmid=values["vmid"],
                install_method=method,
                version=source.version if source else "",
                status=AppStatus.DEPLOYING,
                ports=ports,
                cores=int(config.get("cores") or 1),
                memory_mb=int(config.get("memory") or 512),
                disk_gb=rootfs_size_gb(config) or 1,
            )
            core.store.insert_app(app, job_id=ctx.job_id)
            if source:
                core.store.secrets.put_app(app.name, core.store.secrets.app(source.name))

        async def unrecord(ctx: StepContext) -> None:
            if core.store.app_job_id(values["app"]) == ctx.job_id:  # never another job's app of that name
                core.store.delete_app(values["app"])

        async def start(ctx: StepContext) -> None:
            await core.call(pve().start, values["node"], values["vmid"])
            ip = await wait_ip(core, pve(), values["node"], values["vmid"])
            app = core.store.get_app(values["app"])
            entry = core.catalog.get(app.catalog_id)
            core.store.update_app(app.name, status=AppStatus.RUNNING, ip=ip, url=app_url(entry, ip))

        async def healthy(ctx: StepContext) -> None:
            app = core.store.get_app(values["app"])
            if app.ip is not None:
                await ctx.report(await check_app_health(core, app.catalog_id, app.ip))

        if values["mode"] == "in-place":
            return [
                Step("stop", stop, start_if_it_ran, label="Stop the app"),
                Step("restore", restore_in_place, retry=False, label="Restore the backup over it"),
                Step("start", start, label="Start it again"),
            ]
        return [
            Step("restore", restore_new, destroy_new, retry=False, label="Restore into a new container"),
            Step("record", record_new, unrecord, label="Record the new app"),
            Step("start", start, label="Start it"),
            Step("health", healthy, retry=False, label="Wait for the health check"),
        ]

    # ------------------------------------------------------------ schedules

    async def schedule(
        self, app: str, *, every: timedelta, keep: int = 7, storage: str | None = None
    ) -> Schedule:
        """Back up ``app`` every ``every`` (at least a minute), keeping the newest ``keep`` unprotected backups."""
        self._core.store.get_app(app)
        if every < timedelta(minutes=1):
            raise ValidationError("a backup schedule runs at most once a minute")
        schedule = self._core.store.add_schedule(
            Schedule(app=app, every_s=int(every.total_seconds()), keep=keep, storage=storage)
        )
        self._core.audit("backups.schedule", app, f"every {schedule.every_s}s, keep {keep}")
        return schedule

    async def schedules(self) -> list[Schedule]:
        """Every backup schedule."""
        return self._core.store.list_schedules()

    async def unschedule(self, schedule_id: int) -> None:
        """Remove a backup schedule (its backups stay)."""
        self._core.store.remove_schedule(schedule_id)
        self._core.audit("backups.unschedule", str(schedule_id), "ok")

    async def run_due(self, now: datetime | None = None) -> list[Backup]:
        """Run every schedule that is due, then prune that app's unprotected backups beyond ``keep``."""
        now = now or utcnow()
        made: list[Backup] = []
        for schedule in self._core.store.list_schedules():
            if not schedule.enabled or schedule.id is None:
                continue
            if schedule.last_run and now - schedule.last_run < timedelta(seconds=schedule.every_s):
                continue
            if self._core.store.find_app(schedule.app) is None:
                continue
            try:
                made.append(await self.create(schedule.app, storage=schedule.storage))
            except ProximityError as error:
                self._core.audit("backups.scheduled", schedule.app, f"failed: {type(error).__name__}")
                continue
            self._core.store.mark_schedule_run(schedule.id, now)
            await self._prune(schedule.app, schedule.keep)
        return made

    async def _prune(self, app: str, keep: int) -> None:
        backups = sorted(self._core.store.list_backups(app=app), key=lambda b: b.created_at, reverse=True)
        for old in [b for b in backups if not b.protected][keep:]:
            await self.remove(old)


class Scheduler:
    """Runs due backup schedules every ``interval_s`` until cancelled (``async with`` or a task group)."""

    def __init__(self, backups: AsyncBackups, interval_s: float = 30.0):
        self.backups = backups
        self.interval_s = interval_s

    async def run(self) -> None:
        """Run due schedules every ``interval_s`` seconds, forever (cancel the task to stop it)."""
        while True:
            await self.backups.run_due()
            await anyio.sleep(self.interval_s)


def backup_notes_marker(job_id: str) -> str:
    return f"job {job_tag(job_id)}"


def backup_notes(app: str, job_id: str | None) -> str:
    """The notes of an archive Proximity makes: the app, and the job when there is one."""
    return f"proximity {app} {backup_notes_marker(job_id)}" if job_id else f"proximity {app}"
