"""Each running simulator on a machine gets its own loopback range for its containers' addresses.

Simulated apps listen on their real ports (80, 8096…) at their CT's address, and addresses derive from
VMIDs, so two simulators (two test processes, a demo beside the tests) would fight over ``127.81.1.1:80``.
A simulator therefore holds an exclusive ``flock`` on one slot file while it runs; slot ``n`` owns
``127.(81+n).0.0/16``. The lock dies with the process, so a killed simulator never strands its slot.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path

FIRST_OCTET = 81
SLOTS = 254 - FIRST_OCTET  # 127.81 .. 127.254


class AddressSlot:
    """A claimed slot; ``net`` is its first two octets (``"127.81"``). ``release()`` frees it."""

    def __init__(self, index: int, handle: int) -> None:
        self.index = index
        self.net = f"127.{FIRST_OCTET + index}"
        self._handle: int | None = handle

    def release(self) -> None:
        if self._handle is not None:
            os.close(self._handle)  # closing the descriptor drops the flock
            self._handle = None


def claim_slot(directory: Path | None = None) -> AddressSlot:
    """The lowest free slot on this machine (``RuntimeError`` when all are taken)."""
    folder = directory or Path(tempfile.gettempdir()) / f"proximity-sim-slots-{os.getuid()}"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for index in range(SLOTS):
        handle = os.open(folder / f"{index}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            continue
        return AddressSlot(index, handle)
    raise RuntimeError(f"all {SLOTS} simulator address ranges on this machine are in use")
