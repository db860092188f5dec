"""A container's status row (``GET .../lxc``, ``status/current``) and its ``cluster/resources`` row, and the
cache that keeps the latter encoded between requests.

With 1,000 containers, building and JSON-encoding every row on every ``GET /cluster/resources`` took about
25 ms. A row is a function of a few facts (the container's status, some config values, its root volume's
size and use, its pool, whether its node is offline) and, while it runs, of its load. ``GuestRows`` keeps
each container's row as the JSON bytes it encodes to, together with those facts, and rebuilds it only when
they differ. The load of a running container is re-read at most once per ``FIGURES_TTL_S``: a real node's
``cluster/resources`` figures are pvestatd's, refreshed every 10 seconds. ``GET /nodes`` and the ``lxc``
list read the same cached figures; ``status/current`` and the RRD sampler read the load afresh.

Callers hold ``Cluster.lock`` (the cache is only read and written under it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from proximity.sim.metrics import ContainerFigures, container_figures
from proximity.sim.propstr import parse_propstr
from proximity.sim.state import Cluster, SimContainer, Volume

FIGURES_TTL_S = 1.0
_DROPPED_FROM_RESOURCES = ("pid", "swap", "maxswap", "cpus")


def status_row(ct: SimContainer, f: ContainerFigures) -> dict[str, Any]:
    """The row of ``GET /nodes/{node}/lxc`` and the base of ``status/current``."""
    row: dict[str, Any] = {
        "vmid": ct.vmid,
        "name": ct.name,
        "status": ct.status,
        "type": "lxc",
        "cpus": f.maxcpu,
        "cpu": round(f.cpu, 6),
        "mem": f.mem,
        "maxmem": f.maxmem,
        "swap": f.swap,
        "maxswap": f.maxswap,
        "disk": f.disk,
        "maxdisk": f.maxdisk,
        "netin": f.netin,
        "netout": f.netout,
        "diskread": f.diskread,
        "diskwrite": f.diskwrite,
        "uptime": f.uptime,
    }
    if ct.is_template:
        row["template"] = 1
    if ct.lock:
        row["lock"] = ct.lock
    if ct.config.get("tags"):
        row["tags"] = ct.config["tags"]
    if ct.status == "running" and ct.pid:
        row["pid"] = ct.pid
    return row


def resource_row(ct: SimContainer, f: ContainerFigures, pool: str | None, offline: bool) -> dict[str, Any]:
    """The container's row of ``GET /cluster/resources``."""
    row = status_row(ct, f)
    for key in _DROPPED_FROM_RESOURCES:
        row.pop(key, None)
    row.update(
        {
            "id": f"lxc/{ct.vmid}",
            "node": ct.node,
            "maxcpu": int(ct.config.get("cores", 1) or 1),
            "template": int(ct.is_template),
        }
    )
    if offline:
        row["status"] = "unknown"
    if pool is not None:
        row["pool"] = pool
    return row


@dataclass(slots=True)
class _Entry:
    facts: tuple[Any, ...]  # what the figures and the row depend on, pool and node reachability aside
    figures: ContainerFigures
    figures_at: float
    placement: tuple[str | None, bool] | None = None  # (pool, node offline) the encoded row was made for
    encoded: bytes | None = None


class GuestRows:
    """Per-container figures and encoded ``cluster/resources`` rows, rebuilt when their facts change."""

    def __init__(self, ttl: float = FIGURES_TTL_S) -> None:
        self._ttl = ttl
        self._entries: dict[int, _Entry] = {}

    def figures(self, cluster: Cluster, ct: SimContainer, now: float) -> ContainerFigures:
        """The container's figures: recomputed when its facts changed or, while it runs, when stale."""
        return self._entry(cluster, ct, now, _facts(ct, _root_volume(cluster, ct))).figures

    def resource_json(
        self,
        cluster: Cluster,
        cts: Iterable[SimContainer],
        now: float,
        pool_of: Mapping[int, str],
        offline: Mapping[str, bool],
    ) -> list[bytes]:
        """Each container's ``cluster/resources`` row, JSON-encoded as the server encodes answers.

        This loop runs once per container per request, so it reads the facts inline (as ``_facts``)."""
        encoded: list[bytes] = []
        entries = self._entries
        volumes = cluster.volumes
        ttl = self._ttl
        for ct in cts:
            vmid, node, config = ct.vmid, ct.node, ct.config
            rootfs = config.get("rootfs")
            volume = volumes.get(node, {}).get(_volid(rootfs)) if rootfs is not None else None
            facts = (
                node, ct.status, ct.started_at, ct.pid, config.get("hostname"), config.get("cores"),
                config.get("memory"), config.get("swap"), config.get("tags"), config.get("lock"),
                config.get("template"), rootfs, volume.size if volume is not None else None,
                volume.used if volume is not None else None,
            )  # fmt: skip
            placement = (pool_of.get(vmid), offline[node])
            entry = entries.get(vmid)
            if (
                entry is None
                or entry.facts != facts
                or (ct.started_at is not None and ct.status == "running" and now - entry.figures_at >= ttl)
            ):
                entry = self._entry(cluster, ct, now, facts)
            if entry.encoded is None or entry.placement != placement:
                row = resource_row(ct, entry.figures, *placement)
                entry.encoded = json.dumps(row, separators=(",", ":")).encode()
                entry.placement = placement
            encoded.append(entry.encoded)
        return encoded

    def forget_missing(self, cluster: Cluster) -> None:
        """Drop the entries of containers that are gone."""
        if len(self._entries) > len(cluster.containers):
            for vmid in [vmid for vmid in self._entries if vmid not in cluster.containers]:
                del self._entries[vmid]

    def _entry(self, cluster: Cluster, ct: SimContainer, now: float, facts: tuple[Any, ...]) -> _Entry:
        entry = self._entries.get(ct.vmid)
        running = ct.status == "running" and ct.started_at is not None
        fresh = entry is not None and not (running and now - entry.figures_at >= self._ttl)
        if entry is not None and fresh and entry.facts == facts:
            return entry
        figures = container_figures(cluster, ct, now)  # may grow the volume's use: read the facts again
        entry = _Entry(_facts(ct, _root_volume(cluster, ct)), figures, now)
        self._entries[ct.vmid] = entry
        return entry


def _facts(ct: SimContainer, volume: Volume | None) -> tuple[Any, ...]:
    """Everything a container's figures and row depend on besides a running container's load (and the
    pool and node reachability, kept apart). ``GuestRows.resource_json`` builds it inline: keep in step."""
    config = ct.config
    return (
        ct.node,
        ct.status,
        ct.started_at,
        ct.pid,
        config.get("hostname"),
        config.get("cores"),
        config.get("memory"),
        config.get("swap"),
        config.get("tags"),
        config.get("lock"),
        config.get("template"),
        config.get("rootfs"),
        volume.size if volume is not None else None,
        volume.used if volume is not None else None,
    )


def _root_volume(cluster: Cluster, ct: SimContainer) -> Volume | None:
    rootfs = ct.config.get("rootfs")
    if rootfs is None:
        return None
    return cluster.volume(ct.node, _volid(rootfs))


@lru_cache(maxsize=8192)
def _volid(rootfs: Any) -> str:
    return str(parse_propstr(str(rootfs), "volume")["volume"])
