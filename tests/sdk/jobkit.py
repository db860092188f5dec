"""A job kind whose steps leave marker files, so tests (and a child process killed mid-job) can see exactly
what was done and undone. Run as a script it starts a job that blocks in its third step."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio

from proximity.errors import ServerError
from proximity.jobs import JobKind, JobRunner, RetryPolicy, Step, StepContext
from proximity.store import Store


def marker_kind() -> JobKind:
    def build(values: dict[str, Any]) -> list[Step]:
        folder = Path(values["dir"])

        def make(name: str) -> Step:
            async def do(ctx: StepContext) -> None:
                (folder / f"{name}.done").write_text("x")
                ctx.values[f"{name}_value"] = name.upper()
                flaky = values.get("flaky", {}).get(name, 0)
                tries = folder / f"{name}.tries"
                count = int(tries.read_text()) + 1 if tries.exists() else 1
                tries.write_text(str(count))
                if count <= flaky:
                    raise ServerError(f"transient failure {count} in {name}")
                if values.get("fail") == name:
                    raise RuntimeError(f"{name} broke")
                if values.get("block") == name and not (folder / "unblocked").exists():
                    (folder / "blocked").write_text("x")
                    await anyio.sleep(3600)

            async def undo(ctx: StepContext) -> None:
                (folder / f"{name}.undone").write_text(str(len(list(folder.glob("*.undone")))))

            return Step(name, do, undo)

        return [make(n) for n in values.get("steps", ["a", "b", "c"])]

    return JobKind("markers", build)


def resumable_kind() -> JobKind:
    return JobKind("markers-resume", marker_kind().build, on_recover="resume")


def runner(store: Store, max_per_key: int = 4) -> JobRunner:
    jobs = JobRunner(store, retry=RetryPolicy(attempts=4, base_s=0.001, max_s=0.005), max_per_key=max_per_key)
    jobs.register(marker_kind())
    jobs.register(resumable_kind())
    return jobs


if __name__ == "__main__":
    state, folder = Path(sys.argv[1]), Path(sys.argv[2])
    kind = sys.argv[3] if len(sys.argv) > 3 else "markers"

    async def main() -> None:
        await runner(Store(state)).run(kind, "crash-me", {"dir": str(folder), "block": "c"})

    anyio.run(main)
