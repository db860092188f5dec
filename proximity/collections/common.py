"""Helpers the app verbs share: names, hosts, URLs, and waiting on a container (address, health)."""

from __future__ import annotations

import re
from typing import Any

import anyio

from proximity.catalog.schema import CatalogEntry
from proximity.collections.core import Core
from proximity.collections.health import wait_healthy
from proximity.errors import NotFound, Timeout, ValidationError
from proximity.models import App, AppStatus
from proximity.pve.host import PveHost

# An app name is its container's hostname: one DNS label as PVE checks it (no trailing "-"), lower case.
NAME_PATTERN = r"^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$"
JOB_TAG = "proximity"
# PVE's "pve-node" format. A node name goes into API paths (nodes/<node>/lxc): a "/" would change the call.
NODE_PATTERN = r"^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$"


# A container's description says which catalog entry it runs and how it was installed, so a container whose
# record is gone (a deleted app's final backup, restored later) can be recorded again with its entry.
_DESCRIPTION = re.compile(
    r"(?P<catalog_id>[a-z0-9][a-z0-9._-]*) app '[^']*'(?: \((?P<method>[a-z]+)\))?, "
    r"(?:deployed|updated|cloned) by Proximity"
)


def ct_description(catalog_id: str, name: str, method: str, verb: str) -> str:
    """``jellyfin app 'movies' (compose), deployed by Proximity``."""
    return f"{catalog_id} app '{name}' ({method}), {verb} by Proximity"


def parse_ct_description(text: str | None) -> tuple[str, str | None] | None:
    """(catalog id, install method or None for descriptions written before it was recorded) or None."""
    found = _DESCRIPTION.search(text or "")
    return (found["catalog_id"], found["method"]) if found else None


def job_tag(job_id: str) -> str:
    """The PVE tag a job puts on the containers it creates, so an interrupted job finds them again."""
    return f"px-{job_id}"


async def ct_by_tag(core: Core, host: PveHost, tag: str) -> int | None:
    for ct in await core.call(host.containers):
        if tag in str(ct.get("tags", "")).split(";"):
            return int(ct["vmid"])
    return None


async def wait_ip(core: Core, host: PveHost, node: str, vmid: int, timeout_s: float = 120.0) -> str:
    interval = 0.05
    with anyio.move_on_after(timeout_s):
        while True:
            ip = await core.call(host.ct_ipv4, node, vmid)
            if ip:
                return ip
            await anyio.sleep(interval)
            interval = min(interval * 1.5, 2.0)
    raise Timeout(f"CT {vmid} got no IPv4 address within {timeout_s:.0f}s")


async def check_app_health(core: Core, catalog_id: str, ip: str) -> str:
    """Wait for an app (recorded under ``catalog_id``, answering on ``ip``) to pass its entry's health check."""
    entry = core.catalog.get(catalog_id)
    if entry is None or entry.healthcheck is None:
        return "no health check declared"
    values = {
        "catalog_id": entry.id,
        "ip": ip,
        "health": entry.healthcheck.model_dump(),
        "health_timeout_s": core.settings.health_timeout_s,
    }
    return await check_health(core, values)


async def check_health(core: Core, values: dict[str, Any]) -> str:
    health = values.get("health")
    if not health:
        return "no health check declared"
    entry = core.catalog_entry(values["catalog_id"])
    port = next(p for p in entry.ports if p.name == health["port"])
    return await wait_healthy(
        values["ip"],
        port.port,
        kind=health["kind"],
        path=health["path"],
        expect=health["expect_status"],
        https=port.scheme == "https",
        timeout_s=values.get("health_timeout_s") or health["timeout_s"],
    )


def check_name(name: str) -> None:
    if not isinstance(name, str) or not re.fullmatch(NAME_PATTERN, name):  # fullmatch: no trailing \n
        raise ValidationError(
            f"app name {name!r} must be 1-63 lower-case letters, digits and '-', starting with a letter "
            "and not ending with '-' (it becomes the container's host name)"
        )


def check_node_name(node: str) -> None:
    if not isinstance(node, str) or len(node) > 63 or not re.fullmatch(NODE_PATTERN, node):
        raise ValidationError(f"node name {node!r} is not a PVE node name (letters, digits and '-')")


async def resolve_host(core: Core, host: str | None) -> str:
    hosts = core.store.list_hosts()
    if host is not None:
        if not any(h.name == host for h in hosts):
            raise NotFound(f"no host named {host!r}")
        return host
    if len(hosts) == 1:
        return hosts[0].name
    if not hosts:
        raise NotFound("no host added yet (proximity hosts add ...)")
    raise ValidationError(f"several hosts are recorded ({', '.join(h.name for h in hosts)}); name one")


def plan_sizes(
    entry: CatalogEntry, cores: int | None, memory_mb: int | None, disk_gb: int | None
) -> dict[str, int]:
    res = entry.resources
    sizes = {
        "cores": cores or res.cores,
        "memory_mb": memory_mb or res.memory_mb,
        "disk_gb": disk_gb or res.disk_gb,
    }
    if sizes["cores"] < res.cores_min:
        raise ValidationError(f"{entry.id} needs at least {res.cores_min} core(s)")
    if sizes["memory_mb"] < res.memory_min_mb:
        raise ValidationError(f"{entry.id} needs at least {res.memory_min_mb} MiB of memory")
    if sizes["disk_gb"] < res.disk_min_gb:
        raise ValidationError(f"{entry.id} needs at least {res.disk_min_gb} GiB of disk")
    return sizes


def secret_values(core: Core, name: str) -> dict[str, str]:
    return {k: v.get_secret_value() for k, v in core.store.secrets.app(name).items()}


def app_url(entry: CatalogEntry | None, ip: str | None) -> str | None:
    if entry is None or ip is None:
        return None
    port = entry.web_port or (entry.ports[0] if entry.ports else None)
    if port is None:
        return None
    if port.scheme is None and not port.web_ui:
        return f"tcp://{ip}:{port.port}"  # a non-web port (MQTT, a database): no http:// link to offer
    return f"{port.scheme or 'http'}://{ip}:{port.port}/"


def merge_live(app: App, ct: dict[str, Any] | None) -> None:
    """Proxmox is the source of truth for the state; the record for what Proximity is doing."""
    if ct is None:
        if app.status != AppStatus.DEPLOYING:
            app.status = AppStatus.MISSING
        return
    if app.status in (AppStatus.DEPLOYING, AppStatus.MISSING):
        return  # a missing app's VMID may now belong to another container
    app.status = AppStatus.RUNNING if ct.get("status") == "running" else AppStatus.STOPPED
    if ct.get("node"):
        app.node = ct["node"]


async def is_running(core: Core, host: PveHost, node: str, vmid: int) -> bool:
    return (await core.call(host.ct_status, node, vmid)).get("status") == "running"


async def start_again(core: Core, host: PveHost, node: str, vmid: int) -> None:
    """The undo of a step that stopped a running app on the way to replacing or destroying it: if the
    container is still there and stopped, start it again."""
    try:
        running = await is_running(core, host, node, vmid)
    except NotFound:
        return
    if not running:
        await core.call(host.start, node, vmid)
