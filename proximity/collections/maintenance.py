"""The steps of the other app jobs: power verbs, resize, migrate, delete, clone and safe update."""

from __future__ import annotations

from typing import Any

from proximity.collections import install as installer
from proximity.collections.common import (
    JOB_TAG,
    app_url,
    check_app_health,
    check_health,
    ct_description,
    is_running,
    job_tag,
    start_again,
    wait_ip,
)
from proximity.collections.core import Core
from proximity.collections.oci_update import oci_replace_steps
from proximity.errors import AlreadyExists, ValidationError
from proximity.jobs import Step, StepContext
from proximity.models import AppStatus, utcnow
from proximity.pve.guest import Guest
from proximity.pve.host import PveHost, rootfs_size_gb


def action_steps(core: Core, backups: Any, values: dict[str, Any]) -> list[Step]:
    name, node, vmid = values["app"], values["node"], values["vmid"]

    def pve() -> PveHost:
        return core.pve(values["host"])

    async def refresh(ctx: StepContext) -> None:
        status = await core.call(pve().ct_status, node, vmid)
        running = status.get("status") == "running"
        fields: dict[str, Any] = {"status": AppStatus.RUNNING if running else AppStatus.STOPPED}
        if running:
            ip = await wait_ip(core, pve(), node, vmid)
            app = core.store.get_app(name)
            entry = core.catalog.get(app.catalog_id)
            fields.update(ip=ip, url=app_url(entry, ip) if entry else None)
        core.store.update_app(name, **fields)

    action = values["action"]
    if action == "start":

        async def do(ctx: StepContext) -> None:
            await core.call(pve().start, node, vmid)
    elif action == "stop":

        async def do(ctx: StepContext) -> None:
            await core.call(pve().stop, node, vmid)
    elif action == "shutdown":

        async def do(ctx: StepContext) -> None:
            await core.call(pve().shutdown, node, vmid, values["timeout"])
    elif action == "restart":

        async def do(ctx: StepContext) -> None:
            status = await core.call(pve().ct_status, node, vmid)
            if status.get("status") == "running":
                await core.call(pve().reboot, node, vmid)
            else:
                await core.call(pve().start, node, vmid)
    elif action == "resize":

        async def do(ctx: StepContext) -> None:
            await resize(core, values)
    elif action == "migrate":
        return migrate_steps(core, values)
    elif action == "delete":
        return delete_steps(core, backups, values)
    else:
        raise ValidationError(f"unknown app action {action!r}")
    return [
        Step(action, do, label=f"{action.capitalize()} {name}"),
        Step("refresh", refresh, label="Refresh state"),
    ]


async def resize(core: Core, values: dict[str, Any]) -> None:
    pve = core.pve(values["host"])
    node, vmid = values["node"], values["vmid"]
    config: dict[str, Any] = {}
    if values.get("cores") is not None:
        config["cores"] = values["cores"]
    if values.get("memory_mb") is not None:
        config["memory"] = values["memory_mb"]
    if config:
        await core.call(lambda: pve.set_config(node, vmid, **config))
    if values.get("disk_gb") is not None:
        current = rootfs_size_gb(await core.call(pve.ct_config, node, vmid))
        if current is None or values["disk_gb"] > current:
            await core.call(pve.resize_disk, node, vmid, values["disk_gb"])
    fields = {k: values[k] for k in ("cores", "memory_mb", "disk_gb") if values.get(k) is not None}
    core.store.update_app(values["app"], **fields)


def migrate_steps(core: Core, values: dict[str, Any]) -> list[Step]:

    async def move(ctx: StepContext) -> None:
        pve = core.pve(values["host"])
        status = await core.call(pve.ct_status, values["node"], values["vmid"])
        await core.call(
            lambda: pve.migrate(
                values["node"], values["vmid"], values["target"], restart=status.get("status") == "running"
            )
        )
        core.store.update_app(values["app"], node=values["target"])
        values["node"] = values["target"]

    async def refresh_on_target(ctx: StepContext) -> None:
        pve = core.pve(values["host"])
        status = await core.call(pve.ct_status, values["target"], values["vmid"])
        running = status.get("status") == "running"
        fields: dict[str, Any] = {"status": AppStatus.RUNNING if running else AppStatus.STOPPED}
        if running:
            fields["ip"] = await wait_ip(core, pve, values["target"], values["vmid"])
            entry = core.catalog.get(core.store.get_app(values["app"]).catalog_id)
            fields["url"] = app_url(entry, fields["ip"]) if entry else None
        core.store.update_app(values["app"], **fields)

    return [
        Step("migrate", move, retry=False, label=f"Migrate to {values['target']}"),
        Step("refresh", refresh_on_target, label="Refresh state"),
    ]


