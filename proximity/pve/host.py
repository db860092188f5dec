"""Everything Proximity asks of one PVE host, in Proxmox terms (nodes, CTs, VMIDs, UPIDs, volids).

Methods are synchronous (HTTP through ``PveApi``; tasks waited with the adaptive poller); the async
layer above calls them in worker threads. SSH to nodes lives in ``NodeShell`` and is reached through
``shell(node)``.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from proximity.errors import (
    AlreadyExists,
    Conflict,
    Locked,
    NotFound,
    ProximityError,
    TaskFailed,
    ValidationError,
)
from proximity.models import Node, Storage
from proximity.pve import props
from proximity.pve.api import PveApi
from proximity.pve.ssh import NodeShell, SshTarget
from proximity.pve.tasks import PollPolicy, wait_task

BACKUP_FILE = re.compile(r"(vzdump-lxc-\d+-\d{4}_\d{2}_\d{2}-\d{2}_\d{2}_\d{2}\.tar(?:\.(?:zst|gz|lzo))?)")


class PveHost:
    """One PVE host (possibly a cluster): the API plus SSH shells to its nodes."""

    def __init__(
        self,
        name: str,
        api: PveApi,
        ssh_factory: Callable[[str, str], SshTarget],
        *,
        task_timeout_s: float = 900.0,
        poll: PollPolicy | None = None,
    ):
        self.name = name
        self.api = api
        self._ssh_factory = ssh_factory
        self.task_timeout_s = task_timeout_s
        self.poll = poll or PollPolicy()
        self._shells: dict[str, NodeShell] = {}
        self._addresses: dict[str, str] = {}
        self._version: str | None = None
        self._claimed: set[int] = set()
        self._claim_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PveHost({self.name!r})"

    def wait(self, upid: str, what: str, *, want_log: bool = False) -> list[str]:
        return wait_task(
            self.api, upid, timeout_s=self.task_timeout_s, poll=self.poll, what=what, want_log=want_log
        )

    # ------------------------------------------------------------ cluster

    def version(self) -> str:
        """The PVE version (asked once per connection)."""
        if self._version is None:
            self._version = str(self.api.get("version").get("version", ""))
        return self._version

    def node_addresses(self) -> dict[str, str]:
        """node -> address, from ``cluster/status`` (the ``ip`` of each node entry)."""
        entries = self.api.get("cluster/status")
        self._addresses = {e["name"]: e["ip"] for e in entries if e.get("type") == "node" and e.get("ip")}
        return dict(self._addresses)

    def resources(self, kind: str | None = None) -> list[dict[str, Any]]:
        return list(self.api.get("cluster/resources", type=kind))

    def nodes(self, resources: list[dict[str, Any]] | None = None) -> list[Node]:
        rows = resources if resources is not None else self.resources("node")
        addresses = self._addresses or self.node_addresses()
        nodes = []
        for r in rows:
            if r.get("type") != "node":
                continue
            nodes.append(
                Node(
                    host=self.name,
                    name=r["node"],
                    online=r.get("status") == "online",
                    ip=addresses.get(r["node"]),
                    cpu=float(r.get("cpu") or 0.0),
                    cores=int(r.get("maxcpu") or 0),
                    mem_used=int(r.get("mem") or 0),
                    mem_total=int(r.get("maxmem") or 0),
                    disk_used=int(r.get("disk") or 0),
                    disk_total=int(r.get("maxdisk") or 0),
                )
            )
        return sorted(nodes, key=lambda n: n.name)

    def containers(self, resources: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        rows = resources if resources is not None else self.resources("vm")
        return [r for r in rows if r.get("type") == "lxc"]

    def storages_in(self, resources: list[dict[str, Any]], node: str) -> list[Storage]:
        """A node's storages from a ``cluster/resources`` answer (its storage rows carry content, status and
        usage), so placing a guest and choosing its storages take one call."""
        storages = []
        for r in resources:
            if r.get("type") != "storage" or r.get("node") != node:
                continue
            total = int(r.get("maxdisk") or 0)
            storages.append(
                Storage(
                    host=self.name,
                    node=node,
                    name=r["storage"],
                    type=str(r.get("plugintype", "")),
                    content=sorted(c for c in str(r.get("content", "")).split(",") if c),
                    shared=bool(r.get("shared")),
                    active=r.get("status") == "available",
                    avail=max(total - int(r.get("disk") or 0), 0),
                    total=total,
                )
            )
        return storages

    def storages(self, node: str, content: str | None = None) -> list[Storage]:
        rows = self.api.get(f"nodes/{node}/storage", content=content, enabled=True)
        return [
            Storage(
                host=self.name,
                node=node,
                name=r["storage"],
                type=r.get("type", ""),
                content=sorted(c for c in str(r.get("content", "")).split(",") if c),
                shared=bool(r.get("shared")),
                active=bool(r.get("active", 1)),
                avail=int(r.get("avail") or 0),
                total=int(r.get("total") or 0),
            )
            for r in rows
        ]

    def pick_storage(
        self, node: str, content: str, preferred: str | None = None, storages: list[Storage] | None = None
    ) -> str:
        """A storage on ``node`` whose content includes ``content``: the preferred one, else most free.
        ``storages``: the node's storages if already fetched (saves a call)."""
        listed = storages if storages is not None else self.storages(node, content)
        candidates = [s for s in listed if s.active and content in s.content]
        if preferred:
            if any(s.name == preferred for s in candidates):
                return preferred
            raise NotFound(f"storage {preferred!r} on {node} does not accept {content!r}")
        if not candidates:
            raise NotFound(f"no storage on {node} accepts {content!r}")
        return max(candidates, key=lambda s: s.avail).name

    def next_vmid(self) -> int:
        return int(self.api.get("cluster/nextid"))

    # ------------------------------------------------------------ templates and images

    def find_template(self, node: str, storage: str, prefix: str) -> str | None:
        items = self.api.get(f"nodes/{node}/storage/{storage}/content", content="vztmpl")
        names = sorted(
            (i["volid"] for i in items if i["volid"].split("/")[-1].startswith(prefix)), reverse=True
        )
        return names[0] if names else None

    def download_template(self, node: str, storage: str, prefix: str) -> str:
        available = self.api.get(f"nodes/{node}/aplinfo")
        matches = sorted(
            (a["template"] for a in available if str(a.get("template", "")).startswith(prefix)), reverse=True
        )
        if not matches:
            raise NotFound(f"no appliance template starting with {prefix!r} in the aplinfo index of {node}")
        upid = self.api.post(f"nodes/{node}/aplinfo", storage=storage, template=matches[0])
        self.wait(upid, f"download of {matches[0]}")
        return f"{storage}:vztmpl/{matches[0]}"

    @staticmethod
    def oci_file_name(reference: str) -> str:
        """PVE's name for a pulled image: the reference's last path part, characters outside
        ``[A-Za-z0-9_.-]`` turned into '_', plus ``.tar`` (``docker.io/library/nginx:1.27`` -> ``nginx_1.27.tar``)."""
        return re.sub(r"[^A-Za-z0-9_.-]", "_", reference.rsplit("/", 1)[-1]) + ".tar"

    def oci_pull(self, node: str, storage: str, image: str) -> str:
        """The template volid of an OCI image in ``storage``, pulled first unless it is already there."""
        volid = f"{storage}:vztmpl/{self.oci_file_name(image)}"
        present = {
            i["volid"] for i in self.api.get(f"nodes/{node}/storage/{storage}/content", content="vztmpl")
        }
        if volid in present:
            return volid
        upid = self.api.post(f"nodes/{node}/storage/{storage}/oci-registry-pull", reference=image)
        self.wait(upid, f"pull of {image}")
        return volid

    # ------------------------------------------------------------ containers

    def ct_path(self, node: str, vmid: int) -> str:
        return f"nodes/{node}/lxc/{int(vmid)}"

    def create_ct(self, node: str, vmid: int, **params: Any) -> None:
        upid = self.api.post(f"nodes/{node}/lxc", vmid=vmid, **params)
        self.wait(upid, f"creation of CT {vmid}")

    def _claim_vmid(self) -> int:
        """PVE's next free id, skipping ids this process is already submitting (nextid hands the same id
        to concurrent callers until a container holds it)."""
        candidate = self.next_vmid()
        with self._claim_lock:
            while candidate in self._claimed:
                candidate += 1
            self._claimed.add(candidate)
        return candidate

    def with_free_vmid(self, submit: Callable[[int], str], attempts: int = 8) -> tuple[int, str]:
        """Run ``submit(vmid)`` (a POST that creates a guest) with a free VMID; another client may take the
        same id between nextid and the POST: retry on "already exists" with a fresh id."""
        for attempt in range(attempts):
            vmid = self._claim_vmid()
            try:
                return vmid, submit(vmid)
            except AlreadyExists:
                time.sleep(random.uniform(0, 0.05 * (attempt + 1)))
            finally:
                with self._claim_lock:
                    self._claimed.discard(vmid)
        raise AlreadyExists(f"no free VMID after {attempts} tries (heavy contention)")

    def create_ct_with_free_vmid(self, node: str, params: dict[str, Any]) -> int:
        vmid, upid = self.with_free_vmid(lambda vmid: self.api.post(f"nodes/{node}/lxc", vmid=vmid, **params))
        self.wait(upid, f"creation of CT {vmid}")
        return vmid

    def ct_status(self, node: str, vmid: int) -> dict[str, Any]:
        return dict(self.api.get(f"{self.ct_path(node, vmid)}/status/current"))

    def ct_config(self, node: str, vmid: int) -> dict[str, Any]:
        return dict(self.api.get(f"{self.ct_path(node, vmid)}/config"))

    def ct_ipv4(self, node: str, vmid: int) -> str | None:
        """The CT's first non-loopback IPv4 address, from ``/interfaces``."""
        for iface in self.api.get(f"{self.ct_path(node, vmid)}/interfaces") or []:
            if iface.get("name") == "lo":
                continue
            inet = iface.get("inet")
            if inet:
                return str(inet).split("/")[0]
        return None

    def _status_task(
        self, node: str, vmid: int, action: str, wanted: str | None = None, **params: Any
    ) -> None:
        """A power action. ``wanted``: the state it leads to; if PVE refuses because the CT is already
        there (e.g. a start resent after a lost answer), that counts as done."""
        try:
            upid = self.api.post(f"{self.ct_path(node, vmid)}/status/{action}", **params)
            self.wait(upid, f"{action} of CT {vmid}")
        except (Conflict, TaskFailed):
            if wanted is not None and self.ct_status(node, vmid).get("status") == wanted:
                return
            raise

    def start(self, node: str, vmid: int) -> None:
        self._status_task(node, vmid, "start", "running")

    def stop(self, node: str, vmid: int) -> None:
        self._status_task(node, vmid, "stop", "stopped")

    def shutdown(self, node: str, vmid: int, timeout_s: int) -> None:
        """Graceful shutdown; PVE stops the CT hard when ``timeout_s`` passes (forceStop)."""
        self._status_task(node, vmid, "shutdown", "stopped", timeout=timeout_s, forceStop=True)

    def reboot(self, node: str, vmid: int) -> None:
        self._status_task(node, vmid, "reboot")

    def delete_ct(self, node: str, vmid: int, *, purge: bool = True) -> None:
        upid = self.api.delete(
            self.ct_path(node, vmid), purge=purge, **{"destroy-unreferenced-disks": purge}, force=True
        )
        self.wait(upid, f"deletion of CT {vmid}")

    def delete_ct_if_exists(self, node: str, vmid: int) -> bool:
        try:
            status = self.ct_status(node, vmid)
        except NotFound:
            return False
        if status.get("status") == "running":
            self.stop(node, vmid)
        self.delete_ct(node, vmid)
        return True

    def snapshot(
        self, node: str, vmid: int, name: str, description: str = "", *, exist_ok: bool = False
    ) -> None:
        """Take a snapshot. ``exist_ok``: the name is unique to the caller (a job id in it), so a snapshot of
        that name already there is this caller's own earlier try that PVE carried out (a resent POST whose
        first answer was lost, a retried step): done, once its task has released the lock."""
        try:
            upid = self.api.post(
                f"{self.ct_path(node, vmid)}/snapshot", snapname=name, description=description or None
            )
            self.wait(upid, f"snapshot {name} of CT {vmid}")
        except (Conflict, TaskFailed, ValidationError):
            if exist_ok and name in self.snapshots(node, vmid):
                self.wait_unlocked(node, vmid)
                return
            raise

    def wait_unlocked(self, node: str, vmid: int) -> None:
        """Wait until the CT's config holds no lock (an operation of an earlier request finishing)."""
        deadline = time.monotonic() + self.task_timeout_s
        for interval in self.poll.intervals():
            if "lock" not in self.ct_config(node, vmid):
                return
            if time.monotonic() >= deadline:
                raise Locked(f"CT {vmid} is still locked after {self.task_timeout_s:.0f}s")
            time.sleep(interval)

    def rollback(self, node: str, vmid: int, name: str) -> None:
        upid = self.api.post(f"{self.ct_path(node, vmid)}/snapshot/{name}/rollback")
        self.wait(upid, f"rollback of CT {vmid} to {name}")

    def delete_snapshot(self, node: str, vmid: int, name: str) -> None:
        try:
            upid = self.api.delete(f"{self.ct_path(node, vmid)}/snapshot/{name}")
        except NotFound:
            return
        self.wait(upid, f"removal of snapshot {name} of CT {vmid}")

    def snapshots(self, node: str, vmid: int) -> list[str]:
        return [
            s["name"] for s in self.api.get(f"{self.ct_path(node, vmid)}/snapshot") if s["name"] != "current"
        ]

    def clone_ct(
        self, node: str, vmid: int, *, hostname: str, snapname: str | None, marker: str | None = None
    ) -> int:
        """Clone to a new free VMID; returns it. ``marker`` (unique to the caller, e.g. a job tag) goes into
        the clone's description: if a resent clone POST is refused because PVE already made that clone, the
        marker recognises it as this caller's and it is used instead of cloning a second time."""

        def submit(newid: int) -> str:
            try:
                return str(
                    self.api.post(
                        f"{self.ct_path(node, vmid)}/clone",
                        newid=newid,
                        hostname=hostname,
                        snapname=snapname,
                        description=marker,
                    )
                )
            except AlreadyExists:
                if marker is not None and self._carries_marker(node, newid, marker):
                    return ""  # our own earlier send went through
                raise

        newid, upid = self.with_free_vmid(submit)
        if upid:
            self.wait(upid, f"clone of CT {vmid} to {newid}")
        else:
            self.wait_unlocked(node, newid)
        return newid

    def _carries_marker(self, node: str, vmid: int, marker: str) -> bool:
        try:
            return marker in str(self.ct_config(node, vmid).get("description", ""))
        except NotFound:
            return False

    def move_volume(self, node: str, vmid: int, volume: str, target_vmid: int, target_volume: str) -> None:
        """Hand a mount point's volume (``mp0``) to another CT on the same node (PVE's ``move_volume`` with
        ``target-vmid``): the data moves with it, nothing is copied."""
        upid = self.api.post(
            f"{self.ct_path(node, vmid)}/move_volume",
            volume=volume,
            **{"target-vmid": int(target_vmid), "target-volume": target_volume},
        )
        self.wait(upid, f"move of {volume} of CT {vmid} to CT {target_vmid}")

    def set_config(self, node: str, vmid: int, **params: Any) -> None:
        self.api.put(f"{self.ct_path(node, vmid)}/config", **params)

    def resize_disk(self, node: str, vmid: int, size_gb: int) -> None:
        result = self.api.put(f"{self.ct_path(node, vmid)}/resize", disk="rootfs", size=f"{int(size_gb)}G")
        if isinstance(result, str) and result.startswith("UPID:"):
            self.wait(result, f"resize of CT {vmid}")

    def migrate(self, node: str, vmid: int, target: str, *, restart: bool) -> None:
        upid = self.api.post(f"{self.ct_path(node, vmid)}/migrate", target=target, restart=restart or None)
        self.wait(upid, f"migration of CT {vmid} to {target}")

    def rrddata(self, node: str, vmid: int, timeframe: str) -> list[dict[str, Any]]:
        if timeframe not in ("hour", "day", "week", "month", "year"):
            raise ValidationError(f"timeframe must be hour, day, week, month or year, not {timeframe!r}")
        return list(self.api.get(f"{self.ct_path(node, vmid)}/rrddata", timeframe=timeframe))

    # ------------------------------------------------------------ backups

    def vzdump(self, node: str, vmid: int, storage: str, *, notes: str | None = None) -> str:
        """A snapshot-mode, zstd backup. Returns the volid, read from the task log (never predicted)."""
        upid = self.api.post(
            f"nodes/{node}/vzdump",
            vmid=str(vmid),
            storage=storage,
            mode="snapshot",
            compress="zstd",
            **{"notes-template": notes},
        )
        log = self.wait(upid, f"backup of CT {vmid}", want_log=True)
        for line in log:
            match = BACKUP_FILE.search(line)
            if match:
                return f"{storage}:backup/{match.group(1)}"
        raise ProximityError(
            f"the backup of CT {vmid} finished but its log names no archive", details={"task": upid}
        )

    def backups(self, node: str, storage: str, vmid: int | None = None) -> list[dict[str, Any]]:
        return list(self.api.get(f"nodes/{node}/storage/{storage}/content", content="backup", vmid=vmid))

    def delete_volume(self, node: str, storage: str, volid: str) -> None:
        result = self.api.delete(f"nodes/{node}/storage/{storage}/content/{volid}")
        if isinstance(result, str) and result.startswith("UPID:"):
            self.wait(result, f"removal of {volid}")

    def protect_volume(self, node: str, storage: str, volid: str, protected: bool) -> None:
        self.api.put(f"nodes/{node}/storage/{storage}/content/{volid}", protected=protected)

    def _restore_params(
        self, archive: str, storage: str | None, force: bool, hostname: str | None
    ) -> dict[str, Any]:
        return {
            "ostemplate": archive,
            "restore": True,
            "force": force or None,
            "storage": storage,
            "hostname": hostname,
        }

    def restore(
        self,
        node: str,
        vmid: int,
        archive: str,
        *,
        storage: str | None,
        force: bool,
        hostname: str | None = None,
    ) -> None:
        """Restore over an existing (stopped) CT, or into a chosen VMID."""
        upid = self.api.post(
            f"nodes/{node}/lxc", vmid=vmid, **self._restore_params(archive, storage, force, hostname)
        )
        self.wait(upid, f"restore of {archive} to CT {vmid}")

    def restore_new(self, node: str, archive: str, *, storage: str | None, hostname: str | None) -> int:
        """Restore into a new free VMID; returns it."""
        params = self._restore_params(archive, storage, False, hostname)
        vmid, upid = self.with_free_vmid(lambda vmid: self.api.post(f"nodes/{node}/lxc", vmid=vmid, **params))
        self.wait(upid, f"restore of {archive} to CT {vmid}")
        return vmid

    # ------------------------------------------------------------ SSH

    def shell(self, node: str) -> NodeShell:
        if node not in self._shells:
            address = (self._addresses or self.node_addresses()).get(node)
            if not address:
                raise NotFound(f"node {node!r} of {self.name} has no address in cluster/status")
            self._shells[node] = NodeShell(self._ssh_factory(node, address))
        return self._shells[node]

    async def close(self) -> None:
        for shell in self._shells.values():
            await shell.close()
        self._shells.clear()
        self.api.close()


def mount_points(config: dict[str, Any]) -> dict[str, str]:
    """The CT's mount points (``mp0``...) as PVE writes them in its config."""
    return {k: str(v) for k, v in config.items() if re.fullmatch(r"mp\d+", k)}


def rootfs_storage(config: dict[str, Any]) -> str | None:
    volume = props.parse(str(config.get("rootfs", "")), "volume").get("volume", "")
    return volume.split(":", 1)[0] or None


def rootfs_size_gb(config: dict[str, Any]) -> int | None:
    size = props.parse(str(config.get("rootfs", "")), "volume").get("size")
    return props.size_gb(size) if size else None
