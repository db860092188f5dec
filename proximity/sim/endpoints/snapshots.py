"""LXC snapshots: create, list, delete, rollback, and the snapshot's config."""

from __future__ import annotations

import copy
import re
import time
from typing import Any

from proximity.sim import guests
from proximity.sim.context import Call
from proximity.sim.endpoints.common import config_digest, task_check_lock
from proximity.sim.endpoints.lxc import STOP_SECONDS, _start_worker, _stop
from proximity.sim.errors import TaskFailed, fail, parameter_error
from proximity.sim.router import Route, perm
from proximity.sim.state import Snapshot
from proximity.sim.tasks import TaskContext

_SNAPNAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_\-]{1,39}$")


def list_snapshots(call: Call) -> list[dict[str, Any]]:
    with call.cluster.lock:
        ct = call.cluster.container(call.node, call.vmid)
        rows: list[dict[str, Any]] = []
        for snap in sorted(ct.snapshots.values(), key=lambda s: s.snaptime):
            row: dict[str, Any] = {
                "name": snap.name,
                "description": snap.description,
                "snaptime": snap.snaptime,
            }
            if snap.parent:
                row["parent"] = snap.parent
            rows.append(row)
        current: dict[str, Any] = {
            "name": "current",
            "description": "You are here!",
            "running": int(ct.status == "running"),
        }
        if ct.parent_snapshot:
            current["parent"] = ct.parent_snapshot
        rows.append(current)
        return rows


def create_snapshot(call: Call) -> str:
    node, vmid = call.node, call.vmid
    snapname = call.required("snapname")
    if not _SNAPNAME.match(snapname) or snapname == "current":
        raise parameter_error({"snapname": "invalid format - invalid configuration ID"})
    description = call.text("description") or ""
    cluster = call.cluster
    with cluster.lock:
        ct = cluster.container(node, vmid)

    def worker(ctx: TaskContext) -> None:
        with cluster.lock:
            if snapname in ct.snapshots:
                raise TaskFailed(f"snapshot name '{snapname}' already used")
            task_check_lock(ct)
            ct.config["lock"] = "snapshot"
            cluster.changed()
        try:
            ctx.log(f"create storage snapshot '{snapname}'")
            ctx.sleep(1.0)
            with cluster.lock:
                config = {k: v for k, v in copy.deepcopy(ct.config).items() if k != "lock"}
                ct.snapshots[snapname] = Snapshot(
                    snapname,
                    description,
                    int(time.time()),
                    config,
                    guests.inside_dict(ct),
                    ct.parent_snapshot,
                )
                ct.parent_snapshot = snapname
        finally:
            cluster.unlock(ct)

    return call.start_task(node, "vzsnapshot", vmid, worker)


def snapshot_index(call: Call) -> list[dict[str, str]]:
    _snapshot(call)
    return [{"cmd": "rollback"}, {"cmd": "config"}]


def _snapshot(call: Call) -> Snapshot:
    ct = call.cluster.container(call.node, call.vmid)
    snapname = call.required("snapname")
    snap = ct.snapshots.get(snapname)
    if snap is None:
        raise fail(f"snapshot '{snapname}' does not exist")
    return snap


def delete_snapshot(call: Call) -> str:
    node, vmid = call.node, call.vmid
    snapname = call.required("snapname")
    cluster = call.cluster
    with cluster.lock:
        ct = cluster.container(node, vmid)
        _snapshot(call)

    def worker(ctx: TaskContext) -> None:
        with cluster.lock:
            if snapname not in ct.snapshots:
                raise TaskFailed(f"snapshot '{snapname}' does not exist")
            if not call.flag("force"):
                task_check_lock(ct)
            ct.config["lock"] = "snapshot-delete"
            cluster.changed()
        try:
            ctx.sleep(0.8)
            with cluster.lock:
                removed = ct.snapshots.pop(snapname)
                for other in ct.snapshots.values():
                    if other.parent == snapname:
                        other.parent = removed.parent
                if ct.parent_snapshot == snapname:
                    ct.parent_snapshot = removed.parent
            ctx.log(
                f'  Logical volume "snap_{ct.rootfs_volid().split(":", 1)[1]}_{snapname}" '
                "successfully removed."
            )
        finally:
            cluster.unlock(ct)

    return call.start_task(node, "vzdelsnapshot", vmid, worker)


def rollback(call: Call) -> str:
    node, vmid = call.node, call.vmid
    snapname = call.required("snapname")
    start_after = call.flag("start")
    cluster = call.cluster
    with cluster.lock:
        ct = cluster.container(node, vmid)
        _snapshot(call)

    def worker(ctx: TaskContext) -> None:
        with cluster.lock:
            snap = ct.snapshots.get(snapname)
            if snap is None:
                raise TaskFailed(f"snapshot '{snapname}' does not exist")
            task_check_lock(ct)
            was_running = ct.status == "running"
            ct.config["lock"] = "rollback"
            cluster.changed()
        if was_running:
            ctx.sleep(STOP_SECONDS)
            with cluster.lock:
                _stop(call, ct)
        ctx.log(f'  Logical volume "{ct.rootfs_volid().split(":", 1)[1]}" successfully removed.')
        ctx.sleep(1.0)
        with cluster.lock:
            ct.config = {**copy.deepcopy(snap.config), "lock": "rollback"}
            call.attach_inside(ct, guests.copy_inside(snap.inside, call.time_scale))
            ct.parent_snapshot = snapname
            ct.config.pop("lock", None)
            cluster.changed()
        if start_after:
            _start_worker(ctx, call, node, vmid)

    return call.start_task(node, "vzrollback", vmid, worker)


def get_snapshot_config(call: Call) -> dict[str, Any]:
    with call.cluster.lock:
        config = dict(_snapshot(call).config)
    config["digest"] = config_digest(config)
    return config


def update_snapshot_config(call: Call) -> None:
    with call.cluster.lock:
        snap = _snapshot(call)
        if call.text("description") is not None:
            snap.description = call.text("description") or ""
        call.cluster.changed()


VM = "/vms/{vmid}"
ROUTES = [
    Route("GET", "/nodes/{node}/lxc/{vmid}/snapshot", list_snapshots, perm(VM, "VM.Audit")),
    Route("POST", "/nodes/{node}/lxc/{vmid}/snapshot", create_snapshot, perm(VM, "VM.Snapshot")),
    Route("GET", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}", snapshot_index, perm(VM, "VM.Audit")),
    Route("DELETE", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}", delete_snapshot, perm(VM, "VM.Snapshot")),
    Route(
        "POST",
        "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/rollback",
        rollback,
        perm(VM, "VM.Snapshot", "VM.Snapshot.Rollback", any_of=True),
    ),
    Route(
        "GET",
        "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/config",
        get_snapshot_config,
        perm(VM, "VM.Audit"),
    ),
    Route(
        "PUT",
        "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/config",
        update_snapshot_config,
        perm(VM, "VM.Snapshot"),
    ),
]
