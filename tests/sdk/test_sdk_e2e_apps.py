"""Deploy and the lifecycle verbs against the simulator, failure paths included."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from proximity import AlreadyExists, ConfirmationRequired, HealthCheckFailed, TaskFailed, ValidationError
from proximity.collections.health import http_status
from proximity.models import AppStatus, JobState

APP = "gotify"  # compose (and OCI), a generated admin password, small


def _cts(sim: Any) -> dict[int, Any]:
    return dict(sim.cluster.containers)


def test_a_secret_file_is_mode_600_before_its_content_is_written(px: Any, sim: Any) -> None:
    app = px.apps.deploy(APP, name="hushed")
    inside = sim.cluster.containers[app.vmid].inside
    env_file = f"/opt/proximity/{APP}/.env"  # the Compose project is named after the entry
    touching = [argv for argv in inside.exec_log if env_file in argv]
    assert touching == [["tee", env_file], ["chmod", "600", env_file], ["tee", env_file]]
    assert inside.fs.mode(env_file) & 0o777 == 0o600


def test_deploy_compose_end_to_end(px: Any, sim: Any) -> None:
    events: list[Any] = []
    app = px.apps.deploy(APP, name="notify", on_event=events.append)
    assert app.status == AppStatus.RUNNING and app.install_method == "compose"
    assert app.url and app.ip and app.url.startswith(f"http://{app.ip}:")
    port = int(app.url.rsplit(":", 1)[1].strip("/"))
    import anyio

    entry = px.catalog.get(APP)
    assert (
        anyio.run(lambda: http_status(app.ip, port, entry.healthcheck.path))
        in entry.healthcheck.expect_status
    )
    # the container as PVE sees it: unprivileged, only the features the app needs, our sizes and tags
    config = sim.cluster.containers[app.vmid].config
    assert str(config.get("unprivileged")) == "1"
    assert "nesting=1" in config["features"] and "keyctl=1" in config["features"]
    assert int(config["memory"]) == entry.resources.memory_mb
    # ports recorded, events in order, a generated secret stored apart (never in the job values)
    assert [p.port for p in app.ports] == [p.port for p in entry.ports]
    kinds = [e.kind for e in events]
    assert kinds[0] == "job-started" and kinds[-1] == "job-succeeded"
    started = [e.step for e in events if e.kind == "step-started"]
    assert started == [
        "template",
        "secrets",
        "create",
        "record",
        "features",
        "start",
        "address",
        "install",
        "health",
        "finish",
    ]
    assert [e.progress for e in events] == sorted(e.progress for e in events)
    secret = px.store.secrets.app("notify")["ADMIN_PASSWORD"].get_secret_value()
    job = px.jobs.list()[0]
    assert secret not in json.dumps(job.context) and secret not in repr(app)
    assert all(secret not in e.message for e in px.jobs.events(job.id))
    # one deploy's secret is not the next one's
    other = px.apps.deploy(APP, name="notify2")
    assert px.store.secrets.app("notify2")["ADMIN_PASSWORD"].get_secret_value() != secret
    assert other.vmid != app.vmid
    listed = {a.name: a for a in px.apps.list()}
    assert listed["notify"].status == AppStatus.RUNNING and listed["notify2"].status == AppStatus.RUNNING
    with pytest.raises(AlreadyExists):
        px.apps.deploy(APP, name="notify")


def test_settings_defaults_are_used(px: Any, sim: Any) -> None:
    px.update_settings(cores=3, memory_mb=700)
    app = px.apps.deploy(APP, name="sized", method="oci")
    config = sim.cluster.containers[app.vmid].config
    assert int(config["cores"]) == 3 and int(config["memory"]) == 700
    assert app.install_method == "oci" and app.status == AppStatus.RUNNING
    with pytest.raises(ValidationError):
        px.apps.deploy(APP, name="tiny", memory=16)


def test_failed_task_mid_deploy_rolls_back_everything(px: Any, sim: Any) -> None:
    before = set(_cts(sim))
    sim.faults.fail_tasks("startup for container failed", task_type="vzstart", count=5)
    with pytest.raises(TaskFailed, match="startup for container failed") as caught:
        px.apps.deploy(APP, name="doomed")
    assert caught.value.log_tail  # the PVE log tail travels with the error
    assert set(_cts(sim)) == before  # no orphan CT
    assert px.store.find_app("doomed") is None  # no record
    assert px.store.db.execute("SELECT COUNT(*) FROM ports WHERE app = 'doomed'").fetchone()[0] == 0
    assert px.store.secrets.app("doomed") == {}
    job = px.jobs.list()[0]
    assert job.state == JobState.FAILED
    assert [e.step for e in px.jobs.events(job.id) if e.kind == "undo-done"] == [
        "record",
        "create",
        "secrets",
    ]


def test_unhealthy_app_rolls_back(px: Any, sim: Any) -> None:
    px.update_settings(health_timeout_s=1)
    before = set(_cts(sim))
    next_vmid = int(px.pve("lab").next_vmid())
    for vmid in range(next_vmid, next_vmid + 5):
        sim.faults.app_never_healthy(vmid)
    with pytest.raises(HealthCheckFailed):
        px.apps.deploy(APP, name="sick")
    assert set(_cts(sim)) == before and px.store.find_app("sick") is None


def test_injected_5xx_is_retried(px: Any, sim: Any) -> None:
    sim.faults.http_error(503, "Service Unavailable", path="/nodes/*/lxc", method="POST", count=2)
    sim.faults.http_error(
        500, "CT is locked (snapshot)", path="/nodes/*/lxc/*/status/start", method="POST", count=1
    )
    app = px.apps.deploy(APP, name="sturdy")
    assert app.status == AppStatus.RUNNING
    api = px.pve("lab").api
    creates = [c for c in api.call_log if c == ("POST", "nodes/" + app.node + "/lxc")]
    assert len(creates) == 3  # two 503s, then the create that went through


def test_dropped_connection_is_retried_without_duplicates(px: Any, sim: Any) -> None:
    before = set(_cts(sim))
    sim.faults.drop_connection(path="/nodes/*/lxc", method="POST", count=1)
    sim.faults.drop_connection(path="/cluster/resources", method="GET", count=1)
    app = px.apps.deploy(APP, name="dropped")
    assert app.status == AppStatus.RUNNING
    assert set(_cts(sim)) - before == {app.vmid}
    assert px.pve("lab").api.retried >= 2


def test_lifecycle_verbs(px: Any, sim: Any) -> None:
    app = px.apps.deploy(APP, name="cycle")
    assert app.stop().status == AppStatus.STOPPED
    assert sim.cluster.containers[app.vmid].status == "stopped"
    assert app.status == AppStatus.RUNNING and app.reload() is app and app.status == AppStatus.STOPPED
    assert "<table>" in app._repr_html_() and "cycle" in app._repr_html_()
    assert app.start().status == AppStatus.RUNNING
    px.pve("lab").start(app.node, app.vmid)  # a resent start (first answer lost) is not an error
    assert px.apps.shutdown("cycle", timeout=5).status == AppStatus.STOPPED
    assert px.apps.restart("cycle").status == AppStatus.RUNNING
    resized = px.apps.resize("cycle", cores=2, memory_mb=512, disk_gb=app.disk_gb + 2)
    config = sim.cluster.containers[app.vmid].config
    assert int(config["cores"]) == 2 and int(config["memory"]) == 512 and resized.disk_gb == app.disk_gb + 2
    with pytest.raises(ValidationError):
        px.apps.resize("cycle", disk_gb=1)  # disks only grow
    target = next(n.name for n in px.hosts.nodes("lab") if n.name != app.node)
    moved = px.apps.migrate("cycle", target)
    assert moved.node == target and sim.cluster.containers[app.vmid].node == target
    assert moved.status == AppStatus.RUNNING
    metrics = px.apps.metrics("cycle")
    assert metrics and metrics[-1].maxmem
    logs = px.apps.logs("cycle", deployment=True)
    assert "job-succeeded" in logs
    assert isinstance(px.apps.logs("cycle", lines=20), str)
    with pytest.raises(ConfirmationRequired):
        app.delete()
    px.apps.delete("cycle", purge=True, confirm=True)
    assert app.vmid not in sim.cluster.containers and px.store.find_app("cycle") is None


def test_clone_uses_a_temporary_snapshot(px: Any, sim: Any) -> None:
    app = px.apps.deploy(APP, name="original")
    copy = px.apps.clone("original", "copy")
    assert copy.vmid != app.vmid and copy.status == AppStatus.RUNNING and copy.ip != app.ip
    assert sim.cluster.containers[app.vmid].snapshots == {} or not any(
        name.startswith("pxclone") for name in sim.cluster.containers[app.vmid].snapshots
    )
    assert px.store.secrets.app("copy") == px.store.secrets.app("original")


def test_safe_update_and_automatic_rollback(px: Any, sim: Any) -> None:
    app = px.apps.deploy(APP, name="upd")
    updated = px.apps.update("upd")
    assert updated.status == AppStatus.RUNNING
    assert not any(s.startswith("pxupdate") for s in sim.cluster.containers[app.vmid].snapshots)
    # now the app will not come back healthy after the update: the snapshot is rolled back
    px.update_settings(health_timeout_s=1)
    sim.faults.app_never_healthy(app.vmid)
    with pytest.raises(HealthCheckFailed):
        px.apps.update("upd")
    job = px.jobs.list()[0]
    assert job.kind == "update" and job.state == JobState.FAILED
    undone = [e.step for e in px.jobs.events(job.id) if e.kind == "undo-done"]
    assert undone == ["snapshot"]
    assert any("rolled back" in e.message for e in px.jobs.events(job.id))
    assert not any(s.startswith("pxupdate") for s in sim.cluster.containers[app.vmid].snapshots)
    assert sim.cluster.containers[app.vmid].status == "running"


def test_adopt_and_reconcile_notice_drift(px: Any, sim: Any) -> None:
    app = px.apps.deploy(APP, name="watched")
    pve = px.pve("lab")
    # another admin stops one CT and deletes another behind Proximity's back
    gone = px.apps.deploy(APP, name="gone")
    pve.stop(app.node, app.vmid)
    pve.stop(gone.node, gone.vmid)
    pve.delete_ct(gone.node, gone.vmid)
    listed = {a.name: a.status for a in px.apps.list()}
    assert listed == {"watched": AppStatus.STOPPED, "gone": AppStatus.MISSING}
    drifts = {(d.app, d.field) for d in px.apps.reconcile()}
    assert drifts == {("watched", "status"), ("gone", "container")}
    assert px.store.get_app("gone").status == AppStatus.MISSING
    assert px.apps.reconcile() == []  # repaired: nothing left to report
    # adopt a container Proximity did not create
    vmid = pve.next_vmid()
    template = pve.find_template(app.node, "local", "debian")
    assert template
    pve.create_ct(
        app.node,
        vmid,
        ostemplate=template,
        hostname="handmade",
        rootfs="local-lvm:4",
        net0="name=eth0,bridge=vmbr0,ip=dhcp",
    )
    adopted = px.apps.adopt(vmid, name="handmade")
    assert adopted.adopted and adopted.status == AppStatus.STOPPED and adopted.catalog_id == "custom"
    with pytest.raises(AlreadyExists):
        px.apps.adopt(vmid, name="again")


def test_native_script_install_and_ssh_failure_rollback(sim: Any, tmp_path: Path) -> None:
    from proximity import Proximity
    from proximity.catalog.loader import load_catalog
    from proximity.resources import data_dir
    from tests.sdk.conftest import FAST, add_lab

    entry = json.loads((data_dir("catalog") / "apps" / f"{APP}.json").read_text())
    entry["id"] = "gotify-native"
    entry["install"] = [
        {
            "type": "script",
            "service": "gotify",
            "script": "#!/bin/bash\nset -e\napt-get install -y gotify\nsystemctl enable --now gotify\n",
        }
    ]
    entry["update"] = {
        "method": "script",
        "script": "apt-get install -y --only-upgrade gotify\nsystemctl enable --now gotify\n",
    }
    extra = tmp_path / "catalog"
    extra.mkdir()
    (extra / "gotify-native.json").write_text(json.dumps(entry))
    with Proximity(tmp_path / "state", catalog=load_catalog([extra]), **FAST) as px:
        add_lab(px, sim)
        app = px.apps.deploy("gotify-native", name="native")
        assert app.install_method == "script" and app.status == AppStatus.RUNNING
        guest_env = sim.cluster.containers[app.vmid].inside.fs.read("/etc/proximity/app.env").decode()
        assert "PROXIMITY_APP='gotify-native'" in guest_env and "ADMIN_PASSWORD=" in guest_env
        assert px.apps.update("native").status == AppStatus.RUNNING

        before = set(sim.cluster.containers)
        # the install script's connection drops before its exit status: unknown outcome, install rolled back
        sim.faults.drop_ssh(command="pct exec * -- bash /opt/proximity/install.sh", count=1)
        with pytest.raises(Exception) as caught:
            px.apps.deploy("gotify-native", name="cut")
        assert type(caught.value).__name__ in ("HostUnreachable", "CommandFailed")
        assert set(sim.cluster.containers) == before and px.store.find_app("cut") is None


def _shape(calls: list[tuple[str, str]]) -> list[str]:
    """Calls with ids replaced by placeholders and each task's status polls folded into one entry."""
    shaped: list[str] = []
    for method, path in calls:
        path = re.sub(r"UPID:[^/]+", "{upid}", path)
        path = re.sub(r"nodes/[^/]+", "nodes/{node}", path)
        path = re.sub(r"lxc/\d+", "lxc/{vmid}", path)
        entry = f"{method} {path}"
        if entry.endswith("{upid}/status") and shaped and shaped[-1] == entry + " (polls)":
            continue
        shaped.append(entry + (" (polls)" if entry.endswith("{upid}/status") else ""))
    return shaped


