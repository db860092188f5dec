"""Fixtures for the reliability campaign: one simulated cluster per module, one SDK state directory per
test, and the fault matrix's outcome table (printed at the end of the run; see test_fault_matrix.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sdk.conftest import FAST, add_lab

SETTLE_S = 10.0  # the longest a test waits for simulator tasks it left running (a slow task) to end


@pytest.fixture(scope="module")
def fault_sim() -> Iterator[Any]:
    """One simulated 3-node cluster for a whole module; each test clears its faults and removes what it
    created (``px_factory``), so tests stay independent."""
    from proximity.sim import Simulator

    with Simulator(nodes=3, time_scale=0.01, seed=8) as sim:
        yield sim


def _settle(sim: Any) -> None:
    deadline = time.monotonic() + SETTLE_S
    while sim.tasks.running() and time.monotonic() < deadline:
        time.sleep(0.02)


def _remove_created(px: Any, sim: Any) -> None:
    """Destroy the containers this client recorded or tagged and the archives its jobs wrote, so the next
    test starts from a clean node."""
    job_tags = {f"px-{job.id}" for job in px.store.list_jobs(limit=1_000_000)}
    recorded = {app.vmid for app in px.store.list_apps()}
    with sim.cluster.lock:
        mine = [
            (ct.node, vmid)
            for vmid, ct in sim.cluster.containers.items()
            if vmid in recorded or job_tags & set(str(ct.config.get("tags", "")).split(";"))
        ]
        archives = [
            (node, volume.storage, volume.volid)
            for node, by_volid in sim.cluster.volumes.items()
            for volume in by_volid.values()
            if volume.content == "backup" and any(tag in volume.notes for tag in job_tags)
        ]
    pve = px.pve("lab")
    for node, vmid in mine:
        pve.delete_ct_if_exists(node, vmid)
    for node, storage, volid in archives:
        pve.delete_volume(node, storage, volid)


class Clients:
    """Makes SDK clients on the module's cluster, each with its own state directory, and cleans up after
    them: ``clients("token" | "password")`` adds the cluster as host "lab" with the API token, or with
    root@pam's password (the SDK then logs in for tickets); ``clients.reopen(px)`` is the same state
    directory in a new client (a new CLI run: no connection kept from before, FAST policies)."""

    def __init__(self, sim: Any, root: Path):
        self.sim = sim
        self.root = root
        self.open: list[Any] = []
        self._made = 0

    def __call__(self, auth: str = "token", *, default_retries: bool = False) -> Any:
        """``default_retries``: Proximity's own retry policies instead of the tests' FAST ones (which give
        up within a few tenths of a second), for faults that last longer than that."""
        from proximity import Proximity

        self._made += 1
        policies = {"poll": FAST["poll"]} if default_retries else FAST
        px = Proximity(self.root / f"state{self._made}", front_end="test", **policies)
        self.open.append(px)
        if auth == "token":
            add_lab(px, self.sim)
        else:
            px.hosts.add(
                "lab",
                self.sim.url,
                user="root@pam",
                password=self.sim.root_password,
                fingerprint=self.sim.fingerprint,
                ssh_port=self.sim.ssh_port,
            )
        px.update_settings(health_timeout_s=20, task_timeout_s=60)
        return px

    def reopen(self, px: Any) -> Any:
        from proximity import Proximity

        home = px.home
        self.open.remove(px)
        px.close()
        again = Proximity(home, front_end="test", **FAST)
        self.open.append(again)
        return again

    def close_all(self) -> None:
        self.sim.faults.clear()
        _settle(self.sim)
        for px in self.open:
            try:
                _remove_created(px, self.sim)
            finally:
                px.close()


@pytest.fixture
def px_factory(fault_sim: Any, tmp_path: Path) -> Iterator[Clients]:
    clients = Clients(fault_sim, tmp_path)
    yield clients
    clients.close_all()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The fault matrix as a Markdown table (docs/reliability.md copies it), when its cells ran."""
    from tests.reliability.matrix_table import MATRIX_OUTCOMES, render

    if MATRIX_OUTCOMES:
        terminalreporter.write_sep("=", "fault matrix")
        terminalreporter.write_line(render(MATRIX_OUTCOMES))
