"""The command deck: one panel-material-ui ``Page`` per browser session, with the deck (navigation, status
LCD, the Omni-Prompt chat, theme and sounds) in the sidebar and the current page in the main area.

The page and app are mirrored in the URL (``?page=app&app=movies`` deep-links to an app); pages are built
once per session and kept, so moving between them keeps their state. A periodic callback per session
refreshes the LCD and the visible page from the shared, cached reads and the event hub.
"""

from __future__ import annotations

from typing import Any

import panel as pn
import panel_material_ui as pmui

from dashboards.pages.app_detail import AppDetailPage
from dashboards.pages.backups import BackupsPage
from dashboards.pages.chat import ChatBox
from dashboards.pages.common import html_pane
from dashboards.pages.hosts import HostsPage
from dashboards.pages.jobs import JobsPage
from dashboards.pages.rack import RackPage
from dashboards.pages.settings import SettingsPage
from dashboards.pages.store import StorePage
from dashboards.service import DashboardService
from dashboards.session import DeckSession
from dashboards.theme import DECK_CSS, THEME_CONFIGS, is_dark
from dashboards.users import Role, Theme, UserError
from proximity.store import default_who

TICK_MS = 1000
NAVIGATION = [
    ("rack", "Rack"),
    ("store", "App Store"),
    ("hosts", "Hosts"),
    ("backups", "Backups"),
    ("settings", "Settings"),
    ("jobs", "Jobs"),
]
PAGE_CLASSES: dict[str, Any] = {
    "rack": RackPage,
    "store": StorePage,
    "hosts": HostsPage,
    "backups": BackupsPage,
    "settings": SettingsPage,
    "jobs": JobsPage,
    "app": AppDetailPage,
}


class Deck:
    """Everything one session shows."""

    def __init__(self, service: DashboardService, login: bool):
        user = pn.state.user if login else None
        if login and not user:
            raise PermissionError("not signed in")
        actions = service.for_user(user) if user else service.for_user(default_who(), fixed_role=Role.ADMIN)
        self.session = DeckSession(service, actions)
        self._pages: dict[str, Any] = {}
        self._last_event_seq = 0
        preferences = actions.preferences()
        theme = preferences.theme if preferences else Theme.DARK
        self.session.sounds.enabled = bool(preferences and preferences.sounds)
        self.session.theme = theme.value
        self.main = pn.Column(sizing_mode="stretch_width")
        self.theme = pmui.RadioButtonGroup(
            options={"Dark": Theme.DARK.value, "Light": Theme.LIGHT.value, "Matrix": Theme.MATRIX.value},
            value=theme.value,
            name="theme",
        )
        self.sound_switch = pmui.Switch(label="Interface sounds", value=self.session.sounds.enabled)
        self.theme.param.watch(self._on_theme, "value")
        self.sound_switch.param.watch(self._on_sounds, "value")
        buttons = []
        for key, label in NAVIGATION:
            button = pmui.Button(label=label, variant="text", sizing_mode="stretch_width", name=f"nav-{key}")
            button.on_click(lambda _e, key=key: self.session.go(key))
            buttons.append(button)
        # The Omni-Prompt chat, under the LCD: plans are shown before anything runs, checked on the server.
        self.chat = ChatBox(self.session)
        self.omni_slot = pn.Column(self.chat.view, sizing_mode="stretch_width", name="omni-prompt-slot")
        role = actions.role.value
        who = html_pane(
            f"<div data-testid='who' style='font-size:12px'>{actions.user} ({role})"
            + (" · <a href='./logout'>sign out</a>" if login else "")
            + "</div>"
        )
        sidebar = [
            self.session.lcd,
            self.omni_slot,
            *buttons,
            pmui.Divider(),
            self.theme,
            self.sound_switch,
            who,
            self.session.sounds,
        ]
        self.page = pmui.Page(
            title="Proximity · All-is-Rack",
            sidebar=sidebar,
            main=[self.session.message, self.main],
            dark_theme=is_dark(theme),
            theme_config=THEME_CONFIGS[theme],
            theme_toggle=False,
        )
        self.session.nav.param.watch(lambda *_events: pn.state.execute(self.show), ["page", "app"])
        if pn.state.location is not None:
            pn.state.location.sync(self.session.nav, {"page": "page", "app": "app"})
        pn.state.onload(self.show)
        pn.state.add_periodic_callback(self.tick, period=TICK_MS)

    def page_object(self, key: str) -> Any:
        if key not in self._pages:
            self._pages[key] = PAGE_CLASSES[key](self.session)
        return self._pages[key]

    async def show(self) -> None:
        page = self.page_object(self.session.nav.page)
        self.main.objects = [page.view]
        await page.refresh()

    async def tick(self) -> None:
        last = self.session.service.events.last()
        if last is not None and last.seq != self._last_event_seq:
            self._last_event_seq = last.seq
            self.session.show_event(last.text)
        self.chat.flush()
        page = self._pages.get(self.session.nav.page)
        if page is not None:
            await page.tick()

    def _on_theme(self, event: Any) -> None:
        theme = Theme(event.new)
        self.session.theme = theme.value
        self.page.param.update(dark_theme=is_dark(theme), theme_config=THEME_CONFIGS[theme])
        for page in self._pages.values():
            if hasattr(page, "set_theme"):
                page.set_theme(theme.value)
        try:
            self.session.actions.set_preferences(theme=theme)
        except UserError:
            pass  # the loopback owner without a user record: the theme applies to this session only

    def _on_sounds(self, event: Any) -> None:
        self.session.sounds.enabled = bool(event.new)
        try:
            self.session.actions.set_preferences(sounds=bool(event.new))
        except UserError:
            pass


def create_app(service: DashboardService, login: bool) -> Any:
    """The session factory ``pn.serve`` calls for every new browser session."""

    def session() -> Any:
        pn.extension(raw_css=[DECK_CSS])
        return Deck(service, login).page

    return session
