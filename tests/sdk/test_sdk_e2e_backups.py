"""Backups against the simulator: create (file name from the task log), list, protect, restore in place and
as a new app, delete, schedules with pruning; delete keeps a final backup unless purged."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest

from proximity import ConfirmationRequired, Conflict, HealthCheckFailed
from proximity.models import AppStatus, utcnow

APP = "gotify"


def test_backup_create_list_protect_restore_delete(px: Any, sim: Any) -> None:
    app = px.apps.deploy(APP, name="keep")
    seen: list[str] = []
    px.subscribe(lambda event: seen.append(event.kind))
    backup = px.backups.create("keep")
    assert seen[0] == "job-started" and seen[-1] == "job-succeeded"
    assert backup.volid.startswith(f"{backup.storage}:backup/vzdump-lxc-{app.vmid}-")
    assert backup.volid.endswith(".tar.zst") and backup.size > 0
    storages = {s.name: s for s in px.hosts.storages("lab", node=app.node)}
    assert "backup" in storages[backup.storage].content
    assert [b.volid for b in px.backups.list("keep")] == [backup.volid]

    protected = backup.protect()
    assert protected.protected
    with pytest.raises(Conflict):
        px.backups.delete(backup.volid, confirm=True)

    copy = px.backups.restore(backup.volid, as_name="keep-copy")
    assert copy.vmid != app.vmid and copy.status == AppStatus.RUNNING and copy.catalog_id == APP

    with pytest.raises(ConfirmationRequired):
        px.backups.restore(backup.volid)
    restored = px.backups.restore(backup.volid, confirm=True)
    assert restored.name == "keep" and restored.vmid == app.vmid and restored.status == AppStatus.RUNNING

    px.backups.protect(backup.volid, protected=False)
    px.backups.delete(backup.volid, confirm=True)
    assert px.backups.list("keep") == []
    audit = [e.action for e in px.audit()]
    assert "backups.create" in audit and "backups.restore" in audit and "backups.delete" in audit


def test_delete_keeps_a_final_backup_unless_purged(px: Any, sim: Any) -> None:
    app = px.apps.deploy(APP, name="leaving")
    px.apps.delete("leaving", confirm=True)
    assert app.vmid not in sim.cluster.containers
    (final,) = px.backups.list("leaving")
    back = px.backups.restore(final.volid, as_name="returned")
    assert back.status == AppStatus.RUNNING
    # the record of "leaving" is gone: the container's description names its entry and install method
    assert (back.catalog_id, back.install_method) == (APP, app.install_method)
    assert [p.port for p in back.ports] == [p.port for p in app.ports]
    assert back.url and back.ip and back.url.startswith(f"http://{back.ip}:")


def test_a_restore_as_new_that_never_becomes_healthy_is_rolled_back(px: Any, sim: Any) -> None:
    app = px.apps.deploy(APP, name="source")
    backup = px.backups.create("source")
    before = set(sim.cluster.containers)
    for vmid in range(100, 1000):  # whatever VMID the restore gets, its app never answers
        if vmid != app.vmid:
            sim.faults.app_never_healthy(vmid)
    px.update_settings(health_timeout_s=1)
    with pytest.raises(HealthCheckFailed):
        px.backups.restore(backup.volid, as_name="sick")
    assert set(sim.cluster.containers) == before  # the new CT is gone
    assert px.store.find_app("sick") is None
    assert px.apps.get("source").status == AppStatus.RUNNING


def test_schedules_run_when_due_and_prune(px: Any, sim: Any) -> None:
    px.apps.deploy(APP, name="nightly")
    schedule = px.backups.schedule("nightly", every=timedelta(hours=1), keep=2)
    now = utcnow()
    made = []
    for hour in range(3):
        made.append(px.backups.run_due(now + timedelta(hours=hour)))
        time.sleep(1.05)  # vzdump names archives by the second
    assert [len(m) for m in made] == [1, 1, 1]
    assert px.backups.run_due(now + timedelta(hours=2, minutes=30)) == []  # not due yet
    assert len(px.backups.list("nightly")) == 2  # pruned to keep=2
    px.backups.unschedule(schedule.id)
    assert px.backups.schedules() == []
