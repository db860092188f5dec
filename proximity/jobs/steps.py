"""What a job is made of: ordered steps, each with a ``do`` and an optional ``undo``.

Steps share a JSON-serialisable ``values`` dict (never secrets) that is persisted after every step, so a
restarted process can rebuild the same steps and undo what the killed one had done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol


class StepContext(Protocol):
    job_id: str
    values: dict[str, Any]

    async def report(self, message: str) -> None:
        """Emit an informational event (shown under the current step)."""
        ...


StepFn = Callable[[StepContext], Awaitable[None]]


@dataclass(frozen=True)
class Step:
    name: str
    do: StepFn
    undo: StepFn | None = None
    retry: bool = True  # retry transient errors (connection, 5xx, locks); turn off for non-idempotent steps
    label: str = ""  # what the user sees; the name if empty
    # The point of no return: once this step has started, a job whose process died is finished (this step
    # and the later ones run again, so they must be idempotent) instead of rolled back, since undoing the
    # earlier steps would now destroy what the job already switched to.
    commits: bool = False

    @property
    def title(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class JobKind:
    """A kind of job: how to build its steps from the persisted values, and what to do after a crash.

    ``on_recover``: "rollback" undoes the done steps of a job whose process died; "resume" runs the
    remaining steps again (each step must then be idempotent).
    """

    name: str
    build: Callable[[dict[str, Any]], list[Step]]
    on_recover: Literal["rollback", "resume"] = "rollback"
    concurrency_key: Callable[[dict[str, Any]], str | None] = field(
        default=lambda values: values.get("node_key")
    )
