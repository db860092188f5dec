"""The optional state file: the cluster written as JSON atomically on change (debounced) and at stop."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from proximity.sim import guests
from proximity.sim.auth import Auth
from proximity.sim.state import Cluster, Pool, SimContainer, SimNode, Snapshot, StorageConfig, Volume
from proximity.sim.tasks import Task, TaskManager

log = logging.getLogger(__name__)
FORMAT_VERSION = 1


def dump(cluster: Cluster, auth: Auth, tasks: TaskManager, secrets: dict[str, str]) -> dict[str, Any]:
    with cluster.lock:
        return {
            "format": FORMAT_VERSION,
            "nodes": [vars(n).copy() for n in cluster.nodes.values()],
            "storages": [{**vars(s), "content": sorted(s.content)} for s in cluster.storages.values()],
            "volumes": {
                node: [vars(v).copy() for v in vols.values()] for node, vols in cluster.volumes.items()
            },
            "containers": [_container_dict(ct) for ct in cluster.containers.values()],
            "pools": [
                {
                    "poolid": p.poolid,
                    "comment": p.comment,
                    "vmids": sorted(p.vmids),
                    "storages": sorted(p.storages),
                }
                for p in cluster.pools.values()
            ],
            "auth": auth.to_dict(),
            "tasks": [t.to_dict() for t in tasks.snapshot() if t.status == "stopped"][-500:],
            "secrets": secrets,
        }


def _container_dict(ct: SimContainer) -> dict[str, Any]:
    return {
        "vmid": ct.vmid,
        "node": ct.node,
        "config": ct.config,
        "status": ct.status,
        "ip": ct.ip,
        "started_at": ct.started_at,
        "pid": ct.pid,
        "parent_snapshot": ct.parent_snapshot,
        "inside": guests.inside_dict(ct),
        "snapshots": [vars(s).copy() for s in ct.snapshots.values()],
    }


def load(
    data: dict[str, Any], cluster: Cluster, auth: Auth, tasks: TaskManager, time_scale: float
) -> dict[str, str]:
    """Fill ``cluster``, ``auth`` and ``tasks`` from ``data``; returns the saved credentials."""
    if data.get("format") != FORMAT_VERSION:
        raise ValueError(f"unsupported state file format {data.get('format')!r}")
    with cluster.lock:
        cluster.nodes = {n["name"]: SimNode(**n) for n in data["nodes"]}
        cluster.storages = {
            s["storage"]: StorageConfig(**{**s, "content": set(s["content"])}) for s in data["storages"]
        }
        cluster.volumes = {
            node: {v["volid"]: Volume(**v) for v in vols} for node, vols in data["volumes"].items()
        }
        cluster.containers = {}
        for item in data["containers"]:
            ct = SimContainer(
                item["vmid"],
                item["node"],
                item["config"],
                item["status"],
                item["ip"],
                None,
                {s["name"]: Snapshot(**s) for s in item["snapshots"]},
                item["parent_snapshot"],
                item["started_at"],
                item["pid"],
            )
            guests.attach(ct, guests.copy_inside(item["inside"], time_scale), cluster, time_scale)
            cluster.containers[ct.vmid] = ct
        cluster.pools = {
            p["poolid"]: Pool(p["poolid"], p["comment"], set(p["vmids"]), set(p["storages"]))
            for p in data["pools"]
        }
    auth.load_dict(data["auth"])
    tasks.restore([Task.from_dict(t) for t in data["tasks"]])
    return dict(data["secrets"])


def write_atomically(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(data, file, separators=(",", ":"))
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o600)  # the file holds the credentials
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class StateWriter:
    """Writes the state at most every ``delay`` seconds after a change, and once more at ``close``."""

    def __init__(self, path: Path, snapshot: Any, delay: float = 0.5) -> None:
        self._path = path
        self._snapshot = snapshot
        self._delay = delay
        self._dirty = threading.Event()
        self._closing = threading.Event()
        self._write_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="pve-sim-state", daemon=True)
        self._thread.start()

    def mark_dirty(self) -> None:
        self._dirty.set()

    def flush(self) -> None:
        with self._write_lock:
            self._dirty.clear()
            write_atomically(self._path, self._snapshot())

    def close(self) -> None:
        self._closing.set()
        self._dirty.set()
        self._thread.join(5)
        self.flush()

    def _run(self) -> None:
        while not self._closing.is_set():
            self._dirty.wait()
            if self._closing.wait(self._delay):
                return
            try:
                self.flush()
            except Exception:  # a full disk must not kill the simulator; the next change retries
                log.exception("writing the simulator state to %s failed", self._path)
