"""LXC containers: list, create and restore, config, status and power, delete."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import time
from typing import Any

from proximity.sim import guests
from proximity.sim.context import Call
from proximity.sim.endpoints.common import (
    CREATE_ONLY,
    check_lock,
    complete_net,
    config_digest,
    disk_string,
    human,
    normalise,
    task_check_lock,
    volume_path,
)
from proximity.sim.errors import TaskFailed, fail, parameter_error
from proximity.sim.feature_perms import check_feature_change
from proximity.sim.guest_rows import status_row
from proximity.sim.metrics import container_figures
from proximity.sim.propstr import GIB, MIB, parse_propstr, parse_size
from proximity.sim.router import Route, perm
from proximity.sim.state import SimContainer, Volume
from proximity.sim.tasks import TaskContext

START_SECONDS = 1.5
STOP_SECONDS = 1.0
SHUTDOWN_SECONDS = 3.0
EXTRACT_BYTES_PER_SECOND = 80 * MIB  # zstd unpacking onto a thin volume
# A template unpacks to about this many times its compressed size.
UNPACK_FACTOR = 3.6
OCI_UNPACK_FACTOR = 2.4
DHCP_PREFIX = "16"  # leases come from 127.81.0.0/16


# -- reading ----------------------------------------------------------------------------------------
def list_containers(call: Call) -> list[dict[str, Any]]:
    node = call.node
    now = time.time()
    rows = []
    with call.cluster.lock:
        here = sorted(vmid for vmid, ct in call.cluster.containers.items() if ct.node == node)
        figures_of = call.cached_figures(now)  # as cluster/resources has them (at most a second old)
        for vmid in call.allowed_children("/vms", here, "VM.Audit"):
            ct = call.cluster.containers[vmid]
            rows.append(status_row(ct, figures_of(ct)))
    return rows


def status_of(call: Call, ct: SimContainer, now: float) -> dict[str, Any]:
    return status_row(ct, container_figures(call.cluster, ct, now))


def container_index(call: Call) -> list[dict[str, str]]:
    call.cluster.container(call.node, call.vmid)
    return [
        {"subdir": name}
        for name in (
            "config",
            "status",
            "vncproxy",
            "termproxy",
            "vncwebsocket",
            "spiceproxy",
            "migrate",
            "clone",
            "snapshot",
            "rrd",
            "rrddata",
            "firewall",
            "pending",
            "resize",
            "template",
            "interfaces",
        )
    ]


def get_config(call: Call) -> dict[str, Any]:
    with call.cluster.lock:
        ct = call.cluster.container(call.node, call.vmid)
        snapname = call.text("snapshot")
        if snapname:
            snapshot = ct.snapshots.get(snapname)
            if snapshot is None:
                raise fail(f"snapshot '{snapname}' does not exist")
            config = dict(snapshot.config)
        else:
            config = _current_config(ct)
    config["digest"] = config_digest(config)
    return config


def _current_config(ct: SimContainer) -> dict[str, Any]:
    """The config as ``GET .../config`` shows it (``parent`` names the snapshot the CT stems from)."""
    config = dict(ct.config)
    if ct.parent_snapshot:
        config["parent"] = ct.parent_snapshot
    return config


def update_config(call: Call) -> None:
    with call.cluster.lock:
        ct = call.cluster.container(call.node, call.vmid)
        check_lock(ct)
        digest = call.text("digest")
        if digest and digest != config_digest(_current_config(ct)):
            raise fail("detected modified configuration - file changed by other user? Try again.")
        deletions = [k.strip() for k in (call.text("delete") or "").split(",") if k.strip()]
        updates = {
            k: v for k, v in call.params.items() if k not in ("node", "vmid", "digest", "delete", "revert")
        }
        for key in set(deletions) & set(updates):
            raise parameter_error({key: "can't set and delete the same option at the same time"})
        if "features" in updates or "features" in deletions:
            unprivileged = bool(int(ct.config.get("unprivileged", 0) or 0))
            if check_feature_change(
                call.identity.name,
                ct.config.get("features"),
                updates.get("features"),
                unprivileged=unprivileged,
                deleting="features" in deletions,
            ):
                call.check(f"/vms/{ct.vmid}", "VM.Config.Options")
        for key in deletions:
            if key == "rootfs" or (key.startswith("mp") and key in ct.config):
                raise parameter_error({key: "unable to delete a mount point via 'delete'; detach it first"})
            ct.config.pop(key, None)
        for key, value in updates.items():
            if key.startswith("net") and key[3:].isdigit():
                value = complete_net(ct.vmid, key, str(value))
            if key == "rootfs" or (key.startswith("mp") and key[2:].isdigit()):
                raise parameter_error({key: "changing mount points is not supported by the simulator"})
            ct.config[key] = normalise(key, value)
        if "hostname" in updates:
            call.attach_inside(ct, ct.inside)  # tells the inside its new name
        call.cluster.changed()


def current_status(call: Call) -> dict[str, Any]:
    with call.cluster.lock:
        ct = call.cluster.container(call.node, call.vmid)
        row = status_of(call, ct, time.time())
        row["ha"] = {"managed": 0}
        return row


def status_index(call: Call) -> list[dict[str, str]]:
    call.cluster.container(call.node, call.vmid)
    return [{"subdir": s} for s in ("current", "start", "stop", "shutdown", "reboot", "suspend", "resume")]


def interfaces(call: Call) -> list[dict[str, Any]]:
    """``ip --json addr`` inside the CT, as PVE 9 reports it (legacy ``inet``/``inet6`` plus the list)."""
    with call.cluster.lock:
        ct = call.cluster.container(call.node, call.vmid)
        if ct.status != "running":
            raise fail(f"CT {ct.vmid} not running")
        rows = [_interface_row("lo", "00:00:00:00:00:00", ["127.0.0.1/8", "::1/128"])]
        for key in sorted((k for k in ct.config if _is_net_key(k)), key=lambda k: int(k[3:])):
            net = parse_propstr(str(ct.config[key]), "name")
            mac = net.get("hwaddr", "").lower()
            addresses = []
            ip = net.get("ip", "")
            if key == "net0" and ct.ip:
                addresses.append(f"{ct.ip}/{ip.partition('/')[2] or DHCP_PREFIX}")
            elif "/" in ip:
                addresses.append(ip)
            if "/" in net.get("ip6", ""):
                addresses.append(net["ip6"])
            if mac:
                addresses.append(f"{link_local_address(mac)}/64")
            rows.append(_interface_row(net.get("name", "eth" + key[3:]), mac, addresses))
        return rows


def _interface_row(name: str, mac: str, addresses: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {"name": name, "hwaddr": mac, "hardware-address": mac, "ip-addresses": []}
    for address in addresses:
        interface: ipaddress.IPv4Interface | ipaddress.IPv6Interface = ipaddress.ip_interface(address)
        family = "inet" if interface.version == 4 else "inet6"
        row[family] = address  # PVE keeps the last address of each family here
        row["ip-addresses"].append(
            {
                "ip-address": str(interface.ip),
                "ip-address-type": family,
                "prefix": interface.network.prefixlen,
            }
        )
    return row


def _is_net_key(key: str) -> bool:
    return key.startswith("net") and key[3:].isdigit()


def link_local_address(mac: str) -> str:
    """The IPv6 link-local address the kernel derives from a MAC (modified EUI-64)."""
    octets = [int(part, 16) for part in mac.split(":")]
    octets[0] ^= 0x02
    eui = octets[:3] + [0xFF, 0xFE] + octets[3:]
    return str(ipaddress.IPv6Address(bytes([0xFE, 0x80] + [0] * 6 + eui)))


def rrddata(call: Call) -> list[dict[str, Any]]:
    call.cluster.container(call.node, call.vmid)
    call.services.metrics.sample()
    return call.services.metrics.rrddata(
        f"lxc/{call.vmid}", call.required("timeframe"), call.text("cf") or "AVERAGE"
    )


# -- create and restore -----------------------------------------------------------------------------
def create(call: Call) -> str:
    node, vmid = call.node, call.vmid
    ostemplate = call.required("ostemplate")
    restore = call.flag("restore")
    force = call.flag("force")
    call.check(f"/vms/{vmid}", "VM.Allocate")
    cluster = call.cluster
    with cluster.lock:
        existing = cluster.containers.get(vmid)
        if existing is not None:
            if not (restore and force and existing.node == node):
                raise fail(f"CT {vmid} already exists on node '{existing.node}'")
            if existing.status == "running":
                raise fail("can't overwrite running container")
            check_lock(existing)
        template_storage = ostemplate.split(":", 1)[0] if ":" in ostemplate else None
        if template_storage is not None:
            cluster.storage(template_storage)
            call.check(f"/storage/{template_storage}", "Datastore.AllocateSpace")
        pool = call.text("pool")
        if pool and pool not in cluster.pools:
            raise fail(f"pool '{pool}' does not exist")
        config = _requested_config(call)
        if "features" in call.params and not restore:
            check_feature_change(
                call.identity.name,
                None,
                str(call.params["features"]),
                unprivileged=bool(config.get("unprivileged", 0)),
            )
        storage = call.text("storage") or "local"
        rootfs = str(call.params.get("rootfs") or f"{storage}:4")
        rootfs_spec = parse_propstr(rootfs, "volume")
        rootfs_storage = rootfs_spec["volume"].split(":", 1)[0]
        cluster.storage(rootfs_storage)
        call.check(f"/storage/{rootfs_storage}", "Datastore.AllocateSpace")
        if existing is not None:
            existing.config["lock"] = "create"
        else:
            cluster.containers[vmid] = SimContainer(vmid, node, {**config, "lock": "create"})
        cluster.changed()

    def worker(ctx: TaskContext) -> None:
        created_volumes: list[str] = []
        try:
            if restore:
                _restore(ctx, call, node, vmid, ostemplate, rootfs_spec, config, created_volumes)
            else:
                _create(ctx, call, node, vmid, ostemplate, rootfs_spec, config, created_volumes)
        except TaskFailed as error:
            with cluster.lock:
                for volid in created_volumes:
                    cluster.remove_volume(node, volid)
                if existing is None:
                    cluster.containers.pop(vmid, None)
                else:
                    existing.config.pop("lock", None)
                cluster.changed()
            verb = "restore" if restore else "create"
            raise TaskFailed(f"unable to {verb} CT {vmid} - {error.message}") from error
        with cluster.lock:
            if pool:
                cluster.pools[pool].vmids.add(vmid)
            cluster.changed()
        if call.flag("start"):
            call.start_task(node, "vzstart", vmid, lambda c: _start_worker(c, call, node, vmid))

    return call.start_task(node, "vzrestore" if restore else "vzcreate", vmid, worker)


def _requested_config(call: Call) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for key, value in call.params.items():
        if key in CREATE_ONLY or key == "rootfs" or key.startswith("mp") and key[2:].isdigit():
            continue
        config[key] = normalise(key, value)
    for key in [k for k in config if k.startswith("net") and k[3:].isdigit()]:
        config[key] = complete_net(call.vmid, key, str(config[key]))
    return config


def _template_volume(ctx: TaskContext, call: Call, node: str, ostemplate: str, content: str) -> Volume:
    if ":" not in ostemplate:
        raise TaskFailed(f"can't find file '{ostemplate}'")
    volume = call.cluster.volume(node, ostemplate)
    if volume is None:
        raise TaskFailed(f"volume '{ostemplate}' does not exist")
    if volume.content != content:
        raise TaskFailed(
            f"volume '{ostemplate}' is not a {'backup archive' if content == 'backup' else 'template'}"
        )
    return volume


def _allocate_rootfs(
    ctx: TaskContext,
    call: Call,
    node: str,
    vmid: int,
    spec: dict[str, str],
    default_size: int,
    data_bytes: int,
    created: list[str],
) -> tuple[str, int]:
    """Allocate the root disk (``local-lvm:8`` or an existing ``size=``) and account ``data_bytes`` on it."""
    cluster = call.cluster
    target = spec["volume"]
    storage_id, _, amount = target.partition(":")
    storage = cluster.storages.get(storage_id)
    if storage is None:
        raise TaskFailed(f"storage '{storage_id}' does not exist")
    if not storage.supports("rootdir"):
        raise TaskFailed(f"storage '{storage_id}' does not support container directories")
    try:
        size = (
            parse_size(spec["size"], "G")
            if "size" in spec
            else (
                parse_size(amount, "G") if amount and amount.replace(".", "", 1).isdigit() else default_size
            )
        )
    except ValueError as error:
        raise TaskFailed(str(error)) from error
    with cluster.lock:
        name = cluster.next_disk_name(node, storage_id, vmid)
        volid = f"{storage_id}:{name}"
        cluster.add_volume(node, Volume(volid, "rootdir", size, int(time.time()), "raw", vmid=vmid, used=0))
        created.append(volid)
    ctx.log(f'  Logical volume "{name}" created.')
    blocks = size // 4096
    ctx.log(f"Creating filesystem with {blocks} 4k blocks and {max(1, size // 16384)} inodes")
    ctx.sleep(0.6)
    needed = min(data_bytes, size)
    with cluster.lock:
        free = cluster.storage_free(node, storage_id)
        if data_bytes > size or needed > free:
            ctx.log("tar: ./usr/lib/x86_64-linux-gnu/libLLVM.so.19.1: Cannot write: No space left on device")
            raise TaskFailed(
                "command 'lxc-usernsexec -m u:0:100000:65536 -m g:0:100000:65536 -- tar xpf - "
                "--totals --one-file-system -p --sparse --numeric-owner --acls --xattrs "
                f"-C /var/lib/lxc/{vmid}/rootfs --skip-old-files --anchored --exclude './dev/*'' "
                "failed: exit code 2"
            )
        cluster.volumes[node][volid].used = needed
    return volid, size


def _create(
    ctx: TaskContext,
    call: Call,
    node: str,
    vmid: int,
    ostemplate: str,
    rootfs_spec: dict[str, str],
    config: dict[str, Any],
    created: list[str],
) -> None:
    cluster = call.cluster
    template = _template_volume(ctx, call, node, ostemplate, "vztmpl")
    oci_ref = template.payload.get("oci_ref")
    data = int(template.size * (OCI_UNPACK_FACTOR if oci_ref else UNPACK_FACTOR))
    volid, size = _allocate_rootfs(ctx, call, node, vmid, rootfs_spec, 4 * GIB, data, created)
    path = volume_path(cluster, node, ostemplate)
    ctx.log(f"extracting archive '{path}'")
    ctx.sleep(1.0 + data / EXTRACT_BYTES_PER_SECOND)
    ctx.log(f"Total bytes read: {data} ({human(data)}, {human(EXTRACT_BYTES_PER_SECOND)}/s)")
    ostype = _ostype(template.name, oci_ref)
    ctx.log("Detected container architecture: amd64")
    if not oci_ref:
        ctx.log("Creating SSH host key 'ssh_host_ed25519_key' - this may take some time ...")
        ctx.sleep(0.4)
        ctx.log(f"done: SHA256:{_fingerprint(vmid)} root@{config.get('hostname', f'CT{vmid}')}")
    inside = guests.new_inside(ostemplate, oci_ref, call.time_scale)
    with cluster.lock:
        ct = cluster.containers[vmid]
        ct.config = {
            "arch": "amd64",
            "hostname": f"CT{vmid}",
            "memory": 512,
            "swap": 512,
            "ostype": ostype,
            **config,
            "rootfs": disk_string(volid, size),
        }
        if oci_ref:
            ct.config.update(template.payload.get("oci_config", {}))
        call.attach_inside(ct, inside)
        ct.config.pop("lock", None)
        cluster.changed()


def _restore(
    ctx: TaskContext,
    call: Call,
    node: str,
    vmid: int,
    archive: str,
    rootfs_spec: dict[str, str],
    overrides: dict[str, Any],
    created: list[str],
) -> None:
    cluster = call.cluster
    backup = _template_volume(ctx, call, node, archive, "backup")
    saved: dict[str, Any] = dict(backup.payload.get("config", {}))
    data = int(backup.payload.get("data_bytes", backup.size))
    ctx.log(f"recovering backed-up configuration from '{archive}'")
    ctx.sleep(0.3)
    with cluster.lock:
        ct = cluster.containers[vmid]
        old_volumes = ct.disk_volids() if "rootfs" in ct.config else []
    saved_rootfs = parse_propstr(str(saved.get("rootfs", "local-lvm:4")), "volume")
    if call.params.get("rootfs") is None:
        storage = call.text("storage") or saved_rootfs["volume"].split(":", 1)[0]
        rootfs_spec = {"volume": f"{storage}:0", "size": saved_rootfs.get("size", "4G")}
    with cluster.lock:
        for volid in old_volumes:  # force: the old disks go first, as PVE destroys the old CT
            cluster.remove_volume(node, volid)
    volid, size = _allocate_rootfs(ctx, call, node, vmid, rootfs_spec, 4 * GIB, data, created)
    ctx.log(f"restoring '{archive}' now..")
    ctx.log(f"extracting archive '{volume_path(cluster, node, archive)}'")
    ctx.sleep(1.0 + data / EXTRACT_BYTES_PER_SECOND)
    ctx.log(f"Total bytes read: {data} ({human(data)}, {human(EXTRACT_BYTES_PER_SECOND)}/s)")
    ctx.log("merging backed-up and given configuration..")
    inside = guests.copy_inside(backup.payload.get("inside"), call.time_scale)
    with cluster.lock:
        ct = cluster.containers[vmid]
        config = {k: v for k, v in saved.items() if k not in ("lock", "rootfs")}
        config.update({k: v for k, v in overrides.items() if k != "lock"})
        if call.flag("unique"):
            for key in [k for k in config if k.startswith("net") and k[3:].isdigit()]:
                net = parse_propstr(str(config[key]), "name")
                net.pop("hwaddr", None)
                config[key] = complete_net(vmid, key, ",".join(f"{k}={v}" for k, v in net.items()))
        config["rootfs"] = disk_string(volid, size)
        ct.config = config
        call.attach_inside(ct, inside)
        ct.snapshots.clear()
        ct.parent_snapshot = None
        cluster.changed()


def _ostype(template_name: str, oci_ref: str | None) -> str:
    if oci_ref:
        return "unmanaged"
    base = template_name.rsplit("/", 1)[-1].split("-", 1)[0]
    known = {
        "debian",
        "ubuntu",
        "alpine",
        "centos",
        "fedora",
        "opensuse",
        "archlinux",
        "devuan",
        "gentoo",
        "almalinux",
        "rockylinux",
        "openeuler",
    }
    return base if base in known else "unmanaged"


def _fingerprint(vmid: int) -> str:
    return base64.b64encode(hashlib.sha256(f"host-key-{vmid}".encode()).digest()).decode().rstrip("=")


# -- power ----------------------------------------------------------------------------------------
def _start_worker(ctx: TaskContext, call: Call, node: str, vmid: int) -> None:
    cluster = call.cluster
    with cluster.lock:
        ct = cluster.containers.get(vmid)
        if ct is None or ct.node != node:
            raise TaskFailed(f"Configuration file 'nodes/{node}/lxc/{vmid}.conf' does not exist")
        task_check_lock(ct)
        if ct.is_template:
            raise TaskFailed("you can't start a CT if it's a template")
        if ct.status == "running":
            raise TaskFailed(f"CT {vmid} already running")
    ctx.sleep(START_SECONDS)
    with cluster.lock:
        if ct.status == "running":
            raise TaskFailed(f"CT {vmid} already running")
        ct.status = "running"
        ct.started_at = time.time()
        ct.ip = cluster.container_ip(ct)
        ct.pid = 10000 + (vmid * 7919) % 900000
        guests.boot(ct)
        cluster.changed()


def _stop(call: Call, ct: SimContainer) -> None:
    """Mark the CT stopped (caller holds the lock)."""
    guests.halt(ct)
    call.services.metrics.sample()
    ct.status = "stopped"
    ct.started_at = None
    ct.ip = None
    ct.pid = None
    call.cluster.changed()


def _stop_worker(ctx: TaskContext, call: Call, node: str, vmid: int, seconds: float) -> None:
    cluster = call.cluster
    with cluster.lock:
        ct = cluster.containers.get(vmid)
        if ct is None or ct.node != node:
            raise TaskFailed(f"Configuration file 'nodes/{node}/lxc/{vmid}.conf' does not exist")
        if ct.status != "running":
            raise TaskFailed(f"CT {vmid} not running")
    ctx.sleep(seconds)
    with cluster.lock:
        if ct.status != "running":
            raise TaskFailed(f"CT {vmid} not running")
        _stop(call, ct)


def start(call: Call) -> str:
    node, vmid = call.node, call.vmid
    call.cluster.container(node, vmid)
    return call.start_task(node, "vzstart", vmid, lambda ctx: _start_worker(ctx, call, node, vmid))


def stop(call: Call) -> str:
    node, vmid = call.node, call.vmid
    call.cluster.container(node, vmid)
    return call.start_task(
        node, "vzstop", vmid, lambda ctx: _stop_worker(ctx, call, node, vmid, STOP_SECONDS)
    )


def shutdown(call: Call) -> str:
    node, vmid = call.node, call.vmid
    call.cluster.container(node, vmid)
    return call.start_task(
        node, "vzshutdown", vmid, lambda ctx: _stop_worker(ctx, call, node, vmid, SHUTDOWN_SECONDS)
    )


def reboot(call: Call) -> str:
    node, vmid = call.node, call.vmid
    call.cluster.container(node, vmid)

    def worker(ctx: TaskContext) -> None:
        _stop_worker(ctx, call, node, vmid, SHUTDOWN_SECONDS)
        _start_worker(ctx, call, node, vmid)

    return call.start_task(node, "vzreboot", vmid, worker)


# -- delete ---------------------------------------------------------------------------------------
def destroy(call: Call) -> str:
    node, vmid = call.node, call.vmid
    force = call.flag("force")
    cluster = call.cluster
    with cluster.lock:
        ct = cluster.container(node, vmid)
        if str(ct.config.get("protection", 0)) == "1":
            raise fail(f"can't remove CT {vmid} - protection mode enabled")
        check_lock(ct)
        if ct.status == "running" and not force:
            raise fail(f"unable to destroy CT {vmid} - container is running")
        ct.config["lock"] = "destroyed"
        cluster.changed()

    def worker(ctx: TaskContext) -> None:
        if ct.status == "running":
            ctx.sleep(STOP_SECONDS)
            with cluster.lock:
                _stop(call, ct)
        ctx.sleep(0.8)
        with cluster.lock:
            volids = set(ct.disk_volids())
            for snapshot in ct.snapshots.values():
                volids.update(_config_volids(snapshot.config))
            if call.flag("destroy-unreferenced-disks", True):
                volids.update(
                    v.volid
                    for v in cluster.volumes.get(node, {}).values()
                    if v.vmid == vmid and v.content in ("rootdir", "images")
                )
            users = [
                v
                for v in cluster.volumes.get(node, {}).values()
                if v.payload.get("base") in volids and v.vmid != vmid
            ]
            if users:
                ct.config.pop("lock", None)
                raise TaskFailed(f"base volume '{users[0].payload['base']}' is still in use by linked cloned")
            for volid in sorted(volids):
                if cluster.remove_volume(node, volid) is not None:
                    ctx.log(f'  Logical volume "{volid.split(":", 1)[1]}" successfully removed.')
            guests.discard(ct)
            del cluster.containers[vmid]
            for pool in cluster.pools.values():
                pool.vmids.discard(vmid)
            cluster.changed()
        call.services.metrics.forget(f"lxc/{vmid}")

    def worker_releasing_lock(ctx: TaskContext) -> None:
        try:
            worker(ctx)
        except TaskFailed:
            cluster.unlock(ct, only="destroyed")  # a destroy that failed leaves the CT usable, unlocked
            raise

    return call.start_task(node, "vzdestroy", vmid, worker_releasing_lock)


def _config_volids(config: dict[str, Any]) -> list[str]:
    keys = [k for k in config if k == "rootfs" or (k.startswith("mp") and k[2:].isdigit())]
    return [parse_propstr(str(config[k]), "volume")["volume"] for k in keys]


VM = "/vms/{vmid}"
ROUTES = [
    Route("GET", "/nodes/{node}/lxc", list_containers),
    Route("POST", "/nodes/{node}/lxc", create),
    Route("GET", "/nodes/{node}/lxc/{vmid}", container_index, perm(VM, "VM.Audit")),
    Route("DELETE", "/nodes/{node}/lxc/{vmid}", destroy, perm(VM, "VM.Allocate")),
    Route("GET", "/nodes/{node}/lxc/{vmid}/config", get_config, perm(VM, "VM.Audit")),
    Route(
        "PUT",
        "/nodes/{node}/lxc/{vmid}/config",
        update_config,
        perm(
            VM,
            "VM.Config.Options",
            "VM.Config.CPU",
            "VM.Config.Memory",
            "VM.Config.Network",
            "VM.Config.Disk",
            any_of=True,
        ),
    ),
    Route("GET", "/nodes/{node}/lxc/{vmid}/status", status_index, perm(VM, "VM.Audit")),
    Route("GET", "/nodes/{node}/lxc/{vmid}/status/current", current_status, perm(VM, "VM.Audit")),
    Route("POST", "/nodes/{node}/lxc/{vmid}/status/start", start, perm(VM, "VM.PowerMgmt")),
    Route("POST", "/nodes/{node}/lxc/{vmid}/status/stop", stop, perm(VM, "VM.PowerMgmt")),
    Route("POST", "/nodes/{node}/lxc/{vmid}/status/shutdown", shutdown, perm(VM, "VM.PowerMgmt")),
    Route("POST", "/nodes/{node}/lxc/{vmid}/status/reboot", reboot, perm(VM, "VM.PowerMgmt")),
    Route("GET", "/nodes/{node}/lxc/{vmid}/interfaces", interfaces, perm(VM, "VM.Audit")),
    Route("GET", "/nodes/{node}/lxc/{vmid}/rrddata", rrddata, perm(VM, "VM.Audit")),
]
