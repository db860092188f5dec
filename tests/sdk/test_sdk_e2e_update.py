"""Safe update of apps installed as OCI images, against the simulator: a new CT from the new image, the
health check, the switch, and the automatic rollback to the old CT."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from proximity import HealthCheckFailed, Proximity, ValidationError
from proximity.catalog.loader import load_catalog
from proximity.models import JobState
from proximity.resources import data_dir
from tests.sdk.conftest import FAST, add_lab

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def sim(module_faults_cleared: Any) -> Any:
    """This module's tests share one simulated cluster (each with its own Proximity state)."""
    return module_faults_cleared


def _catalog(tmp_path: Path, catalog_id: str, tag: str, version: str) -> Any:
    """The catalog entry of ``catalog_id`` with its OCI image at ``tag`` (a new upstream release)."""
    entry = json.loads((data_dir("catalog") / "apps" / f"{catalog_id}.json").read_text())
    entry["version"] = version
    for method in entry["install"]:
        if method["type"] == "oci":
            method["image"] = method["image"].rsplit(":", 1)[0] + f":{tag}"
    folder = tmp_path / f"catalog-{version}"
    folder.mkdir()
    (folder / f"{catalog_id}.json").write_text(json.dumps(entry))
    return load_catalog([folder])


def _client(tmp_path: Path, catalog: Any) -> Any:
    px = Proximity(tmp_path / "state", catalog=catalog, **FAST)
    px.update_settings(health_timeout_s=20, task_timeout_s=60)
    return px


def test_oci_app_moves_to_a_ct_of_the_new_image(sim: Any, tmp_path: Path) -> None:
    with _client(tmp_path, _catalog(tmp_path, "librespeed", "5.4.0", "5.4.0")) as px:
        add_lab(px, sim)
        old = px.apps.deploy("librespeed", name="speed", method="oci")
    old_net0 = sim.cluster.containers[old.vmid].config["net0"]
    with _client(tmp_path, _catalog(tmp_path, "librespeed", "5.4.1", "5.4.1")) as px:
        updated = px.apps.update("speed")
        assert updated.version == "5.4.1" and updated.vmid != old.vmid
        assert updated.status.value == "running" and updated.url and updated.ip in updated.url
        assert old.vmid not in sim.cluster.containers  # the old CT is gone after the switch
        new_ct = sim.cluster.containers[updated.vmid]
        assert new_ct.inside.oci_image.endswith(":5.4.1") and new_ct.node == old.node
        assert new_ct.config["net0"] == old_net0  # same bridge and MAC address
        job = px.jobs.list()[0]
        assert job.kind == "update" and job.state == JobState.SUCCEEDED
        assert any(b.app == "speed" for b in px.backups.list("speed"))  # the restore point is kept
        assert px.apps.update("speed").vmid == updated.vmid  # up to date: nothing to do


def test_failed_oci_update_rolls_back_to_the_old_ct(sim: Any, tmp_path: Path) -> None:
    with _client(tmp_path, _catalog(tmp_path, "librespeed", "5.4.0", "5.4.0")) as px:
        add_lab(px, sim)
        old = px.apps.deploy("librespeed", name="speed", method="oci")
    with _client(tmp_path, _catalog(tmp_path, "librespeed", "5.4.1", "5.4.1")) as px:
        px.update_settings(health_timeout_s=1)
        before = set(sim.cluster.containers)
        next_vmid = px.pve("lab").next_vmid()
        for vmid in range(next_vmid, next_vmid + 5):
            sim.faults.app_never_healthy(vmid)
        with pytest.raises(HealthCheckFailed):
            px.apps.update("speed")
        assert set(sim.cluster.containers) == before  # the new CT is gone
        assert sim.cluster.containers[old.vmid].status == "running"
        kept = px.apps.get("speed")
        assert (kept.vmid, kept.version, kept.status.value) == (old.vmid, "5.4.0", "running")
        job = px.jobs.list()[0]
        undone = [e.step for e in px.jobs.events(job.id) if e.kind == "undo-done"]
        # "backup" undoes only an archive the job never indexed; the indexed restore point is kept
        assert undone == ["start-new", "move-volumes", "stop-old", "create", "backup"]
        assert any(b.app == "speed" for b in px.backups.list("speed"))


def test_oci_update_refuses_to_lose_data_in_the_root_disk(sim: Any, tmp_path: Path) -> None:
    with _client(tmp_path, _catalog(tmp_path, "gotify", "2.6.2", "2.6.2")) as px:
        add_lab(px, sim)
        app = px.apps.deploy("gotify", name="notify", method="oci")
    with _client(tmp_path, _catalog(tmp_path, "gotify", "2.6.3", "2.6.3")) as px:
        with pytest.raises(ValidationError, match="root disk"):
            px.apps.update("notify")
        assert px.apps.get("notify").vmid == app.vmid
