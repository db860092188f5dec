"""Node storages: status, content (list, get, notes/protection, delete), upload, download-url, OCI pull."""

from __future__ import annotations

import hashlib
import re
import time
from typing import Any

from proximity.sim import registry
from proximity.sim.context import Call
from proximity.sim.endpoints.common import find_volume, human, volume_path
from proximity.sim.errors import TaskFailed, fail, oci_reference_error, parameter_error
from proximity.sim.propstr import GIB, MIB
from proximity.sim.router import Route, perm
from proximity.sim.state import StorageConfig, Volume, template_format
from proximity.sim.tasks import TaskContext

DOWNLOAD_BYTES_PER_SECOND = 60 * MIB
UNKNOWN_OCI_IMAGE_SIZE = 80 * MIB
_TEMPLATE_EXT = re.compile(r"\.tar\.(gz|xz|zst|bz2)$|\.tar$")
_ISO_EXT = re.compile(r"\.(iso|img)$", re.IGNORECASE)
_IMPORT_EXT = re.compile(r"\.(ova|qcow2|raw|vmdk)$", re.IGNORECASE)
STORAGE = "/storage/{storage}"


def storage_status_row(
    call: Call, node: str, config: StorageConfig, used: int | None = None
) -> dict[str, Any]:
    """The storage's status on ``node``; ``used`` when the caller has it (``Cluster.storage_usage``)."""
    if used is None:
        used = call.cluster.storage_used(node, config.storage)
    return {
        "storage": config.storage,
        "type": config.type,
        "content": ",".join(sorted(config.content)),
        "enabled": int(not config.disabled),
        "active": int(not config.disabled),
        "shared": int(config.shared),
        "total": config.total,
        "used": used,
        "avail": max(0, config.total - used),
        "used_fraction": used / config.total,
    }


def list_storage(call: Call) -> list[dict[str, Any]]:
    node = call.node
    content = call.text("content")
    only = call.text("storage")
    with call.cluster.lock:
        if only:
            call.cluster.storage(only)
        rows = []
        for config in call.cluster.storages.values():
            if only and config.storage != only:
                continue
            if content and not set(content.split(",")) & config.content:
                continue
            if call.flag("enabled") and config.disabled:
                continue
            if not call.allowed(f"/storage/{config.storage}", "Datastore.Audit", "Datastore.AllocateSpace"):
                continue
            rows.append(storage_status_row(call, node, config))
        return rows


def storage_status(call: Call) -> dict[str, Any]:
    storage = call.required("storage")
    with call.cluster.lock:
        config = call.cluster.storages.get(storage)
        if config is None:
            raise parameter_error({"storage": "No such storage."})
        row = storage_status_row(call, call.node, config)
        row.pop("storage")
        row.pop("used_fraction")
        return row


def storage_index(call: Call) -> list[dict[str, str]]:
    call.cluster.storage(call.required("storage"))
    return [
        {"subdir": s} for s in ("content", "download-url", "oci-registry-pull", "rrddata", "status", "upload")
    ]


def _content_row(call: Call, node: str, volume: Volume) -> dict[str, Any]:
    row: dict[str, Any] = {
        "volid": volume.volid,
        "content": volume.content,
        "format": volume.format,
        "size": volume.size,
        "ctime": volume.ctime,
    }
    if volume.vmid is not None:
        row["vmid"] = volume.vmid
    if volume.content in ("rootdir", "images"):
        row["used"] = volume.used
        if volume.payload.get("base"):
            row["parent"] = volume.payload["base"].split(":", 1)[1]
    if volume.content == "backup":
        row["subtype"] = "lxc"
        row["protected"] = int(volume.protected)
        if volume.notes:
            row["notes"] = volume.notes
    return row


def list_content(call: Call) -> list[dict[str, Any]]:
    node, storage = call.node, call.required("storage")
    content = call.text("content")
    vmid = call.integer("vmid")
    with call.cluster.lock:
        call.cluster.storage(storage)
        rows = []
        for volume in sorted(call.cluster.node_volumes(node, storage), key=lambda v: v.volid):
            if content and volume.content != content:
                continue
            if vmid is not None and volume.vmid != vmid:
                continue
            rows.append(_content_row(call, node, volume))
        return rows


def _volid(call: Call) -> str:
    volume = call.required("volume")
    storage = call.required("storage")
    return volume if ":" in volume else f"{storage}:{volume}"


def get_content(call: Call) -> dict[str, Any]:
    node = call.node
    with call.cluster.lock:
        volume = find_volume(call, node, _volid(call))
        row: dict[str, Any] = {
            "path": volume_path(call.cluster, node, volume.volid),
            "size": volume.size,
            "used": volume.used if volume.content in ("rootdir", "images") else volume.size,
            "format": volume.format,
        }
        if volume.notes:
            row["notes"] = volume.notes
        if volume.protected:
            row["protected"] = 1
        return row


