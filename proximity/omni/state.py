"""The live names a request may refer to: apps, hosts, nodes, backups, and the catalog.

Read from a ``Proximity`` client (``LiveState.from_client``) or built by hand (tests, the evaluation).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from proximity.catalog.loader import Catalog, default_catalog


@dataclass(frozen=True)
class LiveState:
    apps: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()  # hosts recorded in Proximity
    nodes: tuple[str, ...] = ()  # PVE nodes of those hosts
    backup_ids: tuple[str, ...] = ()
    catalog: Catalog = field(default_factory=default_catalog, repr=False, compare=False)

    @classmethod
    def of(
        cls,
        *,
        apps: Iterable[str] = (),
        hosts: Iterable[str] = (),
        nodes: Iterable[str] = (),
        backup_ids: Iterable[str] = (),
        catalog: Catalog | None = None,
    ) -> LiveState:
        return cls(
            apps=tuple(apps),
            hosts=tuple(hosts),
            nodes=tuple(nodes),
            backup_ids=tuple(backup_ids),
            catalog=catalog if catalog is not None else default_catalog(),
        )

    @classmethod
    def from_client(cls, px: Any, *, with_nodes: bool = True) -> LiveState:
        """The state a ``Proximity`` client knows: recorded apps and hosts, node names, indexed backups.

        Reads the store only (no Proxmox call) except for node names, which come from each host's API;
        an unreachable host simply contributes no nodes.
        """
        from proximity.errors import ProximityError

        hosts = [host.name for host in px.store.list_hosts()]
        nodes: list[str] = []
        if with_nodes:
            for host in hosts:
                try:
                    nodes += [node.name for node in px.hosts.nodes(host)]
                except ProximityError:
                    continue
        return cls(
            apps=tuple(app.name for app in px.store.list_apps()),
            hosts=tuple(hosts),
            nodes=tuple(dict.fromkeys(nodes)),
            backup_ids=tuple(backup.volid for backup in px.store.list_backups()),
            catalog=px.catalog._catalog if hasattr(px.catalog, "_catalog") else default_catalog(),
        )

    @property
    def catalog_ids(self) -> tuple[str, ...]:
        return tuple(entry.id for entry in self.catalog)

    @property
    def places(self) -> tuple[str, ...]:
        """Hosts and nodes: what "on X" / "to X" may name."""
        return tuple(dict.fromkeys(self.hosts + self.nodes))
