"""Consistency checks across the simulator and one or more Proximity state directories, for the crash and
concurrency trials (several state dirs share one simulated cluster there, so "orphan" and "duplicate"
are judged over all of them together).

``problems(sim, states)`` returns every broken promise as a sentence; an empty list means: no orphan
container, no record without its container, no duplicate name / VMID / hostname / address+port, no stale
lock, no leftover job snapshot, no unindexed Proximity backup archive, no secret of an unknown app, no job
left running or half rolled back, and every recorded power state equal to Proxmox's.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Any

from proximity.settings import DB_FILE, SECRETS_FILE

JOB_SNAPSHOT_PREFIXES = ("pxclone", "pxupdate")
UNFINISHED = ("running", "pending")


def wait_tasks_settled(sim: Any, timeout_s: float = 20.0) -> None:
    """Wait until the simulated cluster runs no task (a killed client's last task still finishes)."""
    deadline = time.monotonic() + timeout_s
    while sim.tasks.running():
        if time.monotonic() > deadline:
            raise AssertionError(f"tasks still running after {timeout_s}s: {sim.tasks.running()}")
        time.sleep(0.02)


def read_rows(state: Path, sql: str) -> list[dict[str, Any]]:
    conn = sqlite3.connect(f"file:{state / DB_FILE}?mode=ro", uri=True, timeout=10)
    try:
        cursor = conn.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
    finally:
        conn.close()


def problems(sim: Any, states: list[Path]) -> list[str]:
    wait_tasks_settled(sim)
    found: list[str] = []
    apps: list[dict[str, Any]] = []
    backups: set[str] = set()
    for state in states:
        for job in read_rows(state, "SELECT id, kind, target, state FROM jobs"):
            if job["state"] in UNFINISHED:
                found.append(
                    f"{state.name}: job {job['id']} ({job['kind']} {job['target']}) left {job['state']}"
                )
            elif job["state"] == "rollback-failed":
                found.append(f"{state.name}: job {job['id']} ({job['kind']} {job['target']}) rollback failed")
        for app in read_rows(state, "SELECT * FROM apps"):
            apps.append({**app, "state": state.name})
        backups |= {row["volid"] for row in read_rows(state, "SELECT volid FROM backups")}
        recorded_here = {a["name"] for a in apps if a["state"] == state.name}
        secrets_file = state / SECRETS_FILE
        if secrets_file.exists():
            for name in json.loads(secrets_file.read_text()).get("apps", {}):
                if name not in recorded_here:
                    found.append(f"{state.name}: secrets kept for unknown app {name!r}")

    with sim.cluster.lock:
        cts = {
            vmid: (ct.node, ct.status, ct.name, ct.lock, list(ct.snapshots), ct.ip)
            for vmid, ct in sim.cluster.containers.items()
        }
        volumes = [v for per_node in sim.cluster.volumes.values() for v in per_node.values()]

    live = [a for a in apps if a["status"] != "missing"]
    for name, count in Counter(a["name"] for a in apps).items():
        if count > 1:
            found.append(f"app name {name!r} recorded {count} times")
    for vmid, count in Counter(a["vmid"] for a in live).items():
        if count > 1:
            found.append(f"VMID {vmid} recorded for {count} apps")
    for hostname, count in Counter(c[2] for c in cts.values()).items():
        if count > 1:
            found.append(f"{count} containers are named {hostname!r}")
    recorded_vmids = {a["vmid"] for a in live}
    for vmid in sorted(set(cts) - recorded_vmids):
        found.append(f"orphan container {vmid} ({cts[vmid][2]}) on {cts[vmid][0]}")
    for app in apps:
        ct = cts.get(app["vmid"])
        where = f"{app['state']}: app {app['name']} (CT {app['vmid']})"
        if app["status"] == "missing" or ct is None or ct[0] != app["node"]:
            found.append(f"{where}: its container is gone (recorded {app['status']} on {app['node']})")
            continue
        if app["status"] not in ("running", "stopped"):
            found.append(f"{where}: left {app['status']}")
        elif app["status"] != ct[1]:
            found.append(f"{where}: recorded {app['status']}, Proxmox says {ct[1]}")
    for vmid, (_, _, name, lock, snapshots, _) in cts.items():
        if lock:
            found.append(f"CT {vmid} ({name}) still locked ({lock})")
        for snapshot in snapshots:
            if snapshot.startswith(JOB_SNAPSHOT_PREFIXES):
                found.append(f"CT {vmid} ({name}) keeps the job snapshot {snapshot}")
    addresses = Counter(
        (cts[a["vmid"]][5], port["port"])
        for state in states
        for port in read_rows(state, "SELECT app, port FROM ports")
        for a in live
        if a["name"] == port["app"] and a["state"] == state.name and a["vmid"] in cts and cts[a["vmid"]][5]
    )
    for (ip, port), count in addresses.items():
        if count > 1:
            found.append(f"{ip}:{port} recorded for {count} apps")
    for volume in volumes:
        if (
            volume.content == "backup"
            and volume.notes.startswith("proximity ")
            and volume.volid not in backups
        ):
            found.append(f"backup archive {volume.volid} ({volume.notes}) is in no index")
    return found
