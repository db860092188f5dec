"""The rack's data: one flat row per app (a *unit*), built from SDK objects, and the deltas between two
snapshots of those rows.

A unit is a plain dict with the keys of ``UNIT_FIELDS``; the browser receives the first snapshot as rows of
values (``snapshot()``), then only what changed (``diff()``). Usage figures (``cpu``/``mem``/``disk``, whole
percents) come from Proxmox's ``cluster/resources`` rows and are ``None`` whenever Proxmox did not measure
them (the container is not running, or the row lacks the figure): the rack shows "—", never 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TypedDict

from proximity.catalog.schema import CatalogEntry
from proximity.errors import NotFound
from proximity.models import App, AppStatus, Backup, Job

UNIT_FIELDS: tuple[str, ...] = (
    "id", "catalog", "host", "node", "status", "vmid", "ip", "url", "cores", "memory_mb", "disk_gb",
    "ports", "cpu", "mem", "disk", "last_backup",
)  # fmt: skip

# The statuses a unit's LED can show (rack.css colours them).
RACK_STATUSES: tuple[str, ...] = (
    "deploying", "cloning", "backing-up", "restoring", "updating",
    "running", "stopped", "error", "missing", "unknown",
)  # fmt: skip

_FROM_APP_STATUS: dict[AppStatus, str] = {
    AppStatus.RUNNING: "running",
    AppStatus.STOPPED: "stopped",
    AppStatus.DEPLOYING: "deploying",
    AppStatus.FAILED: "error",
    AppStatus.MISSING: "missing",
    AppStatus.UNKNOWN: "unknown",
}

# A job in flight shows on the LED of the app it works on (job kind -> rack status).
_ACTIVITY_OF_JOB_KIND: dict[str, str] = {
    "deploy": "deploying",
    "clone": "cloning",
    "backup": "backing-up",
    "restore": "restoring",
    "update": "updating",
}


class Unit(TypedDict):
    id: str
    catalog: str
    host: str | None
    node: str | None
    status: str
    vmid: int | None
    ip: str | None
    url: str | None
    cores: int | None
    memory_mb: int | None
    disk_gb: int | None
    ports: list[str]
    cpu: int | None
    mem: int | None
    disk: int | None
    last_backup: str | None


class Kind(TypedDict):
    """What every unit of one catalog entry shares (sent once per entry, not once per unit)."""

    name: str
    glyph: str
    color: str
    icon: str | None
    paths: list[str]


class Delta(TypedDict):
    set: dict[str, dict[str, Any]]  # unit id -> only the fields that changed
    add: list[list[Any]]  # new units, as rows of UNIT_FIELDS values
    remove: list[str]  # unit ids
    kinds: dict[str, Kind]  # catalog entries the added units need that the browser has not seen


# ------------------------------------------------------------------ from the SDK


def percent(used: Any, total: Any) -> int | None:
    """``used`` of ``total`` as a whole percent, or None when either figure is missing or total is 0."""
    if used is None or total is None:
        return None
    try:
        used_f, total_f = float(used), float(total)
    except (TypeError, ValueError):
        return None
    if total_f <= 0 or used_f < 0:
        return None
    return min(100, round(100 * used_f / total_f))


def usage_of(resource: Mapping[str, Any] | None) -> tuple[int | None, int | None, int | None]:
    """(cpu, mem, disk) percents from one ``cluster/resources`` row of a container. Proxmox measures a
    container only while it runs, so a stopped one (or no row) gives no figures at all."""
    if resource is None or resource.get("status") != "running":
        return None, None, None
    cpu_fraction = resource.get("cpu")  # PVE: fraction of the container's own cores, 0..1
    cpu = percent(cpu_fraction, 1.0) if cpu_fraction is not None else None
    return (
        cpu,
        percent(resource.get("mem"), resource.get("maxmem")),
        percent(resource.get("disk"), resource.get("maxdisk")),
    )


def activities(jobs: Iterable[Job]) -> dict[str, str]:
    """app name -> rack status, for the jobs still running (a clone also marks its source app)."""
    found: dict[str, str] = {}
    for job in jobs:
        activity = _ACTIVITY_OF_JOB_KIND.get(job.kind)
        if activity is None:
            continue
        for key in ("app", "name", "source"):
            name = job.context.get(key)
            if isinstance(name, str) and name:
                found[name] = activity
    return found


def last_backups(backups: Iterable[Backup]) -> dict[str, datetime]:
    """app name -> time of its newest backup."""
    newest: dict[str, datetime] = {}
    for backup in backups:
        if backup.app and (backup.app not in newest or backup.created_at > newest[backup.app]):
            newest[backup.app] = backup.created_at
    return newest


def kind_of(catalog_id: str, entry: CatalogEntry | None) -> Kind:
    """An entry's look and persistent paths; an app adopted without an entry gets a neutral tile."""
    if entry is None:
        return Kind(
            name=catalog_id, glyph=catalog_id[:2].upper() or "?", color="#607d8b", icon=None, paths=[]
        )
    return Kind(
        name=entry.name,
        glyph=entry.icon.glyph,
        color=entry.icon.color,
        icon=str(entry.icon.url) if entry.icon.url else None,
        paths=[volume.path for volume in entry.volumes],
    )


