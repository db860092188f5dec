"""Status and RRD figures follow the simulated load: more running CTs, more CPU and memory; no noise."""

from __future__ import annotations

import time
from typing import Any

import pytest

from proximity.sim import Simulator
from proximity.sim.metrics import Metrics, node_figures

from .helpers import create_ct, ok


def test_node_load_follows_running_containers() -> None:
    with Simulator(nodes=1, time_scale=0.01, ssh=False) as sim:
        from proxmoxer import ProxmoxAPI

        user, name = sim.token_id.split("!")
        px = ProxmoxAPI(
            sim.host,
            port=sim.port,
            user=user,
            token_name=name,
            token_value=sim.token_secret,
            verify_ssl=sim.ca_path,
        )
        idle = px.nodes("pve1").status.get()
        for vmid in (200, 201, 202):
            create_ct(px, vmid, memory=2048, cores=2)
            ok(px, px.nodes("pve1").lxc(vmid).status.start.post())
        busy = px.nodes("pve1").status.get()
        in_cts = sum(px.nodes("pve1").lxc(v).status.current.get()["mem"] for v in (200, 201, 202))
        assert in_cts > 0
        # the node's own rhythm is an hour-long cycle, so within a second the CTs explain the growth
        assert abs(busy["memory"]["used"] - idle["memory"]["used"] - in_cts) < 16 * 1024**2
        node = sim.cluster.nodes["pve1"]
        now = time.time()
        with sim.cluster.lock:
            first, second = node_figures(sim.cluster, node, now), node_figures(sim.cluster, node, now)
        # same moment, same figures (the insides keep their own clock, hence approx): no random noise
        assert second.cpu == pytest.approx(first.cpu, rel=1e-4) and second.mem == pytest.approx(
            first.mem, rel=1e-4
        )
        resources = {r["id"]: r for r in px.cluster.resources.get()}
        assert resources["lxc/200"]["status"] == "running" and resources["lxc/200"]["mem"] > 0
        assert resources["node/pve1"]["maxmem"] == node.memory
        rows = px.nodes("pve1").rrddata.get(timeframe="hour")
        assert len(rows) == 70 and rows[-1]["cpu"] >= 0 and rows[-1]["memtotal"] == node.memory
        ct_rows = px.nodes("pve1").lxc(200).rrddata.get(timeframe="hour", cf="MAX")
        assert ct_rows[-1]["maxmem"] == 2048 * 1024**2
        assert all(set(row) == {"time"} for row in ct_rows[:-2])  # no history before it ran: keys left out


def test_rrd_averages_minute_samples(simulator: Any) -> None:
    metrics = Metrics(simulator.cluster)
    base = (int(time.time()) // 3600) * 3600
    metrics.sample(base + 60)
    metrics.sample(base + 90)
    rows = metrics.rrddata("node/pve1", "day", now=base + 120)
    filled = [row for row in rows if len(row) > 1]
    assert len(filled) == 1 and 0 <= filled[0]["cpu"] <= 1
    assert rows[-1]["time"] - rows[-2]["time"] == 1800
