"""``px.jobs``: list, get, follow (async iterator of events), cancel, recover, and events of a job."""

from __future__ import annotations

from collections.abc import AsyncIterator

from proximity.collections.core import Core
from proximity.jobs.engine import EventCallback
from proximity.models import Job, JobEvent, JobState


class AsyncJobs:
    """``px.jobs``: the jobs behind every verb (deploys, updates, backups, ...), their events, cancel, recovery."""

    def __init__(self, core: Core):
        self._core = core

    def _bind(self, job: Job) -> Job:
        return job._bind(self)  # type: ignore[return-value]

    async def list(self, state: JobState | str | None = None, limit: int = 50) -> list[Job]:
        """The newest ``limit`` jobs, optionally only those in ``state``."""
        wanted = JobState(state) if state is not None else None
        return [self._bind(j) for j in self._core.store.list_jobs(wanted, limit)]

    async def get(self, job_id: str) -> Job:
        """The job ``job_id`` (``NotFound`` if there is none)."""
        return self._bind(self._core.store.get_job(job_id))

    async def reload(self, job: Job) -> Job:
        """Refresh ``job`` in place from the record; returns it."""
        job._refresh_from(await self.get(job.id))
        return job

    async def events(self, job_id: str) -> list[JobEvent]:
        """Every event the job recorded so far, in order."""
        return self._core.store.events(job_id)

    def follow(self, job_id: str) -> AsyncIterator[JobEvent]:
        """Every event of the job, past and future, until it finishes (works across processes)."""
        return self._core.runner.follow(job_id)

    async def cancel(self, job_id: str) -> None:
        """Ask a running job to stop; its done steps are then undone."""
        self._core.runner.cancel(job_id)
        self._core.audit("jobs.cancel", job_id, "requested")

    async def recover(self, on_event: EventCallback | None = None) -> list[Job]:
        """Roll back (or resume) the jobs a killed process left running, and finish the rollbacks that
        could not complete before (``rollback-failed``: a node was unreachable, say)."""
        jobs = await self._core.runner.recover(on_event)
        jobs += await self._core.runner.retry_rollbacks(on_event)
        for job in jobs:
            self._core.audit("jobs.recover", job.id, job.state.value)
        return [self._bind(j) for j in jobs]
