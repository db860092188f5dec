"""Logs / jobs: every job with its steps; the chosen job's events, live while it runs (only new lines are
sent: each arrives as one appended row)."""

from __future__ import annotations

import panel as pn
import panel_material_ui as pmui

from dashboards.events import describe
from dashboards.pages.common import esc, html_pane, table
from dashboards.session import DeckSession
from proximity.models import Job


def job_rows(jobs: list[Job]) -> list[list[str]]:
    return [
        [
            esc(j.id),
            esc(j.kind),
            esc(j.target),
            esc(j.state.value),
            esc(f"{j.progress * 100:.0f}%"),
            esc(" → ".join(f"{step}:{j.step_states.get(step, 'pending')}" for step in j.steps)),
            esc(f"{j.created_at:%H:%M:%S}"),
            esc(j.error or ""),
        ]
        for j in jobs
    ]


class JobsPage:
    title = "Jobs"

    def __init__(self, session: DeckSession):
        self.session = session
        self.listing = html_pane("", sizing_mode="stretch_width")
        self.job_select = pmui.Select(label="Job", options=[])
        self.cancel_button = pmui.Button(label="Cancel job", color="warning", on_click=self._cancel)
        self.log = pn.Column(sizing_mode="stretch_width", height=320, scroll=True)
        self._shown_job = ""
        self._cursor = 0
        self._last_listing = ""
        self.job_select.param.watch(lambda _e: pn.state.execute(self._load_job), "value")
        self.view = pn.Column(
            pmui.Typography("Jobs", variant="h5"),
            self.listing,
            pn.Row(self.job_select, self.cancel_button),
            self.log,
            sizing_mode="stretch_width",
        )

    async def refresh(self) -> None:
        jobs = await self.session.read(self.session.actions.jobs, 30)
        if jobs is None:
            return
        body = table(
            ["job", "kind", "target", "state", "progress", "steps", "started", "error"],
            job_rows(jobs),
            "jobs",
        )
        if body != self._last_listing:
            self._last_listing = body
            self.listing.object = body
        ids = [j.id for j in jobs]
        if ids != self.job_select.options:
            self.job_select.options = ids
        if self.job_select.value not in ids and ids:
            self.job_select.value = ids[0]

    async def _load_job(self) -> None:
        job_id = self.job_select.value
        if not job_id or job_id == self._shown_job:
            return
        self._cursor = self.session.service.events.cursor
        events = await self.session.read(self.session.actions.job_events, job_id)
        self._shown_job = job_id
        self.log.objects = [
            html_pane(f"<pre class='px-log'>{esc(f'{e.time:%H:%M:%S} {describe(e)}')}</pre>", margin=0)
            for e in events or []
        ]

    async def tick(self) -> None:
        await self.refresh()
        # live lines of the shown job, from the hub: only what arrived since the last tick
        items = self.session.service.events.since(self._cursor)
        if items:
            self._cursor = items[-1].seq
        for item in items:
            if item.job_id == self._shown_job:
                line = f"{item.time:%H:%M:%S} {item.text}"
                self.log.append(html_pane(f"<pre class='px-log'>{esc(line)}</pre>", margin=0))

    async def _cancel(self, _event: object) -> None:
        job_id = self.job_select.value
        if job_id:
            await self.session.run(f"cancel {job_id}", self.session.actions.cancel_job, job_id)
