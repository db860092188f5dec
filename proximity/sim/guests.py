"""The bridge between a container's record and what runs inside it (``proximity.sim.inside``).

A container without an inside (one loaded from an older state file) has the load of an idle Linux system.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from proximity.sim.inside import ContainerInside
from proximity.sim.state import MIB, Cluster, SimContainer


@dataclass(frozen=True)
class Load:
    cpu: float  # cores in use, 0..cores
    mem_bytes: int
    disk_bytes: int
    netin: int  # bytes received since boot
    netout: int


def new_inside(ostemplate: str, oci_image: str | None, time_scale: float) -> ContainerInside:
    return ContainerInside.new(ostemplate, oci_image=oci_image, time_scale=time_scale)


def copy_inside(data: dict[str, Any] | None, time_scale: float) -> ContainerInside | None:
    if data is None:
        return None
    return ContainerInside.from_dict(data, time_scale=time_scale)


def attach(ct: SimContainer, inside: Any, cluster: Cluster, time_scale: float) -> None:
    """Give ``ct`` this inside (releasing the one it had) and tell it the facts it needs.

    ``cluster.changed`` is its change callback, so files written over SSH reach the state file promptly.
    """
    if ct.inside is not None and ct.inside is not inside:
        ct.inside.close()
    ct.inside = inside
    if inside is not None:
        vmid = ct.vmid
        faults = cluster.faults
        inside.configure(
            time_scale=time_scale,
            vmid=vmid,
            hostname=ct.name,
            never_healthy=lambda: faults.app_unhealthy(vmid),
            on_change=cluster.changed,
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
