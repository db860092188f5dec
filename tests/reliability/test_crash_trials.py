"""Crash safety: the SDK process is SIGKILLed at random points of deploy, clone, backup, restore and update;
a new process on the same state directory recovers (``px.jobs.recover()`` + ``px.apps.reconcile()``), and
then nothing is left behind: no orphan container, no duplicate, no job still running, the database agrees
with Proxmox (``cross_checks.problems``).

The kill point is drawn with a seeded RNG: the index of a remote call (PVE API request or SSH command) of
the operation, within the number of calls an unkilled run of the same operation made (measured first,
in this run), and whether the process dies just before sending it or just after its answer came back.
``PROXIMITY_CRASH_SEED`` and ``PROXIMITY_CRASH_TRIALS`` (trials per operation) override the defaults;
``PROXIMITY_CRASH_REPORT=<file>`` writes the figures (landing points, outcomes) as JSON.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from proximity import Proximity
from proximity.catalog.loader import load_catalog
from proximity.models import JobState, StepState
from proximity.resources import data_dir
from tests.reliability.cross_checks import problems, read_rows, wait_tasks_settled
from tests.reliability.invariants import violations
from tests.sdk.conftest import FAST, add_lab

SEED = int(os.environ.get("PROXIMITY_CRASH_SEED", "20261126"))
TRIALS = int(os.environ.get("PROXIMITY_CRASH_TRIALS", "10"))
ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = ("deploy", "clone", "backup", "restore", "update")
FIRST_VMID = 4600  # the fault matrix starts at 3300, the concurrency test at 5400, the others at 100
OCI_APP = "librespeed"  # a stateless OCI app: its update replaces the CT (backup, new CT, switch)


@dataclass
class Variant:
    """One way of running an operation in the child: which verb, its arguments, the catalog it needs."""

    key: str
    op: str
    args: dict[str, Any]
    catalog: Path | None = None


@dataclass
class Trial:
    variant: str
    kill_at: int
    kill_when: str
    landed: str
    outcome: str
    seconds: float


@dataclass
class World:
    sim: Any
    root: Path
    states: dict[str, Path] = field(default_factory=dict)
    calibration: dict[str, int] = field(default_factory=dict)
    trials: dict[str, list[Trial]] = field(default_factory=dict)
    oci_versions: int = 0
    volid: str = ""

    def all_states(self) -> list[Path]:
        return list(self.states.values())


def oci_catalog(root: Path, number: int) -> Path:
    """A catalog folder where the OCI app is at a new release ``5.4.<number>`` (image tag and version)."""
    entry = json.loads((data_dir("catalog") / "apps" / f"{OCI_APP}.json").read_text())
    entry["version"] = f"5.4.{number}"
    for method in entry["install"]:
        if method["type"] == "oci":
            method["image"] = method["image"].rsplit(":", 1)[0] + f":5.4.{number}"
    folder = root / f"catalog-{number}"
    folder.mkdir(exist_ok=True)
    (folder / f"{OCI_APP}.json").write_text(json.dumps(entry))
    return folder


def client(world: World, op: str, catalog: Path | None = None) -> Any:
    loaded = load_catalog([catalog]) if catalog is not None else None
    return Proximity(world.states[op], catalog=loaded, **FAST)


def setup_states(world: World) -> None:
    """One state directory per operation, each with the host and the apps its trials work on."""
    for op in OPERATIONS:
        world.states[op] = world.root / op
        catalog = oci_catalog(world.root, 0) if op == "update" else None
        with client(world, op, catalog) as px:
            add_lab(px, world.sim)
            px.update_settings(health_timeout_s=20, task_timeout_s=60)
            if op == "clone":
                px.apps.deploy("gotify", name="clone-src")
            elif op == "backup":
                px.apps.deploy("gotify", name="backup-src")
            elif op == "restore":
                px.apps.deploy("gotify", name="restore-src")
                world.volid = px.backups.create("restore-src").volid
            elif op == "update":
                px.apps.deploy("gotify", name="update-compose")
                px.apps.deploy(OCI_APP, name="update-oci", method="oci")


def variant(world: World, op: str, number: int) -> Variant:
    """The operation of trial ``number`` (calibration runs use names of their own)."""
    if op == "deploy":
        method = "oci" if number % 2 else "compose"
        return Variant(
            f"deploy-{method}", op, {"catalog_id": "gotify", "name": f"dep{number}", "method": method}
        )
    if op == "clone":
        return Variant("clone", op, {"source": "clone-src", "name": f"cln{number}"})
    if op == "backup":
        return Variant("backup", op, {"app": "backup-src"})
    if op == "restore":
        if number % 2:
            return Variant("restore-in-place", "restore-in-place", {"volid": world.volid})
        return Variant("restore-new", "restore-new", {"volid": world.volid, "name": f"rst{number}"})
    if number % 2:
        world.oci_versions += 1  # every OCI update goes to a release the app is not at yet
        catalog = oci_catalog(world.root, world.oci_versions)
        return Variant("update-oci", op, {"app": "update-oci"}, catalog)
    return Variant(
        "update-compose", op, {"app": "update-compose"}, oci_catalog(world.root, world.oci_versions)
    )


def run_child(
    world: World, op: str, chosen: Variant, kill_at: int, kill_when: str
) -> subprocess.CompletedProcess[str]:
    spec = {
        "state": str(world.states[op]),
        "catalog": str(chosen.catalog) if chosen.catalog else None,
        "op": chosen.op,
        "args": chosen.args,
        "kill_at": kill_at,
        "kill_when": kill_when,
    }
    return subprocess.run(
        [sys.executable, "-m", "tests.reliability.crash_child", json.dumps(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,  # the return code is the finding: -9 when the kill landed
    )


def calibrate(world: World, op: str, chosen: Variant) -> int:
    """How many remote calls an unkilled run of this variant makes (the range kill points are drawn in)."""
    done = run_child(world, op, chosen, 0, "before")
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["outcome"] == "ok", report
    return int(report["calls"])


def landing(state: Path, known_jobs: set[str]) -> tuple[str, str | None]:
    """Where the kill landed, read from the database the killed process left: (place, job id)."""
    new = [
        j
        for j in read_rows(state, "SELECT id, state, steps, step_states FROM jobs")
        if j["id"] not in known_jobs
    ]
    if not new:
        return "before the job started", None
    (job,) = new
    if job["state"] == JobState.SUCCEEDED:
        return "after the job ended", job["id"]
    if job["state"] != JobState.RUNNING:
        return f"job {job['state']} on its own", job["id"]
    states = json.loads(job["step_states"])
    for step in json.loads(job["steps"]):
        if states[step] == StepState.RUNNING:
            return f"in step {step}", job["id"]
        if states[step] in (StepState.UNDOING, StepState.FAILED):
            return f"rolling back {step}", job["id"]
    return "between steps", job["id"]


def run_trial(world: World, op: str, number: int, rng: random.Random) -> Trial:
    chosen = variant(world, op, number)
    if chosen.key not in world.calibration:
        world.calibration[chosen.key] = calibrate(world, op, variant(world, op, 1000 + number))
        chosen = variant(world, op, number)  # the OCI update needs a release newer than the calibration's
    started = time.monotonic()
    kill_at = rng.randint(1, world.calibration[chosen.key])
    kill_when = rng.choice(("before", "after"))
    known = {j["id"] for j in read_rows(world.states[op], "SELECT id FROM jobs")}
    done = run_child(world, op, chosen, kill_at, kill_when)
    assert done.returncode == -9, f"the child was not killed (rc {done.returncode}): {done.stderr[-2000:]}"
    landed, job_id = landing(world.states[op], known)
    wait_tasks_settled(world.sim)  # the killed process's last PVE task still runs to its end
    with client(world, op, chosen.catalog) as px:
        recovered = {job.id: job.state for job in px.jobs.recover()}
        px.apps.reconcile()
        found = violations(px, world.sim)  # this state dir's records against Proxmox (task A's invariants)
    if job_id is None:
        outcome = "nothing to do"
    elif job_id in recovered:
        outcome = {JobState.FAILED: "rolled back", JobState.SUCCEEDED: "completed on resume"}.get(
            recovered[job_id], f"recovery ended {recovered[job_id]}"
        )
    else:
        outcome = "completed before the kill" if landed == "after the job ended" else "left alone"
    trial = Trial(chosen.key, kill_at, kill_when, landed, outcome, time.monotonic() - started)
    world.trials.setdefault(op, []).append(trial)
    found += problems(world.sim, world.all_states())  # across all the state dirs sharing the cluster
    assert not found, f"seed {SEED}, {op} trial {number} ({trial}): " + "; ".join(found)
    return trial


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from proximity.sim import Simulator

    started = time.monotonic()
    with Simulator(nodes=3, time_scale=0.01, seed=SEED) as sim:
        # CT addresses follow VMIDs: keep clear of the simulators other tests run on this machine at once
        sim.cluster.next_id_lower = FIRST_VMID
        built = World(sim=sim, root=tmp_path_factory.mktemp("crash"))
        setup_states(built)
        yield built
    report_figures(built, time.monotonic() - started)


def report_figures(world: World, seconds: float) -> None:
    all_trials = [t for trials in world.trials.values() for t in trials]
    report = {
        "seed": SEED,
        "trials_per_operation": TRIALS,
        "trials": len(all_trials),
        "seconds": round(seconds, 1),
        "calibrated_calls": world.calibration,
        "per_operation": {
            op: {
                "trials": len(trials),
                "variants": dict(Counter(t.variant for t in trials)),
                "landed": dict(Counter(t.landed for t in trials)),
                "outcomes": dict(Counter(t.outcome for t in trials)),
            }
            for op, trials in world.trials.items()
        },
        "mid_operation": sum(t.landed.startswith(("in step", "between", "rolling")) for t in all_trials),
        "before_start": sum(t.landed == "before the job started" for t in all_trials),
        "after_end": sum(t.landed == "after the job ended" for t in all_trials),
    }
    print(f"\ncrash trials (seed {SEED}):", json.dumps(report, indent=1))
    target = os.environ.get("PROXIMITY_CRASH_REPORT")
    if target:
        Path(target).write_text(json.dumps(report, indent=1))


@pytest.mark.timeout(240)
@pytest.mark.parametrize("op", OPERATIONS)
def test_sigkill_at_random_points_leaves_nothing_behind(world: World, op: str) -> None:
    rng = random.Random(f"{SEED}-{op}")
    print(f"crash seed {SEED}, {TRIALS} trials of {op}")
    trials = [run_trial(world, op, number, rng) for number in range(TRIALS)]
    mid_way = [t for t in trials if t.landed.startswith(("in step", "between", "rolling"))]
    # the kill points are drawn inside the operation: most must land while its job runs
    assert len(mid_way) * 2 >= len(trials), [t.landed for t in trials]


@pytest.mark.parametrize(
    ("interrupted", "expected"),
    [
        ({"prepare": StepState.DONE, "switch": StepState.RUNNING}, JobState.SUCCEEDED),
        ({"prepare": StepState.DONE, "switch": StepState.PENDING}, JobState.FAILED),
    ],
)
def test_a_job_killed_past_its_commit_step_is_finished_not_undone(
    tmp_path: Path, interrupted: dict[str, StepState], expected: JobState
) -> None:
    """The engine rule the OCI update's "switch" and the safe update's "cleanup" rely on: a job whose dead
    process had started a ``commits`` step is resumed by ``recover()``; one that had not is rolled back."""
    import anyio

    from proximity.jobs import JobKind, JobRunner, Step, StepContext
    from proximity.models import Job
    from proximity.store import Store

    ran: list[str] = []

    def build(values: dict[str, Any]) -> list[Step]:
        def mark(label: str) -> Any:
            async def record(ctx: StepContext) -> None:
                ran.append(label)

            return record

        return [
            Step("prepare", mark("prepare"), mark("undo prepare")),
            Step("switch", mark("switch"), mark("undo switch"), commits=True),
            Step("tidy", mark("tidy"), mark("undo tidy")),
        ]

    store = Store(tmp_path / "state")
    try:
        runner = JobRunner(store)
        runner.register(JobKind("switching", build))
        dead = Job(
            id="j1",
            kind="switching",
            target="app",
            state=JobState.RUNNING,
            steps=["prepare", "switch", "tidy"],
            step_states={"tidy": StepState.PENDING, **interrupted},
            context={},
            owner_pid=None,  # no owner: its process is gone
        )
        store.save_job(dead)
        (recovered,) = anyio.run(runner.recover)
        assert recovered.state == expected
        if expected == JobState.SUCCEEDED:
            assert ran == ["switch", "tidy"]  # the commit step again (idempotent), then the rest; no undo
        else:
            assert ran == ["undo prepare"]
    finally:
        store.close()
