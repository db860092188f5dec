"""``ask(px, "...")``: the Omni-Prompt front door for the SDK, the CLI, the dashboard and notebooks.

plan = ask(px, "fai un backup di gitea e poi riavvialo")
print(plan.describe())          # nothing has changed yet
plan.run(confirm=True)          # changes need a yes; destructive steps need typed=["<name>"]
undo(px, confirm=True)          # reverse the last plan
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from proximity.omni.plan import Plan
from proximity.omni.planner import Planner, Ranker
from proximity.omni.runner import RunResult, StepOutcome, StepProgress, audit, run_plan, undo_last
from proximity.omni.safety import Confirmation, Confirmer, requirements
from proximity.omni.state import LiveState


class AskedPlan:
    """A plan bound to the client that will run it. Reading it changes nothing."""

    def __init__(self, px: Any, plan: Plan):
        self._px = px
        self.plan = plan

    def __getattr__(self, name: str) -> Any:
        return getattr(self.plan, name)

    def __repr__(self) -> str:
        return f"AskedPlan({self.plan.call_text()!r}, risk={self.plan.risk.value})"

    def confirmations(self) -> list[Confirmation]:
        """What each step needs before it runs (nothing, a yes, or an exact text to type)."""
        return requirements(self.plan)

    def run(
        self,
        confirm: bool | Confirmer = False,
        *,
        typed: Iterable[str] = (),
        progress: StepProgress | None = None,
    ) -> RunResult:
        """Run the plan. ``confirm=True`` approves changes; destructive steps also need their text in
        ``typed`` (or returned by a ``confirm`` callable). Without them no change runs. ``progress`` hears
        each step start and end."""
        return run_plan(self._px, self.plan, confirm=confirm, typed=typed, progress=progress)


def ask(
    px: Any, text: str, *, ranker: Ranker | None | str = "auto", state: LiveState | None = None
) -> AskedPlan:
    """Plan ``text`` against the client's live state; the plan and the original text go to the audit log."""
    planner = Planner(state or LiveState.from_client(px), ranker=ranker)
    plan = planner.plan(text)
    audit(px, "omni.plan", plan.request, f"{plan.call_text()} (by {plan.chosen_by}, {plan.confidence:.2f})")
    return AskedPlan(px, plan)


def undo(px: Any, *, confirm: bool | Confirmer = False, typed: Iterable[str] = ()) -> list[StepOutcome]:
    """Reverse the last plan that changed something (same confirmation rules as a plan)."""
    return undo_last(px, confirm=confirm, typed=typed)
