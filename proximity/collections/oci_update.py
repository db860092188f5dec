"""Safe update of an app installed as an OCI image: PVE cannot swap a container's image in place, so the
app moves to a new container made from the new image.

backup (kept, a restore point) -> pull the new image -> create the new CT with the old one's sizes,
network (same MAC), features and environment -> stop the old CT -> hand its mount point volumes to the new
CT with their mount paths (``move_volume``: the data moves, nothing is copied) -> start the new CT -> health check ->
switch the record and destroy the old CT. Any failure before the switch undoes in reverse: the new CT is
stopped, the volumes go back, the old CT starts again and the new one is destroyed.
"""

from __future__ import annotations

from typing import Any

from proximity.collections import install as installer
from proximity.collections.common import (
    JOB_TAG,
    app_url,
    check_health,
    ct_by_tag,
    ct_description,
    job_tag,
    wait_ip,
)
from proximity.collections.core import Core
from proximity.collections.features import api_features, root_only_features, set_root_only_features
from proximity.errors import NotFound, ValidationError
from proximity.jobs import Step, StepContext
from proximity.models import AppStatus
from proximity.pve.host import PveHost, mount_points, rootfs_size_gb, rootfs_storage

# the old CT's settings the new one keeps (the image's own ostype/arch come from the new image)
KEPT = ("cores", "memory", "swap", "net0", "unprivileged", "features", "onboot", "env")


def check_replaceable(entry: Any, config: dict[str, Any], vmid: int) -> None:
    """Refuse an update that would lose data: volumes the entry declares must live on mount points."""
    if entry.volumes and not entry.stateless and not mount_points(config):
        paths = ", ".join(v.path for v in entry.volumes)
        raise ValidationError(
            f"{entry.id}: its data ({paths}) lives in the root disk of CT {vmid}; replacing the image "
            "would lose it. Take a backup and redeploy instead."
        )


def oci_replace_steps(core: Core, backups: Any, values: dict[str, Any]) -> list[Step]:
    node, old = values["node"], values["vmid"]

    def pve() -> PveHost:
        return core.pve(values["host"])

    async def backup(ctx: StepContext) -> None:
        app = core.store.get_app(values["app"])
        kept = await backups.backup_now(app, core.settings.backup_storage, job_id=ctx.job_id)
        await ctx.report(f"restore point {kept.volid}")

    async def drop_unindexed_backup(ctx: StepContext) -> None:
        # an indexed restore point is kept; an archive the dead process never indexed is removed
        await backups.discard_unindexed(values["host"], node, old, ctx.job_id)

    async def pull(ctx: StepContext) -> None:
        host = pve()
        entry = core.catalog_entry(values["catalog_id"])
        image = installer.method_of(entry, "oci").image
        storage = await core.call(host.pick_storage, node, "vztmpl")
        values["ostemplate"] = await core.call(host.oci_pull, node, storage, image)
        await ctx.report(f"image {image}")

    async def create(ctx: StepContext) -> None:
        host = pve()
        config = await core.call(host.ct_config, node, old)
        entry = core.catalog_entry(values["catalog_id"])
        oci = installer.method_of(entry, "oci")
        storage = rootfs_storage(config) or core.settings.storage
        params: dict[str, Any] = {k: config[k] for k in KEPT if config.get(k) not in (None, "")}
        params["features"] = api_features(config.get("features"))
        params = {k: v for k, v in params.items() if v is not None}
        params.update(
            ostemplate=values["ostemplate"],
            hostname=values["app"],
            rootfs=f"{storage}:{rootfs_size_gb(config) or 1}",
            tags=f"{JOB_TAG};{job_tag(ctx.job_id)}",
            description=ct_description(entry.id, values["app"], "oci", "updated"),
            entrypoint=oci.entrypoint,
        )
        # no mount points yet: the old CT's volumes move in below, each with its mount path
        values["mount_points"] = sorted(mount_points(config))
        values["new_vmid"] = await core.call(host.create_ct_with_free_vmid, node, params)
        await ctx.report(f"created CT {values['new_vmid']} from the new image")
        features = root_only_features(config.get("features"))
        if features is not None:
            await set_root_only_features(core, values["host"], node, values["new_vmid"], features)

    async def destroy_new(ctx: StepContext) -> None:
        # by the job's tag when the create went through but its answer did not (or the process died)
        vmid = values.get("new_vmid") or await ct_by_tag(core, pve(), job_tag(ctx.job_id))
        if vmid is not None and vmid != old:
            await core.call(pve().delete_ct_if_exists, node, vmid)

    async def stop_old(ctx: StepContext) -> None:
        status = await core.call(pve().ct_status, node, old)
        values["old_was_running"] = status.get("status") == "running"
        if values["old_was_running"]:
            await core.call(pve().stop, node, old)

    async def start_old(ctx: StepContext) -> None:
        if values.get("old_was_running"):
            await core.call(pve().start, node, old)
            await ctx.report(f"CT {old} runs the old version again")

    async def move_volumes(ctx: StepContext) -> None:
        host = pve()
        for key in values["mount_points"]:
            await core.call(host.move_volume, node, old, key, values["new_vmid"], key)

    async def move_back(ctx: StepContext) -> None:
        # which volumes moved is read from PVE: a process that died mid-way never saved how far it got
        host = pve()
        new = values.get("new_vmid")
        if new is None:
            return
        try:
            new_config = await core.call(host.ct_config, node, new)
        except NotFound:
            return  # no new CT: nothing was handed to it
        old_config = await core.call(host.ct_config, node, old)
        for key in reversed(values["mount_points"]):
            if key in new_config and key not in old_config:
                await core.call(host.move_volume, node, new, key, old, key)

    async def start_new(ctx: StepContext) -> None:
        await core.call(pve().start, node, values["new_vmid"])
        values["ip"] = await wait_ip(core, pve(), node, values["new_vmid"])
        await ctx.report(f"CT {values['new_vmid']} started at {values['ip']}")

    async def stop_new(ctx: StepContext) -> None:
        vmid = values.get("new_vmid")
        if vmid is not None and (await core.call(pve().ct_status, node, vmid)).get("status") == "running":
            await core.call(pve().stop, node, vmid)

    async def healthy(ctx: StepContext) -> None:
        await ctx.report(await check_health(core, values))

    async def switch(ctx: StepContext) -> None:
        entry = core.catalog_entry(values["catalog_id"])
        core.store.update_app(
            values["app"],
            vmid=values["new_vmid"],
            ip=values["ip"],
            url=app_url(entry, values["ip"]),
            version=values["version"],
            status=AppStatus.RUNNING,
        )
        await core.call(pve().delete_ct_if_exists, node, old)
        await ctx.report(f"now CT {values['new_vmid']}; the old CT {old} is removed")

    steps = [
        Step("backup", backup, drop_unindexed_backup, label="Back up the app (kept as a restore point)"),
        Step("pull", pull, label="Pull the new image"),
        Step("create", create, destroy_new, retry=False, label="Create a CT from the new image"),
        Step("stop-old", stop_old, start_old, label="Stop the old CT"),
        Step("move-volumes", move_volumes, move_back, retry=False, label="Hand the data volumes over"),
        Step("start-new", start_new, stop_new, retry=False, label="Start the new CT"),
    ]
    if values.get("health"):
        steps.append(Step("health", healthy, retry=False, label="Health check of the new version"))
    # switching is idempotent, and once it began the old CT may be gone: a crash there finishes the update
    steps.append(Step("switch", switch, retry=False, commits=True, label="Switch over, remove the old CT"))
    return steps
