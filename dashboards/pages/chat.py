"""The Omni-Prompt chat box in the deck's sidebar: type a request (English or Italian), read the plan (steps,
risk, what each needs, whether your role may run it) before anything runs, confirm (a destructive step
needs its exact text typed, e.g. the app's name), then follow the steps' progress and read the outcome.

Nothing is decided here: ``UserActions.ask`` plans and ``UserActions.run_plan`` checks the role and the
confirmations on the server. The plan lives in this server-side session object, never in the browser.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import panel as pn
import panel_material_ui as pmui

from dashboards.chat import ChatPlan, ChatProgress, StepView
from dashboards.pages.common import esc, html_pane
from dashboards.session import DeckSession
from dashboards.users import UserError
from proximity.errors import ProximityError
from proximity.omni.runner import RunResult
from proximity.omni.safety import Need

T = TypeVar("T")
RISK_COLOURS = {"read": "#43a047", "change": "#fb8c00", "destructive": "#e53935"}


def need_text(view: StepView) -> str:
    if view.need is Need.TYPED:
        return f"'{view.expected}' typed"
    return {Need.YES: "a yes (Run)", Need.NOTHING: "nothing"}[view.need]


def plan_html(chat: ChatPlan, states: dict[int, str] | None = None) -> str:
    """The plan as a small table; ``states`` adds each step's progress once it runs."""
    plan = chat.plan
    rows = []
    for view in chat.steps:
        risk = view.step.risk.value
        status = (states or {}).get(view.index, "")
        may = "" if view.allowed or not view.step.executes else " · <b>your role may not</b>"
        rows.append(
            f'<tr data-testid="omni-step" data-risk="{esc(risk)}" data-status="{esc(status)}">'
            f"<td>{view.index + 1}.</td><td>{esc(view.step.sentence)}"
            f'<div style="font-size:11px;opacity:.8"><span style="color:{RISK_COLOURS[risk]}">{esc(risk)}</span>'
            f" · needs {esc(need_text(view))}{may}"
            + (f" · <b>{esc(status)}</b>" if status else "")
            + "</div></td></tr>"
        )
    notes = "".join(f"<li>{esc(note)}</li>" for note in plan.notes)
    return (
        f'<div data-testid="omni-plan" data-risk="{esc(plan.risk.value)}" style="font-size:12px">'
        f"<div>Plan ({esc(plan.chosen_by)}, confidence {plan.confidence:.2f}) · nothing has run yet</div>"
        f'<table class="px-table">{"".join(rows)}</table>' + (f"<ul>{notes}</ul>" if notes else "") + "</div>"
    )


def outcome_html(result: RunResult) -> str:
    lines = [
        f'<li data-status="{esc(o.status)}">{o.index + 1}. {esc(o.action)}: <b>{esc(o.status)}</b>'
        + (f" - {esc(o.detail[:300])}" if o.detail else "")
        + "</li>"
        for o in result.outcomes
    ]
    if result.missing:
        lines.append("<li><b>Nothing was changed: a confirmation was missing.</b></li>")
        lines += [f"<li>{esc(m.message)}</li>" for m in result.missing]
    kind = "ok" if result.ok else "error"
    return f'<ul data-testid="omni-outcome" data-kind="{kind}" style="font-size:12px">{"".join(lines)}</ul>'


