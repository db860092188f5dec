"""Fault injection: HTTP errors, latency, dropped connections, failing tasks, offline nodes, SSH flags."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from proxmoxer.core import ResourceException

from proximity.sim.faults import Faults

from .helpers import ALPINE, create_ct, log_lines, ok, wait


def test_http_error_on_one_endpoint_with_count(proxmox: Any, sim_faults: Faults) -> None:
    sim_faults.http_error(
        503, "service unavailable - pveproxy restarting", path="/cluster/resources", method="GET", count=2
    )
    for _ in range(2):
        with pytest.raises(ResourceException) as caught:
            proxmox.cluster.resources.get()
        assert (caught.value.status_code, caught.value.content) == (
            503,
            "service unavailable - pveproxy restarting",
        )
    assert isinstance(proxmox.cluster.resources.get(), list)  # the count is spent
    assert isinstance(proxmox.version.get(), dict)  # other endpoints were never affected


def test_latency_is_added(proxmox: Any, sim_faults: Faults) -> None:
    sim_faults.latency(0.3, path="/version")
    started = time.monotonic()
    proxmox.version.get()
    assert time.monotonic() - started >= 0.3


def test_dropped_connection(simulator: Any, proxmox: Any, sim_faults: Faults) -> None:
    sim_faults.drop_connection(path="/nodes/*/status", count=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        proxmox.nodes("pve1").status.get()
    assert proxmox.nodes("pve1").status.get()["cpuinfo"]["cpus"] == 16


def test_failing_tasks_with_pve_text(proxmox: Any, simulator: Any, sim_faults: Faults, new_vmid: Any) -> None:
    sim_faults.fail_tasks("storage 'local-lvm' is not online", task_type="vzcreate", node="pve1", count=1)
    vmid = new_vmid()
    upid = proxmox.nodes("pve1").lxc.post(vmid=vmid, ostemplate=ALPINE, rootfs="local-lvm:2")
    status = wait(proxmox, upid)
    assert status["exitstatus"] == f"unable to create CT {vmid} - storage 'local-lvm' is not online"
    assert (
        log_lines(proxmox, upid)[-1]
        == f"TASK ERROR: unable to create CT {vmid} - storage 'local-lvm' is not online"
    )
    assert vmid not in simulator.cluster.containers
    create_ct(proxmox, vmid)  # count=1: the next create works
    ok(proxmox, proxmox.nodes("pve1").lxc(vmid).delete())


def test_node_offline(proxmox: Any, sim_faults: Faults) -> None:
    sim_faults.node_offline("pve2")
    with pytest.raises(ResourceException) as caught:
        proxmox.nodes("pve2").status.get()
    assert (caught.value.status_code, caught.value.content) == (595, "No route to host")
    nodes = {row["node"]: row for row in proxmox.cluster.resources.get(type="node")}
    assert nodes["pve2"]["status"] == "offline" and nodes["pve1"]["status"] == "online"
    status = {row["name"]: row["online"] for row in proxmox.cluster.status.get() if row["type"] == "node"}
    assert status == {"pve1": 1, "pve2": 0, "pve3": 1}
    assert sim_faults.ssh_refused("pve2") and not sim_faults.ssh_refused("pve1")
    sim_faults.node_online("pve2")
    assert proxmox.nodes("pve2").status.get()["uptime"] > 0


def test_rates_are_reproducible_with_a_seed() -> None:
    def pattern(seed: int) -> list[bool]:
        faults = Faults(seed)
        faults.http_error(500, "boom", rate=0.5)
        return [faults.on_request("GET", "/version", None).error is not None for _ in range(40)]

    assert pattern(7) == pattern(7)
    assert pattern(7) != pattern(8)
    assert 5 < sum(pattern(7)) < 35


def test_flags_for_ssh_and_apps() -> None:
    faults = Faults(1)
    faults.refuse_ssh("pve3")
    faults.drop_ssh(node="pve1", count=1)
    faults.app_never_healthy(105)
    assert faults.ssh_refused("pve3") and not faults.ssh_refused("pve1")
    assert faults.ssh_should_drop("pve1") and not faults.ssh_should_drop("pve1")
    assert faults.app_unhealthy(105) and not faults.app_unhealthy(106)
    with pytest.raises(ValueError):
        faults.http_error(500, "x", rate=1.5)


# -- fault kinds added for the reliability campaign (tests/reliability/test_fault_matrix.py) -------------


def test_filled_storage_fails_writers_with_pve_words(
    proxmox: Any, simulator: Any, sim_faults: Faults, new_vmid: Any
) -> None:
    vmid = new_vmid()
    create_ct(proxmox, vmid)
    sim_faults.fill_storage("local", node="pve1")
    local = {s["storage"]: s for s in proxmox.nodes("pve1").storage.get()}["local"]
    assert local["avail"] == 0 and local["used"] == local["total"]
    assert {s["storage"]: s for s in proxmox.nodes("pve2").storage.get()}["local"]["avail"] > 0  # one node
    status = wait(proxmox, proxmox.nodes("pve1").vzdump.post(vmid=vmid, storage="local", compress="zstd"))
    assert "No space left on device" in "\n".join(log_lines(proxmox, status["upid"]))
    sim_faults.fill_storage("local-lvm", node="pve1")
    upid = proxmox.nodes("pve1").lxc.post(vmid=new_vmid(), ostemplate=ALPINE, rootfs="local-lvm:2")
    assert wait(proxmox, upid)["exitstatus"] != "OK"
    assert any("No space left on device" in line for line in log_lines(proxmox, upid))
    sim_faults.clear()
    ok(proxmox, proxmox.nodes("pve1").vzdump.post(vmid=vmid, storage="local", compress="zstd"))


def test_expired_tickets_answer_401_and_a_new_login_works(simulator: Any, sim_faults: Faults) -> None:
    def login() -> dict[str, str]:
        answer = requests.post(
            f"{simulator.url}/api2/json/access/ticket",
            data={"username": "root@pam", "password": simulator.root_password},
            verify=simulator.ca_path,
            timeout=10,
        )
        return {"PVEAuthCookie": answer.json()["data"]["ticket"]}

    def version(cookies: dict[str, str]) -> requests.Response:
        return requests.get(
            f"{simulator.url}/api2/json/version", cookies=cookies, verify=simulator.ca_path, timeout=10
        )

    old = login()
    time.sleep(1.01 - time.time() % 1)  # tickets carry whole seconds
    sim_faults.expire_tickets()
    refused = version(old)
    assert (refused.status_code, refused.reason) == (401, "ticket expired")
    assert version(login()).status_code == 200


def test_slow_task_outlives_its_caller_and_can_be_stopped(
    proxmox: Any, simulator: Any, sim_faults: Faults, new_vmid: Any
) -> None:
    vmid = new_vmid()
    create_ct(proxmox, vmid)
    rule = sim_faults.slow_tasks(5.0, task_type="vzstart", node="pve1", count=1)
    upid = proxmox.nodes("pve1").lxc(vmid).status.start.post()
    time.sleep(0.3)
    assert proxmox.nodes("pve1").tasks(upid).status.get()["status"] == "running" and rule.fired == 1
    proxmox.nodes("pve1").tasks(upid).delete()  # PVE's task stop
    assert wait(proxmox, upid, timeout=5)["exitstatus"] == "interrupted by signal"
    assert simulator.cluster.containers[vmid].status == "stopped"
    ok(proxmox, proxmox.nodes("pve1").lxc(vmid).status.start.post())  # count=1: the next one is quick


def test_node_goes_offline_on_a_request(proxmox: Any, sim_faults: Faults, new_vmid: Any) -> None:
    sim_faults.node_offline_on("pve2", path="/nodes/pve2/lxc", method="POST")
    assert isinstance(proxmox.nodes("pve2").lxc.get(), list)  # a read does not trigger it
    with pytest.raises(ResourceException) as caught:
        proxmox.nodes("pve2").lxc.post(vmid=new_vmid(), ostemplate=ALPINE)
    assert (caught.value.status_code, caught.value.content) == (595, "No route to host")
    with pytest.raises(ResourceException):
        proxmox.nodes("pve2").status.get()  # offline from then on
    assert sim_faults.ssh_refused("pve2")
    nodes = {row["node"]: row["status"] for row in proxmox.cluster.resources.get(type="node")}
    assert nodes["pve2"] == "offline"
    sim_faults.node_online("pve2")
    assert proxmox.nodes("pve2").status.get()["uptime"] > 0


def test_lock_held_by_another_task(proxmox: Any, simulator: Any, new_vmid: Any) -> None:
    vmid = new_vmid()
    create_ct(proxmox, vmid)
    upid = simulator.hold_lock(vmid, "backup", seconds=0.5)
    assert proxmox.nodes("pve1").lxc(vmid).config.get()["lock"] == "backup"
    refused = wait(proxmox, proxmox.nodes("pve1").lxc(vmid).status.start.post())
    assert refused["exitstatus"] == "CT is locked (backup)"
    with pytest.raises(ResourceException) as caught:
        proxmox.nodes("pve1").lxc(vmid).config.put(cores=2)
    assert (caught.value.status_code, caught.value.content) == (500, "CT is locked (backup)")
    assert ":vzdump:" in upid and simulator.wait_task(upid, timeout=5)["exitstatus"] == "OK"
    assert "lock" not in proxmox.nodes("pve1").lxc(vmid).config.get()
    ok(proxmox, proxmox.nodes("pve1").lxc(vmid).status.start.post())
    with pytest.raises(KeyError):
        simulator.hold_lock(999_999)


def test_failed_destroy_releases_its_lock(
    proxmox: Any, simulator: Any, sim_faults: Faults, new_vmid: Any
) -> None:
    vmid = new_vmid()
    create_ct(proxmox, vmid)
    sim_faults.fail_tasks(
        "lvremove 'pve/vm-disk' error: Logical volume in use.", task_type="vzdestroy", count=1
    )
    status = wait(proxmox, proxmox.nodes("pve1").lxc(vmid).delete())
    assert status["exitstatus"] != "OK" and vmid in simulator.cluster.containers
    assert "lock" not in proxmox.nodes("pve1").lxc(vmid).config.get()
    ok(proxmox, proxmox.nodes("pve1").lxc(vmid).delete())
    assert vmid not in simulator.cluster.containers


def test_ssh_drop_can_aim_at_one_command() -> None:
    faults = Faults(1)
    faults.drop_ssh(node="pve1", command="pct exec * -- apt-get update", count=1)
    assert not faults.ssh_should_drop("pve1", "pct exec 101 -- mkdir -p /opt")
    assert not faults.ssh_should_drop("pve2", "pct exec 101 -- apt-get update")
    assert faults.ssh_should_drop("pve1", "pct exec 101 -- apt-get update")
    assert not faults.ssh_should_drop("pve1", "pct exec 101 -- apt-get update")  # count=1 spent
