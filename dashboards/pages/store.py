"""The App Store: catalog cards with typo-tolerant search (the catalog's own search), category and
requirement filters, and a deploy dialog generated from the entry's typed inputs and the Settings defaults.
It shows the node the app will be placed on before confirming, then the job's progress and live log."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import panel as pn
import panel_material_ui as pmui

from dashboards.events import describe
from dashboards.pages.common import esc, html_pane
from dashboards.session import DeckSession
from proximity.catalog.schema import CatalogEntry, EnvInput
from proximity.models import JobEvent

MAX_CARDS = 24
REQUIREMENTS = ["privileged", "nesting", "keyctl", "fuse", "tun", "gpu"]


def filter_entries(
    catalog: Any,
    query: str,
    category: str,
    hide_needing: list[str],
    limit: int = MAX_CARDS,
    *,
    method: str = "any",
    max_memory_mb: int | None = None,
) -> list[CatalogEntry]:
    """Entries for the cards: search ranking when there is a query, else alphabetical; then the filters
    (category, container features the app needs, install method offered, minimum memory that fits)."""
    if query.strip():
        entries = [hit.entry for hit in catalog.search(query.strip(), limit=len(catalog))]
    else:
        entries = catalog.list()
    chosen = []
    for entry in entries:
        if category and category != "all" and category not in entry.categories:
            continue
        if any(getattr(entry.requirements, need) for need in hide_needing):
            continue
        if method != "any" and all(install.type != method for install in entry.install):
            continue
        if max_memory_mb and entry.resources.memory_min_mb > max_memory_mb:
            continue
        chosen.append(entry)
    return chosen[:limit]


def input_widget(spec: EnvInput) -> Any:
    """A widget for one typed catalog input; generated secrets stay empty (the SDK generates them)."""
    label = spec.label + (" *" if spec.required and spec.generate is None else "")
    default = spec.default
    if spec.type == "boolean":
        return pmui.Checkbox(label=label, value=bool(default))
    if spec.type == "choice" and spec.choices:
        return pmui.Select(
            label=label, options=spec.choices, value=str(default) if default else spec.choices[0]
        )
    if spec.type == "number":
        return pmui.FloatInput(label=label, value=float(default) if default is not None else None)
    if spec.type == "password" or spec.secret:
        placeholder = "leave empty to generate" if spec.generate else ""
        return pmui.PasswordInput(label=label, placeholder=placeholder)
    return pmui.TextInput(label=label, value="" if default is None else str(default))


class StorePage:
    title = "App Store"

    def __init__(self, session: DeckSession):
        self.session = session
        catalog = session.service.catalog()
        self.catalog = catalog
        self.search = pmui.TextInput(label="Search the catalog", placeholder="e.g. jelyfin, photos, wiki")
        self.category = pmui.Select(
            label="Category", options=["all", *sorted(catalog.categories())], value="all"
        )
        self.hide = pmui.MultiChoice(label="Hide apps that need", options=REQUIREMENTS, value=[])
        self.method = pmui.Select(
            label="Install method", options=["any", "oci", "compose", "script"], value="any"
        )
        self.max_memory = pmui.IntInput(label="Fits in MiB", value=None, start=64)
        self.count = html_pane("")
        self.cards = pn.FlexBox(sizing_mode="stretch_width")
        self.dialog = pn.Column(sizing_mode="stretch_width", visible=False)
        self.progress = pmui.LinearProgress(value=0, sizing_mode="stretch_width", visible=False)
        self.log = pn.Column(sizing_mode="stretch_width", height=220, scroll=True, visible=False)
        self._log_lines: list[str] = []
        self._log_lock = threading.Lock()
        self._progress_value = 0.0
        for widget in (self.search, self.category, self.hide, self.method, self.max_memory):
            widget.param.watch(lambda _e: self._render_cards(), "value")
        self.search.param.watch(lambda _e: self._render_cards(), "value_input")
        self.view = pn.Column(
            pmui.Typography("App Store", variant="h5"),
            pn.Row(self.search, self.category, self.hide, self.method, self.max_memory),
            self.count,
            self.dialog,
            self.progress,
            self.log,
            self.cards,
            sizing_mode="stretch_width",
        )
        self._render_cards()

    def _render_cards(self) -> None:
        query = self.search.value_input if self.search.value_input is not None else self.search.value
        entries = filter_entries(
            self.catalog,
            query or "",
            self.category.value,
            list(self.hide.value),
            method=self.method.value,
            max_memory_mb=self.max_memory.value,
        )
        self.count.object = (
            f"<div data-testid='store-count'>{len(entries)} shown of {len(self.catalog)}</div>"
        )
        self.cards.objects = [self._card(entry) for entry in entries]

    def _card(self, entry: CatalogEntry) -> Any:
        glyph = f'<span class="px-card-glyph" style="background:{esc(entry.icon.color)}">{esc(entry.icon.glyph)}</span>'
        body = html_pane(
            f'<div data-testid="card-{esc(entry.id)}">{glyph}<b>{esc(entry.name)}</b> {esc(entry.version)}'
            f"<br><small>{esc(entry.summary)}</small><br><small>{esc(', '.join(entry.categories))} · "
            f"{entry.resources.cores} c / {entry.resources.memory_mb} MiB · {esc(entry.install[0].type)}</small></div>",
            sizing_mode="stretch_width",
        )
        button = pmui.Button(label=f"Deploy {entry.name}", variant="outlined", size="small")
        button.on_click(lambda _e, entry=entry: asyncio.ensure_future(self.open_dialog(entry)))
        return pn.Column(
            body,
            button,
            width=300,
            styles={"border": "1px solid rgba(128,128,128,.4)", "border-radius": "8px", "padding": "6px"},
        )

    # ------------------------------------------------------------ the deploy dialog

    async def open_dialog(self, entry: CatalogEntry) -> None:
        session = self.session
        settings = await session.read(session.actions.settings)
        if settings is None:
            return
        cores = settings.cores or entry.resources.cores
        memory = settings.memory_mb or entry.resources.memory_mb
        disk = settings.disk_gb or entry.resources.disk_gb
        placement = await session.read(session.actions.placement, entry, memory)
        name = pmui.TextInput(label="App name", value=entry.id)
        cores_in = pmui.IntInput(
            label=f"Cores (min {entry.resources.cores_min})", value=cores, start=entry.resources.cores_min
        )
        memory_in = pmui.IntInput(
            label=f"Memory MiB (min {entry.resources.memory_min_mb})",
            value=memory,
            start=entry.resources.memory_min_mb,
        )
        disk_in = pmui.IntInput(
            label=f"Disk GiB (min {entry.resources.disk_min_gb})",
            value=disk,
            start=entry.resources.disk_min_gb,
        )
        inputs = {spec.name: input_widget(spec) for spec in entry.env}
        if placement is None:
            where = html_pane("<div data-testid='placement'>No node can take it (see the message).</div>")
            node_select = pmui.Select(label="Node", options=[], value=None)
            host_name = ""
        else:
            where = html_pane(
                f"<div data-testid='placement'>Placement: host <b>{esc(placement.host)}</b>, node "
                f"<b>{esc(placement.node)}</b> (most headroom, {placement.free_mb} MiB free)</div>"
            )
            node_select = pmui.Select(label="Node", options=placement.candidates, value=placement.node)
            host_name = placement.host
        confirm = pmui.Button(label="Confirm deploy", color="primary", disabled=placement is None)
        cancel = pmui.Button(label="Cancel", variant="text")

        async def do_deploy(_event: object) -> None:
            env = {key: widget.value for key, widget in inputs.items() if widget.value not in (None, "")}
            confirm.disabled = True
            self.dialog.visible = False
            await self.deploy(
                entry,
                name.value.strip(),
                host_name,
                node_select.value,
                int(cores_in.value),
                int(memory_in.value),
                int(disk_in.value),
                env,
            )

        confirm.on_click(do_deploy)
        cancel.on_click(lambda _e: setattr(self.dialog, "visible", False))
        self.dialog.objects = [
            pmui.Typography(f"Deploy {entry.name} {entry.version}", variant="h6"),
            html_pane(f"<small>{esc(entry.summary)}</small>"),
            pn.Row(name, cores_in, memory_in, disk_in),
            *(pn.Row(*list(inputs.values())[i : i + 3]) for i in range(0, len(inputs), 3)),
            where,
            node_select,
            pn.Row(confirm, cancel),
        ]
        self.dialog.visible = True

    async def deploy(
        self,
        entry: CatalogEntry,
        name: str,
        host: str,
        node: str,
        cores: int,
        memory_mb: int,
        disk_gb: int,
        env: dict[str, Any],
    ) -> None:
        with self._log_lock:
            self._log_lines = []
        self._progress_value = 0.0
        self.log.objects = []
        self.log.visible = True
        self.progress.value = 0
        self.progress.visible = True
        app = await self.session.run(
            f"deploy {name}",
            self.session.actions.deploy,
            entry.id,
            name=name,
            host=host,
            node=node,
            cores=cores,
            memory_mb=memory_mb,
            disk_gb=disk_gb,
            env=env,
            on_event=self._on_event,
        )
        self.flush()
        self.progress.value = 100 if app is not None else self.progress.value
        if app is not None:
            self.log.append(
                html_pane(
                    f"<pre class='px-log' data-testid='deploy-done'>{esc(name)} is {esc(app.status.value)}: "
                    f"<a href='{esc(app.url or '')}' target='_blank'>{esc(app.url or 'no URL')}</a></pre>"
                )
            )

    def _on_event(self, event: JobEvent) -> None:
        # called from the SDK's event-loop thread: only queue; the session tick sends the lines
        with self._log_lock:
            self._log_lines.append(f"{event.time:%H:%M:%S} {describe(event)}")
            self._progress_value = event.progress

    def flush(self) -> None:
        with self._log_lock:
            lines, self._log_lines = self._log_lines, []
            progress = self._progress_value
        for line in lines:  # appending sends only the new line to the browser
            self.log.append(html_pane(f"<pre class='px-log'>{esc(line)}</pre>", margin=0))
        if lines:
            self.progress.value = round(progress * 100)

    async def refresh(self) -> None:
        self.flush()

    async def tick(self) -> None:
        self.flush()
