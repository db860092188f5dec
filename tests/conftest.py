"""Shared fixtures: one simulated PVE cluster for the whole session, and clients for it.

``simulator`` is session-scoped: tests that change the cluster use their own VMIDs (``free_vmid``) and
clear the faults they inject (``sim_faults``). Tests that need a pristine cluster start their own
``Simulator``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"


@pytest.fixture(scope="session")
def simulator() -> Iterator[Any]:
    from proximity.sim import Simulator

    with Simulator(nodes=3, time_scale=0.01, seed=1234) as sim:
        yield sim


@pytest.fixture(scope="session")
def proxmox(simulator: Any) -> Any:
    """An unmodified proxmoxer client on the simulator (API token, the simulator's certificate pinned)."""
    from proxmoxer import ProxmoxAPI

    user, token_name = simulator.token_id.split("!")
    return ProxmoxAPI(
        simulator.host,
        port=simulator.port,
        user=user,
        token_name=token_name,
        token_value=simulator.token_secret,
        verify_ssl=simulator.ca_path,
        timeout=30,
    )


@pytest.fixture(scope="session")
def new_vmid(simulator: Any) -> Callable[[], int]:
    """Call it for a VMID no container uses and no other test got (the session cluster is shared)."""
    handed_out: set[int] = set()

    def allocate() -> int:
        with simulator.cluster.lock:
            vmid = 100
            while vmid in simulator.cluster.containers or vmid in handed_out:
                vmid += 1
            handed_out.add(vmid)
            return vmid

    return allocate


@pytest.fixture
def sim_faults(simulator: Any) -> Iterator[Any]:
    """The session simulator's faults, cleared after the test."""
    simulator.faults.clear()
    yield simulator.faults
    simulator.faults.clear()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` (reference data); tests that need it skip where it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present")
    return SHARED
