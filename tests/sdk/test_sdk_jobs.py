"""The step engine: persistence, rollback in reverse, retries of transient errors only, cancellation,
per-node concurrency, and recovery of a job whose process was killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from proximity.errors import Cancelled, ServerError
from proximity.models import JobState, StepState
from proximity.store import Store
from tests.sdk.jobkit import runner


def _undo_order(folder: Path) -> list[str]:
    return [p.stem for p in sorted(folder.glob("*.undone"), key=lambda p: int(p.read_text()))]


def test_success_persists_every_step_and_events(tmp_path: Path) -> None:
    store = Store(tmp_path / "state")
    seen: list[str] = []

    async def main() -> None:
        job = await runner(store).run(
            "markers", "t", {"dir": str(tmp_path)}, on_event=lambda e: seen.append(e.kind)
        )
        assert job.state == JobState.SUCCEEDED

    anyio.run(main)
    (job,) = store.list_jobs()
    assert job.step_states == {"a": StepState.DONE, "b": StepState.DONE, "c": StepState.DONE}
    assert job.context["b_value"] == "B"  # values produced by steps are persisted
    assert seen[0] == "job-started" and seen[-1] == "job-succeeded"
    assert seen.count("step-done") == 3
    assert [e.kind for e in store.events(job.id)] == seen


def test_failure_undoes_done_steps_in_reverse(tmp_path: Path) -> None:
    store = Store(tmp_path / "state")

    async def main() -> None:
        with pytest.raises(RuntimeError, match="c broke"):
            await runner(store).run(
                "markers", "t", {"dir": str(tmp_path), "steps": ["a", "b", "c", "d"], "fail": "c"}
            )

    anyio.run(main)
    (job,) = store.list_jobs()
    assert job.state == JobState.FAILED
    assert _undo_order(tmp_path) == ["c", "b", "a"]  # the failed step may have half-worked: undone too
    assert not (tmp_path / "d.done").exists()
    assert "c broke" in (job.error or "")


def test_transient_errors_are_retried_and_permanent_ones_are_not(tmp_path: Path) -> None:
    store = Store(tmp_path / "state")

    async def main() -> None:
        job = await runner(store).run("markers", "t", {"dir": str(tmp_path), "flaky": {"b": 2}})
        assert job.state == JobState.SUCCEEDED

    anyio.run(main)
    assert (tmp_path / "b.tries").read_text() == "3"
    assert (tmp_path / "a.tries").read_text() == "1"
    kinds = [e.kind for e in store.events(store.list_jobs()[0].id)]
    assert kinds.count("retry") == 2

    other = tmp_path / "other"
    other.mkdir()

    async def too_flaky() -> None:
        with pytest.raises(ServerError):
            await runner(store).run("markers", "t", {"dir": str(other), "flaky": {"a": 10}})

    anyio.run(too_flaky)
    assert (other / "a.tries").read_text() == "4"  # attempts=4, then it gives up and rolls back


def test_cancel_rolls_back(tmp_path: Path) -> None:
    store = Store(tmp_path / "state")

    async def main() -> None:
        jobs = runner(store)
        async with anyio.create_task_group() as tg:

            async def run() -> None:
                with pytest.raises(Cancelled):
                    await jobs.run(
                        "markers",
                        "t",
                        {"dir": str(tmp_path), "steps": ["a", "b", "c"]},
                        on_event=lambda e: jobs.cancel(e.job_id) if e.kind == "step-done" else None,
                    )

            tg.start_soon(run)

    anyio.run(main)
    (job,) = store.list_jobs()
    assert job.state == JobState.CANCELLED
    assert _undo_order(tmp_path) == ["a"]


def test_task_cancellation_rolls_back_too(tmp_path: Path) -> None:
    store = Store(tmp_path / "state")

    async def main() -> None:
        with anyio.move_on_after(0.5):
            await runner(store).run("markers", "t", {"dir": str(tmp_path), "block": "b"})

    anyio.run(main)
    (job,) = store.list_jobs()
    assert job.state == JobState.CANCELLED
    assert _undo_order(tmp_path) == ["b", "a"]


def test_concurrency_is_bounded_per_key(tmp_path: Path) -> None:
    store = Store(tmp_path / "state")
    active = {"now": 0, "max": 0}

    async def main() -> None:
        jobs = runner(store, max_per_key=2)

        async def watch(event) -> None:  # type: ignore[no-untyped-def]
            if event.kind == "job-started":
                active["now"] += 1
                active["max"] = max(active["max"], active["now"])
                await anyio.sleep(0.02)
            elif event.kind == "job-succeeded":
                active["now"] -= 1

        async with anyio.create_task_group() as tg:
            for i in range(6):
                folder = tmp_path / f"j{i}"
                folder.mkdir()
                tg.start_soon(
                    lambda f=folder: jobs.run(
                        "markers", "t", {"dir": str(f), "node_key": "lab/pve1"}, on_event=watch
                    )
                )

    anyio.run(main)
    assert active["max"] == 2
    assert all(j.state == JobState.SUCCEEDED for j in store.list_jobs())


def _run_and_kill_child(state: Path, folder: Path, kind: str) -> None:
    folder.mkdir()
    root = Path(__file__).resolve().parents[2]
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.sdk.jobkit", str(state), str(folder), kind], cwd=root
    )
    deadline = time.monotonic() + 30
    while not (folder / "blocked").exists():
        assert time.monotonic() < deadline, "the child never reached step c"
        assert child.poll() is None, "the child died early"
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()


def test_killed_process_is_recovered(tmp_path: Path) -> None:
    state, folder = tmp_path / "state", tmp_path / "work"
    _run_and_kill_child(state, folder, "markers")
    store = Store(state)
    (job,) = store.list_jobs()
    assert job.state == JobState.RUNNING and job.step_states["c"] == StepState.RUNNING

    async def main() -> None:
        recovered = await runner(store).recover()
        assert [j.id for j in recovered] == [job.id]

    anyio.run(main)
    job = store.get_job(job.id)
    assert job.state == JobState.FAILED
    assert _undo_order(folder) == ["c", "b", "a"]
    assert "died" in (job.error or "")


def test_killed_process_is_resumed_for_resumable_kinds(tmp_path: Path) -> None:
    state, folder = tmp_path / "state", tmp_path / "work"
    _run_and_kill_child(state, folder, "markers-resume")
    (folder / "unblocked").write_text("x")
    store = Store(state)

    async def main() -> None:
        (job,) = await runner(store).recover()
        assert job.state == JobState.SUCCEEDED

    anyio.run(main)
    assert (folder / "a.tries").read_text() == "1"  # done steps are not run again
    assert (folder / "c.tries").read_text() == "2"  # the interrupted one is
    assert not list(folder.glob("*.undone"))
    kinds = [e.kind for e in store.events(store.list_jobs()[0].id)]
    assert "recovering" in kinds and "job-resumed" in kinds and kinds[-1] == "job-succeeded"


def test_cancel_from_another_process_is_seen_between_steps(tmp_path: Path) -> None:
    store = Store(tmp_path / "state")

    async def main() -> None:
        jobs = runner(store)

        def cancel_from_elsewhere(event) -> None:  # type: ignore[no-untyped-def]
            if event.kind == "step-done" and event.step == "b":
                other = runner(Store(tmp_path / "state"))  # a second process would open its own store
                other.cancel(event.job_id)

        with pytest.raises(Cancelled):
            await jobs.run("markers", "t", {"dir": str(tmp_path)}, on_event=cancel_from_elsewhere)

    anyio.run(main)
    (job,) = store.list_jobs()
    assert job.state == JobState.CANCELLED and _undo_order(tmp_path) == ["b", "a"]


def test_a_reused_pid_is_not_mistaken_for_the_owner() -> None:
    from proximity.jobs.engine import owner_alive, process_started

    me = os.getpid()
    assert owner_alive(me, process_started(me))
    assert not owner_alive(me, "1")  # same PID, another start time: the owner is gone
    assert not owner_alive(None, None)