def unit_of(
    app: App,
    resource: Mapping[str, Any] | None,
    activity: str | None = None,
    last_backup: datetime | None = None,
) -> Unit:
    """One unit from an app, its ``cluster/resources`` row (None if Proxmox did not list it), the job in
    flight on it (``activities()``) and the time of its newest backup."""
    cpu, mem, disk = usage_of(resource)
    return Unit(
        id=app.name,
        catalog=app.catalog_id,
        host=app.host,
        node=app.node,
        status=activity or _FROM_APP_STATUS.get(app.status, "unknown"),
        vmid=app.vmid,
        ip=app.ip,
        url=app.url,
        cores=app.cores,
        memory_mb=app.memory_mb,
        disk_gb=app.disk_gb,
        ports=[f"{p.name} {p.port}/{p.protocol}" for p in app.ports],
        cpu=cpu,
        mem=mem,
        disk=disk,
        last_backup=f"{last_backup:%Y-%m-%d %H:%M} UTC" if last_backup else None,
    )


def pending_unit(name: str, catalog_id: str) -> Unit:
    """A deploy the SDK has not recorded yet: only its name and catalog entry are known."""
    return Unit(
        id=name, catalog=catalog_id, host=None, node=None, status="deploying", vmid=None, ip=None, url=None,
        cores=None, memory_mb=None, disk_gb=None, ports=[], cpu=None, mem=None, disk=None, last_backup=None,
    )  # fmt: skip


def build_units(
    apps: Iterable[App],
    resources: Mapping[tuple[str, int], Mapping[str, Any]],
    *,
    activity: Mapping[str, str] | None = None,
    backups: Mapping[str, datetime] | None = None,
    deploying: Mapping[str, str] | None = None,
) -> list[Unit]:
    """Units sorted by host, node, name. ``resources``: (host, vmid) -> that container's
    ``cluster/resources`` row; ``deploying``: deploys in flight not recorded yet (name -> catalog id)."""
    activity, backups = activity or {}, backups or {}
    units = [
        unit_of(app, resources.get((app.host, app.vmid)), activity.get(app.name), backups.get(app.name))
        for app in apps
    ]
    recorded = {unit["id"] for unit in units}
    units += [pending_unit(name, cid) for name, cid in (deploying or {}).items() if name not in recorded]
    return sorted(units, key=lambda u: (u["host"] or "", u["node"] or "", u["id"]))


def collect(px: Any, deploying: Mapping[str, str] | None = None) -> tuple[list[Unit], dict[str, Kind]]:
    """Units and kinds read through a sync ``Proximity`` client.

    Reads: ``apps.list()`` (one ``cluster/resources`` call per host, for the states), one more
    ``cluster/resources?type=vm`` per host for the usage figures (``App`` carries no usage yet), the
    running jobs, and the backup index (``refresh=False``: no storage listing)."""
    apps = px.apps.list()
    resources: dict[tuple[str, int], Mapping[str, Any]] = {}
    for host in sorted({app.host for app in apps}):
        for row in px.pve(host).containers(px.pve(host).resources("vm")):
            resources[(host, int(row["vmid"]))] = row
    units = build_units(
        apps,
        resources,
        activity=activities(px.jobs.list(state="running")),
        backups=last_backups(px.backups.list(refresh=False)),
        deploying=deploying,
    )
    kinds = {cid: kind_of(cid, _entry(px, cid)) for cid in sorted({u["catalog"] for u in units})}
    return units, kinds


def _entry(px: Any, catalog_id: str) -> CatalogEntry | None:
    try:
        return px.catalog.get(catalog_id)
    except NotFound:
        return None


# ------------------------------------------------------------------ snapshot and deltas


def row_of(unit: Unit) -> list[Any]:
    return [unit[field] for field in UNIT_FIELDS]  # type: ignore[literal-required]


def snapshot(units: Iterable[Unit], kinds: Mapping[str, Kind]) -> dict[str, Any]:
    """The component's initial value: field names once, then one row of values per unit."""
    return {"fields": list(UNIT_FIELDS), "rows": [row_of(u) for u in units], "kinds": dict(kinds)}


def diff(
    old: Iterable[Unit], new: Iterable[Unit], kinds: Mapping[str, Kind], known_kinds: Iterable[str] = ()
) -> Delta | None:
    """What turns ``old`` into ``new``: only the changed fields of changed units, the added units (with
    any kind not in ``known_kinds``) and the removed ids. None when nothing changed."""
    before = {u["id"]: u for u in old}
    after = {u["id"]: u for u in new}
    changed: dict[str, dict[str, Any]] = {}
    for unit_id, unit in after.items():
        previous = before.get(unit_id)
        if previous is None:
            continue
        fields = {f: unit[f] for f in UNIT_FIELDS if unit[f] != previous[f]}  # type: ignore[literal-required]
        if fields:
            changed[unit_id] = fields
    added = [after[i] for i in after if i not in before]
    removed = [i for i in before if i not in after]
    if not (changed or added or removed):
        return None
    seen = set(known_kinds)
    new_kinds = {
        u["catalog"]: kinds[u["catalog"]] for u in added if u["catalog"] not in seen and u["catalog"] in kinds
    }
    return Delta(set=changed, add=[row_of(u) for u in added], remove=removed, kinds=new_kinds)
