"""The Omni-Prompt behind the dashboard's chat box, without any widget: which dashboard permission each
plan step needs, the plan as the chat shows it (steps, risk, what each needs, whether this user may run
it), and a thread-safe progress record the session's periodic callback renders.

Checks live in ``dashboards.service.UserActions.ask`` / ``run_plan`` (server side): a viewer may ask and
read the plan, and the server refuses to run a step the user's role does not allow, before anything runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from dashboards.permissions import Action
from proximity.errors import PermissionDenied
from proximity.omni.ask import AskedPlan
from proximity.omni.plan import Plan, Step
from proximity.omni.runner import RunResult
from proximity.omni.safety import Need

# Every action of the Omni-Prompt's vocabulary that executes, and the permission a button doing the same
# would need. A restore needs BACKUP_RESTORE even as a new app, as on the Backups page.
STEP_PERMISSIONS: dict[str, Action] = {
    "apps.deploy": Action.DEPLOY,
    "apps.list": Action.VIEW,
    "apps.start": Action.START,
    "apps.stop": Action.STOP,
    "apps.restart": Action.RESTART,
    "apps.delete": Action.DELETE,
    "apps.clone": Action.CLONE,
    "apps.update": Action.UPDATE,
    "apps.logs": Action.VIEW,
    "apps.migrate": Action.MIGRATE,
    "apps.resize": Action.RESIZE,
    "backups.create": Action.BACKUP_CREATE,
    "backups.list": Action.VIEW,
    "backups.restore": Action.BACKUP_RESTORE,
    "catalog.search": Action.VIEW,
    "hosts.list": Action.VIEW,
    "hosts.status": Action.VIEW,
    "help": Action.VIEW,
}


def permission_for(step: Step) -> Action:
    """The permission ``step`` needs; an action nobody mapped is refused (fail closed), never run."""
    try:
        return STEP_PERMISSIONS[step.action]
    except KeyError:
        raise PermissionDenied(f"the dashboard has no permission rule for {step.action!r}") from None


@dataclass(frozen=True)
class StepView:
    index: int
    step: Step
    permission: Action
    allowed: bool  # for this user's role when the plan was made (checked again when it runs)
    need: Need
    message: str  # what the confirmation says (what is lost, for a destructive step)
    expected: str | None  # the exact text to type, for a destructive step


@dataclass(frozen=True)
class ChatPlan:
    """A plan made for one user, kept on the server in that user's session until it runs."""

    user: str
    asked: AskedPlan
    steps: tuple[StepView, ...]

    @property
    def plan(self) -> Plan:
        return self.asked.plan

    @property
    def runnable(self) -> bool:
        return not (self.plan.refused or self.plan.out_of_scope)

    def forbidden(self) -> list[StepView]:
        return [view for view in self.steps if view.step.executes and not view.allowed]

    def to_type(self) -> list[StepView]:
        return [view for view in self.steps if view.need is Need.TYPED]


def chat_plan(user: str, asked: AskedPlan, can: Callable[[Action], bool]) -> ChatPlan:
    views = []
    for item in asked.confirmations():
        assert item.step is not None  # a plan's own steps always carry their step
        step = item.step
        permission = permission_for(step) if step.executes else Action.VIEW
        views.append(
            StepView(item.index, step, permission, can(permission), item.need, item.message, item.expected)
        )
    return ChatPlan(user, asked, tuple(views))


@dataclass
class ChatProgress:
    """What a running plan has done so far; written from the worker thread, read by the session's tick."""

    total: int
    states: dict[int, str] = field(default_factory=dict)
    result: RunResult | None = None  # None when the run was refused or failed before the runner
    finished: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def step(self, index: int, _step: Step, status: str) -> None:
        with self._lock:
            self.states[index] = status

    def finish(self, result: RunResult | None) -> None:
        with self._lock:
            self.result, self.finished = result, True

    def snapshot(self) -> tuple[dict[int, str], bool]:
        with self._lock:
            return dict(self.states), self.finished

    @property
    def fraction(self) -> float:
        with self._lock:
            ended = sum(1 for status in self.states.values() if status != "running")
        return ended / self.total if self.total else 1.0
