"""Floor 2: a crash-safe step engine (steps with undo, retries, rollback, events, recovery)."""

from proximity.jobs.engine import FINISHED, JobRunner
from proximity.jobs.retry import RetryPolicy, is_transient, retry_async
from proximity.jobs.steps import JobKind, Step, StepContext

__all__ = [
    "FINISHED",
    "JobKind",
    "JobRunner",
    "RetryPolicy",
    "Step",
    "StepContext",
    "is_transient",
    "retry_async",
]
