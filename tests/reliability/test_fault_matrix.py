"""The fault matrix (issue #8): each fault kind against each main operation, end to end through the SDK
against the simulator (HTTPS + SSH), with the invariants checked after every cell.

Each cell prepares what the operation needs (an app on ``pve2``, a backup for a restore) with no fault,
injects one fault aimed at the operation's own request or task, runs the operation, and asserts the
cell's expected outcome (``matrix_cells.py``): completed after retries, or failed with a typed error that
carries the real cause and rolled back. Then ``assert_consistent``: no orphan CT, no leaked port, VMID or
secret, no stale lock or temporary snapshot, no job left running, and no drift between the records and
Proxmox. Outcomes are recorded for the table the run prints at its end (docs/reliability.md).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from proximity.errors import ProximityError
from proximity.models import AppStatus
from tests.reliability.conftest import Clients
from tests.reliability.invariants import assert_consistent
from tests.reliability.matrix_cells import (
    APP,
    CELLS,
    NOT_APPLICABLE,
    RETRIED,
    ROLLED_BACK,
    TASK_ERRORS,
    Cell,
)
from tests.reliability.matrix_table import FAILED, MATRIX_OUTCOMES, RETRIED_OK, ROLLED_BACK_OK

NODE = "pve2"
API_TIMEOUT_S = 0.4  # the client timeout in the "API timeout" cells
LATE_ANSWER_S = 1.0  # the injected latency, beyond that timeout
LOCK_HELD_S = 0.5  # another client's lock, released within Proximity's default retry window
SLOW_TASK_S = 1.5  # added to a task, beyond the task timeout those cells set (1 s)
DOCKER_LAYER = "/var/lib/docker/overlay2/3f1c9e2a/diff/usr/bin/gotify"  # where a full disk stops a pull


@dataclass
class Scene:
    px: Any
    sim: Any
    vmid: int | None = None  # the prepared app's CT
    volid: str | None = None  # the prepared backup (restore)
    backups_before: set[str] = field(default_factory=set)


def _prepare(op: str, px: Any, sim: Any) -> Scene:
    scene = Scene(px, sim)
    if op == "deploy":
        return scene
    scene.vmid = px.apps.deploy(APP, name="app", node=NODE).vmid
    if op == "restore":
        scene.volid = px.backups.create("app").volid
    scene.backups_before = _archives(sim, scene.vmid)
    return scene


def _archives(sim: Any, vmid: int | None) -> set[str]:
    with sim.cluster.lock:
        return {
            v.volid
            for by_volid in sim.cluster.volumes.values()
            for v in by_volid.values()
            if v.content == "backup" and v.vmid == vmid
        }


def _key_request(op: str, vmid: int | None) -> tuple[str, str]:
    """The request that carries the operation (method, API path glob)."""
    return {
        "deploy": ("POST", f"/nodes/{NODE}/lxc"),
        "start/stop": ("POST", f"/nodes/{NODE}/lxc/{vmid}/status/stop"),
        "clone": ("POST", f"/nodes/{NODE}/lxc/{vmid}/clone"),
        "backup": ("POST", f"/nodes/{NODE}/vzdump"),
        "restore": ("POST", f"/nodes/{NODE}/lxc"),
        "update": ("POST", f"/nodes/{NODE}/lxc/{vmid}/snapshot"),
        "delete": ("DELETE", f"/nodes/{NODE}/lxc/{vmid}"),
    }[op]


def _key_read(op: str, vmid: int | None) -> str:
    """A read (GET) the operation depends on: where the "API timeout" cells make the answer late."""
    ct = f"/nodes/{NODE}/lxc/{vmid}"
    return {
        "deploy": f"/nodes/{NODE}/storage",  # choosing the root-disk and template storages
        "start/stop": f"{ct}/status/current",  # the state read after the stop
        "clone": "/cluster/resources",  # looking for the job's clone by its tag
        "backup": f"/nodes/{NODE}/storage",  # choosing the backup storage
        "restore": f"{ct}/status/current",  # is it running (to stop it first)?
        "update": f"{ct}/interfaces",  # the address, for the health check after the update
        "delete": f"{ct}/status/current",  # is it running (to stop it first)?
    }[op]


# the SSH command each cell drops mid-way: a long one inside the install or update
SSH_DROPPED = {"deploy": "pct exec * -- apt-get update", "update": "pct exec * -- docker compose * pull"}


def _next_vmids(px: Any, count: int = 5) -> range:
    first = int(px.pve("lab").next_vmid())
    return range(first, first + count)


def _ticket_logins(px: Any) -> int:
    return sum(1 for call in px.pve("lab").api.call_log if call == ("POST", "access/ticket"))


def _inject(cell: Cell, scene: Scene) -> Callable[[], bool]:
    """Inject the cell's fault; returns a check that the fault really reached the operation."""
    px, sim, faults = scene.px, scene.sim, scene.sim.faults
    method, path = _key_request(cell.op, scene.vmid)
    kind = cell.kind
    if kind == "HTTP 5xx":
        rule = faults.http_error(503, "Service Unavailable", path=path, method=method, count=2)
        return lambda: rule.fired == 2
    if kind == "dropped connection":
        rule = faults.drop_connection(path=path, method=method, count=1)
        return lambda: rule.fired == 1
    if kind == "API timeout":
        px.update_settings(api_timeout_s=API_TIMEOUT_S)
        rule = faults.latency(LATE_ANSWER_S, path=_key_read(cell.op, scene.vmid), method="GET", count=1)
        return lambda: rule.fired == 1
    if kind == "401 expired ticket":
        time.sleep(1.01 - time.time() % 1)  # tickets carry whole seconds: expire those of earlier ones
        logins = _ticket_logins(px)
        faults.expire_tickets()
        return lambda: _ticket_logins(px) > logins
    if kind == "CT is locked":
        assert scene.vmid is not None
        retried = px.pve("lab").api.retried
        sim.hold_lock(scene.vmid, "backup", LOCK_HELD_S)
        return lambda: px.pve("lab").api.retried > retried or _job_saw(px, "is locked")
    if kind == "task fails (PVE error)":
        task_type, message = TASK_ERRORS[cell.op]
        rule = faults.fail_tasks(message.format(vmid=scene.vmid), task_type=task_type, node=NODE)
        return lambda: rule.fired >= 1
    if kind == "out of space" and cell.op == "update":
        # the update pulls images into the CT's own root disk: the disk inside the CT is what fills up
        inside = sim.cluster.containers[scene.vmid].inside
        inside.faults.pull_error = f"failed to register layer: write {DOCKER_LAYER}: no space left on device"
        return lambda: True  # the expected error's "no space left on device" is the proof
    if kind == "out of space":
        for storage in ("local", "local-lvm"):
            faults.fill_storage(storage, node=NODE)
        return lambda: True  # the expected error's "No space left" is the proof
    if kind == "node offline mid-operation":
        rule = faults.node_offline_on(NODE, path=path, method=method)
        return lambda: rule.fired == 1
    if kind == "SSH refused":
        faults.refuse_ssh(NODE)  # new connections only: the cell runs the operation from a new client
        return lambda: True  # the expected error names the refused SSH connection
    if kind == "SSH drops mid-command":
        rule = faults.drop_ssh(node=NODE, command=SSH_DROPPED[cell.op], count=1)
        return lambda: rule.fired == 1
    if kind == "app never healthy":
        px.update_settings(health_timeout_s=1)
        vmids = [scene.vmid] if cell.op == "update" else list(_next_vmids(px))
        for vmid in vmids:
            faults.app_never_healthy(vmid)
        return lambda: True  # the expected HealthCheckFailed is the proof
    if kind == "slow task outlives timeout":
        px.update_settings(task_timeout_s=1)
        task_type, _ = TASK_ERRORS[cell.op]
        rule = faults.slow_tasks(SLOW_TASK_S, task_type=task_type, node=NODE, count=1)
        return lambda: rule.fired == 1
    raise AssertionError(f"no injection for {kind}")


