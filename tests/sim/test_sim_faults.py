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
