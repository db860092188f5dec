"""``feed.collect`` through the real SDK against the simulator (HTTPS + SSH, no mock): states from Proxmox,
usage only for what runs, the catalog's look, a backup's time."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dashboards.rack.feed import collect
from proximity.jobs import RetryPolicy
from proximity.pve import ApiRetry, PollPolicy

pytestmark = pytest.mark.timeout(180)

FAST = {
    "retry": RetryPolicy(attempts=3, base_s=0.01, max_s=0.05),
    "api_retry": ApiRetry(attempts=4, base_s=0.01, max_s=0.05),
    "poll": PollPolicy(first_s=0.01, factor=1.5, max_interval_s=0.2),
}


@pytest.fixture
def px(simulator: Any, tmp_path: Path) -> Iterator[Any]:
    from proximity import Proximity

    client = Proximity(tmp_path / "state", front_end="test", **FAST)
    client.hosts.add("lab", **simulator.host_options())
    try:
        yield client
    finally:
        client.close()


def create_ct(px: Any, node: str, hostname: str) -> int:
    pve = px.pve("lab")
    vmid = pve.next_vmid()
    template = pve.find_template(node, "local", "debian")
    assert template
    pve.create_ct(node, vmid, ostemplate=template, hostname=hostname, rootfs="local-lvm:4",
                  net0="name=eth0,bridge=vmbr0,ip=dhcp", memory=512)  # fmt: skip
    return vmid


def test_collect_reads_states_and_usage_from_proxmox(px: Any) -> None:
    pve = px.pve("lab")
    node = min(n.name for n in px.hosts.nodes("lab"))
    up = create_ct(px, node, "rack-up")
    down = create_ct(px, node, "rack-down")
    pve.start(node, up)
    px.apps.adopt(up, name="rack-up", catalog_id="gotify")
    px.apps.adopt(down, name="rack-down")
    px.backups.create("rack-down")

    units, kinds = collect(px, deploying={"rack-new": "jellyfin"})
    by_id = {u["id"]: u for u in units}
    assert set(by_id) == {"rack-up", "rack-down", "rack-new"}

    running = by_id["rack-up"]
    assert running["status"] == "running" and running["vmid"] == up and running["node"] == node
    assert running["ip"] and re.fullmatch(
        r"127\.(8[1-9]|9\d|1\d\d|2[0-4]\d|25[0-4])\.\d+\.\d+", running["ip"]
    )
    # the figures are Proxmox's: compare with a fresh cluster/resources row of the same container
    row = next(r for r in pve.containers(pve.resources("vm")) if int(r["vmid"]) == up)
    assert running["mem"] is not None and abs(running["mem"] - 100 * row["mem"] / row["maxmem"]) <= 5
    assert running["cpu"] is not None and 0 <= running["cpu"] <= 100
    assert running["disk"] is not None and 0 <= running["disk"] <= 100

    stopped = by_id["rack-down"]
    assert stopped["status"] == "stopped"
    assert (stopped["cpu"], stopped["mem"], stopped["disk"]) == (None, None, None)
    assert stopped["last_backup"] is not None and stopped["last_backup"].endswith(" UTC")
    assert running["last_backup"] is None

    assert by_id["rack-new"]["status"] == "deploying" and by_id["rack-new"]["host"] is None
    assert kinds["gotify"]["paths"] == ["/opt/gotify/data"]
    assert kinds["custom"]["icon"] is None  # adopted without a catalog entry: the neutral tile
    assert set(kinds) == {"gotify", "custom", "jellyfin"}