def _job_saw(px: Any, text: str) -> bool:
    return any(text in event.message for job in px.jobs.list() for event in px.jobs.events(job.id))


def _run(op: str, scene: Scene) -> None:
    px = scene.px
    if op == "deploy":
        px.apps.deploy(APP, name="fresh", node=NODE)
    elif op == "start/stop":
        px.apps.stop("app")
        px.apps.start("app")
    elif op == "clone":
        px.apps.clone("app", "copy")
    elif op == "backup":
        px.backups.create("app")
    elif op == "restore":
        px.backups.restore(scene.volid, confirm=True)
    elif op == "update":
        px.apps.update("app")
    elif op == "delete":
        px.apps.delete("app", confirm=True)


def _completed(op: str, scene: Scene) -> set[str]:
    """Check what a completed operation left; returns the apps that must be recorded."""
    px, sim = scene.px, scene.sim
    if op == "delete":
        assert scene.vmid not in sim.cluster.containers
        return set()
    if op == "backup":
        made = _archives(sim, scene.vmid) - scene.backups_before
        assert len(made) == 1 and {b.volid for b in px.store.list_backups(app="app")} >= made
        return {"app"}
    names = {"deploy": {"fresh"}, "clone": {"app", "copy"}}.get(op, {"app"})
    for name in names:
        app = px.apps.get(name)
        assert app.status == AppStatus.RUNNING, f"{name} is {app.status}"
        assert sim.cluster.containers[app.vmid].status == "running"
    return names