def test_deploy_api_call_sequence_is_pinned(px: Any, sim: Any) -> None:
    px.apps.deploy(APP, name="warm", method="oci")  # first deploy: the image gets pulled once
    api = px.pve("lab").api
    start = len(api.call_log)
    px.apps.deploy(APP, name="pinned", method="oci")
    assert _shape(api.call_log[start:]) == [
        "GET cluster/resources",  # placement and storages: every node's load and storages in one call
        "GET nodes/{node}/storage/local/content",  # the image is already there: no pull
        "GET cluster/nextid",
        "POST nodes/{node}/lxc",
        "GET nodes/{node}/tasks/{upid}/status (polls)",
        "POST nodes/{node}/lxc/{vmid}/status/start",
        "GET nodes/{node}/tasks/{upid}/status (polls)",
        "GET nodes/{node}/lxc/{vmid}/interfaces",
    ]
    # the first status poll waits a little: a task just accepted is practically never finished
    polls = [c for c in api.call_log[start:] if c[1].endswith("/status") and "/tasks/" in c[1]]
    assert len(polls) <= 6


def test_a_snapshot_proxmox_already_took_counts_as_done(px: Any, sim: Any) -> None:
    """A job's snapshot names carry its id, so finding one already there means an earlier send of the same
    request went through (its answer lost): done, not a failure to roll back."""
    app = px.apps.deploy(APP, name="snappy", method="oci")
    pve = px.pve("lab")
    pve.snapshot(app.node, app.vmid, "pxupdatejob42", "before update")
    pve.snapshot(app.node, app.vmid, "pxupdatejob42", "before update", exist_ok=True)  # the resend
    assert pve.snapshots(app.node, app.vmid) == ["pxupdatejob42"]
    with pytest.raises(TaskFailed, match="already used"):
        pve.snapshot(app.node, app.vmid, "pxupdatejob42")  # without the caller's word it is an error
