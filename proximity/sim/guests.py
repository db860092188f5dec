"""The bridge between a container's record and what runs inside it (``proximity.sim.inside``).

``inside.py`` is written beside this module; until it exists (or if it fails to import) containers have no
inside, and their load comes from a smooth model of an idle Linux system instead.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

from proximity.sim.faults import Faults
from proximity.sim.state import MIB, SimContainer

log = logging.getLogger(__name__)

try:  # written by another part of the simulator; optional until it lands
    from proximity.sim.inside import ContainerInside as _ContainerInside
except Exception as _import_error:  # noqa: BLE001 - any import failure means "no inside"
    _ContainerInside = None  # type: ignore[assignment,misc]
    log.debug("proximity.sim.inside unavailable: %s", _import_error)


@dataclass(frozen=True)
class Load:
    cpu: float  # cores in use, 0..cores
    mem_bytes: int
    disk_bytes: int
    netin: int  # bytes received since boot
    netout: int


def has_inside() -> bool:
    return _ContainerInside is not None


def new_inside(ostemplate: str, oci_image: str | None, time_scale: float) -> Any:
    if _ContainerInside is None:
        return None
    return _ContainerInside.new(ostemplate, oci_image=oci_image, time_scale=time_scale)


def copy_inside(data: dict[str, Any] | None, time_scale: float) -> Any:
    if _ContainerInside is None or data is None:
        return None
    return _ContainerInside.from_dict(data, time_scale=time_scale)


def attach(ct: SimContainer, inside: Any, faults: Faults, time_scale: float) -> None:
    """Give ``ct`` this inside (releasing the one it had) and tell it the facts it needs."""
    if ct.inside is not None and ct.inside is not inside:
        ct.inside.close()
    ct.inside = inside
    if inside is not None:
        vmid = ct.vmid
        inside.configure(
            time_scale=time_scale,
            vmid=vmid,
            hostname=ct.name,
            never_healthy=lambda: faults.app_unhealthy(vmid),
        )


def inside_dict(ct: SimContainer) -> dict[str, Any] | None:
    return ct.inside.to_dict() if ct.inside is not None else None


def boot(ct: SimContainer) -> None:
    if ct.inside is not None and ct.ip is not None:
        ct.inside.boot(ct.ip, hostname=ct.name)


def halt(ct: SimContainer) -> None:
    if ct.inside is not None:
        ct.inside.halt()


def discard(ct: SimContainer) -> None:
    """The CT is gone: its inside releases its sockets for good."""
    if ct.inside is not None:
        ct.inside.close()
        ct.inside = None


def load(ct: SimContainer, now: float, rootfs_used: int) -> Load:
    """What the CT uses now: from its inside when there is one, else an idle system's smooth figures."""
    if ct.status != "running" or ct.started_at is None:
        return Load(0.0, 0, rootfs_used, 0, 0)
    if ct.inside is not None:
        figures = ct.inside.load()
        return Load(
            float(figures.cpu),
            int(figures.mem_bytes),
            max(int(figures.disk_bytes), rootfs_used),
            int(figures.netin),
            int(figures.netout),
        )
    uptime = max(0.0, now - ct.started_at)
    phase = (ct.vmid % 17) / 17 * 2 * math.pi
    wave = 0.5 + 0.5 * math.sin(2 * math.pi * uptime / 900 + phase)  # a 15-minute rhythm per CT
    cores = int(ct.config.get("cores", 1) or 1)
    memory = int(ct.config.get("memory", 512)) * MIB
    cpu = min(float(cores), 0.004 * cores + 0.02 * wave)
    mem = int(min(memory, 38 * MIB + 0.06 * memory * (0.8 + 0.2 * wave)))
    # A few hundred bytes a second of background traffic (DHCP, NTP, ARP), growing with uptime.
    netin = int(uptime * 220 + 150 * math.sin(uptime / 300))
    netout = int(uptime * 90 + 60 * math.sin(uptime / 300))
    return Load(cpu, mem, rootfs_used, max(0, netin), max(0, netout))
