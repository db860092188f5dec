"""What must hold after any operation, whether it succeeded or rolled back: Proximity's records and the
simulated Proxmox cluster agree, and nothing is left behind.

The API (stable; other reliability tests import it)::

    from tests.reliability.invariants import assert_consistent, violations

    assert_consistent(px, sim)                       # AssertionError listing every violation
    assert_consistent(px, sim, expect_apps={"web"})  # ...and exactly these apps are recorded
    problems = violations(px, sim)                   # the same checks, as a list of strings

``px`` is a synchronous ``proximity.Proximity`` (its jobs all finished: the checks run between
operations); ``sim`` the ``proximity.sim.Simulator`` its hosts point at. Several clients may share one
simulator: a container counts as this client's when it carries the tag (``px-<job id>``) or the clone
marker of one of this client's jobs, or when this client recorded its VMID.

Checks, in order:
1. the simulator has no task still running (waited for up to ``settle_s``: a task the SDK gave up on may
   still create or lock a container afterwards);
2. jobs: none pending or running, none whose rollback failed;
3. apps: none left "deploying"; each recorded app's container exists on the recorded node; no two
   recorded apps share a container;
4. containers: each of this client's containers is recorded (no orphan), holds no lock (no stale lock)
   and keeps no temporary snapshot of a job (``pxclone<job>``, ``pxupdate<job>``);
5. ports: every port row belongs to a recorded app, and no port is bound twice by one app;
   VMIDs: no VMID still claimed by an unfinished create in the client's PVE layer;
   memory promised to deploys in flight is back to zero;
6. secrets: none kept for an app that is not recorded;
7. backups: each recorded backup's archive exists; each archive one of this client's jobs wrote (its
   notes name the job: ``proximity <app> job px-<id>``) is recorded; no disk volume outlives its
   container (cluster-wide);
8. ``px.apps.reconcile()`` finds no drift between the records and Proxmox (reconcile also repairs what
   it finds, so a second check would not see the same drift again: the first report is the verdict).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from typing import Any

from proximity.models import AppStatus, JobState

UNFINISHED_JOBS = (JobState.PENDING, JobState.RUNNING)
DISK_CONTENT = ("rootdir", "images")
BACKUP_JOB = re.compile(r"\bjob px-([0-9a-f]+)")  # in an archive's notes: "proximity <app> job px-<id>"


def assert_consistent(
    px: Any, sim: Any, *, expect_apps: Iterable[str] | None = None, settle_s: float = 10.0
) -> None:
    """Raise AssertionError naming every violated invariant (see the module docstring)."""
    problems = violations(px, sim, expect_apps=expect_apps, settle_s=settle_s)
    if problems:
        raise AssertionError("inconsistent after the operation:\n  - " + "\n  - ".join(problems))


def violations(
    px: Any, sim: Any, *, expect_apps: Iterable[str] | None = None, settle_s: float = 10.0
) -> list[str]:
    """Every violated invariant, as one readable line each (empty: consistent)."""
    problems: list[str] = []
    problems += _settled_tasks(sim, settle_s)
    jobs = px.store.list_jobs(limit=1_000_000)
    problems += _job_problems(jobs)
    apps = px.store.list_apps()
    if expect_apps is not None and {a.name for a in apps} != set(expect_apps):
        problems.append(f"apps recorded {sorted(a.name for a in apps)}, expected {sorted(expect_apps)}")
    job_ids = {job.id for job in jobs}
    with sim.cluster.lock:
        containers = {
            vmid: (ct.node, dict(ct.config), list(ct.snapshots))
            for vmid, ct in sim.cluster.containers.items()
        }
        volumes = [v for by_volid in sim.cluster.volumes.values() for v in by_volid.values()]
    problems += _app_problems(apps, containers)
    problems += _container_problems(apps, containers, job_ids)
    problems += _port_and_claim_problems(px)
    problems += _secret_problems(px, apps)
    problems += _backup_problems(px, volumes, containers, job_ids)
    drifts = px.apps.reconcile()
    problems += [f"reconcile found drift: {d.app} {d.field} {d.recorded!r} -> {d.actual!r}" for d in drifts]
    return problems


def _settled_tasks(sim: Any, settle_s: float) -> list[str]:
    deadline = time.monotonic() + settle_s
    while True:
        running = sim.tasks.running()
        if not running or time.monotonic() >= deadline:
            break
        time.sleep(0.02)
    return [f"PVE task still running after {settle_s:.0f}s: {t.upid}" for t in running]


def _job_problems(jobs: list[Any]) -> list[str]:
    problems = []
    for job in jobs:
        if job.state in UNFINISHED_JOBS:
            problems.append(f"job {job.id} ({job.kind} {job.target}) left {job.state.value}")
        elif job.state == JobState.ROLLBACK_FAILED:
            problems.append(f"job {job.id} ({job.kind} {job.target}): rollback incomplete ({job.error})")
    return problems


def _app_problems(apps: list[Any], containers: dict[int, tuple[str, dict[str, Any], list[str]]]) -> list[str]:
    problems = []
    holders: dict[tuple[str, int], str] = {}
    for app in apps:
        if app.status == AppStatus.DEPLOYING:
            problems.append(f"app {app.name} left 'deploying' with no job running")
        if app.status == AppStatus.MISSING:
            continue
        key = (app.host, app.vmid)
        if key in holders:
            problems.append(f"apps {holders[key]} and {app.name} both claim CT {app.vmid}")
        holders[key] = app.name
        found = containers.get(app.vmid)
        if found is None:
            problems.append(f"app {app.name} is recorded on CT {app.vmid}, which does not exist")
        elif found[0] != app.node:
            problems.append(f"app {app.name} is recorded on {app.node}, its CT {app.vmid} is on {found[0]}")
    return problems


def _owned_by(config: dict[str, Any], job_ids: set[str]) -> str | None:
    """The job id of this client whose tag or clone marker the container carries, if any."""
    marks = set(str(config.get("tags", "")).split(";")) | set(
        re.findall(r"px-[0-9a-f]+", str(config.get("description", "")))
    )
    return next((mark[3:] for mark in sorted(marks) if mark.startswith("px-") and mark[3:] in job_ids), None)


def _container_problems(
    apps: list[Any], containers: dict[int, tuple[str, dict[str, Any], list[str]]], job_ids: set[str]
) -> list[str]:
    problems = []
    recorded = {a.vmid for a in apps if a.status != AppStatus.MISSING}
    for vmid, (node, config, snapshots) in sorted(containers.items()):
        job = _owned_by(config, job_ids)
        if job is None and vmid not in recorded:
            continue  # another client's container
        if vmid not in recorded:
            problems.append(f"orphan CT {vmid} on {node} (made by job {job}) is not recorded as an app")
        if config.get("lock"):
            problems.append(f"CT {vmid} is still locked ({config['lock']})")
        for snapname in snapshots:
            if any(snapname.endswith(job_id) for job_id in job_ids):
                problems.append(f"CT {vmid} keeps the temporary snapshot {snapname}")
    return problems


def _port_and_claim_problems(px: Any) -> list[str]:
    problems = []
    rows = px.store.db.execute(
        "SELECT app, name, port FROM ports WHERE app NOT IN (SELECT name FROM apps)"
    ).fetchall()
    problems += [
        f"port {port} ({name}) reserved for {app}, which is not recorded" for app, name, port in rows
    ]
    twice = px.store.db.execute(
        "SELECT app, port, COUNT(*) FROM ports GROUP BY app, port, protocol HAVING COUNT(*) > 1"
    ).fetchall()
    problems += [f"app {app} binds port {port} {count} times" for app, port, count in twice]
    for host in px.store.list_hosts():
        # the only VMID reservation there is: ids this process is between nextid and a create's answer
        claimed = sorted(px.pve(host.name)._claimed)
        if claimed:
            problems.append(f"VMIDs still claimed on {host.name}: {claimed}")
    promised = {key: mb for key, mb in px._async.apps._reserved_mb.items() if mb}
    if promised:
        problems.append(f"memory still promised to deploys that ended: {promised}")
    return problems


def _secret_problems(px: Any, apps: list[Any]) -> list[str]:
    path = px.store.secrets.path
    if not path.exists():
        return []
    kept = set(json.loads(path.read_text(encoding="utf-8")).get("apps", {}))  # names only, never values
    names = {a.name for a in apps}
    return [f"secrets kept for {name}, which is not recorded" for name in sorted(kept - names)]


def _backup_problems(
    px: Any,
    volumes: list[Any],
    containers: dict[int, tuple[str, dict[str, Any], list[str]]],
    job_ids: set[str],
) -> list[str]:
    problems = []
    present = {v.volid for v in volumes}
    recorded = px.store.list_backups()
    for backup in recorded:
        if backup.volid not in present:
            problems.append(f"backup {backup.volid} is recorded but its archive is gone")
    recorded_volids = {b.volid for b in recorded}
    for volume in volumes:
        made_by = BACKUP_JOB.search(volume.notes) if volume.content == "backup" else None
        if made_by and made_by.group(1) in job_ids and volume.volid not in recorded_volids:
            problems.append(
                f"archive {volume.volid} made by job {made_by.group(1)} is not in the backups index"
            )
        if volume.content in DISK_CONTENT and volume.vmid is not None and volume.vmid not in containers:
            problems.append(f"disk {volume.volid} outlives its CT {volume.vmid}")
    return problems