class ChatBox:
    """One per browser session, in the sidebar's ``omni-prompt-slot``."""

    def __init__(self, session: DeckSession):
        self.session = session
        self.chat: ChatPlan | None = None
        self.progress_record: ChatProgress | None = None
        self.request = pmui.TextInput(
            label="Ask Proximity",
            placeholder="riavvia gitea · back up gitea then restart it",
            name="omni-input",
        )
        self.plan_button = pmui.Button(label="Plan", on_click=self._plan, name="omni-plan-button")
        self.plan_view = html_pane("", sizing_mode="stretch_width")
        self.typed_inputs = pn.Column(sizing_mode="stretch_width")
        self.run_button = pmui.Button(label="Run plan", color="primary", on_click=self._run, visible=False)
        self.discard_button = pmui.Button(
            label="Discard", variant="text", on_click=self._discard, visible=False
        )
        self.progress = pmui.LinearProgress(value=0, sizing_mode="stretch_width", visible=False)
        self.outcome = html_pane("", sizing_mode="stretch_width")
        self._inputs: list[Any] = []
        self._rendered: tuple[dict[int, str], bool] | None = None
        self.view = pn.Column(
            self.request,
            self.plan_button,
            self.plan_view,
            self.typed_inputs,
            pn.Row(self.run_button, self.discard_button),
            self.progress,
            self.outcome,
            sizing_mode="stretch_width",
            name="omni-chat",
        )

    async def _call(self, label: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """Like ``DeckSession.run``, and the refusal or error is also shown in the chat itself."""
        self.session.tell(f"{label}...")
        try:
            result = await asyncio.to_thread(fn, *args, **kwargs)
        except (ProximityError, UserError) as error:
            text = f"{label} failed: {type(error).__name__}: {error}"
            self.session.tell(text, error=True)
            self.outcome.object = (
                f'<div data-testid="omni-error" style="color:#ff5252;font-size:12px">{esc(text)}</div>'
            )
            return None
        self.session.tell(f"{label}: done")
        return result

    async def _plan(self, _event: object) -> None:
        text = self.request.value_input or self.request.value or ""
        chat = await self._call("plan", self.session.actions.ask, text)
        self._show(chat)  # on a refusal the plan is cleared and the error _call wrote stays

    def _show(self, chat: ChatPlan | None) -> None:
        self.chat = chat
        self.progress_record = None
        self._rendered = None
        if chat is not None:
            self.outcome.object = ""
        self.progress.visible = False
        if chat is None:
            self.plan_view.object = ""
            self.typed_inputs.objects = []
            self.run_button.visible = self.discard_button.visible = False
            return
        self.plan_view.object = plan_html(chat)
        self._inputs = [
            pmui.TextInput(
                label=f"Type '{view.expected}' to confirm step {view.index + 1}", name="omni-typed"
            )
            for view in chat.to_type()
        ]
        warnings = [
            html_pane(f'<div style="font-size:11px">{esc(view.message)}</div>') for view in chat.to_type()
        ]
        self.typed_inputs.objects = [item for pair in zip(warnings, self._inputs) for item in pair]
        self.run_button.visible = chat.runnable
        self.discard_button.visible = True

    async def _run(self, _event: object) -> None:
        chat = self.chat
        if chat is None:
            return
        typed = [str(box.value_input or box.value or "").strip() for box in self._inputs]
        record = ChatProgress(total=len(chat.steps))
        self.progress_record = record
        self.progress.value = 0
        self.progress.visible = True
        self.run_button.disabled = True
        try:
            result = await self._call(
                "Omni-Prompt plan",
                self.session.actions.run_plan,
                chat,
                approve=True,
                typed=[text for text in typed if text],
                progress=record,
            )
        finally:
            self.run_button.disabled = False
        record.finish(result)
        self.flush()
        if result is not None:
            self.outcome.object = outcome_html(result)
            if not result.missing:
                self.run_button.visible = False  # a plan runs once; ask again for another
        else:
            self.progress.visible = False

    def _discard(self, _event: object) -> None:
        self._show(None)
        self.outcome.object = ""

    def flush(self) -> None:
        """Called by the session's periodic tick: the steps' states and the progress bar."""
        record, chat = self.progress_record, self.chat
        if record is None or chat is None:
            return
        snapshot = record.snapshot()
        if snapshot == self._rendered:
            return
        self._rendered = snapshot
        self.progress.value = round(record.fraction * 100)
        self.plan_view.object = plan_html(chat, snapshot[0])