def update_content(call: Call) -> None:
    node = call.node
    with call.cluster.lock:
        volume = find_volume(call, node, _volid(call))
        if call.text("notes") is not None:
            volume.notes = call.text("notes") or ""
        if call.params.get("protected") is not None:
            if volume.content != "backup":
                raise fail("protection is only supported for backups")
            volume.protected = call.flag("protected")
        call.cluster.changed()


def delete_content(call: Call) -> str:
    node = call.node
    volid = _volid(call)
    cluster = call.cluster
    with cluster.lock:
        volume = find_volume(call, node, volid)
        if volume.protected:
            raise fail(f"volume '{volid}' is protected")
        for ct in cluster.containers.values():
            if ct.node == node and volid in ct.disk_volids():
                raise fail(f"unable to delete '{volid}' - volume is still in use by CT {ct.vmid}")

    def worker(ctx: TaskContext) -> None:
        ctx.log(f"Removed volume '{volid}'")
        ctx.sleep(0.3)
        with cluster.lock:
            cluster.remove_volume(node, volid)
            cluster.changed()

    return call.start_task(node, "imgdel", "", worker)


def _check_upload_name(content: str, filename: str) -> None:
    if "/" in filename or filename.startswith("."):
        raise parameter_error({"filename": "invalid filename"})
    rules = {"vztmpl": _TEMPLATE_EXT, "iso": _ISO_EXT, "import": _IMPORT_EXT}
    rule = rules.get(content)
    if rule is None:
        raise parameter_error({"content": f"upload content type '{content}' not allowed"})
    if not rule.search(filename):
        raise parameter_error({"filename": "wrong file extension"})


def _check_content(config: StorageConfig, content: str) -> None:
    if not config.supports(content):
        raise parameter_error({"storage": f"storage '{config.storage}' does not support '{content}' content"})


def _store_file(
    ctx: TaskContext,
    call: Call,
    node: str,
    storage: str,
    content: str,
    filename: str,
    size: int,
    payload: dict[str, Any] | None = None,
) -> Volume:
    cluster = call.cluster
    folder = {"vztmpl": "vztmpl", "iso": "iso", "import": "import"}[content]
    volid = f"{storage}:{folder}/{filename}"
    with cluster.lock:
        free = cluster.storage_free(node, storage)
        if size > free:
            raise TaskFailed(
                f"write failed: No space left on device ({human(size)} needed, {human(free)} free)"
            )
        fmt = template_format(filename) if content == "vztmpl" else filename.rsplit(".", 1)[-1].lower()
        volume = Volume(volid, content, size, int(time.time()), fmt, payload=payload or {})
        cluster.add_volume(node, volume)
        cluster.changed()
    return volume


def upload(call: Call) -> str:
    node, storage = call.node, call.required("storage")
    content = call.required("content")
    if call.upload is None:
        raise parameter_error({"filename": "property is missing and it is not optional"})
    filename = call.upload.filename
    size = call.upload.size
    with call.cluster.lock:
        _check_content(call.cluster.storage(storage), content)
    _check_upload_name(content, filename)

    def worker(ctx: TaskContext) -> None:
        target = volume_path(call.cluster, node, f"{storage}:{content}/{filename}")
        ctx.log(f"starting file import from: /var/tmp/pveupload-{hashlib.md5(filename.encode()).hexdigest()}")
        ctx.log(f"target node: {node}")
        ctx.log(f"target file: {target}")
        ctx.log(f"file size is: {size}")
        ctx.sleep(0.3 + size / (500 * MIB))
        _store_file(ctx, call, node, storage, content, filename, size)
        ctx.log("finished file import successfully")

    return call.start_task(node, "imgcopy", "", worker)


def _appliance_by_source(call: Call, url: str) -> dict[str, str] | None:
    return next(
        (
            a
            for a in call.services.appliances
            if a["source"] == url or a["source"].replace("http://", "https://") == url
        ),
        None,
    )


def download_url(call: Call) -> str:
    node, storage = call.node, call.required("storage")
    content = call.required("content")
    url = call.required("url")
    filename = call.required("filename")
    checksum = call.text("checksum")
    algorithm = call.text("checksum-algorithm")
    with call.cluster.lock:
        _check_content(call.cluster.storage(storage), content)
    _check_upload_name(content, filename)
    if not re.match(r"^(https?|ftp)://", url):
        raise parameter_error({"url": "invalid format - invalid URL"})
    if checksum and not algorithm:
        raise parameter_error(
            {"checksum-algorithm": "'checksum-algorithm' is required when 'checksum' is set"}
        )
    appliance = _appliance_by_source(call, url)
    size = estimated_download_size(filename, content)

    def worker(ctx: TaskContext) -> None:
        target = volume_path(call.cluster, node, f"{storage}:{content}/{filename}")
        ctx.log(f"downloading {url} to {target}")
        ctx.sleep(0.5 + size / DOWNLOAD_BYTES_PER_SECOND)
        ctx.log(f"download of '{url}' to '{target}' finished")
        if checksum and algorithm:
            known = appliance.get(f"{algorithm}sum") if appliance else None
            if known is None:
                ctx.warn(f"checksum of '{filename}' not verified: the simulator does not know its content")
            elif known.lower() != checksum.lower():
                raise TaskFailed(f"checksum mismatch: got '{known}' != expect '{checksum}'")
            else:
                ctx.log(f"calculating checksum of '{filename}'...OK, checksum verified")
        _store_file(ctx, call, node, storage, content, filename, size)

    return call.start_task(node, "download", filename, worker)


