"""The simulated cluster: nodes, storages, volumes, containers, snapshots and pools.

Everything here is guarded by ``Cluster.lock`` (a re-entrant lock): API handlers, task workers, the SSH
side and the persistence thread take it before they read or change the state.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from proximity.sim.errors import fail
from proximity.sim.propstr import GIB, MIB, parse_propstr

if TYPE_CHECKING:
    from proximity.sim.faults import Faults

PVE_VERSION = "9.1.1"
PVE_REPOID = "42db4a6cf33dac83"
KERNEL = "6.17.2-1-pve"
CLUSTER_NAME = "proximity"
NODE_NET = "127.80.0"
CT_NET = "127.81"

# Capacity of node i (1-based, cycling): cores, memory, CPU model.
NODE_SHAPES: tuple[tuple[int, int, str], ...] = (
    (16, 64 * GIB, "AMD Ryzen 9 7950X 16-Core Processor"),
    (24, 96 * GIB, "13th Gen Intel(R) Core(TM) i9-13900 (24 cores)"),
    (32, 128 * GIB, "AMD EPYC 7313P 16-Core Processor"),
)
LOCAL_TOTAL = 100 * GIB
LOCAL_OS_USED = 9 * GIB + 300 * MIB  # the root file system the node itself occupies
LVM_THIN_TOTAL = 500 * GIB

# Templates an administrator typically downloaded already (file name, compressed size).
SEED_TEMPLATES: tuple[tuple[str, int], ...] = (
    ("debian-12-standard_12.12-1_amd64.tar.zst", 126 * MIB),
    ("ubuntu-24.04-standard_24.04-2_amd64.tar.zst", 141 * MIB),
    ("alpine-3.22-default_20250617_amd64.tar.xz", 3 * MIB + 512 * 1024),
)


@dataclass
class SimNode:
    name: str
    ip: str
    cores: int
    memory: int
    cpu_model: str
    boot_time: float
    online: bool = True

    @property
    def index(self) -> int:
        return int(self.ip.rsplit(".", 1)[1])


@dataclass
class StorageConfig:
    """One entry of ``/etc/pve/storage.cfg`` (local storages exist on every node)."""

    storage: str
    type: str  # "dir" | "lvmthin"
    content: set[str]
    total: int
    path: str = ""
    vgname: str = ""
    thinpool: str = ""
    shared: bool = False
    disabled: bool = False

    def supports(self, content: str) -> bool:
        return content in self.content


@dataclass
class Volume:
    """A file or logical volume on one node's storage."""

    volid: str
    content: str  # vztmpl | iso | backup | rootdir | images | import
    size: int
    ctime: int
    format: str
    vmid: int | None = None
    used: int = 0  # allocated bytes on thin storage
    notes: str = ""
    protected: bool = False
    # A backup keeps the guest it saved; a template pulled from a registry keeps its reference.
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def storage(self) -> str:
        return self.volid.split(":", 1)[0]

    @property
    def name(self) -> str:
        return self.volid.split(":", 1)[1]


@dataclass
class Snapshot:
    name: str
    description: str
    snaptime: int
    config: dict[str, Any]
    inside: dict[str, Any] | None
    parent: str | None


@dataclass
class SimContainer:
    vmid: int
    node: str
    config: dict[str, Any]
    status: str = "stopped"  # "running" | "stopped"
    ip: str | None = None
    inside: Any = None  # proximity.sim.inside.ContainerInside when that module is present
    snapshots: dict[str, Snapshot] = field(default_factory=dict)
    parent_snapshot: str | None = None
    started_at: float | None = None
    pid: int | None = None

    @property
    def lock(self) -> str | None:
        value = self.config.get("lock")
        return str(value) if value else None

    @property
    def is_template(self) -> bool:
        return str(self.config.get("template", "0")) == "1"

    @property
    def name(self) -> str:
        return str(self.config.get("hostname", f"CT{self.vmid}"))

    def rootfs_volid(self) -> str:
        return parse_propstr(str(self.config["rootfs"]), "volume")["volume"]

    def disk_volids(self) -> list[str]:
        keys = ["rootfs"] + sorted(k for k in self.config if k.startswith("mp") and k[2:].isdigit())
        return [parse_propstr(str(self.config[k]), "volume")["volume"] for k in keys if k in self.config]


@dataclass
class Pool:
    poolid: str
    comment: str = ""
    vmids: set[int] = field(default_factory=set)
    storages: set[str] = field(default_factory=set)


