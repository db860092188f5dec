"""The Rack page: ``dashboards.rack.RackView`` (every app a 1U unit, fed a snapshot then deltas), its
button clicks routed to the same server-side, role-checked actions as every other button. ``delete`` opens
the app's page, where the confirmation names what is lost. ``rack_rows`` is the plain listing used when
the component cannot be imported."""

from __future__ import annotations

import asyncio
from typing import Any

import panel as pn
import panel_material_ui as pmui

from dashboards.pages.common import app_link, esc, html_pane, led, link, table
from dashboards.session import DeckSession
from proximity.models import App

try:
    from dashboards.rack import RackAction, RackView
except ImportError:  # the component is optional: the listing below stands in
    RackView = None  # type: ignore[assignment,misc]
    RackAction = Any  # type: ignore[assignment,misc]


def rack_rows(apps: list[App], deploying: dict[str, str] | None = None) -> list[list[str]]:
    """One row per app; deploys in flight that the SDK has not recorded yet show as ``deploying``."""
    recorded = {a.name for a in apps}
    rows = [
        [led("deploying", f"led-{name}") + "deploying", esc(name), esc(catalog_id), "", "", "", ""]
        for name, catalog_id in sorted((deploying or {}).items())
        if name not in recorded
    ]
    for app in sorted(apps, key=lambda a: (a.host, a.node, a.name)):
        status = app.status.value
        rows.append(
            [
                led(status, f"led-{app.name}") + esc(status),
                app_link(app),
                esc(app.catalog_id),
                esc(f"{app.host}/{app.node}"),
                esc(app.vmid),
                link(app.url),
                esc(f"{app.cores} c / {app.memory_mb} MiB / {app.disk_gb} GiB"),
            ]
        )
    return rows


class RackPage:
    title = "Rack"

    def __init__(self, session: DeckSession):
        self.session = session
        self.rack: Any = None
        self.listing = html_pane("", sizing_mode="stretch_width")
        self._last_html = ""
        self.body = pn.Column(self.listing, sizing_mode="stretch_width")
        self.view = pn.Column(pmui.Typography("Rack", variant="h5"), self.body, sizing_mode="stretch_width")

    def set_theme(self, theme: str) -> None:
        if self.rack is not None:
            self.rack.theme = theme

    async def refresh(self) -> None:
        if RackView is not None:
            await self._refresh_rack()
        else:
            await self._refresh_listing()

    async def _refresh_rack(self) -> None:
        fed = await self.session.read(self.session.service.rack_units)
        if fed is None:
            return
        units, kinds = fed
        if self.rack is None:
            self.rack = RackView(units=units, kinds=kinds, theme=self.session.theme, load_icons=False)
            self.rack.on_action(self._on_action)
            self.body.objects = [self.rack]
        else:
            self.rack.update(units, kinds)  # only the changed fields travel

    async def _refresh_listing(self) -> None:
        apps = await self.session.read(self.session.service.apps)
        if apps is None:
            return
        body = table(
            ["LED", "app", "catalog", "host/node", "CT", "URL", "size"],
            rack_rows(apps, self.session.service.deploying()),
            "rack",
        )
        if body != self._last_html:  # send the listing only when something changed
            self._last_html = body
            self.listing.object = body

    async def tick(self) -> None:
        await self.refresh()

    def _on_action(self, clicked: RackAction) -> None:
        asyncio.ensure_future(self._act(clicked.action, clicked.app))

    async def _act(self, action: str, name: str) -> None:
        actions = self.session.actions
        if action == "open":
            self.session.go("app", name)
        elif action == "delete":
            self.session.ask_delete_for = name
            self.session.go("app", name)
        elif action in ("start", "stop", "restart"):
            await self.session.run(f"{action} {name}", getattr(actions, action), name)
        elif action == "backup":
            await self.session.run(f"back up {name}", actions.backup, name)
        await self.refresh()
