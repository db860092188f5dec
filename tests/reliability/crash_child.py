"""The process a crash trial kills: it opens Proximity on a state directory, runs one operation, and
SIGKILLs itself at a chosen remote call of that operation.

Run as ``python -m tests.reliability.crash_child '<spec JSON>'``. The spec:

- ``state``: the state directory; ``catalog``: a catalog folder, or null for the shipped catalog;
- ``op``: deploy | clone | backup | restore-new | restore-in-place | update; ``args``: its arguments;
- ``kill_at``: the 1-based index of the remote call (PVE API request or SSH command) of the operation at
  which the process kills itself, 0 for a calibration run that is never killed;
- ``kill_when``: "before" (the call is never sent) or "after" (it was sent and answered; the SDK has not
  seen the answer yet: PVE acted, the process does not know).

The remote calls are counted by wrapping ``PveApi._once`` and ``NodeShell.run``, the two places every
request to a host goes through; nothing else of the SDK is touched. When the operation ends before call
``kill_at`` the process prints its outcome and kills itself anyway (a kill just after the end). A
calibration run prints ``{"calls": N, "outcome": ...}`` and exits 0.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from proximity import Proximity
from proximity.catalog.loader import load_catalog
from proximity.pve.api import PveApi
from proximity.pve.ssh import NodeShell
from tests.sdk.conftest import FAST


class KillSwitch:
    """Counts the operation's remote calls and SIGKILLs this process at the chosen one."""

    def __init__(self, kill_at: int, kill_when: str):
        self.kill_at = kill_at
        self.kill_when = kill_when
        self.calls = 0
        self.armed = False
        self._lock = threading.Lock()

    def before(self) -> int:
        if not self.armed:
            return 0
        with self._lock:
            self.calls += 1
            number = self.calls
        if number == self.kill_at and self.kill_when == "before":
            die()
        return number

    def after(self, number: int) -> None:
        if number and number == self.kill_at and self.kill_when == "after":
            die()


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def install(switch: KillSwitch) -> None:
    original_once = PveApi._once
    original_run = NodeShell.run

    def once(self: PveApi, method: str, path: str, wire: Any) -> Any:
        number = switch.before()
        try:
            return original_once(self, method, path, wire)
        finally:
            switch.after(number)

    async def run(self: NodeShell, command: str, **options: Any) -> Any:
        number = switch.before()
        try:
            return await original_run(self, command, **options)
        finally:
            switch.after(number)

    PveApi._once = once  # type: ignore[method-assign]
    NodeShell.run = run  # type: ignore[method-assign]


def operate(px: Any, op: str, args: dict[str, Any]) -> None:
    if op == "deploy":
        px.apps.deploy(args["catalog_id"], name=args["name"], method=args.get("method"))
    elif op == "clone":
        px.apps.clone(args["source"], args["name"])
    elif op == "backup":
        px.backups.create(args["app"])
    elif op == "restore-new":
        px.backups.restore(args["volid"], as_name=args["name"])
    elif op == "restore-in-place":
        px.backups.restore(args["volid"], confirm=True)
    elif op == "update":
        px.apps.update(args["app"])
    else:
        raise SystemExit(f"unknown operation {op!r}")


def main(spec: dict[str, Any]) -> None:
    switch = KillSwitch(spec["kill_at"], spec["kill_when"])
    install(switch)
    catalog = load_catalog([Path(spec["catalog"])]) if spec.get("catalog") else None
    px = Proximity(spec["state"], catalog=catalog, **FAST)
    outcome = "ok"
    switch.armed = True
    try:
        operate(px, spec["op"], spec["args"])
    except Exception as error:  # noqa: BLE001 - reported to the parent, which checks the state anyway
        outcome = f"{type(error).__name__}: {error}"
    switch.armed = False
    print(json.dumps({"calls": switch.calls, "outcome": outcome}), flush=True)
    if spec["kill_at"]:
        die()  # the operation ended before the chosen call: a kill just after its end
    px.close()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
