"""One browser session: who is signed in, where they are (mirrored in the URL), and how a page runs an
action: in a worker thread (the Bokeh server keeps serving), with its outcome on the deck's LCD."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable
from typing import Any, TypeVar

import param

from dashboards.pages.common import html_pane
from dashboards.service import DashboardService, UserActions
from dashboards.sounds import SoundBoard
from dashboards.users import UserError
from proximity.errors import ProximityError

T = TypeVar("T")

PAGES = ["rack", "store", "hosts", "backups", "settings", "jobs", "app"]


class Navigation(param.Parameterized):
    """The current page and app; synced with the URL query (``?page=app&app=movies`` is a deep link)."""

    page = param.Selector(default="rack", objects=PAGES)
    app = param.String(default="")


class DeckSession:
    def __init__(self, service: DashboardService, actions: UserActions):
        self.service = service
        self.actions = actions
        self.nav = Navigation()
        self.ask_delete_for = ""  # set by the rack's delete button: the app page opens its confirmation
        self.theme = "dark"  # the deck's current theme, for components that style themselves (the rack)
        self.sounds = SoundBoard(enabled=False, height=0, width=0, margin=0)
        self.lcd = html_pane(self._lcd_html("ready"), sizing_mode="stretch_width", margin=(4, 8))
        self.message = html_pane("", sizing_mode="stretch_width", margin=(0, 8))

    @property
    def user(self) -> str:
        return self.actions.user

    def _lcd_html(self, text: str) -> str:
        return f'<div class="px-lcd" data-testid="lcd" title="{html.escape(text)}">&#9656; {html.escape(text)}</div>'

    def show_event(self, text: str) -> None:
        self.lcd.object = self._lcd_html(text)

    def tell(self, text: str, *, error: bool = False) -> None:
        """A result line under the deck (and in the LCD)."""
        colour = "#ff5252" if error else "#43a047"
        self.message.object = (
            f'<div data-testid="message" data-kind="{"error" if error else "ok"}" '
            f'style="color:{colour};font-size:13px">{html.escape(text)}</div>'
        )
        self.show_event(text)
        self.sounds.play("error" if error else "ok")

    def go(self, page: str, app: str = "") -> None:
        self.nav.param.update(page=page, app=app)

    async def run(self, label: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """Run a blocking SDK action off the server loop; errors become a message, never a traceback."""
        self.tell(f"{label}...")
        try:
            result = await asyncio.to_thread(fn, *args, **kwargs)
        except (ProximityError, UserError) as error:
            self.tell(f"{label} failed: {type(error).__name__}: {error}", error=True)
            return None
        self.tell(f"{label}: done")
        return result

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """A read in a worker thread; failures are shown without the 'done' chatter of actions."""
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except (ProximityError, UserError) as error:
            self.tell(f"{type(error).__name__}: {error}", error=True)
            return None