class Cluster:
    """The whole simulated cluster; see the module docstring for the locking rule."""

    def __init__(self, faults: Faults) -> None:
        self.lock = threading.RLock()
        self.name = CLUSTER_NAME
        self.faults = faults
        self.nodes: dict[str, SimNode] = {}
        self.storages: dict[str, StorageConfig] = {}
        self.volumes: dict[str, dict[str, Volume]] = {}  # node -> volid -> volume
        self.containers: dict[int, SimContainer] = {}
        self.pools: dict[str, Pool] = {}
        self.ct_net = CT_NET  # the simulator moves it to the address range it claimed
        self._listeners: list[Callable[[], None]] = []

    # -- change notification (persistence) -------------------------------------------------------
    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def changed(self) -> None:
        for listener in self._listeners:
            listener()

    def unlock(self, ct: SimContainer, only: str | None = None) -> None:
        """Drop the CT's lock (only if it is still ``only``, when given), as a finished task does."""
        with self.lock:
            if only is None or ct.config.get("lock") == only:
                ct.config.pop("lock", None)
                self.changed()

    # -- look-ups with PVE's wording -------------------------------------------------------------
    def node(self, name: str) -> SimNode:
        node = self.nodes.get(name)
        if node is None:
            raise fail(f"no such cluster node '{name}'")
        return node

    def container(self, node: str, vmid: int) -> SimContainer:
        """The CT whose config lives on ``node``; PVE names the missing file otherwise."""
        ct = self.containers.get(vmid)
        if ct is None or ct.node != node:
            raise fail(f"Configuration file 'nodes/{node}/lxc/{vmid}.conf' does not exist")
        return ct

    def storage(self, storage: str) -> StorageConfig:
        config = self.storages.get(storage)
        if config is None:
            raise fail(f"storage '{storage}' does not exist")
        return config

    def volume(self, node: str, volid: str) -> Volume | None:
        return self.volumes.get(node, {}).get(volid)

    def add_volume(self, node: str, volume: Volume) -> None:
        self.volumes.setdefault(node, {})[volume.volid] = volume

    def remove_volume(self, node: str, volid: str) -> Volume | None:
        return self.volumes.get(node, {}).pop(volid, None)

    def node_volumes(self, node: str, storage: str) -> list[Volume]:
        return [v for v in self.volumes.get(node, {}).values() if v.storage == storage]

    def storage_used(self, node: str, storage: str) -> int:
        self.storage(storage)
        return self.storage_usage(node)[storage]

    def storage_usage(self, node: str) -> dict[str, int]:
        """Bytes used on each storage of ``node``: thin volumes count what they allocated, files their size
        (a dir storage also holds the node's own root file system)."""
        used = {name: 0 if cfg.type == "lvmthin" else LOCAL_OS_USED for name, cfg in self.storages.items()}
        for volume in self.volumes.get(node, {}).values():
            storage = volume.volid.partition(":")[0]
            config = self.storages.get(storage)
            if config is not None:
                used[storage] += volume.used if config.type == "lvmthin" else volume.size
        for storage, config in self.storages.items():  # sim.faults.fill_storage: filled by something else
            left = self.faults.storage_left(node, storage)
            if left is not None:
                used[storage] = max(used[storage], config.total - left)
        return used

    def storage_free(self, node: str, storage: str) -> int:
        return max(0, self.storage(storage).total - self.storage_used(node, storage))

    def next_free_vmid(self, start: int = 100) -> int:
        vmid = start
        while vmid in self.containers:
            vmid += 1
        return vmid

    def next_disk_name(self, node: str, storage: str, vmid: int) -> str:
        taken = {v.name for v in self.node_volumes(node, storage)}
        index = 0
        while f"vm-{vmid}-disk-{index}" in taken or f"base-{vmid}-disk-{index}" in taken:
            index += 1
        return f"vm-{vmid}-disk-{index}"

    def container_ip(self, ct: SimContainer) -> str | None:
        """The address a running CT answers on: static ``ip=`` of net0, or a lease in ``ct_net``.0.0/16."""
        if "net0" not in ct.config:
            return None
        net = parse_propstr(str(ct.config["net0"]), "name")
        ip = net.get("ip", "")
        if ip and ip not in ("dhcp", "manual"):
            return ip.split("/", 1)[0]
        if ip != "dhcp":
            return None
        taken = {c.ip for c in self.containers.values() if c.ip and c.vmid != ct.vmid}
        candidate = f"{self.ct_net}.{(ct.vmid >> 8) & 255}.{ct.vmid & 255}"
        counter = 0
        while candidate in taken or candidate.endswith(".0.0"):
            counter += 1
            candidate = f"{self.ct_net}.{200 + (counter >> 8) % 56}.{counter & 255}"
        return candidate


def template_format(filename: str) -> str:
    """The ``format`` PVE lists for a template file: tzst, txz, tgz or tar."""
    for suffix, fmt in ((".tar.zst", "tzst"), (".tar.xz", "txz"), (".tar.gz", "tgz"), (".tar", "tar")):
        if filename.endswith(suffix):
            return fmt
    return "raw"


def build_cluster(faults: Faults, nodes: int) -> Cluster:
    """A fresh cluster of ``nodes`` nodes with ``local`` (dir) and ``local-lvm`` (lvmthin) on each."""
    cluster = Cluster(faults)
    now = time.time()
    for i in range(1, nodes + 1):
        cores, memory, model = NODE_SHAPES[(i - 1) % len(NODE_SHAPES)]
        name = f"pve{i}"
        # Nodes were booted a while ago (days), so uptime figures look like a real cluster's.
        cluster.nodes[name] = SimNode(name, f"{NODE_NET}.{i}", cores, memory, model, now - 86400 * (3 + i))
    cluster.storages["local"] = StorageConfig(
        "local", "dir", {"vztmpl", "iso", "backup", "import"}, LOCAL_TOTAL, path="/var/lib/vz"
    )
    cluster.storages["local-lvm"] = StorageConfig(
        "local-lvm", "lvmthin", {"rootdir", "images"}, LVM_THIN_TOTAL, vgname="pve", thinpool="data"
    )
    seeded = int(now) - 86400 * 2
    for name in cluster.nodes:
        for filename, size in SEED_TEMPLATES:
            volid = f"local:vztmpl/{filename}"
            cluster.add_volume(name, Volume(volid, "vztmpl", size, seeded, template_format(filename)))
    return cluster