def _rolled_back(op: str, scene: Scene) -> set[str]:
    """Check that a failed operation left things as they were; returns the apps that must be recorded."""
    px, sim = scene.px, scene.sim
    if op == "deploy":
        return set()
    app = px.apps.get("app")
    assert sim.cluster.containers[app.vmid].node == NODE
    assert _archives(sim, scene.vmid) - scene.backups_before <= {b.volid for b in px.store.list_backups()}
    if op == "backup":
        assert _archives(sim, scene.vmid) == scene.backups_before, "a failed backup left an archive"
    if op in ("restore", "update", "clone", "backup", "delete"):
        # these never stop the app for good: after a rollback it runs as it did before
        assert app.status == AppStatus.RUNNING, f"app is {app.status} after the rollback"
    return {"app"}


def _clear_faults(scene: Scene) -> None:
    scene.sim.faults.clear()
    ct = scene.sim.cluster.containers.get(scene.vmid) if scene.vmid is not None else None
    if ct is not None and ct.inside is not None:
        ct.inside.faults.pull_error = None


def _recover_when_back(scene: Scene) -> None:
    """A node that went offline comes back; rollbacks it blocked are finished by ``jobs.recover()``."""
    scene.sim.faults.node_online(NODE)
    scene.px.jobs.recover()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("cell", CELLS, ids=[c.id for c in CELLS])
def test_fault_cell(cell: Cell, px_factory: Clients, fault_sim: Any) -> None:
    if cell.expect == NOT_APPLICABLE:
        MATRIX_OUTCOMES[(cell.kind, cell.op)] = f"N/A: {cell.reason}"
        pytest.skip(f"N/A: {cell.reason}")
    MATRIX_OUTCOMES[(cell.kind, cell.op)] = FAILED  # until the cell's last assertion passes
    px = px_factory(
        "password" if cell.kind == "401 expired ticket" else "token",
        default_retries=cell.kind == "CT is locked",
    )
    scene = _prepare(cell.op, px, fault_sim)
    if cell.kind == "SSH refused":
        px = scene.px = px_factory.reopen(px)  # a new run of the CLI: no SSH connection open yet
    fired = _inject(cell, scene)
    if cell.expect == RETRIED:
        _run(cell.op, scene)
        assert fired(), "the fault never reached the operation"
        _clear_faults(scene)
        if cell.kind == "API timeout":
            time.sleep(LATE_ANSWER_S)  # the late request is still being answered: check after it
        expected = _completed(cell.op, scene)
    else:
        assert cell.expect == ROLLED_BACK
        with pytest.raises(ProximityError) as caught:
            _run(cell.op, scene)
        assert fired(), "the fault never reached the operation"
        error = caught.value
        assert isinstance(error, cell.error), f"{type(error).__name__}: {error}"
        assert re.search(cell.cause, str(error)), f"the cause is not in the error: {error}"
        _clear_faults(scene)
        if cell.kind == "node offline mid-operation":
            _recover_when_back(scene)
        expected = _rolled_back(cell.op, scene)
    px.update_settings(api_timeout_s=15.0, task_timeout_s=60, health_timeout_s=20)  # the fixture's values
    assert_consistent(px, fault_sim, expect_apps=expected)
    MATRIX_OUTCOMES[(cell.kind, cell.op)] = RETRIED_OK if cell.expect == RETRIED else ROLLED_BACK_OK
