"""Waiting for PVE tasks (UPIDs) with an adaptive poll interval.

The first poll comes after a short wait and the next ones quickly (a short task is noticed within ~50 ms), then the interval grows toward
``max_interval_s`` so a long task costs few calls. proxmoxer's helper sleeps a full interval every time.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from proximity.errors import ProximityError, TaskFailed, Timeout, ValidationError
from proximity.pve.api import PveApi
from proximity.pve.errors import LOCKED

UPID = re.compile(
    r"^UPID:(?P<node>[^:]+):(?P<pid>[0-9A-Fa-f]+):(?P<pstart>[0-9A-Fa-f]+):(?P<start>[0-9A-Fa-f]+):"
    r"(?P<type>[^:]*):(?P<id>[^:]*):(?P<user>[^:]+):"
)


def upid_node(upid: str) -> str:
    match = UPID.match(upid)
    if not match:
        raise ValidationError(f"not a task id: {upid!r}")
    return match.group("node")


@dataclass(frozen=True)
class PollPolicy:
    first_s: float = 0.05
    factor: float = 1.5
    max_interval_s: float = 1.5

    def intervals(self):  # type: ignore[no-untyped-def]
        interval = self.first_s
        while True:
            yield interval
            interval = min(interval * self.factor, self.max_interval_s)


def task_succeeded(exitstatus: str) -> bool:
    return exitstatus == "OK" or exitstatus.startswith("WARNINGS")


def task_log(api: PveApi, upid: str, limit: int = 500) -> list[str]:
    node = upid_node(upid)
    lines = api.get(f"nodes/{node}/tasks/{upid}/log", start=0, limit=limit) or []
    return [str(line.get("t", "")) for line in sorted(lines, key=lambda line: line.get("n", 0))]


def wait_task(
    api: PveApi,
    upid: str,
    *,
    timeout_s: float = 900.0,
    poll: PollPolicy | None = None,
    what: str = "task",
    want_log: bool = False,
) -> list[str]:
    """Block until the task stops. Returns its log when ``want_log`` (one more call), else []; raises
    TaskFailed (with the log tail, always fetched) if it failed."""
    node = upid_node(upid)
    deadline = time.monotonic() + timeout_s
    for interval in (poll or PollPolicy()).intervals():
        # sleep first: a task PVE has just accepted is practically never finished yet, so an immediate
        # status call would only cost a round trip
        time.sleep(max(0.0, min(interval, deadline - time.monotonic())))
        status = api.get(f"nodes/{node}/tasks/{upid}/status")
        if status.get("status") == "stopped":
            exitstatus = str(status.get("exitstatus", ""))
            if task_succeeded(exitstatus):
                return task_log(api, upid) if want_log else []
            log = task_log(api, upid)
            error = TaskFailed(
                f"{what} failed: {exitstatus}", upid=upid, exitstatus=exitstatus, log_tail=log[-20:]
            )
            # a lock held by another task is worth waiting for; vzdump says so in its log ("ERROR: Backup
            # of VM 101 failed - CT is locked (backup)") and ends with the exit status "job errors"
            error.retryable = any(LOCKED.search(line) for line in [exitstatus, *log[-20:]])
            raise error
        if time.monotonic() >= deadline:
            try:
                outcome = stop_task(api, upid, poll=poll)
            except ProximityError as error:
                outcome = f"could not stop it ({error})"
            raise Timeout(f"{what} still running after {timeout_s:.0f}s; {outcome}", details={"task": upid})
    raise AssertionError("unreachable")


def stop_task(api: PveApi, upid: str, *, poll: PollPolicy | None = None, wait_s: float = 60.0) -> str:
    """Stop a task Proximity gave up on (PVE's ``DELETE .../tasks/{upid}``) and wait for it to end, so it
    cannot finish behind the rollback (create a CT, take a snapshot, stop an app). Returns what happened."""
    node = upid_node(upid)
    api.delete(f"nodes/{node}/tasks/{upid}")
    deadline = time.monotonic() + wait_s
    for interval in (poll or PollPolicy()).intervals():
        status = api.get(f"nodes/{node}/tasks/{upid}/status")
        if status.get("status") == "stopped":
            return f"stopped it ({status.get('exitstatus', '')})"
        if time.monotonic() >= deadline:
            return f"asked it to stop; still running after {wait_s:.0f}s more"
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
    raise AssertionError("unreachable")
