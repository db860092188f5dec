"""A chat-like box for the Omni-Prompt: type a request, see the plan (steps, risk, what each needs) before
anything runs, then run it with a button. Destructive steps need their exact text typed in the
confirmation box; the Run button alone is only a yes, which never approves them (``proximity.omni.safety``).
"""

from __future__ import annotations

import html
from typing import Any

from proximity.omni.ask import AskedPlan
from proximity.omni.runner import RunResult
from proximity.omni.safety import Confirmation, Need

NEED_LABELS = {Need.NOTHING: "runs at once", Need.YES: "a yes (Run)", Need.TYPED: "type"}


def plan_table_html(asked: AskedPlan) -> str:
    """The plan as an HTML table: step, risk, what will change, what it needs. Every value is escaped."""
    rows = []
    for item in asked.confirmations():
        step = asked.plan.steps[item.index]
        needs = NEED_LABELS[item.need]
        if item.need is Need.TYPED:
            needs = f"type <code>{html.escape(item.expected or '')}</code>"
        rows.append(
            f"<tr data-risk='{html.escape(step.risk.value)}'><td>{item.index + 1}</td>"
            f"<td>{html.escape(step.sentence)}</td><td>{html.escape(step.risk.value)}</td>"
            f"<td><code>{html.escape(step.call_text())}</code></td><td>{needs}</td></tr>"
        )
    notes = "".join(f"<div><i>{html.escape(note)}</i></div>" for note in asked.plan.notes)
    return (
        "<table class='px-omni-plan'><tr><th>#</th><th>step</th><th>risk</th><th>call</th><th>needs</th></tr>"
        + "".join(rows)
        + "</table>"
        + f"<div>chosen by the {html.escape(asked.plan.chosen_by)}, confidence {asked.plan.confidence:.2f}</div>"
        + notes
    )


def result_html(result: RunResult) -> str:
    return "<pre style='margin:0'>" + html.escape(result.summary() or "nothing ran") + "</pre>"


class OmniChat:
    """``OmniChat(px)``: a text box, a Plan button, the plan table, a box for typed confirmations and a Run
    button. ``propose(text)`` and ``run()`` do what the buttons do (for scripts and tests)."""

    def __init__(self, px: Any, text: str = ""):
        import ipywidgets as widgets

        self._px = px
        self.asked: AskedPlan | None = None
        self.result: RunResult | None = None
        self.request = widgets.Text(value=text, placeholder="restart gitea / fai un backup di gitea")
        self.typed = widgets.Text(placeholder="for a destructive step: type what the table asks")
        self.plan_button = widgets.Button(description="Plan")
        self.run_button = widgets.Button(description="Run", button_style="warning", disabled=True)
        self.plan_view = widgets.HTML()
        self.result_view = widgets.HTML()
        self.plan_button.on_click(lambda _button: self.propose(self.request.value))
        self.run_button.on_click(lambda _button: self.run())
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.request, self.plan_button]),
                self.plan_view,
                widgets.HBox([self.typed, self.run_button]),
                self.result_view,
            ]
        )

    def propose(self, text: str) -> AskedPlan:
        """Plan ``text``; nothing runs. The table shows what will change and what each step needs."""
        self.request.value = text
        self.asked = self._px.ask(text)
        self.result = None
        self.typed.value = ""
        self.plan_view.value = plan_table_html(self.asked)
        self.result_view.value = ""
        self.run_button.disabled = False
        return self.asked

    def confirmations(self) -> list[Confirmation]:
        return self.asked.confirmations() if self.asked else []

    def run(self) -> RunResult:
        """Run the shown plan: the Run press is the yes; the typed box holds the exact texts (one per line
        or comma-separated) that destructive steps need. Without them no change runs."""
        if self.asked is None:
            raise RuntimeError("propose a plan first")
        typed = [part.strip() for part in self.typed.value.replace("\n", ",").split(",") if part.strip()]
        self.result = self.asked.run(confirm=True, typed=typed)
        self.result_view.value = result_html(self.result)
        if self.result.ok:
            self.run_button.disabled = True  # a plan runs once; ask again for another
        return self.result

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)