def delete_steps(core: Core, backups: Any, values: dict[str, Any]) -> list[Step]:
    name = values["app"]

    async def final_backup(ctx: StepContext) -> None:
        app = core.store.get_app(name)
        backup = await backups.backup_now(app, core.settings.backup_storage, job_id=ctx.job_id)
        await ctx.report(f"kept {backup.volid}")

    async def drop_unindexed_backup(ctx: StepContext) -> None:
        await backups.discard_unindexed(values["host"], values["node"], values["vmid"], ctx.job_id)

    async def drop_backups(ctx: StepContext) -> None:
        for backup in core.store.list_backups(app=name):
            await backups.remove(backup, force=True)

    async def destroy(ctx: StepContext) -> None:
        pve = core.pve(values["host"])
        if "was_running" not in values:  # kept from the first try: a retry finds the CT stopped by it
            values["was_running"] = await is_running(core, pve, values["node"], values["vmid"])
        await core.call(pve.delete_ct_if_exists, values["node"], values["vmid"])

    async def keep_running(ctx: StepContext) -> None:
        if values.get("was_running"):
            await start_again(core, core.pve(values["host"]), values["node"], values["vmid"])

    async def forget(ctx: StepContext) -> None:
        for schedule in core.store.list_schedules():
            if schedule.app == name and schedule.id is not None:
                core.store.remove_schedule(schedule.id)
        core.store.delete_app(name)

    forget_step = Step("forget", forget, label="Forget the app")
    purge_step = Step("purge-backups", drop_backups, label="Delete the app's backups")
    if values.get("missing"):
        # the container is already gone and its VMID may belong to another one now: touch nothing in PVE
        return [purge_step, forget_step] if values["purge"] else [forget_step]
    first = (
        purge_step
        if values["purge"]
        else Step("final-backup", final_backup, drop_unindexed_backup, label="Keep a final backup")
    )
    return [first, Step("destroy", destroy, keep_running, label="Destroy the container"), forget_step]


