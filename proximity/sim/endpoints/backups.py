"""vzdump: back up containers to a storage whose content includes ``backup`` (snapshot, suspend, stop)."""

from __future__ import annotations

import copy
import time

from proximity.sim import guests
from proximity.sim.context import Call
from proximity.sim.endpoints.common import human, volume_path
from proximity.sim.endpoints.lxc import SHUTDOWN_SECONDS, _start_worker, _stop
from proximity.sim.errors import TaskFailed, fail, parameter_error
from proximity.sim.propstr import MIB
from proximity.sim.router import Route
from proximity.sim.state import Volume
from proximity.sim.tasks import TaskContext

ARCHIVE_BYTES_PER_SECOND = 150 * MIB
# compressed size / data size for each compressor
RATIOS = {"zstd": 0.42, "gzip": 0.47, "lzo": 0.55, "0": 1.0}
SUFFIX = {"zstd": ".tar.zst", "gzip": ".tar.gz", "lzo": ".tar.lzo", "0": ".tar"}


def vzdump(call: Call) -> str:
    node = call.node
    cluster = call.cluster
    mode = call.text("mode") or "snapshot"
    if mode not in ("snapshot", "suspend", "stop"):
        raise parameter_error(
            {"mode": f"value '{mode}' does not have a value in the enumeration 'snapshot, suspend, stop'"}
        )
    compress = {"1": "lzo", "0": "0", "": "0"}.get(call.text("compress") or "0", call.text("compress") or "0")
    if compress not in RATIOS:
        raise parameter_error(
            {
                "compress": f"value '{compress}' does not have a value in the enumeration "
                "'0, 1, gzip, lzo, zstd'"
            }
        )
    storage = call.text("storage") or "local"
    notes_template = call.text("notes-template")
    protect = call.flag("protected")
    with cluster.lock:
        config = cluster.storage(storage)
        if not config.supports("backup"):
            raise fail(f"storage '{storage}' does not support backups")
        if call.flag("all"):
            vmids = sorted(v for v, ct in cluster.containers.items() if ct.node == node)
        else:
            text = call.text("vmid")
            if not text:
                raise parameter_error({"vmid": "property is missing and it is not optional"})
            vmids = sorted({int(v) for v in text.replace(";", ",").split(",") if v.strip()})
        for vmid in vmids:
            call.check(f"/vms/{vmid}", "VM.Backup")
        call.check(f"/storage/{storage}", "Datastore.AllocateSpace")
    task_id = str(vmids[0]) if len(vmids) == 1 else ""

    def worker(ctx: TaskContext) -> None:
        options = f"--mode {mode} --compress {compress} --storage {storage} --node {node}"
        ctx.log(f"INFO: starting new backup job: vzdump {' '.join(map(str, vmids))} {options}")
        failures = 0
        for vmid in vmids:
            try:
                _backup_one(ctx, call, node, vmid, mode, compress, storage, notes_template, protect)
            except TaskFailed as error:
                if error.message == "interrupted by signal":
                    raise
                failures += 1
                ctx.log(f"ERROR: Backup of VM {vmid} failed - {error.message}")
        if failures:
            ctx.log("INFO: Failed at " + time.strftime("%Y-%m-%d %H:%M:%S"))
            raise TaskFailed("job errors")
        ctx.log("INFO: Backup job finished successfully")

    return call.start_task(node, "vzdump", task_id, worker)


def _backup_one(
    ctx: TaskContext,
    call: Call,
    node: str,
    vmid: int,
    mode: str,
    compress: str,
    storage: str,
    notes_template: str | None,
    protect: bool,
) -> None:
    cluster = call.cluster
    with cluster.lock:
        ct = cluster.containers.get(vmid)
        if ct is None or ct.node != node:
            raise TaskFailed(f"unable to find configuration file for VM {vmid} on node '{node}'")
        if ct.lock:
            raise TaskFailed(f"CT is locked ({ct.lock})")
        ct.config["lock"] = "backup"
        cluster.changed()
    started = time.time()
    stamp = time.strftime("%Y_%m_%d-%H_%M_%S", time.localtime(started))
    filename = f"vzdump-lxc-{vmid}-{stamp}{SUFFIX[compress]}"
    volid = f"{storage}:backup/{filename}"
    restart = False
    try:
        ctx.log(f"INFO: Starting Backup of VM {vmid} (lxc)")
        ctx.log(f"INFO: Backup started at {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(started))}")
        ctx.log(f"INFO: status = {ct.status}")
        ctx.log(f"INFO: CT Name: {ct.name}")
        ctx.log("INFO: including mount point rootfs ('/') in backup")
        if mode == "stop" and ct.status == "running":
            ctx.log("INFO: stopping virtual guest")
            ctx.sleep(SHUTDOWN_SECONDS)
            with cluster.lock:
                _stop(call, ct)
            restart = True
        elif mode == "suspend" and ct.status == "running":
            ctx.log("INFO: suspending guest")
        elif mode == "snapshot":
            ctx.log("INFO: create storage snapshot 'vzdump'")
        with cluster.lock:
            data = sum(v.used for v in (cluster.volume(node, x) for x in ct.disk_volids()) if v is not None)
            size = max(1, int(data * RATIOS[compress]))
            saved_config = {k: v for k, v in copy.deepcopy(ct.config).items() if k != "lock"}
            saved_inside = guests.inside_dict(ct)
        path = volume_path(cluster, node, volid)
        ctx.log(f"INFO: creating vzdump archive '{path}'")
        ctx.sleep(1.0 + data / ARCHIVE_BYTES_PER_SECOND)
        with cluster.lock:
            free = cluster.storage_free(node, storage)
            if size > free:
                raise TaskFailed(
                    f"vzdump archive write failed: No space left on device "
                    f"(archive {human(size)}, {human(free)} free on '{storage}')"
                )
            seconds = max(1, int(data / ARCHIVE_BYTES_PER_SECOND))
            ctx.log(f"INFO: Total bytes written: {data} ({human(data)}, {human(data / seconds)}/s)")
            ctx.log(f"INFO: archive file size: {human(size)}")
            notes = _notes(notes_template, cluster.name, node, vmid, ct.name)
            if notes:
                ctx.log("INFO: adding notes to backup")
            if protect:
                ctx.log("INFO: marking backup as protected")
            cluster.add_volume(
                node,
                Volume(
                    volid,
                    "backup",
                    size,
                    int(started),
                    SUFFIX[compress].lstrip("."),
                    vmid=vmid,
                    notes=notes,
                    protected=protect,
                    payload={"config": saved_config, "inside": saved_inside, "data_bytes": data},
                ),
            )
            cluster.changed()
        if mode == "snapshot":
            ctx.log("INFO: cleanup temporary 'vzdump' snapshot")
    finally:
        cluster.unlock(ct, only="backup")
    if restart:
        ctx.log("INFO: restarting guest")
        _start_worker(ctx, call, node, vmid)
    elapsed = int(time.time() - started)
    ctx.log(
        f"INFO: Finished Backup of VM {vmid} "
        f"({elapsed // 3600:02d}:{elapsed // 60 % 60:02d}:{elapsed % 60:02d})"
    )
    ctx.log(f"INFO: Backup finished at {time.strftime('%Y-%m-%d %H:%M:%S')}")


def _notes(template: str | None, cluster: str, node: str, vmid: int, name: str) -> str:
    if not template:
        return ""
    values = {"cluster": cluster, "guestname": name, "node": node, "vmid": str(vmid)}
    text = template
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text.replace("\\n", "\n")


ROUTES = [Route("POST", "/nodes/{node}/vzdump", vzdump)]
