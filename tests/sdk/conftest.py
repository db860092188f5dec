"""Fixtures for end-to-end SDK tests: a simulated PVE cluster (over real HTTPS + SSH) and a client with
that cluster added as host "lab". No mock of Proximity's own code anywhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from proximity.jobs import RetryPolicy
from proximity.pve import ApiRetry, PollPolicy

FAST = {
    "retry": RetryPolicy(attempts=3, base_s=0.01, max_s=0.05),
    "api_retry": ApiRetry(attempts=4, base_s=0.01, max_s=0.05),
    "poll": PollPolicy(first_s=0.01, factor=1.5, max_interval_s=0.2),
}


def _simulator() -> Iterator[Any]:
    from proximity.sim import Simulator

    with Simulator(nodes=3, time_scale=0.01) as running:
        yield running


@pytest.fixture
def sim() -> Iterator[Any]:
    """A fresh simulated cluster for one test."""
    yield from _simulator()


@pytest.fixture(scope="module")
def module_sim() -> Iterator[Any]:
    """One simulated cluster for a whole test module (tests that do not need a pristine one); faults are
    cleared after each test by ``module_faults_cleared``."""
    yield from _simulator()


@pytest.fixture
def module_faults_cleared(module_sim: Any) -> Iterator[Any]:
    yield module_sim
    module_sim.faults.clear()


def add_lab(px: Any, sim: Any) -> Any:
    return px.hosts.add("lab", **sim.host_options())


@pytest.fixture
def px(sim: Any, tmp_path: Path) -> Iterator[Any]:
    from proximity import Proximity

    client = Proximity(tmp_path / "state", front_end="test", **FAST)
    add_lab(client, sim)
    client.update_settings(health_timeout_s=20, task_timeout_s=60)
    try:
        yield client
    finally:
        client.close()
