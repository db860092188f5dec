"""Nodes: list, status, network, rrddata, tasks, the appliance index and OCI tag queries."""

from __future__ import annotations

import time
from typing import Any

from proximity.sim import registry
from proximity.sim.context import Call, Reply
from proximity.sim.endpoints.common import volume_path
from proximity.sim.endpoints.storage import DOWNLOAD_BYTES_PER_SECOND, _store_file, estimated_download_size
from proximity.sim.errors import ApiError, fail, oci_reference_error, parameter_error
from proximity.sim.metrics import SWAP_TOTAL, node_figures, node_figures_from, running_by_node
from proximity.sim.router import Route, perm
from proximity.sim.state import KERNEL, PVE_REPOID, PVE_VERSION
from proximity.sim.tasks import Task, TaskContext

NODE = "/nodes/{node}"


def list_nodes(call: Call) -> list[dict[str, Any]]:
    now = time.time()
    rows: list[dict[str, Any]] = []
    with call.cluster.lock:
        running = running_by_node(call.cluster)
        figures_of = call.cached_figures(now)  # as cluster/resources has them (at most a second old)
        for node in call.cluster.nodes.values():
            if not call.allowed(f"/nodes/{node.name}", "Sys.Audit"):
                continue
            if call.services.faults.is_offline(node.name):
                rows.append(
                    {
                        "node": node.name,
                        "status": "offline",
                        "id": f"node/{node.name}",
                        "type": "node",
                        "level": "",
                    }
                )
                continue
            figures = [figures_of(ct) for ct in running[node.name]]
            f = node_figures_from(
                call.cluster, node, now, figures, call.cluster.storage_used(node.name, "local")
            )
            rows.append(
                {
                    "node": node.name,
                    "status": "online",
                    "id": f"node/{node.name}",
                    "type": "node",
                    "level": "",
                    "cpu": round(f.cpu, 6),
                    "maxcpu": f.maxcpu,
                    "mem": f.mem,
                    "maxmem": f.maxmem,
                    "disk": f.rootfs_used,
                    "maxdisk": f.rootfs_total,
                    "uptime": f.uptime,
                    "ssl_fingerprint": call.services.fingerprint,
                }
            )
    return rows


def node_index(call: Call) -> list[dict[str, str]]:
    call.cluster.node(call.node)
    return [
        {"name": n}
        for n in (
            "aplinfo",
            "lxc",
            "network",
            "query-oci-repo-tags",
            "rrddata",
            "status",
            "storage",
            "tasks",
            "vzdump",
        )
    ]


def node_status(call: Call) -> dict[str, Any]:
    node = call.cluster.node(call.node)
    now = time.time()
    with call.cluster.lock:
        f = node_figures(call.cluster, node, now)
    load = f.cpu * f.maxcpu
    return {
        "cpu": round(f.cpu, 6),
        "wait": round(f.iowait, 6),
        "uptime": f.uptime,
        "loadavg": [f"{load:.2f}", f"{load * 0.93:.2f}", f"{load * 0.88:.2f}"],
        "kversion": f"Linux {KERNEL} #1 SMP PREEMPT_DYNAMIC PMX {KERNEL} (2025-11-04T10:11Z)",
        "pveversion": f"pve-manager/{PVE_VERSION}/{PVE_REPOID}",
        "cpuinfo": {
            "model": node.cpu_model,
            "cores": node.cores // 2 if node.cores > 16 else node.cores,
            "cpus": node.cores,
            "sockets": 1,
            "mhz": "3400.000",
            "hvm": "1",
            "user_hz": 100,
            "flags": "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov",
        },
        "memory": {"total": f.maxmem, "used": f.mem, "free": f.maxmem - f.mem, "available": f.maxmem - f.mem},
        "swap": {"total": SWAP_TOTAL, "used": f.swap, "free": SWAP_TOTAL - f.swap},
        "rootfs": {
            "total": f.rootfs_total,
            "used": f.rootfs_used,
            "avail": f.rootfs_total - f.rootfs_used,
            "free": f.rootfs_total - f.rootfs_used,
        },
        "ksm": {"shared": 0},
        "idle": 0,
        "boot-info": {"mode": "efi", "secureboot": 0},
        "current-kernel": {
            "sysname": "Linux",
            "release": KERNEL,
            "machine": "x86_64",
            "version": f"#1 SMP PREEMPT_DYNAMIC PMX {KERNEL} (2025-11-04T10:11Z)",
        },
    }