def clone_steps(core: Core, values: dict[str, Any]) -> list[Step]:
    new_name, node = values["name"], values["node"]

    def pve() -> PveHost:
        return core.pve(values["host"])

    def snapname(ctx: StepContext) -> str:
        return f"pxclone{ctx.job_id}"

    async def snapshot(ctx: StepContext) -> None:
        await core.call(
            lambda: pve().snapshot(
                node, values["source_vmid"], snapname(ctx), "temporary, for a clone", exist_ok=True
            )
        )

    async def drop_snapshot(ctx: StepContext) -> None:
        await core.call(pve().delete_snapshot, node, values["source_vmid"], snapname(ctx))

    def marker(ctx: StepContext) -> str:
        described = ct_description(
            values.get("catalog_id", "custom"), new_name, values.get("method", ""), "cloned"
        )
        return f"{described} job {job_tag(ctx.job_id)}"

    async def find_clone(ctx: StepContext) -> int | None:
        """This job's clone: by its tag, else (the process died between the clone and tagging it) by the
        marker in its description, PVE's clone API taking no tags."""
        host = pve()
        containers = await core.call(host.containers)
        for ct in containers:
            if job_tag(ctx.job_id) in str(ct.get("tags", "")).split(";"):
                return int(ct["vmid"])
        for ct in (c for c in containers if c.get("name") == new_name):
            config = await core.call(host.ct_config, ct["node"], int(ct["vmid"]))
            if marker(ctx) in str(config.get("description", "")):
                return int(ct["vmid"])
        return None

    async def clone(ctx: StepContext) -> None:
        host = pve()
        existing = await find_clone(ctx)
        if existing is None:
            existing = await core.call(
                lambda: host.clone_ct(
                    node,
                    values["source_vmid"],
                    hostname=new_name,
                    snapname=snapname(ctx),
                    marker=marker(ctx),
                )
            )
        values["vmid"] = existing
        await core.call(lambda: host.set_config(node, existing, tags=f"{JOB_TAG};{job_tag(ctx.job_id)}"))

    async def destroy(ctx: StepContext) -> None:
        vmid = values.get("vmid") or await find_clone(ctx)
        if vmid is not None:
            await core.call(pve().delete_ct_if_exists, node, vmid)

    async def record(ctx: StepContext) -> None:
        if core.store.find_app(new_name) is not None:
            if core.store.app_job_id(new_name) == ctx.job_id:
                return  # recorded by an earlier try of this step
            raise AlreadyExists(f"an app named {new_name!r} was recorded while this job ran")
        source = core.store.get_app(values["source"])
        core.store.insert_app(
            source.model_copy(
                update={
                    "name": new_name,
                    "vmid": values["vmid"],
                    "status": AppStatus.DEPLOYING,
                    "ip": None,
                    "url": None,
                    "created_at": utcnow(),
                    "adopted": False,
                }
            ),
            job_id=ctx.job_id,
        )
        core.store.secrets.put_app(new_name, core.store.secrets.app(values["source"]))

    async def unrecord(ctx: StepContext) -> None:
        if core.store.app_job_id(new_name) == ctx.job_id:  # never another job's app of the same name
            core.store.delete_app(new_name)

    async def start(ctx: StepContext) -> None:
        await core.call(pve().start, node, values["vmid"])
        values["ip"] = await wait_ip(core, pve(), node, values["vmid"])
        app = core.store.get_app(new_name)
        entry = core.catalog.get(app.catalog_id)
        await check_app_health(core, app.catalog_id, values["ip"])
        core.store.update_app(
            new_name,
            status=AppStatus.RUNNING,
            ip=values["ip"],
            url=app_url(entry, values["ip"]) if entry else None,
        )

    return [
        Step("snapshot", snapshot, drop_snapshot, label="Take a temporary snapshot"),
        Step("clone", clone, destroy, label="Clone the container"),
        Step("drop-snapshot", drop_snapshot, label="Remove the temporary snapshot"),
        Step("record", record, unrecord, label="Record the new app"),
        Step("start", start, retry=False, label="Start it and wait until healthy"),
    ]


def update_steps(core: Core, values: dict[str, Any], backups: Any = None) -> list[Step]:
    if values.get("install_method") == "oci":
        return oci_replace_steps(core, backups, values)
    node, vmid = values["node"], values["vmid"]

    def pve() -> PveHost:
        return core.pve(values["host"])

    def snapname(ctx: StepContext) -> str:
        return f"pxupdate{ctx.job_id}"

    async def snapshot(ctx: StepContext) -> None:
        await core.call(lambda: pve().snapshot(node, vmid, snapname(ctx), "before update", exist_ok=True))

    async def roll_back(ctx: StepContext) -> None:
        host = pve()
        if snapname(ctx) not in await core.call(host.snapshots, node, vmid):
            return
        await core.call(host.rollback, node, vmid, snapname(ctx))
        status = await core.call(host.ct_status, node, vmid)
        if status.get("status") != "running":
            await core.call(host.start, node, vmid)
        await core.call(host.delete_snapshot, node, vmid, snapname(ctx))
        await ctx.report("rolled back to the snapshot taken before the update")

    async def update(ctx: StepContext) -> None:
        entry = core.catalog_entry(values["catalog_id"])
        guest = Guest(await core.shell(values["host"], node), vmid)
        for line in await installer.update(guest, entry):
            await ctx.report(line)

    async def healthy(ctx: StepContext) -> None:
        values["ip"] = await wait_ip(core, pve(), node, vmid)
        await ctx.report(await check_health(core, values))

    async def cleanup(ctx: StepContext) -> None:
        await core.call(pve().delete_snapshot, node, vmid, snapname(ctx))
        core.store.update_app(values["app"], version=values["version"], status=AppStatus.RUNNING)

    steps = [
        Step("snapshot", snapshot, roll_back, label="Snapshot before the update"),
        Step("update", update, retry=False, label="Update the app"),
    ]
    if values.get("health"):
        steps.append(Step("health", healthy, retry=False, label="Health check after the update"))
    # the health check passed: a crash while cleaning up finishes the update rather than undoing it
    steps.append(Step("cleanup", cleanup, commits=True, label="Remove the snapshot, record the version"))
    return steps
