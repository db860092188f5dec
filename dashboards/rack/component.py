"""``RackView``: every app as a 1U unit in its host's rack, one custom Panel ``JSComponent``.

The browser gets one snapshot (the ``snapshot`` parameter, rows of values) when the view is created, then
only deltas: ``update(units, kinds)`` diffs against what was last sent and ``_send_msg``s the changed
fields of the changed units. Button clicks come back as messages and reach Python callbacks as a
``RackAction``; the component calls no SDK and checks no permission (its owner does both, server-side).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import param
from panel.custom import JSComponent
from panel.io.state import state

from dashboards.rack.feed import Kind, Unit, diff, snapshot

HERE = Path(__file__).resolve().parent
ACTIONS: tuple[str, ...] = ("start", "stop", "restart", "backup", "delete", "open")
THEMES: tuple[str, ...] = ("dark", "light", "matrix")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RackAction:
    action: str
    app: str


ActionCallback = Callable[[RackAction], Any]


class RackView(JSComponent):
    """The rack. ``RackView(units=..., kinds=...)`` or ``RackView()`` then ``update(...)``."""

    snapshot = param.Dict(default={}, doc="Initial rows (see feed.snapshot); later changes go as deltas")
    theme = param.Selector(default="dark", objects=list(THEMES), doc="dark, light or matrix (restyles live)")
    load_icons = param.Boolean(default=True, doc="Fetch icon URLs; off: the offline glyph tiles only")
    action = param.ClassSelector(
        class_=RackAction, default=None, allow_None=True,
        doc="The last action clicked (watchers fire on every click)",
    )  # fmt: skip

    _rename: ClassVar[dict[str, str | None]] = {"action": None}  # Python-side only: never sent to the browser

    _esm = HERE / "rack.js"
    _stylesheets: ClassVar[list[Any]] = [HERE / "rack.css"]

    def __init__(self, units: Iterable[Unit] = (), kinds: Mapping[str, Kind] | None = None, **params: Any):
        self._units: list[Unit] = list(units)
        self._kinds: dict[str, Kind] = dict(kinds or {})
        self._callbacks: list[ActionCallback] = []
        self._sending = threading.Lock()  # update() may be called from a refresh thread and a callback
        params.setdefault("snapshot", snapshot(self._units, self._kinds))
        params.setdefault("sizing_mode", "stretch_width")
        super().__init__(**params)

    # ------------------------------------------------------------ Python -> browser

    @property
    def units(self) -> list[Unit]:
        return list(self._units)

    def update(self, units: Iterable[Unit], kinds: Mapping[str, Kind] | None = None) -> dict[str, Any] | None:
        """Send what changed since the last snapshot or update; returns the message sent (None: nothing)."""
        new_units = list(units)
        with self._sending:
            merged_kinds = {**self._kinds, **(kinds or {})}
            delta = diff(self._units, new_units, merged_kinds, known_kinds=self._kinds)
            self._units, self._kinds = new_units, merged_kinds
            # Views created from now on (a re-render of the page) start from the current rows; views
            # already shown keep applying deltas, so the full list is not sent to them again.
            with param.parameterized.discard_events(self):
                self.snapshot = snapshot(self._units, self._kinds)
            if delta is None:
                return None
            message = {"type": "delta", **delta}
            self._send_msg(message)  # queued on the session's event loop when called from another thread
            return message

    # ------------------------------------------------------------ browser -> Python

    def on_action(self, callback: ActionCallback) -> None:
        """Call ``callback(RackAction(action, app))`` on every click of a unit's button. It runs on the
        session's event loop: a callback that calls the SDK should hand the work to a thread (or be a
        coroutine function) so the server keeps answering meanwhile."""
        self._callbacks.append(callback)

    def _handle_msg(self, data: Any) -> None:
        clicked = parse_action(data, {u["id"] for u in self._units})
        if clicked is None:
            log.warning("rack: ignored a malformed action message")
            return
        with param.parameterized.discard_events(self):
            self.action = clicked
        # set quietly, then trigger: watchers fire even when the same button is clicked twice in a row
        self.param.trigger("action")
        for callback in list(self._callbacks):
            state.execute(partial(callback, clicked), schedule=False)  # a coroutine function is awaited


def parse_action(data: Any, known_ids: set[str]) -> RackAction | None:
    """The action a message asks for, if it names a known action and a unit of this rack."""
    if not isinstance(data, dict) or data.get("type") != "action":
        return None
    action, app = data.get("action"), data.get("id")
    if action not in ACTIONS or not isinstance(app, str) or app not in known_ids:
        return None
    return RackAction(action=action, app=app)
