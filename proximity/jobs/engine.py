"""The crash-safe step engine.

Running a job: the job row and every step's start/end are written to SQLite before and after the step
runs. On failure the done steps are undone in reverse order (the failed step too: undos are idempotent
and cope with partial work). Transient errors are retried with backoff. Jobs on the same node share a
semaphore so a node is never flooded. ``recover()`` finds jobs left "running" by a dead process and rolls
them back (or resumes them, for kinds that say so).
"""

from __future__ import annotations

import inspect
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio

from proximity.errors import Cancelled, NotFound, ProximityError
from proximity.jobs.retry import RetryPolicy, retry_async
from proximity.jobs.steps import JobKind, Step
from proximity.models import Job, JobEvent, JobState, StepState, utcnow
from proximity.store import Store

EventCallback = Callable[[JobEvent], Awaitable[None] | None]
FINISHED = {JobState.SUCCEEDED, JobState.FAILED, JobState.ROLLBACK_FAILED, JobState.CANCELLED}


class _Context:
    """The StepContext handed to steps."""

    def __init__(self, runner: JobRunner, job: Job, on_event: EventCallback | None):
        self.runner = runner
        self.job = job
        self.job_id = job.id
        self.values = job.context
        self.on_event = on_event
        self.current_step: str | None = None

    async def report(self, message: str) -> None:
        await self.runner._emit(self.job, "info", self.current_step, message, self.on_event)


def process_started(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, from /proc; None where there is no /proc)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            stat = handle.read()
    except OSError:
        return None
    # the command name (field 2) may hold spaces: count fields after its closing parenthesis
    return stat.rsplit(")", 1)[1].split()[19]


def owner_alive(pid: int | None, started: str | None) -> bool:
    """Is the process that owns a job still running? A reused PID (another start time) is not it."""
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if started is None:
        return True
    return process_started(pid) == started