def network(call: Call) -> list[dict[str, Any]]:
    node = call.cluster.node(call.node)
    kind = call.text("type")
    # PVE's index reads /etc/network/interfaces but leaves the loopback device out.
    interfaces = [
        {
            "iface": "eno1",
            "type": "eth",
            "method": "manual",
            "families": ["inet"],
            "active": 1,
            "exists": 1,
            "priority": 2,
        },
        {
            "iface": "vmbr0",
            "type": "bridge",
            "method": "static",
            "families": ["inet"],
            "active": 1,
            "autostart": 1,
            "bridge_ports": "eno1",
            "bridge_stp": "off",
            "bridge_fd": "0",
            "priority": 3,
            "address": node.ip,
            "netmask": "8",
            "cidr": f"{node.ip}/8",
            "gateway": "127.0.0.1",
        },
    ]
    if kind in (None, "any_bridge", "bridge", "any_local_bridge"):
        return [i for i in interfaces if kind is None or i["type"] == "bridge"]
    return [i for i in interfaces if i["type"] == kind]


def node_rrddata(call: Call) -> list[dict[str, Any]]:
    call.cluster.node(call.node)
    call.services.metrics.sample()
    return call.services.metrics.rrddata(
        f"node/{call.node}", call.required("timeframe"), call.text("cf") or "AVERAGE"
    )


# -- tasks ----------------------------------------------------------------------------------------
def _visible(call: Call, task: Task) -> bool:
    """Users see their own tasks; Sys.Audit on the node shows everyone's."""
    return task.user.split("!")[0] == call.identity.userid or call.allowed(f"/nodes/{task.node}", "Sys.Audit")


def list_tasks(call: Call) -> Reply:
    node = call.node
    call.cluster.node(node)
    vmid = call.integer("vmid")
    type_filter = call.text("typefilter")
    user_filter = call.text("userfilter")
    source = call.text("source") or "archive"
    errors_only = call.flag("errors")
    start = call.integer("start", 0) or 0
    limit = call.integer("limit", 50) or 50
    since = call.integer("since")
    until = call.integer("until")
    status_filter = set((call.text("statusfilter") or "").split(",")) - {""}
    rows = []
    for task in sorted(call.services.tasks.snapshot(), key=lambda t: (t.starttime, t.upid), reverse=True):
        running = task.status == "running"
        if task.node != node or not _visible(call, task):
            continue
        if (source == "active" and not running) or (source == "archive" and running):
            continue
        if vmid is not None and task.id != str(vmid):
            continue
        if type_filter and task.type != type_filter:
            continue
        if user_filter and user_filter not in task.user:
            continue
        if errors_only and (running or task.exitstatus == "OK"):
            continue
        if since is not None and task.starttime < since or until is not None and task.starttime > until:
            continue
        if status_filter and not running:
            state = (
                "ok"
                if task.exitstatus == "OK"
                else "warning"
                if str(task.exitstatus).startswith("WARNINGS")
                else "error"
            )
            if state not in status_filter:
                continue
        rows.append(task.list_dict())
    return Reply(rows[start : start + limit], {"total": len(rows)})


def _task(call: Call) -> Task:
    upid = call.required("upid")
    task = call.services.tasks.get(upid)
    if task is None or task.node != call.node:
        raise fail("no such task")
    if not _visible(call, task):
        raise ApiError(403, f"Permission check failed (/nodes/{task.node}, Sys.Audit)")
    return task


