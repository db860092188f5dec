"""What each step needs before it may run, derived only from its action type and arguments.

- read: nothing (it may run at once);
- change: a yes;
- destructive: the exact text to type, which names what is lost (the app's name, or ``purge <name>``
  when its data and backups go too). ``confirm=True`` is never enough for it.

No text (the request, a catalog description, the model's preference) is consulted here, so a prompt
injection cannot lower a requirement.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from proximity.omni.plan import Plan, Risk, Step


class Need(StrEnum):
    NOTHING = "nothing"
    YES = "yes"
    TYPED = "typed"


@dataclass(frozen=True)
class Confirmation:
    """One step's requirement: ``expected`` is the exact text to type for a destructive step."""

    index: int
    step: Step | None  # None for an undo step outside the vocabulary (a snapshot rollback)
    need: Need
    message: str
    expected: str | None = None


Confirmer = Callable[[Confirmation], bool | str]


def requirement(index: int, step: Step, language: str = "en") -> Confirmation:
    it = language == "it"
    if not step.executes or step.risk is Risk.READ:
        return Confirmation(index, step, Need.NOTHING, "")
    if step.risk is Risk.CHANGE:
        return Confirmation(index, step, Need.YES, step.sentence)
    if step.action == "apps.delete":
        name = str(step.args["name"])
        if step.args.get("purge"):
            expected = f"purge {name}"
            lost = (
                f"il container di {name}, tutti i suoi backup e i suoi segreti: non si può annullare"
                if it
                else f"{name}'s container, all its backups and its secrets: this cannot be undone"
            )
        else:
            expected = name
            lost = (
                f"il container di {name} (resta un backup finale, da cui 'undo' lo ripristina)"
                if it
                else f"{name}'s container (a final backup is kept; 'undo' restores it)"
            )
    elif step.action == "backups.restore":
        target = str(step.args.get("app") or step.args.get("backup_id"))
        expected = target
        lost = (
            f"lo stato attuale di {target} viene sostituito dal backup (prima ne faccio uno nuovo)"
            if it
            else f"the current state of {target} is replaced by the backup (a fresh backup is taken first)"
        )
    else:  # a destructive action without its own wording: the call itself must be typed
        expected = step.call_text()
        lost = step.sentence
    prompt = (
        f"Si perde: {lost}. Scrivi '{expected}' per confermare."
        if it
        else (f"This loses {lost}. Type '{expected}' to confirm.")
    )
    return Confirmation(index, step, Need.TYPED, prompt, expected)


def requirements(plan: Plan) -> list[Confirmation]:
    return [requirement(index, step, plan.language) for index, step in enumerate(plan.steps)]


def approved(item: Confirmation, confirm: bool | Confirmer, typed: Iterable[str] = ()) -> bool:
    """Whether ``item`` is confirmed. A destructive step needs its exact text, typed or returned by the
    confirmer; a bare ``True`` from either never approves it."""
    if item.need is Need.NOTHING:
        return True
    if item.need is Need.YES:
        if callable(confirm):
            return confirm(item) is True
        return confirm is True
    assert item.expected is not None
    if item.expected in set(typed):
        return True
    if callable(confirm):
        answer = confirm(item)
        return isinstance(answer, str) and answer.strip() == item.expected
    return False
