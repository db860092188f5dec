"""AsyncProximity: concurrent deploys (VMID races handled, per-node bound), events as an async iterator."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio

from proximity import AsyncProximity
from proximity.models import AppStatus, JobEvent
from tests.sdk.conftest import FAST


def test_concurrent_deploys_and_event_stream(sim: Any, tmp_path: Path) -> None:
    async def main() -> None:
        async with AsyncProximity(tmp_path / "state", **FAST) as px:
            await px.hosts.add("lab", **sim.host_options())
            px.update_settings(max_jobs_per_node=2)
            async with anyio.create_task_group() as tg:
                for i in range(8):
                    tg.start_soon(lambda i=i: px.apps.deploy("gotify", name=f"app{i}", method="oci"))
            apps = await px.apps.list()
            assert len(apps) == 8 and all(a.status == AppStatus.RUNNING for a in apps)
            assert len({a.vmid for a in apps}) == 8  # concurrent nextid answers did not collide
            assert len({a.ip for a in apps}) == 8
            job = (await px.jobs.list())[0]
            followed: list[JobEvent] = [event async for event in px.jobs.follow(job.id)]
            assert followed == await px.jobs.events(job.id)
            assert followed[-1].kind == "job-succeeded" and followed[-1].progress == 1.0
            await px.backups.schedule("app1", every=timedelta(hours=1), keep=3)
            with anyio.move_on_after(1.5):
                await px.scheduler(interval_s=0.05).run()  # the SDK's own loop: runs what is due, once
            assert [b.app for b in await px.backups.list()] == ["app1"]
            app = await px.apps.get("app0")
            stopped = await app.stop()  # model verbs are awaitables on the async client
            assert stopped.status == AppStatus.STOPPED

    anyio.run(main)
