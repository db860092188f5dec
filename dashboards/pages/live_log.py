"""A job's progress bar and live log on a page. Job events arrive in the SDK's event-loop thread, where they
are only queued; the session's periodic tick calls ``flush`` to append the new lines to the page."""

from __future__ import annotations

import threading

import panel as pn
import panel_material_ui as pmui

from dashboards.events import describe
from dashboards.pages.common import esc, html_pane
from proximity.models import JobEvent


class LiveLog:
    def __init__(self, testid: str = "live-log"):
        self.testid = testid
        self.progress = pmui.LinearProgress(value=0, sizing_mode="stretch_width", visible=False)
        self.lines = pn.Column(sizing_mode="stretch_width", height=200, scroll=True, visible=False)
        self.view = pn.Column(self.progress, self.lines, sizing_mode="stretch_width")
        self._pending: list[str] = []
        self._fraction = 0.0
        self._lock = threading.Lock()

    def start(self, title: str) -> None:
        """Clear the log for a new action and show it."""
        with self._lock:
            self._pending = []
            self._fraction = 0.0
        self.lines.objects = [self._line(title)]
        self.lines.visible = True
        self.progress.value = 0
        self.progress.visible = True

    def on_event(self, event: JobEvent) -> None:
        """The SDK's callback (any thread): only queue the line."""
        with self._lock:
            self._pending.append(f"{event.time:%H:%M:%S} {describe(event)}")
            self._fraction = event.progress

    def flush(self) -> None:
        with self._lock:
            lines, self._pending = self._pending, []
            fraction = self._fraction
        for line in lines:  # appending sends only the new line to the browser
            self.lines.append(self._line(line))
        if lines:
            self.progress.value = round(fraction * 100)

    def finish(self, text: str, *, ok: bool) -> None:
        """Flush what is left and close the log with the outcome's line."""
        self.flush()
        if ok:
            self.progress.value = 100
        self.lines.append(self._line(text, testid=f"{self.testid}-end", kind="ok" if ok else "error"))

    def _line(self, text: str, testid: str = "", kind: str = "") -> pn.pane.HTML:
        attributes = f' data-testid="{esc(testid)}" data-kind="{esc(kind)}"' if testid else ""
        return html_pane(f"<pre class='px-log'{attributes}>{esc(text)}</pre>", margin=0)
