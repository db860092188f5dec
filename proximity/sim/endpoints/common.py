"""Helpers the handlers share: lock checks, config normalisation, volumes, log timestamps."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from proximity.sim.context import Call
from proximity.sim.errors import ApiError, TaskFailed, fail
from proximity.sim.propstr import format_propstr, format_size, parse_propstr
from proximity.sim.state import Cluster, SimContainer, Volume

# Config keys PVE stores as integers (everything else is a string).
INT_KEYS = {
    "cores",
    "memory",
    "swap",
    "cpuunits",
    "onboot",
    "unprivileged",
    "protection",
    "template",
    "tty",
    "console",
    "debug",
}
NUMBER_KEYS = {"cpulimit"}
# Parameters of POST /nodes/{node}/lxc that are not written into the config.
CREATE_ONLY = {
    "node",
    "vmid",
    "ostemplate",
    "password",
    "ssh-public-keys",
    "start",
    "restore",
    "force",
    "storage",
    "pool",
    "unique",
    "ignore-unpack-errors",
    "bwlimit",
    "ha-managed",
}


def check_lock(ct: SimContainer) -> None:
    if ct.lock:
        raise fail(f"CT is locked ({ct.lock})")


def task_check_lock(ct: SimContainer) -> None:
    if ct.lock:
        raise TaskFailed(f"CT is locked ({ct.lock})")


def normalise(key: str, value: Any) -> Any:
    if key in INT_KEYS:
        if isinstance(value, bool):
            return int(value)
        return int(value)
    if key in NUMBER_KEYS:
        number = float(value)
        return int(number) if number.is_integer() else number
    return str(value)


def config_digest(config: dict[str, Any]) -> str:
    text = "\n".join(f"{k}: {config[k]}" for k in sorted(config))
    return hashlib.sha1(text.encode()).hexdigest()


def hwaddr(vmid: int, index: int) -> str:
    """A stable MAC in Proxmox's BC:24:11 range."""
    digest = hashlib.sha256(f"{vmid}/{index}".encode()).digest()
    return "BC:24:11:" + ":".join(f"{b:02X}" for b in digest[:3])


def complete_net(vmid: int, key: str, value: str) -> str:
    net = parse_propstr(value, "name")
    net.setdefault("name", "eth" + key[3:])
    if "hwaddr" not in net:
        net["hwaddr"] = hwaddr(vmid, int(key[3:]))
    net.setdefault("type", "veth")
    first_keys: tuple[str, ...] = ("name", "bridge", "hwaddr", "ip", "ip6", "gw", "type")
    ordered: dict[str, str] = {k: net[k] for k in first_keys if k in net}
    ordered.update({k: v for k, v in net.items() if k not in ordered})
    return ",".join(f"{k}={v}" for k, v in ordered.items())


def disk_string(volid: str, size: int, extra: dict[str, str] | None = None) -> str:
    values = {"volume": volid, **(extra or {}), "size": format_size(size)}
    return format_propstr(values, "volume")


def stamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


def volume_path(cluster: Cluster, node: str, volid: str) -> str:
    storage_id, name = volid.split(":", 1)
    storage = cluster.storage(storage_id)
    if storage.type == "lvmthin":
        return f"/dev/{storage.vgname}/{name.rsplit('/', 1)[-1]}"
    kind, _, filename = name.partition("/")
    folder = {"vztmpl": "template/cache", "iso": "template/iso", "backup": "dump", "import": "import"}.get(
        kind, kind
    )
    return f"{storage.path}/{folder}/{filename}"


def find_volume(call: Call, node: str, volid: str) -> Volume:
    volume = call.cluster.volume(node, volid)
    if volume is None:
        raise fail(f"volume '{volid}' does not exist")
    return volume


def require_node_online(call: Call, node: str) -> None:
    if call.services.faults.is_offline(node):
        raise ApiError(595, "No route to host")


def human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.2f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{size:.2f} TiB"
