"""The fault matrix's cells: which fault kinds, which operations, and what each cell must show.

A cell expects one of:
- ``RETRIED``: the fault is transient (a ``count=`` rule, a lock released soon, a ticket that can be
  renewed) and the operation completes through Proximity's retries;
- ``ROLLED_BACK``: the fault is permanent for the operation; it fails with ``error`` (a typed Proximity
  error) whose text carries ``cause`` (PVE's or the transport's own words), with everything undone;
- ``NOT_APPLICABLE``: the fault cannot touch that operation (``reason`` says why); not counted as passed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from proximity.errors import (
    CommandFailed,
    HealthCheckFailed,
    HostUnreachable,
    ProximityError,
    TaskFailed,
    Timeout,
)

RETRIED = "retried"
ROLLED_BACK = "rolled back"
NOT_APPLICABLE = "n/a"

OPERATIONS = ("deploy", "start/stop", "clone", "backup", "restore", "update", "delete")
KINDS = (
    "HTTP 5xx",
    "API timeout",
    "dropped connection",
    "401 expired ticket",
    "CT is locked",
    "task fails (PVE error)",
    "out of space",
    "node offline mid-operation",
    "SSH refused",
    "SSH drops mid-command",
    "app never healthy",
    "slow task outlives timeout",
)

# PVE's words for a task failing in each operation's main task (task type, message)
TASK_ERRORS = {
    "deploy": ("vzcreate", "storage 'local-lvm' is not online"),
    "start/stop": ("vzstop", "command 'lxc-stop -n {vmid} --kill' failed: exit code 1"),
    "clone": ("vzclone", "clone failed: command 'lvcreate -n vm-999-disk-0' failed: exit code 5"),
    "backup": ("vzdump", "ERROR: Backup of VM {vmid} failed - command 'tar' failed: exit code 2"),
    "restore": ("vzrestore", "unable to restore CT {vmid} - command 'tar xpf' failed: exit code 2"),
    "update": ("vzsnapshot", "snapshot feature is not available"),
    "delete": ("vzdestroy", "lvremove 'pve/vm-{vmid}-disk-0' error: Logical volume in use."),
}

NOT_OVER_SSH = "uses only the API: no SSH command runs"
NO_HEALTH_STEP = "the operation has no health step: it never waits for the app's answers"


@dataclass(frozen=True)
class Cell:
    kind: str
    op: str
    expect: str
    error: type[ProximityError] = ProximityError
    cause: str = ""  # a regular expression the error's text must match
    reason: str = ""  # why a cell is not applicable

    @property
    def id(self) -> str:
        return f"{self.kind} x {self.op}"


def _retried(kind: str, op: str) -> Cell:
    return Cell(kind, op, RETRIED)


def _failed(kind: str, op: str, error: type[ProximityError], cause: str) -> Cell:
    return Cell(kind, op, ROLLED_BACK, error=error, cause=cause)


def _na(kind: str, op: str, reason: str) -> Cell:
    return Cell(kind, op, NOT_APPLICABLE, reason=reason)


def _cells() -> list[Cell]:
    cells: list[Cell] = []
    for op in OPERATIONS:
        cells.append(_retried("HTTP 5xx", op))
        cells.append(_retried("dropped connection", op))
        cells.append(_retried("401 expired ticket", op))
        _, message = TASK_ERRORS[op]
        cells.append(_failed("task fails (PVE error)", op, TaskFailed, _literal(message.split("{")[0])))
        cells.append(_failed("node offline mid-operation", op, HostUnreachable, "No route to host"))
        cells.append(_failed("slow task outlives timeout", op, Timeout, "still running after"))
        cells.append(_retried("API timeout", op))
        if op == "deploy":
            cells.append(_na("CT is locked", op, "no other task can lock a CT before the deploy creates it"))
        else:
            cells.append(_retried("CT is locked", op))
        if op in ("deploy", "update"):
            cells.append(_failed("SSH refused", op, HostUnreachable, "SSH connection failed"))
            cells.append(_failed("SSH drops mid-command", op, HostUnreachable, "SSH connection lost"))
        else:
            cells.append(_na("SSH refused", op, NOT_OVER_SSH))
            cells.append(_na("SSH drops mid-command", op, NOT_OVER_SSH))
        if op in ("deploy", "clone", "update"):
            cells.append(_failed("app never healthy", op, HealthCheckFailed, "health"))
        else:
            cells.append(_na("app never healthy", op, NO_HEALTH_STEP))
        if op == "start/stop":
            cells.append(_na("out of space", op, "start and stop write nothing to a storage"))
        elif op == "update":  # a compose update writes inside the CT: Docker's own words for a full disk
            cells.append(_failed("out of space", op, CommandFailed, "(?i)no space left on device"))
        else:
            cells.append(_failed("out of space", op, TaskFailed, "(?i)no space left"))
    order = {kind: index for index, kind in enumerate(KINDS)}
    return sorted(cells, key=lambda c: (order[c.kind], OPERATIONS.index(c.op)))


def _literal(text: str) -> str:
    return re.escape(text.strip())


CELLS = _cells()
# the catalog app every cell deploys: compose install (so deploy and update run over SSH), health-checked
APP = "gotify"
