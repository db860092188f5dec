"""Every method the simulator serves, as data: ``ROUTES`` (method, PVE path template, handler, permission).

The schema conformance test iterates this list to prove each method exists in the official API schema.
"""

from __future__ import annotations

from proximity.sim.endpoints import access, backups, cluster, lxc, lxc_ops, nodes, snapshots, storage
from proximity.sim.router import Permission, Route

ROUTES: list[Route] = [
    *access.ROUTES,
    *cluster.ROUTES,
    *nodes.ROUTES,
    *storage.ROUTES,
    *backups.ROUTES,
    *lxc.ROUTES,
    *lxc_ops.ROUTES,
    *snapshots.ROUTES,
]

__all__ = ["ROUTES", "Permission", "Route"]
