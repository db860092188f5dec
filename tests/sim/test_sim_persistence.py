"""The optional state file: a demo survives a restart (containers, volumes, credentials, tasks)."""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Callable
from pathlib import Path

from proxmoxer import ProxmoxAPI

from proximity.sim import Simulator

from .helpers import create_ct, ok


def client(sim: Simulator) -> ProxmoxAPI:
    user, name = sim.token_id.split("!")
    return ProxmoxAPI(
        sim.host,
        port=sim.port,
        user=user,
        token_name=name,
        token_value=sim.token_secret,
        verify_ssl=sim.ca_path,
    )


def test_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "sim-state.json"
    with Simulator(nodes=2, time_scale=0.01, state_file=state, ssh=False) as first:
        px = client(first)
        create_ct(px, 100, hostname="kept", memory=1024)
        ok(px, px.nodes("pve1").lxc(100).status.start.post())
        ok(px, px.nodes("pve1").lxc(100).snapshot.post(snapname="s1"))
        px.pools.post(poolid="media", comment="films")
        px.pools.put(poolid="media", vms="100")
        credentials = (first.root_password, first.token_secret, first.auditor_token_secret)
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    saved = json.loads(state.read_text())
    assert [c["vmid"] for c in saved["containers"]] == [100]

    with Simulator(nodes=5, time_scale=0.01, state_file=state, ssh=False) as second:
        assert (second.root_password, second.token_secret, second.auditor_token_secret) == credentials
        assert second.nodes == 2  # the saved cluster wins over the constructor's node count
        px = client(second)
        config = px.nodes("pve1").lxc(100).config.get()
        assert config["hostname"] == "kept" and config["memory"] == 1024
        assert px.nodes("pve1").lxc(100).status.current.get()["status"] == "running"
        assert [s["name"] for s in px.nodes("pve1").lxc(100).snapshot.get()] == ["s1", "current"]
        assert px.pools("media").get()["members"][0]["vmid"] == 100
        assert any(t["type"] == "vzcreate" for t in px.nodes("pve1").tasks.get())
        ok(px, px.nodes("pve1").lxc(100).status.stop.post())

    with Simulator(time_scale=0.01, state_file=state, ssh=False) as third:
        assert client(third).nodes("pve1").lxc(100).status.current.get()["status"] == "stopped"


def test_changes_are_written_without_a_stop(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with Simulator(nodes=1, time_scale=0.01, state_file=state, ssh=False) as sim:
        px = client(sim)
        px.pools.post(poolid="early")
        deadline = time.monotonic() + 5
        while "early" not in state.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "early" in state.read_text()  # debounced write, before stop


def test_files_written_inside_a_container_reach_the_state_file_before_a_stop(tmp_path: Path) -> None:
    """``pct exec <vmid> -- tee`` (what SSH runs) changes the CT's disk; the state file follows promptly."""
    state = tmp_path / "state.json"
    with Simulator(nodes=1, time_scale=0.01, state_file=state, ssh=False) as sim:
        px = client(sim)
        create_ct(px, 100)
        ok(px, px.nodes("pve1").lxc(100).status.start.post())
        # The start's own (debounced) write has happened once the file shows the CT running; the writer
        # clears its dirty flag before it snapshots, so from here only the exec below can cause a write.
        _wait_for(lambda: '"status":"running"' in state.read_text())
        inside = sim.cluster.containers[100].inside
        result = inside.exec(["tee", "/root/written-over-ssh.txt"], b"kept across restarts\n")
        assert result.rc == 0
        _wait_for(lambda: "written-over-ssh.txt" in state.read_text())  # debounced write, before stop


def _wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)
