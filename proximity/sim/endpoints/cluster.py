"""Cluster-wide answers: version, status, resources, nextid, tasks, storage config, pools."""

from __future__ import annotations

import json
import time
from typing import Any

from proximity.sim.context import Call, EncodedJson
from proximity.sim.endpoints.common import config_digest
from proximity.sim.endpoints.lxc import status_of
from proximity.sim.endpoints.storage import storage_status_row
from proximity.sim.errors import fail, parameter_error
from proximity.sim.metrics import node_figures_from, running_by_node
from proximity.sim.router import Route, perm
from proximity.sim.state import PVE_REPOID, PVE_VERSION, Pool

RESOURCE_TYPES = ("vm", "storage", "node", "sdn", "pool", "lxc", "qemu")


def version(call: Call) -> dict[str, str]:
    return {"version": PVE_VERSION, "release": PVE_VERSION.rsplit(".", 1)[0], "repoid": PVE_REPOID}


def cluster_status(call: Call) -> list[dict[str, Any]]:
    cluster = call.cluster
    faults = call.services.faults
    with cluster.lock:
        online = [n for n in cluster.nodes if not faults.is_offline(n)]
        rows: list[dict[str, Any]] = [
            {
                "type": "cluster",
                "id": "cluster",
                "name": cluster.name,
                "nodes": len(cluster.nodes),
                "quorate": int(len(online) * 2 > len(cluster.nodes)),
                "version": len(cluster.nodes) + 2,
            }
        ]
        for i, node in enumerate(cluster.nodes.values()):
            rows.append(
                {
                    "type": "node",
                    "id": f"node/{node.name}",
                    "name": node.name,
                    "nodeid": node.index,
                    "ip": node.ip,
                    "online": int(node.name in online),
                    "local": int(i == 0),
                    "level": "",
                }
            )
    return rows


def resources(call: Call) -> EncodedJson:
    """Every resource the caller may see: containers (rows kept encoded, see ``guest_rows``), nodes,
    storages, the SDN zone and pools, in that order."""
    kind = call.text("type")
    if kind is not None and kind not in RESOURCE_TYPES:
        raise parameter_error(
            {"type": f"value '{kind}' does not have a value in the enumeration 'vm, storage, node, sdn'"}
        )
    cluster = call.cluster
    faults = call.services.faults
    guest_rows = call.services.guest_rows
    now = time.time()
    encoded: list[bytes] = []
    rows: list[dict[str, Any]] = []
    with cluster.lock:
        guest_rows.forget_missing(cluster)
        offline = {name: faults.is_offline(name) for name in cluster.nodes}
        usage = {name: cluster.storage_usage(name) for name in cluster.nodes}
        if kind in (None, "vm", "lxc"):
            pool_of = {vmid: pool.poolid for pool in cluster.pools.values() for vmid in pool.vmids}
            visible = call.allowed_children("/vms", sorted(cluster.containers), "VM.Audit")
            cts = [cluster.containers[vmid] for vmid in visible]
            encoded += guest_rows.resource_json(cluster, cts, now, pool_of, offline)
        if kind in (None, "node"):
            rows += _node_rows(call, now, offline, usage)
        if kind in (None, "storage"):
            rows += _storage_rows(call, offline, usage)
        if kind in (None, "sdn"):
            # every node has PVE's default SDN zone for plain Linux bridges
            for node in cluster.nodes.values():
                if call.allowed("/sdn/zones/localnetwork", "SDN.Audit"):
                    rows.append(
                        {
                            "id": f"sdn/{node.name}/localnetwork",
                            "type": "sdn",
                            "sdn": "localnetwork",
                            "node": node.name,
                            "status": "unknown" if offline[node.name] else "ok",
                        }
                    )
        if kind in (None, "pool"):
            for pool in cluster.pools.values():
                if call.allowed(f"/pool/{pool.poolid}", "Pool.Audit"):
                    rows.append({"id": f"pool/{pool.poolid}", "type": "pool", "pool": pool.poolid})
    encoded += [json.dumps(row, separators=(",", ":")).encode() for row in rows]
    return EncodedJson(b"[" + b",".join(encoded) + b"]")