class JobRunner:
    def __init__(self, store: Store, *, retry: RetryPolicy | None = None, max_per_key: int = 4):
        self.store = store
        self.retry = retry or RetryPolicy()
        self.max_per_key = max_per_key
        self.kinds: dict[str, JobKind] = {}
        self._limiters: dict[str, anyio.CapacityLimiter] = {}
        self._cancel_requested: set[str] = set()
        self._listeners: list[EventCallback] = []

    def register(self, kind: JobKind) -> None:
        self.kinds[kind.name] = kind

    def add_listener(self, callback: EventCallback) -> None:
        """Receive every event of every job run by this runner (the dashboard uses this)."""
        self._listeners.append(callback)

    # ------------------------------------------------------------ running

    def new_job(
        self, kind: str, target: str, values: dict[str, Any], *, claims: dict[str, str] | None = None
    ) -> Job:
        """``claims``: {app name: "create" | "shared" | "exclusive"}; the job is refused (AlreadyExists,
        Conflict, NotFound) when an app or an unfinished job of any process sharing the database conflicts
        (``Store.claim_job``)."""
        if kind not in self.kinds:
            raise NotFound(f"unknown job kind {kind!r}")
        steps = self.kinds[kind].build(values)
        job = Job(
            id=uuid.uuid4().hex[:12],
            kind=kind,
            target=target,
            state=JobState.PENDING,
            steps=[s.name for s in steps],
            step_states={s.name: StepState.PENDING for s in steps},
            context=dict(values),
            owner_pid=os.getpid(),
            owner_started=process_started(os.getpid()),
        )
        if claims:
            self.store.claim_job(job, claims)
        else:
            self.store.save_job(job)
        return job

    async def run(
        self,
        kind: str,
        target: str,
        values: dict[str, Any],
        *,
        on_event: EventCallback | None = None,
        claims: dict[str, str] | None = None,
    ) -> Job:
        """Create and run a job to the end. Raises the step's error after rolling back."""
        job = self.new_job(kind, target, values, claims=claims)
        return await self.run_job(job, on_event=on_event)

    async def run_job(self, job: Job, *, on_event: EventCallback | None = None, resume: bool = False) -> Job:
        kind = self.kinds[job.kind]
        steps = kind.build(job.context)
        key = kind.concurrency_key(job.context)
        if key is None:
            return await self._execute(job, steps, on_event, resume)
        limiter = self._limiters.get(key)
        if limiter is None:
            limiter = self._limiters[key] = anyio.CapacityLimiter(self.max_per_key)
        async with limiter:
            return await self._execute(job, steps, on_event, resume)

    def set_max_per_key(self, limit: int) -> None:
        """Change the per-node bound, for the limiters in use too (jobs running keep their slot)."""
        self.max_per_key = limit
        for limiter in self._limiters.values():
            limiter.total_tokens = limit

    def cancel(self, job_id: str) -> None:
        """Ask a running job to stop after its current step (it then rolls back). Works across
        processes: the request is an event in the database, checked between steps."""
        job = self.store.get_job(job_id)
        if job.state in FINISHED:
            return
        self._cancel_requested.add(job_id)
        self.store.add_event(job_id, "cancel-requested", None, "cancel requested", job.progress)

    def _cancelled(self, job_id: str) -> bool:
        return job_id in self._cancel_requested or self.store.cancel_requested(job_id)

    async def _execute(
        self, job: Job, steps: list[Step], on_event: EventCallback | None, resume: bool
    ) -> Job:
        ctx = _Context(self, job, on_event)
        job.state = JobState.RUNNING
        job.owner_pid = os.getpid()
        job.owner_started = process_started(job.owner_pid)
        self.store.save_job(job)
        await self._emit(
            job, "job-resumed" if resume else "job-started", None, f"{job.kind} {job.target}", on_event
        )
        try:
            for step in steps:
                if job.step_states.get(step.name) == StepState.DONE:
                    continue
                if self._cancelled(job.id):
                    raise Cancelled(f"job {job.id} was cancelled")
                await self._run_step(job, step, ctx, on_event)
        except BaseException as error:
            with anyio.CancelScope(shield=True):
                await self._fail(job, steps, ctx, error, on_event)
            raise
        finally:
            self._cancel_requested.discard(job.id)
        job.state = JobState.SUCCEEDED
        job.finished_at = utcnow()
        self.store.save_job(job)
        await self._emit(job, "job-succeeded", None, f"{job.kind} {job.target} done", on_event)
        return job

    async def _run_step(self, job: Job, step: Step, ctx: _Context, on_event: EventCallback | None) -> None:
        ctx.current_step = step.name
        job.step_states[step.name] = StepState.RUNNING
        self.store.save_job(job)  # persisted before the step touches anything
        await self._emit(job, "step-started", step.name, step.title, on_event)

        async def attempt() -> None:
            await step.do(ctx)

        async def on_retry(number: int, error: BaseException, wait: float) -> None:
            await self._emit(
                job, "retry", step.name, f"try {number} failed ({error}); retrying in {wait:.2f}s", on_event
            )

        policy = self.retry if step.retry else RetryPolicy(attempts=1)
        await retry_async(attempt, policy, on_retry)
        job.step_states[step.name] = StepState.DONE
        self.store.save_job(job)  # persisted after, with the values the step produced
        await self._emit(job, "step-done", step.name, step.title, on_event)

    async def _fail(
        self, job: Job, steps: list[Step], ctx: _Context, error: BaseException, on_event: EventCallback | None
    ) -> None:
        cancelled = isinstance(error, (Cancelled, anyio.get_cancelled_exc_class()))
        message = "cancelled" if cancelled and not isinstance(error, Cancelled) else _describe(error)
        failed_step = ctx.current_step
        if failed_step and job.step_states.get(failed_step) == StepState.RUNNING:
            job.step_states[failed_step] = StepState.FAILED
        job.error = message
        self.store.save_job(job)
        await self._emit(job, "step-failed", failed_step, message, on_event)
        clean = await self._rollback(job, steps, ctx, on_event)
        if cancelled:
            job.state = JobState.CANCELLED
        else:
            job.state = JobState.FAILED if clean else JobState.ROLLBACK_FAILED
        job.finished_at = utcnow()
        self.store.save_job(job)
        outcome = "rolled back" if clean else "rollback incomplete"
        await self._emit(job, f"job-{job.state.value}", None, f"{message} ({outcome})", on_event)

    async def _rollback(
        self, job: Job, steps: list[Step], ctx: _Context, on_event: EventCallback | None
    ) -> bool:
        """Undo the done (and failed/interrupted) steps in reverse. True when every undo succeeded."""
        touched = {
            StepState.DONE,
            StepState.FAILED,
            StepState.RUNNING,
            StepState.UNDOING,
            StepState.UNDO_FAILED,
        }
        clean = True
        for step in reversed(steps):
            if job.step_states.get(step.name) not in touched:
                continue
            if step.undo is None:
                job.step_states[step.name] = StepState.UNDONE
                continue
            ctx.current_step = step.name
            job.step_states[step.name] = StepState.UNDOING
            self.store.save_job(job)
            await self._emit(job, "undo-started", step.name, f"undo {step.title}", on_event)
            try:
                await retry_async(lambda undo=step.undo: undo(ctx), self.retry)
            except Exception as undo_error:  # noqa: BLE001 - any undo failure is recorded, the others still run
                clean = False
                job.step_states[step.name] = StepState.UNDO_FAILED
                self.store.save_job(job)
                await self._emit(job, "undo-failed", step.name, _describe(undo_error), on_event)
                continue
            job.step_states[step.name] = StepState.UNDONE
            self.store.save_job(job)
            await self._emit(job, "undo-done", step.name, f"undid {step.title}", on_event)
        return clean

    # ------------------------------------------------------------ events

    async def _emit(
        self, job: Job, kind: str, step: str | None, message: str, on_event: EventCallback | None
    ) -> None:
        event = self.store.add_event(job.id, kind, step, message, job.progress)
        for callback in [*self._listeners, *([on_event] if on_event else [])]:
            result = callback(event)
            if inspect.isawaitable(result):
                await result

    async def follow(self, job_id: str, poll_s: float = 0.05) -> AsyncIterator[JobEvent]:
        """Yield a job's events, past and future, until it finishes (works across processes)."""
        seen = 0
        while True:
            events = [e for e in self.store.events(job_id) if e.seq > seen]
            for event in events:
                seen = event.seq
                yield event
            if self.store.get_job(job_id).state in FINISHED and not events:
                return
            await anyio.sleep(poll_s)

    # ------------------------------------------------------------ recovery

    async def recover(self, on_event: EventCallback | None = None) -> list[Job]:
        """Finish the jobs a dead process left running: roll back, or resume when the kind allows."""
        handled: list[Job] = []
        for job in self.store.list_jobs(limit=10_000):
            if job.state not in (JobState.RUNNING, JobState.PENDING):
                continue
            if owner_alive(job.owner_pid, job.owner_started):
                continue  # still running here or in another live process
            kind = self.kinds.get(job.kind)
            if kind is None:
                continue
            dead = job.owner_pid
            if not self.store.take_over_job(job, os.getpid(), process_started(os.getpid())):
                continue  # another process recovering at the same moment took it first
            steps = kind.build(job.context)
            how = "resume" if kind.on_recover == "resume" or _committed(job, steps) else "rollback"
            await self._emit(job, "recovering", None, f"process {dead} died; {how}", on_event)
            if how == "resume":
                try:
                    handled.append(await self.run_job(job, on_event=on_event, resume=True))
                except ProximityError:
                    handled.append(self.store.get_job(job.id))
                continue
            ctx = _Context(self, job, on_event)
            job.error = job.error or f"interrupted: process {dead} died"
            clean = await self._rollback(job, steps, ctx, on_event)
            job.state = JobState.FAILED if clean else JobState.ROLLBACK_FAILED
            job.finished_at = utcnow()
            self.store.save_job(job)
            await self._emit(
                job, f"job-{job.state.value}", None, "recovered after a crash (rolled back)", on_event
            )
            handled.append(job)
        return handled

    async def retry_rollbacks(self, on_event: EventCallback | None = None) -> list[Job]:
        """Run again the undos that failed in jobs whose rollback did not finish (a node was unreachable, a
        lock outlasted the retries). Undos are idempotent, so this is safe to repeat; a job whose remaining
        undos all succeed ends ``failed`` (rolled back), otherwise it stays ``rollback-failed``."""
        handled: list[Job] = []
        for job in self.store.list_jobs(JobState.ROLLBACK_FAILED, limit=10_000):
            kind = self.kinds.get(job.kind)
            if kind is None:
                continue
            await self._emit(job, "rollback-retried", None, "finishing the rollback", on_event)
            steps = kind.build(job.context)
            clean = await self._rollback(job, steps, _Context(self, job, on_event), on_event)
            if clean:
                job.state = JobState.FAILED
                job.finished_at = utcnow()
                self.store.save_job(job)
            outcome = "rolled back" if clean else "rollback still incomplete"
            await self._emit(job, f"job-{job.state.value}", None, outcome, on_event)
            handled.append(job)
        return handled


def _committed(job: Job, steps: list[Step]) -> bool:
    """Has the job started a step past which it is finished rather than rolled back?"""
    started = {StepState.RUNNING, StepState.DONE}
    return any(step.commits and job.step_states.get(step.name) in started for step in steps)


def _describe(error: BaseException) -> str:
    if isinstance(error, ProximityError):
        return f"{type(error).__name__}: {error}"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
