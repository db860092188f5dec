"""LXC operations on disks and placement: clone (full, linked), template, resize, migrate."""

from __future__ import annotations

import copy
import time
from typing import Any

from proximity.sim import guests
from proximity.sim.context import Call
from proximity.sim.endpoints.common import check_lock, complete_net, disk_string, human, stamp
from proximity.sim.endpoints.lxc import SHUTDOWN_SECONDS, _start_worker, _stop
from proximity.sim.errors import TaskFailed, fail, parameter_error
from proximity.sim.propstr import MIB, format_size, parse_propstr, parse_size
from proximity.sim.router import Route, perm
from proximity.sim.state import SimContainer, Volume
from proximity.sim.tasks import TaskContext

COPY_BYTES_PER_SECOND = 400 * MIB
MIGRATE_BYTES_PER_SECOND = 110 * MIB  # a 1 GbE link


def _disk_keys(config: dict[str, Any]) -> list[str]:
    return ["rootfs"] * ("rootfs" in config) + sorted(
        k for k in config if k.startswith("mp") and k[2:].isdigit()
    )


# -- clone -----------------------------------------------------------------------------------------
def clone(call: Call) -> str:
    node, vmid = call.node, call.vmid
    newid = call.integer("newid")
    if newid is None:
        raise parameter_error({"newid": "property is missing and it is not optional"})
    snapname = call.text("snapname")
    target = call.text("target") or node
    call.check(f"/vms/{newid}", "VM.Allocate")
    cluster = call.cluster
    with cluster.lock:
        source = cluster.container(node, vmid)
        full = call.flag("full", not source.is_template)
        if newid in cluster.containers:
            raise fail(f"CT {newid} already exists on node '{cluster.containers[newid].node}'")
        cluster.node(target)
        check_lock(source)
        if snapname and snapname not in source.snapshots:
            raise fail(f"snapshot '{snapname}' does not exist")
        base_config = source.snapshots[snapname].config if snapname else source.config
        base_inside = source.snapshots[snapname].inside if snapname else guests.inside_dict(source)
        rootfs = parse_propstr(str(base_config["rootfs"]), "volume")["volume"]
        if full and source.status == "running" and not snapname:
            raise fail("Cannot do full clones on a running container without snapshots")
        if not full:
            if call.text("storage"):
                raise fail("parameter 'storage' not allowed for linked clones")
            if not source.is_template and not snapname:
                raise fail(f"linked clone feature for '{rootfs}' is not available")
            if target != node:
                raise fail(f"Can't do linked clone to other node '{target}' - storage is not shared")
        pool = call.text("pool")
        if pool and pool not in cluster.pools:
            raise fail(f"pool '{pool}' does not exist")
        new_config = {k: v for k, v in copy.deepcopy(base_config).items() if k not in ("lock", "template")}
        new_config["hostname"] = call.text("hostname") or f"Copy-of-{source.name}"
        if call.text("description") is not None:
            new_config["description"] = call.text("description")
        for key in [k for k in new_config if k.startswith("net") and k[3:].isdigit()]:
            net = parse_propstr(str(new_config[key]), "name")
            net.pop("hwaddr", None)  # a clone gets its own MAC, as PVE does
            new_config[key] = complete_net(newid, key, ",".join(f"{k}={v}" for k, v in net.items()))
        source.config["lock"] = "disk"
        cluster.containers[newid] = SimContainer(newid, target, {**new_config, "lock": "create"})
        cluster.changed()

    def worker(ctx: TaskContext) -> None:
        created: list[str] = []
        try:
            for key in _disk_keys(new_config):
                spec = parse_propstr(str(new_config[key]), "volume")
                volid = _clone_volume(ctx, call, node, target, spec, newid, full, created)
                new_config[key] = disk_string(
                    volid,
                    parse_size(spec.get("size", "0"), "G"),
                    {k: v for k, v in spec.items() if k not in ("volume", "size")},
                )
        except TaskFailed:
            with cluster.lock:
                for volid in created:
                    cluster.remove_volume(target, volid)
                cluster.containers.pop(newid, None)
                source.config.pop("lock", None)
                cluster.changed()
            raise
        with cluster.lock:
            clone_ct = cluster.containers[newid]
            clone_ct.config = new_config
            call.attach_inside(clone_ct, guests.copy_inside(base_inside, call.time_scale))
            source.config.pop("lock", None)
            if pool:
                cluster.pools[pool].vmids.add(newid)
            cluster.changed()

    return call.start_task(node, "vzclone", vmid, worker)


