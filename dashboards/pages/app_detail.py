"""One app (deep link ``?page=app&app=<name>``): its LED and facts, lifecycle buttons, a backup button, a
delete that asks for the app's name and says what is lost, the maintenance actions (clone, safe update,
resize, migrate: ``app_maintenance``) and a chart of its measured CPU and memory (``app_metrics``)."""

from __future__ import annotations

import time

import panel as pn
import panel_material_ui as pmui

from dashboards.pages.app_maintenance import AppMaintenance
from dashboards.pages.app_metrics import MetricsChart, summary_html
from dashboards.pages.common import esc, html_pane, led, link, table
from dashboards.session import DeckSession
from proximity.models import App

METRICS_EVERY_S = 30.0  # PVE's RRD keeps one point a minute: a faster refresh would only redraw the same
TIMEFRAMES = ["hour", "day", "week"]


def facts(app: App) -> str:
    ports = ", ".join(f"{p.name} {p.port}/{p.protocol}" for p in app.ports)
    rows = [
        [
            "status",
            led(app.status.value, "app-led")
            + f'<span data-testid="app-status">{esc(app.status.value)}</span>',
        ],
        ["URL", f'<span data-testid="app-url">{link(app.url)}</span>'],
        ["catalog", esc(f"{app.catalog_id} {app.version}")],
        ["host / node", esc(f"{app.host} / {app.node}")],
        ["CT", esc(app.vmid)],
        ["address", esc(app.ip)],
        ["size", esc(f"{app.cores} cores, {app.memory_mb} MiB, {app.disk_gb} GiB")],
        ["ports", esc(ports)],
        ["install", esc(app.install_method)],
    ]
    return table(["", ""], rows, "app-facts")


class AppDetailPage:
    title = "App"

    def __init__(self, session: DeckSession):
        self.session = session
        self.heading = pmui.Typography("", variant="h5")
        self.facts = html_pane("", sizing_mode="stretch_width")
        self.start_button = pmui.Button(label="Start", on_click=self._start)
        self.stop_button = pmui.Button(label="Stop", on_click=self._stop)
        self.restart_button = pmui.Button(label="Restart", on_click=self._restart)
        self.backup_button = pmui.Button(label="Back up now", on_click=self._backup)
        self.delete_button = pmui.Button(label="Delete...", color="error", on_click=self._ask_delete)
        self.confirm_text = html_pane("")
        self.confirm_name = pmui.TextInput(label="Type the app's name to confirm")
        self.purge = pmui.Checkbox(label="Also delete its backups and secrets (purge)")
        self.confirm_button = pmui.Button(label="Delete for good", color="error", on_click=self._delete)
        self.confirm_box = pn.Column(
            self.confirm_text, self.confirm_name, self.purge, self.confirm_button, visible=False
        )
        self._last = ""
        self.maintenance = AppMaintenance(session, self.refresh)
        self.timeframe = pmui.Select(
            label="Metrics over the last", options=TIMEFRAMES, value="hour", width=200
        )
        self.timeframe.param.watch(lambda _e: self._metrics_due(), "value")
        self.metrics_button = pmui.Button(
            label="Refresh metrics", variant="outlined", on_click=self._refresh_metrics
        )
        self.metrics_summary = html_pane("", sizing_mode="stretch_width")
        self.chart = MetricsChart(session.theme)
        self._metrics_for = ""  # the app and time frame the chart shows
        self._metrics_at = 0.0  # time.monotonic() of the last fetch
        self._fetching = False
        self.view = pn.Column(
            self.heading,
            self.facts,
            pn.Row(
                self.start_button,
                self.stop_button,
                self.restart_button,
                self.backup_button,
                self.delete_button,
            ),
            self.confirm_box,
            self.maintenance.view,
            pmui.Typography("Measured CPU and memory", variant="h6"),
            pn.Row(self.timeframe, self.metrics_button),
            self.metrics_summary,
            self.chart.pane,
            sizing_mode="stretch_width",
        )

    @property
    def name(self) -> str:
        return self.session.nav.app

    async def refresh(self) -> None:
        if not self.name:
            self.heading.object = "No app selected"
            self.facts.object = ""
            return
        app = await self.session.read(self.session.actions.app, self.name)
        self.heading.object = f"App {self.name}"
        if app is not None and self.session.ask_delete_for == self.name:
            self.session.ask_delete_for = ""
            self._ask_delete(None)
        body = facts(app) if app is not None else f"<i>{esc(self.name)} is not recorded</i>"
        if body != self._last:
            self._last = body
            self.facts.object = body
        await self.maintenance.show(app)
        if app is not None and self._metrics_stale():
            await self._load_metrics()

    async def tick(self) -> None:
        self.maintenance.tick()
        await self.refresh()

    def set_theme(self, theme: str) -> None:
        self.chart.set_theme(theme)

    # ------------------------------------------------------------ the metrics chart

    def _metrics_stale(self) -> bool:
        shown = f"{self.name}/{self.timeframe.value}"
        return shown != self._metrics_for or time.monotonic() - self._metrics_at >= METRICS_EVERY_S

    def _metrics_due(self) -> None:
        self._metrics_for = ""  # another time frame: fetched on the next refresh

    async def _refresh_metrics(self, _event: object) -> None:
        await self._load_metrics()

    async def _load_metrics(self) -> None:
        if self._fetching or not self.name:
            return
        self._fetching = True
        name, timeframe = self.name, self.timeframe.value
        try:
            points = await self.session.read(self.session.actions.metrics, name, timeframe)
        finally:
            self._fetching = False
            self._metrics_at = time.monotonic()  # a failed read also waits: no retry storm every second
            self._metrics_for = f"{name}/{timeframe}"
        if points is None or name != self.name:
            return
        self.chart.show(points)
        self.metrics_summary.object = summary_html(points, timeframe)

    async def _start(self, _event: object) -> None:
        await self.session.run(f"start {self.name}", self.session.actions.start, self.name)
        await self.refresh()

    async def _stop(self, _event: object) -> None:
        await self.session.run(f"stop {self.name}", self.session.actions.stop, self.name)
        await self.refresh()

    async def _restart(self, _event: object) -> None:
        await self.session.run(f"restart {self.name}", self.session.actions.restart, self.name)
        await self.refresh()

    async def _backup(self, _event: object) -> None:
        backup = await self.session.run(f"back up {self.name}", self.session.actions.backup, self.name)
        if backup is not None:
            self.session.tell(f"backed up {self.name}: {backup.volid}")

    def _ask_delete(self, _event: object) -> None:
        self.confirm_text.object = (
            f'<div data-testid="delete-warning">Deleting <b>{esc(self.name)}</b> destroys its container, its root '
            "disk and the data on it. A final backup is kept unless you purge, which also deletes every backup "
            "of the app and its generated secrets.</div>"
        )
        self.confirm_name.value = ""
        self.confirm_box.visible = True

    async def _delete(self, _event: object) -> None:
        name = self.name
        done = await self.session.run(
            f"delete {name}", self._delete_now, name, self.confirm_name.value_input, self.purge.value
        )
        if done:
            self.confirm_box.visible = False
            self.session.go("rack")

    def _delete_now(self, name: str, typed: str, purge: bool) -> bool:
        self.session.actions.delete(name, typed_name=typed, purge=purge)
        return True
