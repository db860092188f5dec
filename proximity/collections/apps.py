"""``px.apps``: deploy, list, get, and the lifecycle verbs. Every verb runs as a job (events, audit,
rollback); Proxmox-specific work goes through ``PveHost``/``Guest``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from proximity.catalog.schema import CatalogEntry
from proximity.collections import install as installer
from proximity.collections.common import (
    app_url,
    check_name,
    check_node_name,
    merge_live,
    plan_sizes,
    resolve_host,
)
from proximity.collections.core import Core
from proximity.collections.deploy import deploy_steps, place_with_storages
from proximity.collections.maintenance import action_steps, clone_steps, update_steps
from proximity.collections.oci_update import check_replaceable
from proximity.errors import (
    AlreadyExists,
    ConfirmationRequired,
    Conflict,
    NotFound,
    ProximityError,
    ValidationError,
)
from proximity.jobs import JobKind
from proximity.jobs.engine import EventCallback
from proximity.models import App, AppStatus, Drift, Job, MetricPoint, PortBinding
from proximity.pve import props
from proximity.pve.guest import Guest
from proximity.pve.host import rootfs_size_gb

# Verbs that change which CT or node the app is may not overlap another job on the app; power verbs may.
ACTION_CLAIMS = {
    "start": "shared",
    "stop": "shared",
    "shutdown": "shared",
    "restart": "shared",
    "resize": "shared",
    "migrate": "exclusive",
    "delete": "exclusive",
}


class AsyncApps:
    """``px.apps``: deploy catalog apps, list them with their live state, and every lifecycle verb."""

    def __init__(self, core: Core, backups: Any):
        self._core = core
        self._backups = backups
        self._pending_secrets: dict[str, dict[str, str]] = {}
        # memory promised to deploys still running, per "host/node": concurrent placements see each other
        self._reserved_mb: dict[str, int] = {}
        core.runner.register(
            JobKind("deploy", lambda values: deploy_steps(core, values, self._pending_secrets))
        )
        core.runner.register(JobKind("app", lambda values: action_steps(core, backups, values)))
        core.runner.register(JobKind("clone", lambda values: clone_steps(core, values)))
        core.runner.register(JobKind("update", lambda values: update_steps(core, values, backups)))

    # ------------------------------------------------------------ reading

    def _bind(self, app: App) -> App:
        return app._bind(self)  # type: ignore[return-value]

    async def list(self, host: str | None = None, *, live: bool = True) -> list[App]:
        """Recorded apps; with ``live`` their state comes from Proxmox (one cluster/resources call per host)."""
        apps = self._core.store.list_apps(host)
        if live:
            by_host: dict[str, list[App]] = {}
            for app in apps:
                by_host.setdefault(app.host, []).append(app)
            for host_name, host_apps in by_host.items():
                try:
                    cts = await self._core.call(self._core.pve(host_name).containers)
                except ProximityError:
                    for app in host_apps:
                        if app.status not in (AppStatus.DEPLOYING, AppStatus.FAILED):
                            app.status = AppStatus.UNKNOWN
                    continue
                by_vmid = {int(ct["vmid"]): ct for ct in cts}
                for app in host_apps:
                    merge_live(app, by_vmid.get(app.vmid))
        return [self._bind(a) for a in apps]

    async def get(self, name: str, *, live: bool = True) -> App:
        """The app ``name``; with ``live`` its state is read from Proxmox (``NotFound`` if not recorded)."""
        app = self._core.store.get_app(name)
        if live:
            pve = self._core.pve(app.host)
            try:
                status = await self._core.call(pve.ct_status, app.node, app.vmid)
                merge_live(app, {"status": status.get("status"), "node": app.node})
            except NotFound:
                merge_live(app, None)
            except ProximityError:
                app.status = AppStatus.UNKNOWN
        return self._bind(app)

    async def reload(self, app: App) -> App:
        """Refresh ``app`` in place with its live state; returns it."""
        app._refresh_from(await self.get(app.name))
        return app

    # ------------------------------------------------------------ deploy

    async def deploy(
        self,
        catalog_id: str,
        *,
        name: str | None = None,
        host: str | None = None,
        node: str | None = None,
        cores: int | None = None,
        memory: int | None = None,
        disk: int | None = None,
        env: dict[str, Any] | None = None,
        method: str | None = None,
        on_event: EventCallback | None = None,
    ) -> App:
        """Deploy a catalog app. ``memory`` in MiB, ``disk`` in GiB; None means the Settings default, else
        the catalog entry's recommendation. Rolls back everything on failure."""
        core = self._core
        entry: CatalogEntry = core.catalog_entry(catalog_id)
        name = name or catalog_id
        check_name(name)
        if node:
            check_node_name(node)
        if core.store.find_app(name) is not None:
            raise AlreadyExists(f"an app named {name!r} already exists")
        settings = core.settings
        host_name = await resolve_host(core, host)
        pve = core.pve(host_name)
        sizes = plan_sizes(
            entry,
            cores if cores is not None else settings.cores,
            memory if memory is not None else settings.memory_mb,
            disk if disk is not None else settings.disk_gb,
        )
        public, hidden = installer.resolve_inputs(entry, env or {})
        version = await core.call(pve.version)
        chosen = installer.choose_method(entry, method or settings.install_method, version)
        if method and chosen.type != method:
            raise ValidationError(f"{entry.id} cannot be installed with {method!r}")
        node_storages: list[Any] = []
        if node:
            target = node
        else:
            target, placed_storages = await place_with_storages(
                core, pve, sizes["memory_mb"], self._reserved_mb
            )
            node_storages = [s.model_dump(mode="json") for s in placed_storages]
        node_key = f"{host_name}/{target}"
        req = entry.requirements
        health = entry.healthcheck
        values: dict[str, Any] = {
            "name": name,
            "catalog_id": entry.id,
            "version": entry.version,
            "host": host_name,
            "node": target,
            "node_key": f"{host_name}/{target}",
            "method": chosen.type,
            **sizes,
            "swap_mb": settings.swap_mb,
            "storage": settings.storage,
            "bridge": settings.bridge,
            "template": installer.script_template(chosen) if chosen.type == "script" else settings.template,
            "unprivileged": settings.unprivileged and not req.privileged,
            # keyctl is for Docker inside the CT; an OCI app container runs its image directly
            "features": props.features(
                nesting=req.nesting, keyctl=req.keyctl and chosen.type != "oci", fuse=req.fuse
            ),
            "env_public": public,
            "secret_names": sorted(hidden),
            "ports": [{"name": p.name, "port": p.port, "protocol": p.protocol} for p in entry.ports],
            "health": health.model_dump() if health else None,
            "health_timeout_s": settings.health_timeout_s or (health.timeout_s if health else 0),
            "vmid": None,
            "ip": None,
            "url": None,
            "ostemplate": None,
            "node_storages": node_storages,
        }
        # the name is claimed with the job, atomically: another deploy of it (here or in another process
        # sharing the database) is refused until this one ends
        job = core.runner.new_job("deploy", name, values, claims={name: "create"})
        self._pending_secrets[job.id] = hidden
        self._reserved_mb[node_key] = self._reserved_mb.get(node_key, 0) + sizes["memory_mb"]
        try:
            await core.runner.run_job(job, on_event=on_event)
        except BaseException as error:
            core.audit("apps.deploy", name, f"failed: {type(error).__name__}")
            raise
        finally:
            self._pending_secrets.pop(job.id, None)
            self._reserved_mb[node_key] -= sizes["memory_mb"]
        core.audit("apps.deploy", name, "ok")
        return await self.get(name, live=False)  # the job just started it and saw it answer

    # ------------------------------------------------------------ simple lifecycle verbs

    async def _act(self, name: str, action: str, on_event: EventCallback | None = None, **extra: Any) -> Job:
        app = self._core.store.get_app(name)
        if app.status == AppStatus.MISSING and action != "delete":
            raise Conflict(
                f"{name}'s container is gone (deleted outside Proximity); restore a backup or delete it"
            )
        values = {
            "action": action,
            "app": name,
            "host": app.host,
            "node": app.node,
            "vmid": app.vmid,
            "node_key": f"{app.host}/{app.node}",
            **extra,
        }
        try:
            job = await self._core.runner.run(
                "app", f"{action} {name}", values, on_event=on_event, claims={name: ACTION_CLAIMS[action]}
            )
        except BaseException as error:
            self._core.audit(f"apps.{action}", name, f"failed: {type(error).__name__}")
            raise
        self._core.audit(f"apps.{action}", name, "ok")
        return job

    async def start(self, name: str, *, on_event: EventCallback | None = None) -> App:
        """Start the app's container (a job); returns the app, running."""
        await self._act(name, "start", on_event)
        return await self.get(name, live=False)  # the job's last step just read the live state

    async def stop(self, name: str, *, on_event: EventCallback | None = None) -> App:
        """Stop the app's container at once (a job); returns the app, stopped."""
        await self._act(name, "stop", on_event)
        return await self.get(name, live=False)  # the job's last step just read the live state

    async def shutdown(self, name: str, *, timeout: int = 60, on_event: EventCallback | None = None) -> App:
        """Graceful shutdown; after ``timeout`` seconds the container is stopped hard."""
        if timeout < 1:
            raise ValidationError("timeout must be at least 1 second")
        await self._act(name, "shutdown", on_event, timeout=timeout)
        return await self.get(name, live=False)

    async def restart(self, name: str, *, on_event: EventCallback | None = None) -> App:
        """Restart the app's container (a job); returns the app, running."""
        await self._act(name, "restart", on_event)
        return await self.get(name, live=False)  # the job's last step just read the live state

    async def resize(
        self,
        name: str,
        *,
        cores: int | None = None,
        memory_mb: int | None = None,
        disk_gb: int | None = None,
        on_event: EventCallback | None = None,
    ) -> App:
        """Change cores, memory (MiB) or root disk size (GiB, grows only); undone on failure."""
        app = self._core.store.get_app(name)
        if cores is None and memory_mb is None and disk_gb is None:
            raise ValidationError("resize needs cores, memory_mb or disk_gb")
        if cores is not None and not 1 <= cores <= 128:
            raise ValidationError("cores must be between 1 and 128")
        if memory_mb is not None and memory_mb < 64:
            raise ValidationError("memory_mb must be at least 64")
        if disk_gb is not None and disk_gb < app.disk_gb:
            raise ValidationError(f"disks only grow: {name} has {app.disk_gb} GiB, asked for {disk_gb}")
        await self._act(name, "resize", on_event, cores=cores, memory_mb=memory_mb, disk_gb=disk_gb)
        return await self.get(name)

    async def migrate(self, name: str, node: str, *, on_event: EventCallback | None = None) -> App:
        """Move the app to another online node of its host (a running app is restarted there)."""
        app = self._core.store.get_app(name)
        if node == app.node:
            raise Conflict(f"{name} already runs on {node}")
        nodes = {n.name: n for n in await self._core.call(self._core.pve(app.host).nodes)}
        if node not in nodes or not nodes[node].online:
            raise NotFound(f"no online node {node!r} on {app.host}")
        await self._act(name, "migrate", on_event, target=node)
        return await self.get(name)

    # ------------------------------------------------------------ delete

    async def delete(
        self, name: str, *, purge: bool = False, confirm: bool = False, on_event: EventCallback | None = None
    ) -> None:
        """Destroy the app's container. Without ``purge`` a final backup is kept (restore it later with
        ``px.backups.restore``); with ``purge`` the app's backups and secrets go too."""
        if not confirm:
            raise ConfirmationRequired(f"deleting {name!r} needs confirm=True")
        missing = self._core.store.get_app(name).status == AppStatus.MISSING
        await self._act(name, "delete", on_event, purge=purge, missing=missing)

    # ------------------------------------------------------------ clone

    async def clone(self, name: str, new_name: str, *, on_event: EventCallback | None = None) -> App:
        """A new app from a temporary snapshot of ``name`` (the snapshot is removed afterwards)."""
        core = self._core
        check_name(new_name)
        source = core.store.get_app(name)
        if core.store.find_app(new_name) is not None:
            raise AlreadyExists(f"an app named {new_name!r} already exists")
        values = {
            "source": name,
            "name": new_name,
            "host": source.host,
            "node": source.node,
            "node_key": f"{source.host}/{source.node}",
            "source_vmid": source.vmid,
            "catalog_id": source.catalog_id,
            "method": source.install_method,
            "vmid": None,
            "ip": None,
        }
        try:
            claims = {new_name: "create", name: "shared"}
            await core.runner.run("clone", f"{name} -> {new_name}", values, on_event=on_event, claims=claims)
        except BaseException as error:
            core.audit("apps.clone", new_name, f"failed: {type(error).__name__}")
            raise
        core.audit("apps.clone", new_name, "ok")
        return await self.get(new_name)

    # ------------------------------------------------------------ safe update

    async def update(self, name: str, *, on_event: EventCallback | None = None) -> App:
        """Safe update; on any failure the app is put back as it was, automatically.

        Compose and script installs: snapshot -> update in place -> health check (rollback to the snapshot).
        OCI installs: backup -> new CT from the new image with the old CT's volumes -> health check
        (rollback to the old CT), since PVE cannot swap a container's image in place."""
        core = self._core
        app = core.store.get_app(name)
        entry = core.catalog_entry(app.catalog_id)
        if entry.update.method == "none":
            raise ValidationError(f"{entry.id} declares no update method")
        if app.install_method == "oci":
            if app.version == entry.version:
                core.audit("apps.update", name, f"already at {entry.version}")
                return await self.get(name)
            config = await core.call(core.pve(app.host).ct_config, app.node, app.vmid)
            check_replaceable(entry, config, app.vmid)
        values = {
            "app": name,
            "host": app.host,
            "node": app.node,
            "vmid": app.vmid,
            "ip": app.ip,
            "catalog_id": app.catalog_id,
            "install_method": app.install_method,
            "node_key": f"{app.host}/{app.node}",
            "version": entry.version,
            "health": entry.healthcheck.model_dump() if entry.healthcheck else None,
            "health_timeout_s": core.settings.health_timeout_s,
        }
        try:
            await core.runner.run("update", name, values, on_event=on_event, claims={name: "exclusive"})
        except BaseException as error:
            core.audit("apps.update", name, f"rolled back: {type(error).__name__}")
            raise
        core.audit("apps.update", name, "ok")
        return await self.get(name)

    # ------------------------------------------------------------ adopt, logs, metrics

    async def adopt(
        self, vmid: int, *, name: str, host: str | None = None, catalog_id: str | None = None
    ) -> App:
        """Record an existing container that Proximity did not create."""
        core = self._core
        check_name(name)
        if core.store.find_app(name) is not None:
            raise AlreadyExists(f"an app named {name!r} already exists")
        host_name = await resolve_host(core, host)
        pve = core.pve(host_name)
        ct = next((c for c in await core.call(pve.containers) if int(c["vmid"]) == vmid), None)
        if ct is None:
            raise NotFound(f"no container {vmid} on {host_name}")
        if any(a.vmid == vmid and a.status != AppStatus.MISSING for a in core.store.list_apps(host_name)):
            raise AlreadyExists(f"CT {vmid} on {host_name} is already an app")
        entry = core.catalog.get(catalog_id) if catalog_id else None
        if catalog_id and entry is None:
            raise NotFound(f"no app {catalog_id!r} in the catalog")
        config = await core.call(pve.ct_config, ct["node"], vmid)
        running = ct.get("status") == "running"
        ip = await core.call(pve.ct_ipv4, ct["node"], vmid) if running else None
        app = App(
            name=name,
            catalog_id=catalog_id or "custom",
            host=host_name,
            node=ct["node"],
            vmid=vmid,
            install_method="adopted",
            version=entry.version if entry else "",
            status=AppStatus.RUNNING if running else AppStatus.STOPPED,
            ip=ip,
            url=app_url(entry, ip) if entry and ip else None,
            ports=[PortBinding(name=p.name, port=p.port, protocol=p.protocol) for p in entry.ports]
            if entry
            else [],
            cores=int(config.get("cores") or 1),
            memory_mb=int(config.get("memory") or 512),
            disk_gb=rootfs_size_gb(config) or 1,
            adopted=True,
        )
        core.store.insert_app(app)
        core.audit("apps.adopt", name, f"ok (CT {vmid})")
        return await self.get(name)

    async def logs(self, name: str, *, lines: int = 100, deployment: bool = False) -> str:
        """The deployment log (job events) or the app's own recent logs (through ``pct exec``)."""
        core = self._core
        app = core.store.get_app(name)
        if deployment:
            job_id = core.store.app_job_id(name)
            if not job_id:
                return ""
            return "\n".join(
                f"{e.time:%H:%M:%S} {e.kind:<14} {e.step or '':<10} {e.message}"
                for e in core.store.events(job_id)
            )
        entry = core.catalog.get(app.catalog_id)
        if entry is None:
            raise ValidationError(f"{name} was adopted without a catalog entry; its logs are unknown")
        guest = Guest(await core.shell(app.host, app.node), app.vmid)
        return await installer.app_logs(guest, entry, app.install_method, lines)

    async def metrics(self, name: str, *, timeframe: str = "hour") -> list[MetricPoint]:
        """The container's RRD figures (cpu, memory, network, disk I/O) over ``timeframe`` (hour, day, week, month, year)."""
        app = self._core.store.get_app(name)
        rows = await self._core.call(self._core.pve(app.host).rrddata, app.node, app.vmid, timeframe)
        return [
            MetricPoint(
                time=datetime.fromtimestamp(int(r["time"]), tz=UTC),
                **{k: r.get(k) for k in ("cpu", "mem", "maxmem", "netin", "netout", "diskread", "diskwrite")},
            )
            for r in rows
            if "time" in r
        ]

    async def backup(self, name: str, **options: Any) -> Any:
        """Back up the app now: the same as ``px.backups.create(name, **options)``."""
        return await self._backups.create(name, **options)

    # ------------------------------------------------------------ reconcile

    async def reconcile(self) -> list[Drift]:
        """Compare records with Proxmox and repair them: a CT deleted, stopped, started or moved behind
        Proximity's back."""
        core = self._core
        drifts: list[Drift] = []
        apps = core.store.list_apps()
        for host_name in sorted({a.host for a in apps}):
            cts = {int(c["vmid"]): c for c in await core.call(core.pve(host_name).containers)}
            for app in (a for a in apps if a.host == host_name):
                if app.status in (AppStatus.DEPLOYING, AppStatus.MISSING):
                    continue
                ct = cts.get(app.vmid)
                if ct is None:
                    if app.status != AppStatus.MISSING:
                        core.store.update_app(app.name, status=AppStatus.MISSING)
                        drifts.append(
                            Drift(
                                app=app.name,
                                field="container",
                                recorded=f"CT {app.vmid}",
                                actual="gone",
                                repaired=True,
                            )
                        )
                    continue
                if ct.get("node") and ct["node"] != app.node:
                    core.store.update_app(app.name, node=ct["node"])
                    drifts.append(
                        Drift(app=app.name, field="node", recorded=app.node, actual=ct["node"], repaired=True)
                    )
                actual = AppStatus.RUNNING if ct.get("status") == "running" else AppStatus.STOPPED
                if app.status != actual:
                    core.store.update_app(app.name, status=actual)
                    drifts.append(
                        Drift(
                            app=app.name,
                            field="status",
                            recorded=app.status.value,
                            actual=actual.value,
                            repaired=True,
                        )
                    )
        core.audit("apps.reconcile", "*", f"{len(drifts)} drift(s) repaired")
        return drifts
