"""The fleet as a table: one row per app with its measured resources (HTML in Jupyter, text elsewhere)."""

from __future__ import annotations

import html
from dataclasses import dataclass

from proximity.widgets.fleet import AppUsage, Fleet
from proximity.widgets.formatting import gib, mib, percent

COLUMNS = ("app", "catalog", "host", "node", "vmid", "status", "cpu", "memory", "disk", "url")


def app_row(app: AppUsage) -> tuple[str, ...]:
    return (
        app.name,
        app.catalog_id,
        app.host,
        app.node,
        str(app.vmid),
        app.status,
        percent(app.cpu),
        f"{mib(app.mem_bytes)} / {mib(app.maxmem_bytes)}",
        f"{gib(app.disk_bytes)} / {gib(app.maxdisk_bytes)}",
        app.url or "",
    )


@dataclass(frozen=True, repr=False)
class FleetTable:
    rows: tuple[tuple[str, ...], ...]

    @classmethod
    def of(cls, fleet: Fleet) -> FleetTable:
        apps = sorted(fleet.apps(), key=lambda a: (a.host, a.node, a.vmid))
        return cls(rows=tuple(app_row(a) for a in apps))

    def __str__(self) -> str:
        table = [COLUMNS, *self.rows]
        widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
        lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in table]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left'>{html.escape(c)}</th>" for c in COLUMNS)
        body = "".join(
            "<tr>"
            + "".join(f"<td style='text-align:left'>{html.escape(cell)}</td>" for cell in row)
            + "</tr>"
            for row in self.rows
        )
        return f"<table class='px-fleet'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