def task_index(call: Call) -> list[dict[str, str]]:
    _task(call)
    return [{"name": "log"}, {"name": "status"}]


def task_status(call: Call) -> dict[str, Any]:
    task = _task(call)
    with call.services.tasks.lock:
        return task.status_dict()


def task_log(call: Call) -> Reply:
    task = _task(call)
    start = call.integer("start", 0) or 0
    limit = call.integer("limit", 50) or 50
    with call.services.tasks.lock:
        lines = list(task.log)
    rows = [{"n": i + 1, "t": line} for i, line in enumerate(lines)][start : start + limit]
    return Reply(rows, {"total": len(lines)})


def stop_task(call: Call) -> None:
    task = _task(call)
    if task.user.split("!")[0] != call.identity.userid:
        call.check(f"/nodes/{task.node}", "Sys.Modify")
    call.services.tasks.stop(task.upid)


# -- appliances and OCI ---------------------------------------------------------------------------
def aplinfo(call: Call) -> list[dict[str, str]]:
    call.cluster.node(call.node)
    return [dict(a) for a in call.services.appliances]


def aplinfo_download(call: Call) -> str:
    node, storage = call.node, call.required("storage")
    template = call.required("template")
    appliance = next((a for a in call.services.appliances if a["template"] == template), None)
    if appliance is None:
        raise fail("no such template")
    call.check(f"/storage/{storage}", "Datastore.AllocateTemplate")
    with call.cluster.lock:
        config = call.cluster.storage(storage)
        if not config.supports("vztmpl"):
            raise parameter_error({"storage": f"storage '{storage}' does not support templates"})
    size = estimated_download_size(template, "vztmpl")

    def worker(ctx: TaskContext) -> None:
        ctx.log(f"starting template download from: {appliance['source']}")
        ctx.log(f"target file: {volume_path(call.cluster, node, f'{storage}:vztmpl/{template}')}")
        ctx.sleep(0.5 + size / DOWNLOAD_BYTES_PER_SECOND)
        ctx.log(f"{size // 1024}K .......... 100% {DOWNLOAD_BYTES_PER_SECOND // 1024 // 1024}M")
        ctx.log("calculating checksum...OK, checksum verified")
        _store_file(ctx, call, node, storage, "vztmpl", template, size)
        ctx.log(
            f"download of '{appliance['source']}' to "
            f"'{volume_path(call.cluster, node, f'{storage}:vztmpl/{template}')}' finished"
        )

    return call.start_task(node, "download", template, worker)


def query_oci_repo_tags(call: Call) -> list[str]:
    call.cluster.node(call.node)
    reference = call.required("reference")
    try:
        return registry.tags(reference)
    except registry.InvalidReference as error:
        raise oci_reference_error(error) from error


ROUTES = [
    Route("GET", "/nodes", list_nodes),
    Route("GET", "/nodes/{node}", node_index),
    Route("GET", "/nodes/{node}/status", node_status, perm(NODE, "Sys.Audit")),
    Route("GET", "/nodes/{node}/network", network),
    Route("GET", "/nodes/{node}/rrddata", node_rrddata, perm(NODE, "Sys.Audit")),
    Route("GET", "/nodes/{node}/tasks", list_tasks),
    Route("GET", "/nodes/{node}/tasks/{upid}", task_index),
    Route("DELETE", "/nodes/{node}/tasks/{upid}", stop_task),
    Route("GET", "/nodes/{node}/tasks/{upid}/status", task_status),
    Route("GET", "/nodes/{node}/tasks/{upid}/log", task_log),
    Route("GET", "/nodes/{node}/aplinfo", aplinfo),
    Route("POST", "/nodes/{node}/aplinfo", aplinfo_download),
    Route("GET", "/nodes/{node}/query-oci-repo-tags", query_oci_repo_tags, perm(NODE, "Sys.AccessNetwork")),
]