def _clone_volume(
    ctx: TaskContext,
    call: Call,
    node: str,
    target: str,
    spec: dict[str, str],
    newid: int,
    full: bool,
    created: list[str],
) -> str:
    cluster = call.cluster
    volid = spec["volume"]
    with cluster.lock:
        source = cluster.volume(node, volid)
        if source is None:
            raise TaskFailed(f"volume '{volid}' does not exist")
        storage = call.text("storage") or source.storage
        cluster.storage(storage)
        name = cluster.next_disk_name(target, storage, newid)
        if full:
            if cluster.storage_free(target, storage) < source.used:
                raise TaskFailed(f"clone failed: no space left on storage '{storage}'")
            new = Volume(
                f"{storage}:{name}",
                "rootdir",
                source.size,
                int(time.time()),
                "raw",
                vmid=newid,
                used=source.used,
            )
        else:
            base = source.volid if source.name.startswith("base-") else volid
            new = Volume(
                f"{storage}:{source.name}/{name}",
                "rootdir",
                source.size,
                int(time.time()),
                "raw",
                vmid=newid,
                used=64 * MIB,
                payload={"base": base},
            )
        cluster.add_volume(target, new)
        created.append(new.volid)
    if full:
        ctx.log(f"create full clone of mountpoint rootfs ({volid})")
        ctx.log(f'  Logical volume "{name}" created.')
        ctx.sleep(1.0 + source.used / COPY_BYTES_PER_SECOND)
        ctx.log(f"Number of files: {max(1, source.used // 40000)} (reg: {max(1, source.used // 52000)})")
        ctx.log(f"Total bytes sent: {source.used}")
    else:
        ctx.log(f"create linked clone of mount point rootfs ({volid})")
        ctx.log(f'  Logical volume "{name}" created.')
        ctx.sleep(0.8)
    return new.volid


# -- template --------------------------------------------------------------------------------------
def template(call: Call) -> None:
    node, vmid = call.node, call.vmid
    cluster = call.cluster
    with cluster.lock:
        ct = cluster.container(node, vmid)
        check_lock(ct)
        if ct.is_template:
            raise fail("CT is already a template")
        if ct.status == "running":
            raise fail("you can't convert a CT to template if the CT is running")
        for key in _disk_keys(ct.config):
            spec = parse_propstr(str(ct.config[key]), "volume")
            volume = cluster.remove_volume(node, spec["volume"])
            if volume is None:
                continue
            base_name = volume.name.replace(f"vm-{vmid}-", f"base-{vmid}-", 1)
            volume.volid = f"{volume.storage}:{base_name}"
            cluster.add_volume(node, volume)
            spec["volume"] = volume.volid
            ct.config[key] = ",".join([spec.pop("volume")] + [f"{k}={v}" for k, v in spec.items()])
        ct.config["template"] = 1
        cluster.changed()


# -- resize ----------------------------------------------------------------------------------------
def resize(call: Call) -> str:
    node, vmid = call.node, call.vmid
    disk = call.required("disk")
    size_text = call.required("size")
    cluster = call.cluster
    with cluster.lock:
        ct = cluster.container(node, vmid)
        check_lock(ct)
        if disk not in ct.config:
            raise fail(f"disk '{disk}' does not exist")
        spec = parse_propstr(str(ct.config[disk]), "volume")
        volume = cluster.volume(node, spec["volume"])
        if volume is None:
            raise fail(f"volume '{spec['volume']}' does not exist")
        try:
            amount = parse_size(size_text.lstrip("+"), "G")
        except ValueError as error:
            raise parameter_error({"size": "value does not match the regex pattern"}) from error
        new_size = volume.size + amount if size_text.startswith("+") else amount
        if new_size < volume.size:
            raise fail("unable to shrink disk size")
        ct.config["lock"] = "disk"
        cluster.changed()

    def worker(ctx: TaskContext) -> None:
        try:
            ctx.log(
                f"  Size of logical volume pve/{volume.name} changed from {human(volume.size)} to "
                f"{human(new_size)}."
            )
            ctx.sleep(0.6)
            with cluster.lock:
                volume.size = new_size
                spec["size"] = format_size(new_size)
                ct.config[disk] = ",".join(
                    [spec["volume"]] + [f"{k}={v}" for k, v in spec.items() if k != "volume"]
                )
            ctx.log("resize2fs 1.47.2 (1-Jan-2025)")
            ctx.log(f"The filesystem on /dev/loop0 is now {new_size // 4096} (4k) blocks long.")
        finally:
            cluster.unlock(ct)

    return call.start_task(node, "resize", vmid, worker)


