"""The app page's maintenance actions: clone (a new name), safe update, resize (cores, memory, a disk that only
grows) and migrate (to another online node of the host). Update and migrate ask for a yes first; none is
destructive. Each runs through ``UserActions`` (role checked on the server, audited by the SDK), shows the
job's progress in a live log, and ends with its outcome, or the typed error's message."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import panel as pn
import panel_material_ui as pmui

from dashboards.pages.common import esc, html_pane, link
from dashboards.pages.live_log import LiveLog
from dashboards.permissions import Action, allowed
from dashboards.service import UpdateOutcome
from dashboards.session import DeckSession
from dashboards.users import UserError
from proximity.errors import PermissionDenied, ProximityError
from proximity.models import App

T = TypeVar("T")


class AppMaintenance:
    def __init__(self, session: DeckSession, changed: Callable[[], Awaitable[None]]):
        self.session = session
        self._changed = changed  # the page re-reads the app after an action
        self.app: App | None = None
        self._filled_for = ""  # the app whose sizes and nodes fill the inputs (kept while the user types)
        self._busy = False
        # the question awaiting a yes: (what, app, node), the app and node as they were when it was asked
        self._pending: tuple[str, str, str] | None = None
        self.clone_name = pmui.TextInput(label="New app name", width=260)
        self.clone_button = pmui.Button(label="Clone", on_click=self._clone, disabled=True)
        self.cores = pmui.IntInput(label="Cores", start=1, end=128, width=140)
        self.memory = pmui.IntInput(label="Memory MiB", start=64, step=64, width=160)
        self.disk = pmui.IntInput(label="Disk GiB (grows only)", start=1, width=180)
        self.resize_button = pmui.Button(label="Resize", on_click=self._resize, disabled=True)
        self.target = pmui.Select(label="Move to node", options=[], width=200)
        self.migrate_button = pmui.Button(label="Migrate...", on_click=self._ask_migrate, disabled=True)
        self.update_button = pmui.Button(label="Safe update...", on_click=self._ask_update, disabled=True)
        self.yes_text = html_pane("")
        self.yes_button = pmui.Button(label="Yes", color="primary", on_click=self._yes)
        self.no_button = pmui.Button(label="Cancel", variant="text", on_click=self._cancel)
        self.yes_box = pn.Column(self.yes_text, pn.Row(self.yes_button, self.no_button), visible=False)
        self.rights = html_pane("", sizing_mode="stretch_width")
        self.outcome = html_pane("", sizing_mode="stretch_width")
        self.log = LiveLog("app-log")
        self.view = pn.Column(
            pmui.Typography("Maintenance", variant="h6"),
            self.rights,
            pn.Row(self.clone_name, self.clone_button),
            pn.Row(self.cores, self.memory, self.disk, self.resize_button),
            pn.Row(self.target, self.migrate_button, self.update_button),
            self.yes_box,
            self.outcome,
            self.log.view,
            sizing_mode="stretch_width",
        )
        self._buttons = {
            Action.CLONE: self.clone_button,
            Action.RESIZE: self.resize_button,
            Action.MIGRATE: self.migrate_button,
            Action.UPDATE: self.update_button,
        }

    @property
    def name(self) -> str:
        return self.app.name if self.app else ""

    async def show(self, app: App | None) -> None:
        """Called on every page refresh: fill the inputs once per app, and enable what the role allows now."""
        self.app = app
        self._enable()
        if app is not None and self._filled_for != app.name:
            self._filled_for = app.name
            self.cores.value = app.cores
            self.memory.value = app.memory_mb
            self.disk.param.update(start=app.disk_gb, value=app.disk_gb)
            self.clone_name.value = ""
            self._cancel(None)
            targets = await self.session.read(self.session.actions.migration_targets, app.name) or []
            self.target.param.update(options=targets, value=targets[0] if targets else None)
            self._enable()

    def tick(self) -> None:
        self.log.flush()

    def _enable(self) -> None:
        """Buttons follow the role as it is now (the server checks it again on every action)."""
        try:
            role = self.session.actions.role  # one read of the users file for the four buttons
        except PermissionDenied:
            role = None
        refused = []
        for action, button in self._buttons.items():
            permitted = role is not None and allowed(role, action)
            if not permitted:
                refused.append(action.value)
            ready = self.app is not None and not self._busy
            if action is Action.MIGRATE:
                ready = ready and bool(self.target.value)  # no other online node: nowhere to go
            button.disabled = not (permitted and ready)
        role_name = role.value if role is not None else "no role"
        rights = (
            f'<small data-testid="maintenance-rights" data-refused="{esc(" ".join(refused))}">'
            f"Your role ({esc(role_name)}) may not {esc(', '.join(refused))}.</small>"
            if refused
            else '<small data-testid="maintenance-rights" data-refused=""></small>'
        )
        if self.rights.object != rights:
            self.rights.object = rights
        self.yes_button.disabled = self._busy

    # ------------------------------------------------------------ running an action

    async def _act(self, label: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """Run one action in a worker thread with its job's events in the live log; a typed error ends the
        log and the outcome with its message."""
        self._busy = True
        self._enable()
        self.session.tell(f"{label}...")
        self.log.start(label)
        try:
            return await asyncio.to_thread(fn, *args, on_event=self.log.on_event, **kwargs)
        except (ProximityError, UserError) as error:
            self._end(f"{label} failed: {type(error).__name__}: {error}", ok=False)
            return None
        finally:
            self._busy = False
            self._filled_for = ""  # sizes, node or name may have changed: refill from the app
            await self._changed()

    def _end(self, text: str, *, ok: bool, extra_html: str = "") -> None:
        self.log.finish(text, ok=ok)
        kind = "ok" if ok else "error"
        self.outcome.object = (
            f'<div data-testid="app-action-outcome" data-kind="{kind}" '
            f'style="color:{"#43a047" if ok else "#ff5252"}">{esc(text)}{extra_html}</div>'
        )
        self.session.tell(text, error=not ok)

    async def _clone(self, _event: object) -> None:
        source, new_name = self.name, (self.clone_name.value_input or "").strip()
        clone = await self._act(f"clone {source} as {new_name}", self.session.actions.clone, source, new_name)
        if clone is not None:
            page = f"?page=app&app={clone.name}"
            self._end(
                f"cloned {source} as {clone.name}: {clone.status.value} on {clone.node}",
                ok=True,
                extra_html=f' · <a data-testid="clone-link" href="{esc(page)}">open {esc(clone.name)}</a> '
                f"{link(clone.url)}",
            )

    async def _resize(self, _event: object) -> None:
        app = self.app
        if app is None:
            return
        # only what changed; an input left as the app's size is not sent
        changes = {
            key: value
            for key, value, current in (
                ("cores", self.cores.value, app.cores),
                ("memory_mb", self.memory.value, app.memory_mb),
                ("disk_gb", self.disk.value, app.disk_gb),
            )
            if value is not None and int(value) != current
        }
        if not changes:
            self._end(f"resize {app.name}: nothing changed (set cores, memory or a larger disk)", ok=False)
            return
        resized = await self._act(f"resize {app.name}", self.session.actions.resize, app.name, **changes)
        if resized is not None:
            self._end(
                f"resized {resized.name}: {resized.cores} cores, {resized.memory_mb} MiB, {resized.disk_gb} GiB",
                ok=True,
            )

    # ------------------------------------------------------------ update and migrate: a yes first

    def _ask_update(self, _event: object) -> None:
        app = self.app
        if app is None:
            return
        entry = self.session.service.catalog().get(app.catalog_id)
        version = entry.version if entry else "?"
        how = (
            "A backup is taken and a new container is made from the new image with the app's volumes; if "
            "it does not answer its health check the app is put back on its old container."
            if app.install_method == "oci"
            else "A snapshot is taken first; if the app does not answer its health check after the update, "
            "it is rolled back to the snapshot automatically."
        )
        self._ask(
            ("update", app.name, ""),
            f"Update <b>{esc(app.name)}</b> (installed {esc(app.version)}, catalog {esc(version)})? {how}",
            "Yes, update",
        )

    def _ask_migrate(self, _event: object) -> None:
        app, node = self.app, self.target.value
        if app is None or not node:
            return
        self._ask(
            ("migrate", app.name, str(node)),
            f"Move <b>{esc(app.name)}</b> from {esc(app.node)} to <b>{esc(node)}</b>? A running app is stopped, "
            "moved and started again there (a short outage).",
            "Yes, migrate",
        )

    def _ask(self, pending: tuple[str, str, str], question: str, yes_label: str) -> None:
        self._pending = pending
        self.yes_text.object = f'<div data-testid="app-confirm">{question}</div>'
        self.yes_button.label = yes_label
        self.yes_box.visible = True

    def _cancel(self, _event: object) -> None:
        self._pending = None
        self.yes_box.visible = False

    async def _yes(self, _event: object) -> None:
        pending, self._pending = self._pending, None
        self.yes_box.visible = False
        if pending is None:
            return
        what, name, node = pending
        if what == "update":
            await self._update(name)
        else:
            await self._migrate(name, node)

    async def _update(self, name: str) -> None:
        outcome: UpdateOutcome | None = await self._act(f"update {name}", self.session.actions.update, name)
        if outcome is not None:
            self._end(outcome.summary(), ok=outcome.updated or outcome.job_id is None)

    async def _migrate(self, name: str, node: str) -> None:
        moved = await self._act(f"migrate {name} to {node}", self.session.actions.migrate, name, node)
        if moved is not None:
            self._end(f"moved {moved.name} to {moved.node}: {moved.status.value}", ok=True)
