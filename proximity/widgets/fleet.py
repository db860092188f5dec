"""A snapshot of the whole fleet for notebooks: hosts, their nodes, and the apps on each node with the
resources Proxmox measures for them right now.

``collect_fleet(px)`` costs two API calls per host: ``px.apps.list()`` (the SDK's live app states) and one
``cluster/resources`` read through the documented low-level layer ``px.pve(host)`` for the measured CPU,
memory and disk of every node and container (the ``App`` model carries sizes, not usage).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from proximity.errors import ProximityError
from proximity.models import App, Node


@dataclass(frozen=True)
class AppUsage:
    """One app and what its container uses now (None where Proxmox reported nothing)."""

    name: str
    catalog_id: str
    host: str
    node: str
    vmid: int
    status: str
    url: str | None
    cores: int
    memory_mb: int
    disk_gb: int
    cpu: float | None = None  # fraction of the container's cores, 0..1 (PVE's ``cpu``)
    mem_bytes: int | None = None
    maxmem_bytes: int | None = None
    disk_bytes: int | None = None
    maxdisk_bytes: int | None = None

    @property
    def cpu_percent(self) -> float | None:
        return None if self.cpu is None else self.cpu * 100.0

    @property
    def mem_mib(self) -> float | None:
        return None if self.mem_bytes is None else self.mem_bytes / 2**20

    @property
    def disk_gib(self) -> float | None:
        return None if self.disk_bytes is None else self.disk_bytes / 2**30


@dataclass(frozen=True)
class NodeView:
    node: Node
    apps: tuple[AppUsage, ...] = ()


@dataclass(frozen=True)
class HostView:
    name: str
    url: str
    nodes: tuple[NodeView, ...] = ()
    error: str | None = None  # set when the host could not be read; its apps are then unknown


@dataclass(frozen=True)
class Fleet:
    hosts: tuple[HostView, ...]
    taken_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def apps(self) -> list[AppUsage]:
        return [app for host in self.hosts for node in host.nodes for app in node.apps]

    def app(self, name: str) -> AppUsage:
        for app in self.apps():
            if app.name == name:
                return app
        raise KeyError(name)


def _optional_int(row: dict[str, Any] | None, key: str) -> int | None:
    if row is None or row.get(key) is None:
        return None
    return int(row[key])


def app_usage(app: App, ct: dict[str, Any] | None) -> AppUsage:
    """Combine the SDK's app record with the ``cluster/resources`` row of its container (if any)."""
    running = ct is not None and ct.get("status") == "running"
    return AppUsage(
        name=app.name,
        catalog_id=app.catalog_id,
        host=app.host,
        node=app.node,
        vmid=app.vmid,
        status=app.status.value,
        url=app.url,
        cores=app.cores,
        memory_mb=app.memory_mb,
        disk_gb=app.disk_gb,
        cpu=float(ct.get("cpu") or 0.0) if running and ct is not None else None,
        mem_bytes=_optional_int(ct, "mem") if running else None,
        maxmem_bytes=_optional_int(ct, "maxmem"),
        disk_bytes=_optional_int(ct, "disk"),
        maxdisk_bytes=_optional_int(ct, "maxdisk"),
    )


def collect_fleet(px: Any) -> Fleet:
    """Read every host of a ``Proximity`` client into a ``Fleet`` (a host that cannot be reached is kept,
    with its error, so a dashboard shows it as down rather than hiding it)."""
    apps_by_host: dict[str, list[App]] = {}
    for app in px.apps.list():
        apps_by_host.setdefault(app.host, []).append(app)
    hosts = []
    for host in px.hosts.list():
        try:
            pve = px.pve(host.name)
            rows = pve.resources()
            nodes = pve.nodes(rows)
            cts = {int(ct["vmid"]): ct for ct in pve.containers(rows)}
        except ProximityError as error:
            hosts.append(HostView(name=host.name, url=host.url, error=f"{type(error).__name__}: {error}"))
            continue
        host_apps = apps_by_host.get(host.name, [])
        views = []
        for node in nodes:
            on_node = sorted((a for a in host_apps if a.node == node.name), key=lambda a: a.vmid)
            views.append(NodeView(node=node, apps=tuple(app_usage(a, cts.get(a.vmid)) for a in on_node)))
        hosts.append(HostView(name=host.name, url=host.url, nodes=tuple(views)))
    return Fleet(hosts=tuple(hosts))
