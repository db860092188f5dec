"""Status figures and RRD series computed from the simulated load, never from random noise.

A node's figures are its own idle activity (a slow deterministic rhythm) plus what its running containers
use (``inside.load()``). ``Metrics.sample`` stores one point per minute and entity; ``rrddata`` answers
PVE's time frames from those points, leaving keys out where there is no data, as PVE does.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from proximity.sim import guests
from proximity.sim.propstr import GIB
from proximity.sim.state import MIB, Cluster, SimContainer, SimNode

# frame -> (step seconds, points), PVE's classic RRD layout
TIMEFRAMES: dict[str, tuple[int, int]] = {
    "hour": (60, 70),
    "day": (1800, 70),
    "week": (10800, 70),
    "month": (43200, 70),
    "year": (604800, 70),
}
RETENTION_MINUTES = 24 * 60
NODE_BASE_MEM = 2 * GIB + 700 * MIB  # pveproxy, pvedaemon, pmxcfs, corosync, ...
SWAP_TOTAL = 8 * GIB


@dataclass(slots=True)
class ContainerFigures:
    cpu: float  # fraction of its cores, 0..1
    maxcpu: int
    mem: int
    maxmem: int
    swap: int
    maxswap: int
    disk: int
    maxdisk: int
    netin: int
    netout: int
    diskread: int
    diskwrite: int
    uptime: int


@dataclass(slots=True)
class NodeFigures:
    cpu: float
    maxcpu: int
    mem: int
    maxmem: int
    swap: int
    rootfs_used: int
    rootfs_total: int
    netin: int
    netout: int
    iowait: float
    uptime: int
    running: int


def container_figures(cluster: Cluster, ct: SimContainer, now: float) -> ContainerFigures:
    volume = cluster.volume(ct.node, ct.rootfs_volid()) if "rootfs" in ct.config else None
    size = volume.size if volume else 0
    used = volume.used if volume else 0
    load = guests.load(ct, now, used)
    if volume is not None and load.disk_bytes > volume.used:  # data written inside grows the thin volume
        volume.used = min(volume.size, load.disk_bytes)
    cores = int(ct.config.get("cores", 1) or 1)
    running = ct.status == "running" and ct.started_at is not None
    uptime = int(now - ct.started_at) if running and ct.started_at else 0
    maxmem = int(ct.config.get("memory", 512)) * MIB
    maxswap = int(ct.config.get("swap", 512)) * MIB
    # the CT's cgroup holds its memory at the limit; what does not fit is in its swap (as PVE reports it)
    mem = min(load.mem_bytes, maxmem)
    return ContainerFigures(
        cpu=min(1.0, load.cpu / cores) if running else 0.0,
        maxcpu=cores,
        mem=mem,
        maxmem=maxmem,
        swap=min(load.mem_bytes - mem, maxswap),
        maxswap=maxswap,
        disk=min(size, max(used, load.disk_bytes)),
        maxdisk=size,
        netin=load.netin,
        netout=load.netout,
        # reads and writes follow the data the CT holds and its network traffic
        diskread=int(used * 0.12) + load.netout // 4 if running else 0,
        diskwrite=int(used * 0.03) + load.netin // 8 if running else 0,
        uptime=uptime,
    )


def node_figures(cluster: Cluster, node: SimNode, now: float) -> NodeFigures:
    """The node's figures now (its running containers' load read at this moment)."""
    running = [ct for ct in cluster.containers.values() if ct.node == node.name and ct.status == "running"]
    figures = [container_figures(cluster, ct, now) for ct in running]
    return node_figures_from(cluster, node, now, figures, cluster.storage_used(node.name, "local"))


def running_by_node(cluster: Cluster) -> dict[str, list[SimContainer]]:
    """The running containers of every node, in one pass over the cluster."""
    running: dict[str, list[SimContainer]] = {name: [] for name in cluster.nodes}
    for ct in cluster.containers.values():
        if ct.status == "running":
            running.setdefault(ct.node, []).append(ct)
    return running


def node_figures_from(
    cluster: Cluster, node: SimNode, now: float, running: list[ContainerFigures], rootfs_used: int
) -> NodeFigures:
    """The node's figures from its running containers' figures and the use of its ``local`` storage."""
    uptime = now - node.boot_time
    rhythm = 0.5 + 0.5 * math.sin(2 * math.pi * uptime / 3600 + node.index)
    host_cores = 0.15 + 0.1 * rhythm  # the node's own daemons
    busy = host_cores + sum(f.cpu * f.maxcpu for f in running)
    mem = NODE_BASE_MEM + int(0.3 * GIB * rhythm) + sum(f.mem for f in running)
    return NodeFigures(
        cpu=min(1.0, busy / node.cores),
        maxcpu=node.cores,
        mem=min(mem, node.memory),
        maxmem=node.memory,
        swap=0,
        rootfs_used=rootfs_used,
        rootfs_total=cluster.storages["local"].total,
        netin=int(uptime * 1800) + sum(f.netin for f in running),
        netout=int(uptime * 1400) + sum(f.netout for f in running),
        iowait=min(0.2, 0.0005 + 0.002 * len(running)),
        uptime=int(uptime),
        running=len(running),
    )


class Metrics:
    """Minute samples per entity (``node/pve1``, ``lxc/100``) and the RRD answers built from them."""

    def __init__(self, cluster: Cluster) -> None:
        self._cluster = cluster
        self._lock = threading.Lock()
        self._series: dict[str, deque[dict[str, Any]]] = {}
        self._counters: dict[str, tuple[float, int, int]] = {}  # key -> (time, netin, netout)

    def sample(self, now: float | None = None) -> None:
        """Record this minute's point for every online node and running container."""
        now = time.time() if now is None else now
        with self._cluster.lock:
            points: list[tuple[str, dict[str, Any], int, int]] = []
            for node in self._cluster.nodes.values():
                if self._cluster.faults.is_offline(node.name):
                    continue
                f = node_figures(self._cluster, node, now)
                load = f.cpu * f.maxcpu
                points.append(
                    (
                        f"node/{node.name}",
                        {
                            "cpu": f.cpu,
                            "maxcpu": f.maxcpu,
                            "mem": f.mem,
                            "memtotal": f.maxmem,
                            "loadavg": load,
                            "iowait": f.iowait,
                            "rootused": f.rootfs_used,
                            "roottotal": f.rootfs_total,
                            "swapused": f.swap,
                            "swaptotal": SWAP_TOTAL,
                        },
                        f.netin,
                        f.netout,
                    )
                )
            for ct in self._cluster.containers.values():
                if ct.status != "running":
                    continue
                c = container_figures(self._cluster, ct, now)
                points.append(
                    (
                        f"lxc/{ct.vmid}",
                        {
                            "cpu": c.cpu,
                            "maxcpu": c.maxcpu,
                            "mem": c.mem,
                            "maxmem": c.maxmem,
                            "disk": c.disk,
                            "maxdisk": c.maxdisk,
                            "diskread": 0.0,
                            "diskwrite": 0.0,
                        },
                        c.netin,
                        c.netout,
                    )
                )
        minute = int(now) // 60 * 60
        with self._lock:
            for key, values, netin, netout in points:
                previous = self._counters.get(key)
                if previous and now > previous[0] and netin >= previous[1]:
                    values["netin"] = (netin - previous[1]) / (now - previous[0])
                    values["netout"] = max(0, netout - previous[2]) / (now - previous[0])
                self._counters[key] = (now, netin, netout)
                series = self._series.setdefault(key, deque(maxlen=RETENTION_MINUTES))
                if series and series[-1]["time"] == minute:
                    series[-1] = {**series[-1], **values, "time": minute}
                else:
                    series.append({"time": minute, **values})

    def forget(self, key: str) -> None:
        with self._lock:
            self._series.pop(key, None)
            self._counters.pop(key, None)

    def rrddata(self, key: str, timeframe: str, cf: str = "AVERAGE", now: float | None = None) -> list[dict]:
        step, count = TIMEFRAMES[timeframe]
        now = time.time() if now is None else now
        last = int(now) // step * step
        buckets: dict[int, list[dict[str, Any]]] = {}
        with self._lock:
            for point in self._series.get(key, ()):
                slot = point["time"] // step * step
                if slot > last - step * count:
                    buckets.setdefault(slot, []).append(point)
        rows = []
        for i in range(count - 1, -1, -1):
            slot = last - i * step
            points = buckets.get(slot)
            row: dict[str, Any] = {"time": slot}
            if points:
                for field in points[-1]:
                    if field == "time":
                        continue
                    values = [p[field] for p in points if field in p]
                    if values:
                        row[field] = max(values) if cf == "MAX" else sum(values) / len(values)
            rows.append(row)
        return rows
