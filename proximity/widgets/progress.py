"""A progress bar bound to a job's events. Pass it as ``on_event`` to any SDK verb, or ``watch()`` a job
by id (``px.jobs.follow``). Events arrive on the client's event-loop thread, so updates are locked."""

from __future__ import annotations

import html
import threading
from typing import Any

from proximity.models import JobEvent

FINAL_KINDS = {
    "job-succeeded": "succeeded",
    "job-failed": "failed",  # failed and rolled back
    "job-rollback-failed": "rollback-failed",
    "job-cancelled": "cancelled",
}
BAR_STYLES = {"succeeded": "success", "failed": "danger", "rollback-failed": "danger", "cancelled": "warning"}
LOG_LINES_SHOWN = 8


class JobProgress:
    """``progress = JobProgress("Deploy gotify"); px.apps.deploy("gotify", on_event=progress)``.
    ``outcome`` is succeeded, failed (rolled back), rollback-failed or cancelled once the job ends."""

    def __init__(self, title: str = "Job"):
        import ipywidgets as widgets

        self.title = title
        self.events: list[JobEvent] = []
        self.outcome: str | None = None
        self._lock = threading.Lock()
        self._title = widgets.HTML(f"<b>{html.escape(title)}</b>")
        self._bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, bar_style="info")
        self._step = widgets.HTML("waiting for the first event")
        self._log = widgets.HTML()
        self.widget = widgets.VBox([self._title, widgets.HBox([self._bar, self._step]), self._log])

    def __call__(self, event: JobEvent) -> None:
        with self._lock:
            self.events.append(event)
            self._bar.value = event.progress
            if event.kind in FINAL_KINDS:
                self.outcome = FINAL_KINDS[event.kind]
                self._bar.bar_style = BAR_STYLES[self.outcome]
            self._step.value = html.escape(f"{event.progress:.0%} · {event.step or event.kind}")
            lines = [f"{e.kind:<14} {e.step or '':<10} {e.message}" for e in self.events[-LOG_LINES_SHOWN:]]
            self._log.value = (
                "<pre style='margin:0;font-size:11px'>" + html.escape("\n".join(lines)) + "</pre>"
            )

    def watch(self, px: Any, job_id: str) -> str | None:
        """Follow a job already running (or finished) until it ends; returns its outcome."""
        for event in px.jobs.follow(job_id):
            self(event)
        return self.outcome

    @property
    def progress(self) -> float:
        return float(self._bar.value)

    def steps_done(self) -> list[str]:
        return [e.step for e in self.events if e.kind == "step-done" and e.step]

    def summary(self) -> str:
        """One line for logs and tests: the outcome, the steps done and the last message."""
        last = self.events[-1].message if self.events else "no events"
        done = self.steps_done()
        outcome = self.outcome or "running"
        return f"{self.title}: {outcome} at {self.progress:.0%}, {len(done)} steps done ({', '.join(done)}); {last}"

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)