# -- migrate ---------------------------------------------------------------------------------------
def migrate(call: Call) -> str:
    node, vmid = call.node, call.vmid
    target = call.required("target")
    restart = call.flag("restart")
    cluster = call.cluster
    with cluster.lock:
        ct = cluster.container(node, vmid)
        if target == node:
            raise parameter_error({"target": "target is local node."})
        target_node = cluster.node(target)
        check_lock(ct)
        if ct.status == "running" and not restart and not call.flag("online"):
            raise fail("can't migrate running container without --online or --restart")
        if ct.status == "running" and call.flag("online") and not restart:
            raise fail("lxc live migration is currently not implemented")
        was_running = ct.status == "running"
        ct.config["lock"] = "migrate"
        cluster.changed()

    def worker(ctx: TaskContext) -> None:
        started = time.time()
        try:
            if was_running:
                ctx.log(f"{stamp()} shutdown CT {vmid}")
                ctx.sleep(SHUTDOWN_SECONDS)
                with cluster.lock:
                    _stop(call, ct)
            ctx.log(f"{stamp()} starting migration of CT {vmid} to node '{target}' ({target_node.ip})")
            if call.services.faults.is_offline(target):
                ctx.sleep(1.0)
                raise TaskFailed(
                    f"migration aborted (duration {_duration(started)}): Can't connect to "
                    f"destination address using public key"
                )
            with cluster.lock:
                volumes = [cluster.volume(node, v) for v in ct.disk_volids()]
                for snapshot in ct.snapshots.values():
                    volumes += [cluster.volume(node, v) for v in _snapshot_volids(snapshot.config)]
                moving = list({v.volid: v for v in volumes if v is not None}.values())
                for volume in moving:
                    if cluster.storage_free(target, volume.storage) < volume.used:
                        raise TaskFailed(
                            f"migration aborted (duration {_duration(started)}): storage migration "
                            f"for '{volume.volid}' to storage '{volume.storage}' failed - "
                            "no space left on device"
                        )
            for volume in moving:
                ctx.log(f"{stamp()} found local volume '{volume.volid}' (in current VM config)")
                ctx.sleep(0.5 + volume.used / MIGRATE_BYTES_PER_SECOND)
                ctx.log(f"{stamp()} {volume.used} bytes ({human(volume.used)}) copied")
                with cluster.lock:
                    cluster.remove_volume(node, volume.volid)
                    cluster.add_volume(target, volume)
                ctx.log(f"{stamp()} volume '{volume.volid}' is '{volume.volid}' on the target")
            with cluster.lock:
                ct.node = target
                ct.config.pop("lock", None)
                cluster.changed()
            if was_running:
                ctx.log(f"{stamp()} start final cleanup")
                ctx.log(f"{stamp()} start container on target node")
                _start_worker(ctx, call, target, vmid)
            ctx.log(f"{stamp()} migration finished successfully (duration {_duration(started)})")
        finally:
            cluster.unlock(ct, only="migrate")

    return call.start_task(node, "vzmigrate", vmid, worker)


def _snapshot_volids(config: dict[str, Any]) -> list[str]:
    return [parse_propstr(str(config[k]), "volume")["volume"] for k in _disk_keys(config)]


def _duration(started: float) -> str:
    seconds = int(time.time() - started)
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


VM = "/vms/{vmid}"
ROUTES = [
    Route("POST", "/nodes/{node}/lxc/{vmid}/clone", clone, perm(VM, "VM.Clone")),
    Route("POST", "/nodes/{node}/lxc/{vmid}/template", template, perm(VM, "VM.Allocate")),
    Route("PUT", "/nodes/{node}/lxc/{vmid}/resize", resize, perm(VM, "VM.Config.Disk")),
    Route("POST", "/nodes/{node}/lxc/{vmid}/migrate", migrate, perm(VM, "VM.Migrate")),
]
