"""Deploying a catalog app: choosing the node, and the steps of the deploy job (each with its undo)."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from proximity.collections import install as installer
from proximity.collections.common import (
    JOB_TAG,
    app_url,
    check_health,
    ct_by_tag,
    ct_description,
    job_tag,
    secret_values,
    wait_ip,
)
from proximity.collections.core import Core
from proximity.collections.features import api_features, root_only_features, set_root_only_features
from proximity.errors import AlreadyExists, Conflict
from proximity.jobs import Step, StepContext
from proximity.models import App, AppStatus, Node, PortBinding, Storage
from proximity.pve import props
from proximity.pve.guest import Guest
from proximity.pve.host import PveHost


async def place(core: Core, pve: PveHost, memory_mb: int, reserved_mb: dict[str, int]) -> str:
    """The online node with the most headroom that has the memory free (one cluster/resources call)."""
    node, _ = await place_with_storages(core, pve, memory_mb, reserved_mb)
    return node


async def place_with_storages(
    core: Core, pve: PveHost, memory_mb: int, reserved_mb: dict[str, int]
) -> tuple[str, list[Storage]]:
    """The node ``place`` picks, and its storages, both read from one unfiltered ``cluster/resources`` call
    (the storage rows carry content types and free space: no separate storage listing is needed)."""
    resources = await core.call(pve.resources)
    nodes: list[Node] = await core.call(pve.nodes, resources)
    chosen = choose_node(pve.name, nodes, memory_mb, reserved_mb)
    return chosen, pve.storages_in(resources, chosen)


def choose_node(host: str, nodes: list[Node], memory_mb: int, reserved_mb: dict[str, int]) -> str:
    """The online node of ``host`` with the most headroom (memory or CPU, whichever is scarcer) that has
    ``memory_mb`` free once the memory promised to deploys in flight (``reserved_mb``) is counted."""
    mib = 1024 * 1024

    def free_mb(n: Node) -> float:
        return n.mem_free / mib - reserved_mb.get(f"{host}/{n.name}", 0)

    def headroom(n: Node) -> float:
        reserved = reserved_mb.get(f"{host}/{n.name}", 0) * mib
        return min((n.mem_free - reserved) / n.mem_total, 1.0 - n.cpu) if n.mem_total else 0.0

    fitting = [n for n in nodes if n.online and free_mb(n) >= memory_mb]
    if not fitting:
        raise Conflict(f"no online node of {host} has {memory_mb} MiB of memory free")
    return max(fitting, key=lambda n: (headroom(n), n.name)).name


def deploy_steps(
    core: Core, values: dict[str, Any], pending_secrets: dict[str, dict[str, str]]
) -> list[Step]:
    name = values["name"]

    def pve() -> PveHost:
        return core.pve(values["host"])

    async def template(ctx: StepContext) -> None:
        host, node = pve(), values["node"]
        if values.get("node_storages"):  # read with the placement
            storages = [Storage.model_validate(s) for s in values["node_storages"]]
        else:
            storages = await core.call(host.storages, node)  # one call for both choices
        values["rootfs_storage"] = host.pick_storage(node, "rootdir", values["storage"], storages)
        storage = host.pick_storage(node, "vztmpl", None, storages)
        if values["method"] == "oci":
            entry = core.catalog_entry(values["catalog_id"])
            image = installer.method_of(entry, "oci").image
            await ctx.report(f"image {image} in {storage}")
            values["ostemplate"] = await core.call(host.oci_pull, node, storage, image)
            return
        found = await core.call(host.find_template, node, storage, values["template"])
        if found is None:
            await ctx.report(f"downloading the {values['template']} template to {storage}")
            found = await core.call(host.download_template, node, storage, values["template"])
        values["ostemplate"] = found

    async def store_secrets(ctx: StepContext) -> None:
        hidden = pending_secrets.get(ctx.job_id, {})
        core.store.secrets.put_app(name, {k: SecretStr(v) for k, v in hidden.items()})

    async def forget_secrets(ctx: StepContext) -> None:
        if core.store.find_app(name) is None:
            core.store.secrets.forget_app(name)

    tried_create = [False]  # in this process; after a crash the undo searches by tag anyway

    async def create(ctx: StepContext) -> None:
        host, node = pve(), values["node"]
        if tried_create[0]:
            existing = await ct_by_tag(core, host, job_tag(ctx.job_id))
            if existing is not None:  # a retry after the create went through
                values["vmid"] = existing
                return
        tried_create[0] = True
        storage = values["rootfs_storage"]
        params: dict[str, Any] = {
            "ostemplate": values["ostemplate"],
            "hostname": name,
            "cores": values["cores"],
            "memory": values["memory_mb"],
            "swap": values["swap_mb"],
            "rootfs": props.rootfs(storage, values["disk_gb"]),
            "net0": props.net0(values["bridge"]),
            "unprivileged": values["unprivileged"],
            "features": api_features(values["features"]),
            "tags": f"{JOB_TAG};{job_tag(ctx.job_id)}",
            "onboot": True,
            "description": ct_description(values["catalog_id"], name, values["method"], "deployed"),
        }
        if values["method"] == "oci":
            entry = core.catalog_entry(values["catalog_id"])
            oci = installer.method_of(entry, "oci")
            all_values = {**values["env_public"], **secret_values(core, name)}
            params["env"] = installer.oci_env(oci, all_values)
            params["entrypoint"] = oci.entrypoint
        retried_before = host.api.retried
        vmid = await core.call(host.create_ct_with_free_vmid, node, params)
        values["vmid"] = vmid
        if host.api.retried != retried_before:
            # a resent create may have acted twice: remove any other CT carrying this job's tag
            for ct in await core.call(host.containers):
                if int(ct["vmid"]) != vmid and job_tag(ctx.job_id) in str(ct.get("tags", "")).split(";"):
                    await core.call(host.delete_ct_if_exists, ct["node"], int(ct["vmid"]))
        await ctx.report(f"created CT {vmid} on {node} ({storage})")

    async def destroy(ctx: StepContext) -> None:
        host = pve()
        vmid = values.get("vmid") or await ct_by_tag(core, host, job_tag(ctx.job_id))
        if vmid is not None:
            await core.call(host.delete_ct_if_exists, values["node"], vmid)

    async def record(ctx: StepContext) -> None:
        if core.store.find_app(name) is not None:
            if core.store.app_job_id(name) == ctx.job_id:
                return  # already recorded by an earlier try of this step
            raise AlreadyExists(f"an app named {name!r} was recorded while this job ran")
        core.store.insert_app(
            App(
                name=name,
                catalog_id=values["catalog_id"],
                host=values["host"],
                node=values["node"],
                vmid=values["vmid"],
                install_method=values["method"],
                version=values["version"],
                status=AppStatus.DEPLOYING,
                ports=[PortBinding(**p) for p in values["ports"]],
                cores=values["cores"],
                memory_mb=values["memory_mb"],
                disk_gb=values["disk_gb"],
            ),
            job_id=ctx.job_id,
        )

    async def unrecord(ctx: StepContext) -> None:
        if core.store.app_job_id(name) == ctx.job_id:  # never another job's app of the same name
            core.store.delete_app(name)

    async def root_features(ctx: StepContext) -> None:
        features = root_only_features(values["features"])
        if features is not None:
            await set_root_only_features(core, values["host"], values["node"], values["vmid"], features)
            await ctx.report(f"features {features} set with pct set (root-only through the API)")

    async def start(ctx: StepContext) -> None:
        await core.call(pve().start, values["node"], values["vmid"])

    async def address(ctx: StepContext) -> None:
        values["ip"] = await wait_ip(core, pve(), values["node"], values["vmid"])
        core.store.update_app(name, ip=values["ip"])
        await ctx.report(f"address {values['ip']}")

    async def install(ctx: StepContext) -> None:
        entry = core.catalog_entry(values["catalog_id"])
        method = installer.method_of(entry, values["method"])
        guest = Guest(await core.shell(values["host"], values["node"]), values["vmid"])
        done = await installer.install(
            guest, entry, method, {**values["env_public"], **secret_values(core, name)}
        )
        for line in done:
            await ctx.report(line)

    async def healthy(ctx: StepContext) -> None:
        result = await check_health(core, values)
        await ctx.report(result)

    async def finish(ctx: StepContext) -> None:
        values["url"] = app_url(core.catalog_entry(values["catalog_id"]), values["ip"])
        core.store.update_app(name, status=AppStatus.RUNNING, url=values["url"])

    steps = [
        Step("template", template, label="Find or fetch the OS template / OCI image"),
        Step("secrets", store_secrets, forget_secrets, label="Generate this install's secrets"),
        Step("create", create, destroy, label="Create the container"),
        Step("record", record, unrecord, label="Record the app and its ports"),
        Step("features", root_features, label="Set the features only root@pam may set"),
        Step("start", start, label="Start the container"),
        Step("address", address, label="Wait for its address"),
    ]
    if values["method"] != "oci":
        steps.append(Step("install", install, retry=False, label=f"Install ({values['method']})"))
    if values.get("health"):
        steps.append(Step("health", healthy, retry=False, label="Wait for the health check"))
    steps.append(Step("finish", finish, label="Record the URL"))
    return steps
