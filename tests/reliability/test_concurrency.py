"""Concurrency: 100 operations at once from two SDK processes sharing one state directory (one SQLite
database, one secrets file) against one simulated cluster.

Each process (``concurrency_child``) runs its 50 operations at the same moment in an anyio task group:
deploys (compose and OCI; 7 names are deployed by both processes, so exactly one of each pair may win),
starts, stops, backups, clones and deletes of ten apps deployed beforehand (four of them deleted by both
processes, one of those while the others start, stop, back up and clone it). Then:

- every operation ended in success or a typed ``ProximityError`` (never "database is locked", a sqlite3
  error or another exception from inside the SDK);
- each contested name was won by exactly one process, the other was told it is taken (``AlreadyExists``);
- a delete never overlaps another job on the same app (it is refused, ``Conflict`` "busy with job ...",
  while starts, stops, backups or clones run on the app's CT, whose VMID PVE would hand to the next new
  CT once deleted), and each app deleted by both processes is deleted once;
- names, VMIDs and address+port stay unique, in the database and in the simulator; no orphan container,
  no job left running, no stale lock (``cross_checks.problems``), after ``reconcile`` for power states
  that a stop in one process and a start in the other left crossed.

``PROXIMITY_CONCURRENCY_SEED`` changes the shuffle of the operations; ``PROXIMITY_CONCURRENCY_REPORT=<file>``
writes the figures as JSON.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from proximity import Proximity
from proximity.errors import AlreadyExists, Conflict, NotFound
from proximity.models import App, Host, Job, JobState
from proximity.store import Store
from tests.reliability.cross_checks import problems, wait_tasks_settled
from tests.reliability.invariants import violations
from tests.sdk.conftest import FAST, add_lab

SEED = int(os.environ.get("PROXIMITY_CONCURRENCY_SEED", "20261126"))
ROOT = Path(__file__).resolve().parents[2]
FIRST_VMID = 5400  # the fault matrix starts at 3300, the crash trials at 4600, the others at 100
PREDEPLOYED = [f"pre{i}" for i in range(10)]
CONTESTED = [f"new{i}" for i in range(8, 15)]  # deployed by both processes
DELETED = ["pre6", "pre7", "pre8", "pre9"]
BUSY = "pre6"  # deleted while the other operations run on it too


def operations(process: int, rng: random.Random) -> list[dict[str, Any]]:
    """The 50 operations of process 0 or 1 (shuffled; they all start at once anyway)."""
    first = 0 if process == 0 else 8
    ops: list[dict[str, Any]] = []
    for number in range(first, first + 15):  # 0-14 and 8-22: new8-new14 are contested
        ops.append({"kind": "deploy-oci" if number % 3 else "deploy", "name": f"new{number}"})
    targets = PREDEPLOYED[:7]  # with BUSY, deleted below while these run on it
    ops += [{"kind": "start", "name": rng.choice(targets)} for _ in range(8)]
    ops += [{"kind": "stop", "name": rng.choice(targets)} for _ in range(8)]
    ops += [{"kind": "backup", "name": rng.choice(targets)} for _ in range(10)]
    ops += [
        {"kind": "clone", "source": rng.choice(targets), "name": f"copy{process}x{number}"}
        for number in range(5)
    ]
    ops += [{"kind": "delete", "name": name} for name in DELETED]  # both processes delete each of them
    rng.shuffle(ops)
    return ops


def run_processes(state: Path) -> list[dict[str, Any]]:
    start_at = time.time() + 4.0  # both interpreters are up by then (about 1-2 s each on this machine)
    children = []
    for process in (0, 1):
        ops = operations(process, random.Random(f"{SEED}-{process}"))
        assert len(ops) == 50
        spec = {"state": str(state), "start_at": start_at, "ops": ops}
        children.append(
            subprocess.Popen(
                [sys.executable, "-m", "tests.reliability.concurrency_child", json.dumps(spec)],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    reports = []
    for child in children:
        out, err = child.communicate(timeout=240)
        assert child.returncode == 0, err[-3000:]
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports


@pytest.mark.timeout(300)
def test_two_processes_one_hundred_operations_at_once(tmp_path: Path) -> None:
    from proximity.sim import Simulator

    started = time.monotonic()
    with Simulator(nodes=3, time_scale=0.01, seed=SEED) as sim:
        # CT addresses follow VMIDs: keep clear of the simulators other tests run on this machine at once
        sim.cluster.next_id_lower = FIRST_VMID
        state = tmp_path / "shared"
        with Proximity(state, **FAST) as px:
            add_lab(px, sim)
            px.update_settings(health_timeout_s=20, task_timeout_s=60)
            for name in PREDEPLOYED:
                px.apps.deploy("gotify", name=name, method="oci")

        reports = run_processes(state)
        results = [r for report in reports for r in report["results"]]
        assert len(results) == 100

        unexpected = [r for r in results if r["outcome"] == "unexpected"]
        assert not unexpected, "\n".join(r["message"] for r in unexpected)
        leaked = [r for r in results if "locked" in r["message"] and "database" in r["message"]]
        leaked += [r for r in results if "sqlite" in r["message"].lower()]
        assert not leaked, leaked

        for name in CONTESTED:
            tries = [r for r in results if r["kind"].startswith("deploy") and r["name"] == name]
            assert sorted(r["outcome"] for r in tries) == ["AlreadyExists", "ok"], tries

        wait_tasks_settled(sim)
        before_reconcile = problems(sim, [state])
        crossed = [
            p
            for p in before_reconcile
            if "recorded running, Proxmox says stopped" in p or "recorded stopped, Proxmox says running" in p
        ]
        assert [p for p in before_reconcile if p not in crossed] == []
        with Proximity(state, **FAST) as px:
            drifts = px.apps.reconcile()
            apps = px.apps.list()
            assert violations(px, sim) == []  # task A's invariants, on the shared state dir
        assert problems(sim, [state]) == []
        names = [a.name for a in apps]
        vmids = [a.vmid for a in apps]
        assert len(set(names)) == len(names) and len(set(vmids)) == len(vmids)
        deployed = {r["name"] for r in results if r["kind"].startswith("deploy") and r["outcome"] == "ok"}
        assert deployed <= set(names)
        for name in DELETED:  # each deleted by both processes
            outcomes = sorted(r["outcome"] for r in results if r["kind"] == "delete" and r["name"] == name)
            if name == BUSY:  # a delete is refused while other jobs run on the app's CT ("busy with job")
                assert set(outcomes) <= {"ok", "Conflict", "NotFound"}, outcomes
                assert ("ok" in outcomes) == (name not in names), outcomes
            else:  # one delete wins; the other finds it gone, or busy being deleted
                assert outcomes in (["NotFound", "ok"], ["Conflict", "ok"]), (name, outcomes)
                assert name not in names

    figures = {
        "seed": SEED,
        "operations": len(results),
        "processes": len(reports),
        "outcomes": {
            kind: dict(Counter(r["outcome"] for r in results if r["kind"] == kind))
            for kind in sorted({r["kind"] for r in results})
        },
        "errors": sorted(
            {f"{r['kind']}: {r['outcome']}: {r['message'][:160]}" for r in results if r["outcome"] != "ok"}
        ),
        "apps_at_end": len(apps),
        "status_drifts_repaired_by_reconcile": len(drifts),
        "longest_transaction_wait_s": round(max(r["longest_transaction_wait_s"] for r in reports), 3),
        "write_transactions": sum(r["transactions"] for r in reports),
        "overlap_s": round(min(r["ended_at"] for r in reports) - max(r["began_at"] for r in reports), 2),
        "operations_wall_s": round(
            max(r["ended_at"] for r in reports) - min(r["began_at"] for r in reports), 2
        ),
        "test_wall_s": round(time.monotonic() - started, 1),
    }
    print("\nconcurrency:", json.dumps(figures, indent=1))
    target = os.environ.get("PROXIMITY_CONCURRENCY_REPORT")
    if target:
        Path(target).write_text(json.dumps(figures, indent=1))
    assert figures["overlap_s"] > 0, "the two processes never ran at the same time"


def test_app_claims_hold_across_processes(tmp_path: Path) -> None:
    """Two stores on one database (what two processes hold): a name being created, or an app being deleted,
    is refused to the other with a typed error until the claiming job ends; power verbs share an app."""
    first, second = Store(tmp_path / "state"), Store(tmp_path / "state")

    def job(job_id: str) -> Job:
        return Job(id=job_id, kind="app", target="web", state=JobState.PENDING, steps=[], context={})

    def finish(store: Store, ended: Job) -> None:
        ended.state = JobState.SUCCEEDED
        store.save_job(ended)

    try:
        creating = job("a")
        first.claim_job(creating, {"web": "create"})
        with pytest.raises(AlreadyExists, match="being created by job a"):
            second.claim_job(job("b"), {"web": "create"})
        with pytest.raises(NotFound):
            second.claim_job(job("c"), {"web": "shared"})  # not recorded yet
        assert [j.id for j in second.list_jobs()] == ["a"]  # a refused claim saves no job
        first.add_host(Host(name="lab", url="https://pve:8006", auth="token", principal="root@pam!px"))
        first.insert_app(
            App(name="web", catalog_id="gotify", host="lab", node="pve1", vmid=100, install_method="oci")
        )
        finish(first, creating)

        starting, stopping = job("d"), job("e")
        first.claim_job(starting, {"web": "shared"})
        second.claim_job(stopping, {"web": "shared"})  # power verbs overlap
        with pytest.raises(Conflict, match="busy with job"):
            second.claim_job(job("f"), {"web": "exclusive"})  # no delete while they run on its VMID
        finish(first, starting)
        finish(second, stopping)
        deleting = job("g")
        second.claim_job(deleting, {"web": "exclusive"})
        with pytest.raises(Conflict, match="busy with job g"):
            first.claim_job(job("h"), {"web": "shared"})
        finish(second, deleting)
        first.claim_job(job("i"), {"web": "shared"})
    finally:
        first.close()
        second.close()


def test_only_one_process_takes_over_a_dead_job(tmp_path: Path) -> None:
    """Two processes recovering at once both see the dead owner; the owner is swapped compare-and-set, so
    only one of them rolls the job back."""
    first, second = Store(tmp_path / "state"), Store(tmp_path / "state")
    try:
        orphaned = Job(
            id="dead",
            kind="deploy",
            target="web",
            state=JobState.RUNNING,
            steps=[],
            context={},
            owner_pid=None,
        )
        first.save_job(orphaned)
        seen_by_first, seen_by_second = first.get_job("dead"), second.get_job("dead")
        assert first.take_over_job(seen_by_first, 1111, "42")
        assert not second.take_over_job(seen_by_second, 2222, "43")  # it read the dead owner too: too late
        assert (second.get_job("dead").owner_pid, seen_by_second.owner_pid) == (1111, None)
        seen_by_first.state = JobState.FAILED
        first.save_job(seen_by_first)
        assert not second.take_over_job(second.get_job("dead"), 2222, "43")  # finished: nothing to take
    finally:
        first.close()
        second.close()