def estimated_download_size(filename: str, content: str) -> int:
    """The size a real file of this kind has (the simulator cannot fetch it)."""
    if content == "iso":
        return 650 * MIB
    if content == "import":
        return 2 * GIB
    for prefix, size in (
        ("alpine", 3 * MIB + 512 * 1024),
        ("debian", 126 * MIB),
        ("ubuntu", 141 * MIB),
        ("archlinux", 190 * MIB),
        ("proxmox-mail-gateway", 420 * MIB),
    ):
        if filename.startswith(prefix):
            return size
    return 110 * MIB


def oci_file_name(reference: str, filename: str | None) -> str:
    """PVE's normalisation: the last path part of the reference (or ``filename``), ':' and any other
    character outside ``[A-Za-z0-9_.-]`` turned into '_', and ``.tar`` appended.

    ``docker.io/library/nginx:latest`` -> ``nginx_latest.tar``.
    """
    base = filename if filename else reference.rsplit("/", 1)[-1]
    return re.sub(r"[^A-Za-z0-9_.-]", "_", base) + ".tar"


def oci_registry_pull(call: Call) -> str:
    node, storage = call.node, call.required("storage")
    reference = call.required("reference")
    with call.cluster.lock:
        _check_content(call.cluster.storage(storage), "vztmpl")
    filename = oci_file_name(reference, call.text("filename"))
    try:
        info = registry.lookup(reference)
    except registry.InvalidReference as error:
        raise oci_reference_error(error) from error
    size = int(info.size_bytes) if info is not None else UNKNOWN_OCI_IMAGE_SIZE
    oci_config: dict[str, Any] = {}
    if info is not None:
        command = list(info.entrypoint) + list(info.cmd)
        if command:
            oci_config["entrypoint"] = " ".join(command)
        if info.env:
            oci_config["env"] = "\0".join(f"{k}={v}" for k, v in info.env.items())

    def worker(ctx: TaskContext) -> None:
        target = volume_path(call.cluster, node, f"{storage}:vztmpl/{filename}")
        ctx.log(f"Pulling OCI image '{reference}'")
        ctx.sleep(0.5 + size / DOWNLOAD_BYTES_PER_SECOND)
        ctx.log("Writing manifest to image destination")
        ctx.log(f"saved OCI image to '{target}'")
        _store_file(
            ctx,
            call,
            node,
            storage,
            "vztmpl",
            filename,
            size,
            {"oci_ref": reference, "oci_config": oci_config},
        )

    return call.start_task(node, "ocipull", storage, worker)


ROUTES = [
    Route("GET", "/nodes/{node}/storage", list_storage),
    Route(
        "GET",
        "/nodes/{node}/storage/{storage}",
        storage_index,
        perm(STORAGE, "Datastore.Audit", "Datastore.AllocateSpace", any_of=True),
    ),
    Route(
        "GET",
        "/nodes/{node}/storage/{storage}/status",
        storage_status,
        perm(STORAGE, "Datastore.Audit", "Datastore.AllocateSpace", any_of=True),
    ),
    Route(
        "GET",
        "/nodes/{node}/storage/{storage}/content",
        list_content,
        perm(STORAGE, "Datastore.Audit", "Datastore.AllocateSpace", any_of=True),
    ),
    Route(
        "GET",
        "/nodes/{node}/storage/{storage}/content/{volume}",
        get_content,
        perm(STORAGE, "Datastore.Audit", "Datastore.AllocateSpace", any_of=True),
    ),
    Route(
        "PUT",
        "/nodes/{node}/storage/{storage}/content/{volume}",
        update_content,
        perm(STORAGE, "Datastore.Allocate"),
    ),
    Route(
        "DELETE",
        "/nodes/{node}/storage/{storage}/content/{volume}",
        delete_content,
        perm(STORAGE, "Datastore.Allocate"),
    ),
    Route(
        "POST", "/nodes/{node}/storage/{storage}/upload", upload, perm(STORAGE, "Datastore.AllocateTemplate")
    ),
    Route(
        "POST",
        "/nodes/{node}/storage/{storage}/download-url",
        download_url,
        perm(STORAGE, "Datastore.AllocateTemplate"),
    ),
    Route(
        "POST",
        "/nodes/{node}/storage/{storage}/oci-registry-pull",
        oci_registry_pull,
        perm(STORAGE, "Datastore.AllocateTemplate"),
    ),
]
