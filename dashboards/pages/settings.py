"""Settings: the deploy defaults (resources, network, storage, backup storage), this user's theme and
sounds, and (for admins) the dashboard's users."""

from __future__ import annotations

from typing import Any

import panel as pn
import panel_material_ui as pmui

from dashboards.pages.common import esc, html_pane, table
from dashboards.session import DeckSession
from dashboards.users import Role


def _blank_to_none(value: Any) -> Any:
    return None if value in ("", 0) else value


class SettingsPage:
    title = "Settings"

    def __init__(self, session: DeckSession):
        self.session = session
        self.cores = pmui.IntInput(label="Cores (empty: catalog recommendation)", value=None, start=1)
        self.memory = pmui.IntInput(label="Memory MiB (empty: recommendation)", value=None, start=64)
        self.disk = pmui.IntInput(label="Disk GiB (empty: recommendation)", value=None, start=1)
        self.storage = pmui.TextInput(label="Root disk storage (empty: most free)")
        self.backup_storage = pmui.TextInput(label="Backup storage (empty: found)")
        self.bridge = pmui.TextInput(label="Network bridge")
        self.template = pmui.TextInput(label="Template prefix")
        self.method = pmui.Select(
            label="Preferred install method", options=["any", "oci", "compose", "script"]
        )
        self.save_button = pmui.Button(label="Save defaults", color="primary", on_click=self._save)
        self.users = html_pane("", sizing_mode="stretch_width")
        self.new_user = pmui.TextInput(label="User name")
        self.new_role = pmui.Select(label="Role", options=[r.value for r in Role], value=Role.VIEWER.value)
        self.new_password = pmui.PasswordInput(label="Password (10+ characters)")
        self.add_user_button = pmui.Button(label="Add user", on_click=self._add_user)
        self.remove_user_name = pmui.TextInput(label="Remove user")
        self.remove_user_button = pmui.Button(label="Remove user", color="error", on_click=self._remove_user)
        self.view = pn.Column(
            pmui.Typography("Settings", variant="h5"),
            pmui.Typography("Deploy defaults", variant="h6"),
            pn.Row(self.cores, self.memory, self.disk),
            pn.Row(self.storage, self.backup_storage),
            pn.Row(self.bridge, self.template, self.method),
            self.save_button,
            pmui.Typography("Theme and sounds are in the deck (left), saved for your user.", variant="body2"),
            pmui.Typography("Users", variant="h6"),
            self.users,
            pn.Row(self.new_user, self.new_role, self.new_password, self.add_user_button),
            pn.Row(self.remove_user_name, self.remove_user_button),
            sizing_mode="stretch_width",
        )

    async def refresh(self) -> None:
        settings = await self.session.read(self.session.actions.settings)
        if settings is not None:
            self.cores.value = settings.cores
            self.memory.value = settings.memory_mb
            self.disk.value = settings.disk_gb
            self.storage.value = settings.storage or ""
            self.backup_storage.value = settings.backup_storage or ""
            self.bridge.value = settings.bridge
            self.template.value = settings.template
            self.method.value = settings.install_method or "any"
        if self.session.actions.can_manage_users():
            users = await self.session.read(self.session.actions.list_users)
            rows = [
                [esc(u.name), esc(u.role.value), esc(u.theme.value), esc("locked" if u.locked_until else "")]
                for u in users or []
            ]
            self.users.object = table(["user", "role", "theme", ""], rows, "users")
        else:
            self.users.object = "<i>Only admins manage users.</i>"

    async def tick(self) -> None:
        return None

    async def _save(self, _event: object) -> None:
        changes = {
            "cores": _blank_to_none(self.cores.value),
            "memory_mb": _blank_to_none(self.memory.value),
            "disk_gb": _blank_to_none(self.disk.value),
            "storage": self.storage.value.strip() or None,
            "backup_storage": self.backup_storage.value.strip() or None,
            "bridge": self.bridge.value.strip(),
            "template": self.template.value.strip(),
            "install_method": None if self.method.value == "any" else self.method.value,
        }
        await self.session.run("save settings", self.session.actions.update_settings, **changes)

    async def _add_user(self, _event: object) -> None:
        name, password = self.new_user.value.strip(), self.new_password.value
        self.new_password.value = ""
        await self.session.run(
            f"add user {name}", self.session.actions.add_user, name, Role(self.new_role.value), password
        )
        await self.refresh()

    async def _remove_user(self, _event: object) -> None:
        name = self.remove_user_name.value.strip()
        await self.session.run(f"remove user {name}", self.session.actions.remove_user, name)
        await self.refresh()
