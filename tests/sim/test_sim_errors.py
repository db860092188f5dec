"""PVE's error wording and where it comes: synchronous refusals, in-task failures, locks, validation."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from proxmoxer.core import ResourceException

from .helpers import ALPINE, DEBIAN, create_ct, log_lines, ok, wait


def refused(action: Any) -> ResourceException:
    with pytest.raises(ResourceException) as caught:
        action()
    return caught.value


def test_missing_config_names_the_file(proxmox: Any) -> None:
    error = refused(lambda: proxmox.nodes("pve1").lxc(999).config.get())
    assert error.status_code == 500
    assert error.content == "Configuration file 'nodes/pve1/lxc/999.conf' does not exist"


def test_body_carries_message_and_errors(simulator: Any, proxmox: Any) -> None:
    session = proxmox._store["session"]
    base = proxmox._store["base_url"]
    answer = session.request("GET", f"{base}/nodes/pve1/lxc/999/config")
    assert (
        answer.status_code == 500
        and answer.reason == "Configuration file 'nodes/pve1/lxc/999.conf' does not exist"
    )
    assert answer.json() == {
        "data": None,
        "message": "Configuration file 'nodes/pve1/lxc/999.conf' does not exist\n",
    }
    unknown = session.request("GET", f"{base}/nodes/pve1/frobnicate")
    assert (
        unknown.status_code == 501 and unknown.reason == "Method 'GET /nodes/pve1/frobnicate' not implemented"
    )


def test_parameter_verification(proxmox: Any, new_vmid: Any) -> None:
    error = refused(
        lambda: proxmox.nodes("pve1").lxc.post(
            vmid=new_vmid(), ostemplate=ALPINE, unprivileged="true", frobnicate=1
        )
    )
    assert error.status_code == 400 and error.content == "Parameter verification failed."
    assert set(error.errors) == {"unprivileged", "frobnicate"}


def test_existing_vmid_and_unknown_storage(proxmox: Any, new_vmid: Any) -> None:
    vmid = new_vmid()
    create_ct(proxmox, vmid)
    error = refused(lambda: proxmox.nodes("pve2").lxc.post(vmid=vmid, ostemplate=ALPINE))
    assert error.content == f"CT {vmid} already exists on node 'pve1'"
    error = refused(
        lambda: proxmox.nodes("pve1").lxc.post(vmid=new_vmid(), ostemplate="nfs:vztmpl/x.tar.zst")
    )
    assert error.content == "storage 'nfs' does not exist"
    ok(proxmox, proxmox.nodes("pve1").lxc(vmid).delete())


def test_wrong_template_fails_in_the_task(proxmox: Any, simulator: Any, new_vmid: Any) -> None:
    vmid = new_vmid()
    missing = "local:vztmpl/debian-11-standard_11.0-1_amd64.tar.gz"
    status = wait(
        proxmox, proxmox.nodes("pve1").lxc.post(vmid=vmid, ostemplate=missing, rootfs="local-lvm:4")
    )
    assert status["exitstatus"] == f"unable to create CT {vmid} - volume '{missing}' does not exist"
    assert vmid not in simulator.cluster.containers  # PVE removes what a failed create left
    status = wait(proxmox, proxmox.nodes("pve1").lxc.post(vmid=vmid, ostemplate=ALPINE, rootfs="local:4"))
    assert status["exitstatus"] == (
        f"unable to create CT {vmid} - storage 'local' does not support container directories"
    )


def test_power_errors_come_from_the_task(proxmox: Any, new_vmid: Any) -> None:
    vmid = new_vmid()
    create_ct(proxmox, vmid, start=1)
    ok(proxmox, proxmox.nodes("pve1").tasks.get(vmid=vmid, typefilter="vzstart", source="all")[0]["upid"])
    upid = proxmox.nodes("pve1").lxc(vmid).status.start.post()
    status = wait(proxmox, upid)
    assert status["exitstatus"] == f"CT {vmid} already running"
    assert log_lines(proxmox, upid)[-1] == f"TASK ERROR: CT {vmid} already running"
    error = refused(lambda: proxmox.nodes("pve1").lxc(vmid).delete())
    assert error.content == f"unable to destroy CT {vmid} - container is running"
    error = refused(lambda: proxmox.nodes("pve1").lxc(vmid).migrate.post(target="pve2"))
    assert error.content == "can't migrate running container without --online or --restart"
    error = refused(lambda: proxmox.nodes("pve1").lxc(vmid).template.post())
    assert error.content == "you can't convert a CT to template if the CT is running"
    ok(proxmox, proxmox.nodes("pve1").lxc(vmid).status.stop.post())
    status = wait(proxmox, proxmox.nodes("pve1").lxc(vmid).status.shutdown.post())
    assert status["exitstatus"] == f"CT {vmid} not running"
    ok(proxmox, proxmox.nodes("pve1").lxc(vmid).delete())


def test_locks_refuse_synchronously_and_show_in_config(proxmox: Any, simulator: Any, new_vmid: Any) -> None:
    vmid = new_vmid()
    create_ct(proxmox, vmid, template=DEBIAN, rootfs="local-lvm:8")
    ct = simulator.cluster.containers[vmid]
    # a slow backup (1.0 s at this time scale) holds the 'backup' lock while it runs
    simulator.tasks.time_scale = 0.5
    try:
        upid = proxmox.nodes("pve1").vzdump.post(vmid=vmid, storage="local", mode="snapshot", compress="zstd")
        until(lambda: ct.lock == "backup")
        assert proxmox.nodes("pve1").lxc(vmid).config.get()["lock"] == "backup"
        for action in (
            lambda: proxmox.nodes("pve1").lxc(vmid).delete(),
            lambda: proxmox.nodes("pve1").lxc(vmid).migrate.post(target="pve2"),
            lambda: proxmox.nodes("pve1").lxc(vmid).resize.put(disk="rootfs", size="+1G"),
            lambda: proxmox.nodes("pve1").lxc(vmid).template.post(),
            lambda: proxmox.nodes("pve1").lxc(vmid).config.put(memory=1024),
        ):
            assert refused(action).content == "CT is locked (backup)"
        status = wait(proxmox, proxmox.nodes("pve1").lxc(vmid).status.start.post())
        assert status["exitstatus"] == "CT is locked (backup)"
        # stopping the backup task ends it as PVE does
        proxmox.nodes("pve1").tasks(upid).delete()
        assert wait(proxmox, upid)["exitstatus"] == "interrupted by signal"
    finally:
        simulator.tasks.time_scale = 0.01
    assert "lock" not in proxmox.nodes("pve1").lxc(vmid).config.get()
    ok(proxmox, proxmox.nodes("pve1").lxc(vmid).delete())


def test_nextid_is_a_string_and_checks(proxmox: Any, new_vmid: Any) -> None:
    nextid = proxmox.cluster.nextid.get()
    assert isinstance(nextid, str) and int(nextid) >= 100
    vmid = new_vmid()
    create_ct(proxmox, vmid)
    error = refused(lambda: proxmox.cluster.nextid.get(vmid=vmid))
    assert error.status_code == 400 and error.errors == {"vmid": f"VM {vmid} already exists"}
    ok(proxmox, proxmox.nodes("pve1").lxc(vmid).delete())


def test_unknown_node(proxmox: Any) -> None:
    error = refused(lambda: proxmox.nodes("pve9").lxc.get())
    assert error.content.startswith("hostname lookup 'pve9' failed")


def test_plain_http_is_not_served(simulator: Any) -> None:
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://{simulator.host}:{simulator.port}/api2/json/version", timeout=5)


def until(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_config_digest_guards_concurrent_edits(proxmox: Any, new_vmid: Any) -> None:
    vmid = new_vmid()
    create_ct(proxmox, vmid)
    ok(proxmox, proxmox.nodes("pve1").lxc(vmid).snapshot.post(snapname="base"))
    digest = proxmox.nodes("pve1").lxc(vmid).config.get()["digest"]
    proxmox.nodes("pve1").lxc(vmid).config.put(hostname="renamed", digest=digest)
    error = refused(lambda: proxmox.nodes("pve1").lxc(vmid).config.put(memory=1024, digest=digest))
    assert error.content == "detected modified configuration - file changed by other user? Try again."
    ok(proxmox, proxmox.nodes("pve1").lxc(vmid).delete())
