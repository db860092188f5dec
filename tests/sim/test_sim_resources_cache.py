"""``GET /cluster/resources`` keeps container rows encoded between requests (``proximity.sim.guest_rows``):
after every kind of change its answer must equal one built from scratch."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

from proximity.sim.auth import Auth, Identity
from proximity.sim.context import Call
from proximity.sim.endpoints.cluster import resources
from proximity.sim.faults import Faults
from proximity.sim.guest_rows import GuestRows
from proximity.sim.propstr import GIB, MIB
from proximity.sim.state import Cluster, SimContainer, Volume, build_cluster

from .helpers import create_ct, ok

# A running container's load moves with time; the cache refreshes it at most once a second.
LOAD_FIGURES = {"cpu", "mem", "netin", "netout", "diskread", "diskwrite", "uptime", "disk"}


def served(proxmox: Any) -> list[dict[str, Any]]:
    return list(proxmox.cluster.resources.get())


def from_scratch(simulator: Any) -> list[dict[str, Any]]:
    """The same handler with an empty cache, as root (the token the ``proxmox`` fixture uses)."""
    services = dataclasses.replace(simulator._server.services, guest_rows=GuestRows())
    answer = resources(Call(services, Identity("root@pam", "proximity"), {}))
    return list(json.loads(answer.payload))


def comparable(rows: list[dict[str, Any]], vmids: set[int], running: set[int]) -> list[dict[str, Any]]:
    """This test's containers and the pools (other tests' containers may change meanwhile); the load
    figures of running containers are left out."""
    kept = []
    for row in rows:
        if row["type"] == "lxc" and row["vmid"] in vmids:
            kept.append({k: v for k, v in row.items() if row["vmid"] not in running or k not in LOAD_FIGURES})
        elif row["type"] == "pool":
            kept.append(row)
    return kept


def test_cached_rows_follow_every_change(proxmox: Any, simulator: Any, new_vmid: Any) -> None:
    a, b = new_vmid(), new_vmid()
    vmids = {a, b}
    create_ct(proxmox, a, hostname="first", memory=512)
    create_ct(proxmox, b, node="pve2", hostname="second")

    def same() -> None:
        running = {vmid for vmid in vmids if simulator.cluster.containers[vmid].status == "running"}
        cached, fresh = served(proxmox), from_scratch(simulator)
        assert comparable(cached, vmids, running) == comparable(fresh, vmids, running)

    same()  # the cache is warm from here on
    lxc_a, lxc_b = proxmox.nodes("pve1").lxc(a), proxmox.nodes("pve2").lxc(b)
    for change in ({"hostname": "renamed"}, {"tags": "media;prod"}, {"cores": 2}, {"memory": 1024}):
        lxc_a.config.put(**change)  # one at a time, so each fact is proven to be watched
        same()
    ok(proxmox, lxc_a.resize.put(disk="rootfs", size="+1G"))
    same()
    ok(proxmox, lxc_b.status.start.post())
    same()
    proxmox.pools.post(poolid=f"cache{a}")
    proxmox.pools(f"cache{a}").put(vms=str(a))
    same()
    simulator.faults.node_offline("pve2")
    try:
        rows = {row["id"]: row for row in served(proxmox)}
        assert rows[f"lxc/{b}"]["status"] == "unknown"
        same()
    finally:
        simulator.faults.node_online("pve2")
    same()
    ok(proxmox, lxc_b.status.stop.post())
    same()
    lxc_a.template.post()  # synchronous in PVE: no task
    same()
    proxmox.pools(f"cache{a}").put(vms=str(a), delete=1)
    proxmox.pools(f"cache{a}").delete()
    ok(proxmox, lxc_b.delete())
    vmids.discard(b)
    same()
    assert b not in {row.get("vmid") for row in served(proxmox)}
    ok(proxmox, lxc_a.delete())


def test_answer_is_the_json_the_rows_encode_to(simulator: Any, proxmox: Any) -> None:
    """The encoded rows are spliced into the envelope: the body must still be one valid JSON document."""
    answer = proxmox._store["session"].request("GET", f"{proxmox._store['base_url']}/cluster/resources")
    document = json.loads(answer.content)
    assert list(document) == ["data"] and isinstance(document["data"], list)
    assert answer.headers["Content-Length"] == str(len(answer.content))


def _cluster_with_one_ct(status: str) -> tuple[Cluster, SimContainer, float]:
    cluster = build_cluster(Faults(), 1)
    now = time.time()
    volid = "local-lvm:vm-100-disk-0"
    cluster.add_volume("pve1", Volume(volid, "rootdir", 2 * GIB, int(now), "raw", vmid=100, used=GIB))
    config = {"hostname": "web", "memory": 512, "cores": 1, "rootfs": f"{volid},size=2G"}
    started = now - 100 if status == "running" else None
    ct = SimContainer(100, "pve1", config, status=status, started_at=started)
    cluster.containers[100] = ct
    return cluster, ct, now


def test_a_running_containers_figures_are_refreshed_after_the_ttl() -> None:
    cluster, ct, now = _cluster_with_one_ct("running")
    rows = GuestRows(ttl=1.0)
    first = rows.figures(cluster, ct, now)
    assert rows.figures(cluster, ct, now + 0.5) is first  # within the TTL: the same figures
    later = rows.figures(cluster, ct, now + 1.5)
    assert later is not first and later.uptime == first.uptime + 1
    ct.config["memory"] = 1024  # a fact changed: new figures at once, TTL or not
    assert rows.figures(cluster, ct, now + 1.6).maxmem == 1024 * MIB


def test_a_stopped_containers_figures_stay_until_a_fact_changes() -> None:
    cluster, ct, now = _cluster_with_one_ct("stopped")
    rows = GuestRows(ttl=1.0)
    first = rows.figures(cluster, ct, now)
    assert rows.figures(cluster, ct, now + 3600) is first
    cluster.volume("pve1", "local-lvm:vm-100-disk-0").used = GIB + MIB  # type: ignore[union-attr]
    assert rows.figures(cluster, ct, now + 3600).disk == GIB + MIB


def test_allowed_children_agrees_with_one_check_per_path(simulator: Any) -> None:
    """The shared answer for children without their own ACL must be what a check per path says."""
    auth = Auth()
    for user in ("wide@pve", "narrow@pve", "shallow@pve", "none@pve"):
        auth.add_user(user)
    auth.grant("/", "wide@pve", "PVEAuditor")
    auth.grant("/vms/102", "wide@pve", "NoAccess")  # a more specific ACL takes it away
    auth.grant("/vms/101", "narrow@pve", "PVEVMUser")
    auth.grant("/vms", "shallow@pve", "PVEAuditor", propagate=False)  # /vms itself, not its children
    services = dataclasses.replace(simulator._server.services, auth=auth)
    children = [100, 101, 102, 103]
    for user in ("wide@pve", "narrow@pve", "shallow@pve", "none@pve"):
        call = Call(services, Identity(user), {})
        one_by_one = [vmid for vmid in children if call.allowed(f"/vms/{vmid}", "VM.Audit")]
        assert call.allowed_children("/vms", children, "VM.Audit") == one_by_one, user
    calls = {user: Call(services, Identity(user), {}) for user in ("wide@pve", "narrow@pve")}
    assert calls["wide@pve"].allowed_children("/vms", children, "VM.Audit") == [100, 101, 103]
    assert calls["narrow@pve"].allowed_children("/vms", children, "VM.Audit") == [101]
