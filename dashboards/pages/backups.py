"""Backups, per app and global: create, restore (in place after typing the app's name, or as a new app),
protect/unprotect, delete (after typing the backup's name), and schedules."""

from __future__ import annotations

import panel as pn
import panel_material_ui as pmui

from dashboards.pages.common import esc, html_pane, table
from dashboards.session import DeckSession
from proximity.models import Backup, Schedule

ALL = "all apps"


def backup_rows(backups: list[Backup]) -> list[list[str]]:
    return [
        [
            esc(b.app or "-"),
            esc(b.volid),
            esc(f"{b.host}/{b.node}"),
            esc(f"{b.size / 1024**2:.1f} MiB"),
            esc(f"{b.created_at:%Y-%m-%d %H:%M:%S}"),
            esc("yes" if b.protected else ""),
        ]
        for b in sorted(backups, key=lambda b: b.created_at, reverse=True)
    ]


def schedule_rows(schedules: list[Schedule]) -> list[list[str]]:
    return [
        [
            esc(s.id),
            esc(s.app),
            esc(f"{s.every_s / 3600:g} h"),
            esc(s.keep),
            esc(f"{s.last_run:%Y-%m-%d %H:%M}" if s.last_run else "never"),
        ]
        for s in schedules
    ]


class BackupsPage:
    title = "Backups"

    def __init__(self, session: DeckSession):
        self.session = session
        self.app_filter = pmui.Select(label="App", options=[ALL], value=ALL)
        self.create_button = pmui.Button(label="Back up this app now", on_click=self._create)
        self.listing = html_pane("", sizing_mode="stretch_width")
        self.backup_select = pmui.Select(label="Backup", options=[])
        self.restore_button = pmui.Button(
            label="Restore over the app...", color="warning", on_click=self._ask_restore
        )
        self.restore_as = pmui.TextInput(label="or restore as a new app named")
        self.restore_as_button = pmui.Button(label="Restore as new app", on_click=self._restore_as)
        self.protect_button = pmui.Button(label="Protect / unprotect", on_click=self._protect)
        self.delete_button = pmui.Button(label="Delete backup...", color="error", on_click=self._ask_delete)
        self.confirm_text = html_pane("")
        self.confirm_value = pmui.TextInput(label="Type it to confirm")
        self.confirm_button = pmui.Button(label="Confirm", color="error", on_click=self._confirmed)
        self.confirm_box = pn.Column(
            self.confirm_text, self.confirm_value, self.confirm_button, visible=False
        )
        self._pending = ""
        self.schedules = html_pane("", sizing_mode="stretch_width")
        self.every = pmui.FloatInput(label="Every (hours)", value=24.0, start=0.0167)
        self.keep = pmui.IntInput(label="Keep", value=7, start=1)
        self.schedule_button = pmui.Button(label="Schedule backups of this app", on_click=self._schedule)
        self.schedule_id = pmui.IntInput(label="Schedule id", value=None)
        self.unschedule_button = pmui.Button(label="Remove schedule", on_click=self._unschedule)
        self.app_filter.param.watch(lambda _e: pn.state.execute(self.refresh), "value")
        self.view = pn.Column(
            pmui.Typography("Backups", variant="h5"),
            pn.Row(self.app_filter, self.create_button),
            self.listing,
            pn.Row(self.backup_select, self.protect_button, self.delete_button),
            pn.Row(self.restore_button, self.restore_as, self.restore_as_button),
            self.confirm_box,
            pmui.Typography("Schedules", variant="h6"),
            self.schedules,
            pn.Row(self.every, self.keep, self.schedule_button),
            pn.Row(self.schedule_id, self.unschedule_button),
            sizing_mode="stretch_width",
        )

    @property
    def app(self) -> str | None:
        return None if self.app_filter.value == ALL else self.app_filter.value

    async def refresh(self) -> None:
        apps = await self.session.read(self.session.service.apps)
        if apps is not None:
            self.app_filter.options = [ALL, *sorted(a.name for a in apps)]
        backups = await self.session.read(self.session.actions.backups, self.app)
        if backups is not None:
            self.listing.object = table(
                ["app", "backup", "host/node", "size", "taken", "protected"], backup_rows(backups), "backups"
            )
            volids = [b.volid for b in sorted(backups, key=lambda b: b.created_at, reverse=True)]
            self.backup_select.options = volids
            if self.backup_select.value not in volids:
                self.backup_select.value = volids[0] if volids else None
        schedules = await self.session.read(self.session.actions.schedules)
        if schedules is not None:
            self.schedules.object = table(
                ["id", "app", "every", "keep", "last run"], schedule_rows(schedules), "schedules"
            )

    async def tick(self) -> None:
        return None

    async def _create(self, _event: object) -> None:
        if self.app is None:
            self.session.tell("choose an app first", error=True)
            return
        await self.session.run(f"back up {self.app}", self.session.actions.backup, self.app)
        await self.refresh()

    def _backups_cache(self) -> list[Backup]:
        return self.session.actions.backups(self.app)

    async def _ask_restore(self, _event: object) -> None:
        volid = self.backup_select.value
        if not volid:
            return
        backup = await self.session.read(lambda: next(b for b in self._backups_cache() if b.volid == volid))
        if backup is None:
            return
        self._pending = f"restore:{volid}"
        self.confirm_text.object = (
            f"<div data-testid='restore-warning'>Restoring <b>{esc(volid)}</b> over <b>{esc(backup.app)}</b> "
            "replaces its container: every change made since the backup was taken is lost. "
            f"Type <b>{esc(backup.app)}</b> to confirm.</div>"
        )
        self.confirm_value.value = ""
        self.confirm_box.visible = True

    def _ask_delete(self, _event: object) -> None:
        volid = self.backup_select.value
        if not volid:
            return
        self._pending = f"delete:{volid}"
        self.confirm_text.object = (
            f"<div data-testid='delete-backup-warning'>Deleting <b>{esc(volid)}</b> removes the archive from "
            "the storage; it cannot be restored afterwards. Type the backup's name to confirm.</div>"
        )
        self.confirm_value.value = ""
        self.confirm_box.visible = True

    async def _confirmed(self, _event: object) -> None:
        action, _, volid = self._pending.partition(":")
        typed = self.confirm_value.value_input.strip()
        if action == "restore":
            result = await self.session.run(
                f"restore {volid}", self.session.actions.restore, volid, as_name=None, typed_name=typed
            )
        elif action == "delete":
            result = await self.session.run(f"delete {volid}", self._delete_now, volid, typed)
        else:
            return
        if result is not None:
            self.confirm_box.visible = False
            self._pending = ""
            await self.refresh()

    def _delete_now(self, volid: str, typed: str) -> bool:
        self.session.actions.delete_backup(volid, typed_volid=typed)
        return True

    async def _restore_as(self, _event: object) -> None:
        volid, name = self.backup_select.value, self.restore_as.value.strip()
        if not volid or not name:
            self.session.tell("choose a backup and a new name", error=True)
            return
        await self.session.run(
            f"restore {volid} as {name}", self.session.actions.restore, volid, as_name=name
        )
        await self.refresh()

    async def _protect(self, _event: object) -> None:
        volid = self.backup_select.value
        backup = await self.session.read(
            lambda: next((b for b in self._backups_cache() if b.volid == volid), None)
        )
        if backup is None:
            return
        await self.session.run(f"protect {volid}", self.session.actions.protect, volid, not backup.protected)
        await self.refresh()

    async def _schedule(self, _event: object) -> None:
        if self.app is None:
            self.session.tell("choose an app first", error=True)
            return
        await self.session.run(
            f"schedule {self.app}",
            self.session.actions.schedule,
            self.app,
            float(self.every.value),
            int(self.keep.value),
        )
        await self.refresh()

    async def _unschedule(self, _event: object) -> None:
        if self.schedule_id.value is None:
            return
        await self.session.run(
            f"remove schedule {self.schedule_id.value}",
            self.session.actions.unschedule,
            int(self.schedule_id.value),
        )
        await self.refresh()
