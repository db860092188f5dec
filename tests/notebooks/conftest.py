"""A guard for the notebook tests: simulators hand out container addresses by VMID (127.81.0.<vmid>), so
a simulator in another process (a second test run, a dashboard demo still serving) that runs apps on the
same addresses and ports would answer in place of the notebooks' apps. Such a run is skipped with the
address named, rather than passing or failing against someone else's app. Where the simulator claims an
address range of its own per process (``proximity.sim.address_slot``), there is nothing to guard."""

from __future__ import annotations

import errno
import importlib.util
import socket

import pytest

# the container addresses and app ports the notebooks and widget tests use
ADDRESSES = [f"127.81.0.{vmid}" for vmid in range(100, 106)]
PORTS = [80, 443, 3000, 8080, 9090, 61208]


def taken_app_address() -> str | None:
    if importlib.util.find_spec("proximity.sim.address_slot") is not None:
        return None  # each simulator claims its own 127.x range: no other process can answer for ours
    for address in ADDRESSES:
        for port in PORTS:
            with socket.socket() as probe:
                # as the simulator's servers do: connections in TIME_WAIT do not count, a listener does
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind((address, port))
                except OSError as error:
                    if error.errno == errno.EADDRINUSE:
                        return f"{address}:{port}"
    return None


@pytest.fixture
def free_app_addresses() -> None:
    taken = taken_app_address()
    if taken:
        pytest.skip(
            f"{taken} is already served by another process (another simulator); run tests/notebooks alone"
        )