def _node_rows(
    call: Call, now: float, offline: dict[str, bool], usage: dict[str, dict[str, int]]
) -> list[dict[str, Any]]:
    cluster = call.cluster
    figures_of = call.cached_figures(now)
    running = running_by_node(cluster)
    rows: list[dict[str, Any]] = []
    for node in cluster.nodes.values():
        if not call.allowed(f"/nodes/{node.name}", "Sys.Audit"):
            continue
        base = {"id": f"node/{node.name}", "type": "node", "node": node.name, "level": "", "cgroup-mode": 2}
        if offline[node.name]:
            rows.append({**base, "status": "offline", "maxcpu": node.cores, "maxmem": node.memory})
            continue
        figures = [figures_of(ct) for ct in running[node.name]]
        f = node_figures_from(cluster, node, now, figures, usage[node.name]["local"])
        rows.append(
            {
                **base,
                "status": "online",
                "cpu": round(f.cpu, 6),
                "maxcpu": f.maxcpu,
                "mem": f.mem,
                "maxmem": f.maxmem,
                "disk": f.rootfs_used,
                "maxdisk": f.rootfs_total,
                "uptime": f.uptime,
            }
        )
    return rows


def _storage_rows(
    call: Call, offline: dict[str, bool], usage: dict[str, dict[str, int]]
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for node in call.cluster.nodes.values():
        for config in call.cluster.storages.values():
            if not call.allowed(f"/storage/{config.storage}", "Datastore.Audit", "Datastore.AllocateSpace"):
                continue
            row: dict[str, Any] = {
                "id": f"storage/{node.name}/{config.storage}",
                "type": "storage",
                "storage": config.storage,
                "node": node.name,
                "plugintype": config.type,
                "content": ",".join(sorted(config.content)),
                "shared": int(config.shared),
            }
            if offline[node.name]:
                row["status"] = "unknown"
            else:
                status = storage_status_row(call, node.name, config, usage[node.name][config.storage])
                row.update({"status": "available", "disk": status["used"], "maxdisk": status["total"]})
            rows.append(row)
    return rows


def nextid(call: Call) -> str:
    vmid = call.integer("vmid")
    with call.cluster.lock:
        if vmid is not None:
            if vmid in call.cluster.containers:
                raise parameter_error({"vmid": f"VM {vmid} already exists"})
            return str(vmid)
        return str(call.cluster.next_free_vmid())


def cluster_tasks(call: Call) -> list[dict[str, Any]]:
    rows = []
    for task in sorted(call.services.tasks.snapshot(), key=lambda t: t.starttime, reverse=True)[:200]:
        if task.user.split("!")[0] != call.identity.userid and not call.allowed(
            f"/nodes/{task.node}", "Sys.Audit"
        ):
            continue
        row = task.list_dict()
        row["saved"] = "1" if task.status == "stopped" else "0"
        rows.append(row)
    return rows


# -- storage configuration ------------------------------------------------------------------------
def _storage_config(call: Call, storage: str) -> dict[str, Any]:
    config = call.cluster.storage(storage)
    row: dict[str, Any] = {
        "storage": config.storage,
        "type": config.type,
        "content": ",".join(sorted(config.content)),
    }
    if config.path:
        row["path"] = config.path
    if config.vgname:
        row.update({"vgname": config.vgname, "thinpool": config.thinpool})
    if config.type == "dir":
        row["prune-backups"] = "keep-all=1"
        row["shared"] = 0
    row["digest"] = config_digest({k: str(v) for k, v in row.items()})
    return row


def list_storage_config(call: Call) -> list[dict[str, Any]]:
    kind = call.text("type")
    with call.cluster.lock:
        return [
            _storage_config(call, s)
            for s, c in call.cluster.storages.items()
            if (kind is None or c.type == kind)
            and call.allowed(f"/storage/{s}", "Datastore.Audit", "Datastore.AllocateSpace")
        ]


def get_storage_config(call: Call) -> dict[str, Any]:
    with call.cluster.lock:
        return _storage_config(call, call.required("storage"))


# -- pools ----------------------------------------------------------------------------------------
def _pool_members(call: Call, pool: Pool) -> list[dict[str, Any]]:
    now = time.time()
    members = []
    for vmid in sorted(pool.vmids):
        ct = call.cluster.containers.get(vmid)
        if ct is not None:
            members.append({**status_of(call, ct, now), "id": f"lxc/{vmid}", "node": ct.node})
    for storage in sorted(pool.storages):
        for node in call.cluster.nodes:
            members.append(
                {"id": f"storage/{node}/{storage}", "type": "storage", "storage": storage, "node": node}
            )
    return members


def list_pools(call: Call) -> list[dict[str, Any]]:
    poolid = call.text("poolid")
    with call.cluster.lock:
        rows = []
        for pool in sorted(call.cluster.pools.values(), key=lambda p: p.poolid):
            if poolid and pool.poolid != poolid:
                continue
            if not call.allowed(f"/pool/{pool.poolid}", "Pool.Audit", "Pool.Allocate"):
                continue
            row: dict[str, Any] = {"poolid": pool.poolid, "comment": pool.comment}
            if poolid:
                row["members"] = _pool_members(call, pool)
            rows.append(row)
        return rows


def create_pool(call: Call) -> None:
    poolid = call.required("poolid")
    with call.cluster.lock:
        if poolid in call.cluster.pools:
            raise fail(f"pool '{poolid}' already exists")
        call.cluster.pools[poolid] = Pool(poolid, call.text("comment") or "")
        call.cluster.changed()


def _pool(call: Call) -> Pool:
    poolid = call.required("poolid")
    pool = call.cluster.pools.get(poolid)
    if pool is None:
        raise fail(f"pool '{poolid}' does not exist")
    return pool


def get_pool(call: Call) -> dict[str, Any]:
    with call.cluster.lock:
        pool = _pool(call)
        return {"comment": pool.comment, "members": _pool_members(call, pool)}


def update_pool(call: Call) -> None:
    with call.cluster.lock:
        pool = _pool(call)
        if call.text("comment") is not None:
            pool.comment = call.text("comment") or ""
        remove = call.flag("delete")
        vmids = [int(v) for v in (call.text("vms") or "").replace(";", ",").split(",") if v.strip()]
        storages = [s for s in (call.text("storage") or "").split(",") if s.strip()]
        for vmid in vmids:
            if remove:
                pool.vmids.discard(vmid)
                continue
            if vmid not in call.cluster.containers:
                raise fail(f"VM {vmid} does not exist")
            other = next((p for p in call.cluster.pools.values() if vmid in p.vmids and p is not pool), None)
            if other is not None:
                if not call.flag("allow-move"):
                    raise fail(f"VM {vmid} is already a pool member")
                other.vmids.discard(vmid)
            pool.vmids.add(vmid)
        for storage in storages:
            call.cluster.storage(storage)
            (pool.storages.discard if remove else pool.storages.add)(storage)
        call.cluster.changed()


def delete_pool(call: Call) -> None:
    with call.cluster.lock:
        pool = _pool(call)
        if pool.vmids or pool.storages:
            raise fail("pool is not empty")
        del call.cluster.pools[pool.poolid]
        call.cluster.changed()


POOL = "/pool/{poolid}"
ROUTES = [
    Route("GET", "/version", version),
    Route("GET", "/cluster/status", cluster_status, perm("/", "Sys.Audit")),
    Route("GET", "/cluster/resources", resources),
    Route("GET", "/cluster/nextid", nextid),
    Route("GET", "/cluster/tasks", cluster_tasks),
    Route("GET", "/storage", list_storage_config),
    Route("GET", "/storage/{storage}", get_storage_config, perm("/storage/{storage}", "Datastore.Audit")),
    Route("GET", "/pools", list_pools),
    Route("POST", "/pools", create_pool, perm("/pool/{poolid}", "Pool.Allocate")),
    Route("PUT", "/pools", update_pool, perm(POOL, "Pool.Allocate")),
    Route("DELETE", "/pools", delete_pool, perm(POOL, "Pool.Allocate")),
    Route("GET", "/pools/{poolid}", get_pool, perm(POOL, "Pool.Audit")),
    Route("PUT", "/pools/{poolid}", update_pool, perm(POOL, "Pool.Allocate")),
    Route("DELETE", "/pools/{poolid}", delete_pool, perm(POOL, "Pool.Allocate")),
]
