"""One of the SDK processes of the concurrency test: ``AsyncProximity`` on a shared state directory runs all
its operations at once (an anyio task group), starting at an agreed wall-clock time so both processes
overlap, and prints one JSON line: each operation's outcome, and the longest wait to open a write
transaction on the shared database.

Run as ``python -m tests.reliability.concurrency_child '<spec JSON>'`` with ``state``, ``start_at``
(``time.time()`` to start at) and ``ops`` (a list of ``{"kind", "name"}``; kinds: deploy, deploy-oci,
start, stop, backup, delete, clone with ``"source"``).

An outcome is "ok", the name of the typed ``ProximityError`` raised, or "unexpected: ..." with the
traceback of anything else (what the test forbids: a sqlite3 error, "database is locked", a bare
exception from inside the SDK).
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio

from proximity import AsyncProximity
from proximity.errors import ProximityError
from proximity.store import Store
from tests.sdk.conftest import FAST


class TransactionWaits:
    """Wraps ``Store.transaction`` to time how long opening each write transaction waited (the store's
    in-process lock plus SQLite's busy wait for the other process's write lock)."""

    def __init__(self) -> None:
        self.longest_s = 0.0
        self.count = 0
        original = Store.transaction
        waits = self

        @contextmanager
        def timed(store: Store) -> Iterator[Any]:
            asked = time.perf_counter()
            with original(store) as conn:
                waited = time.perf_counter() - asked
                waits.count += 1
                waits.longest_s = max(waits.longest_s, waited)
                yield conn

        Store.transaction = timed  # type: ignore[method-assign]


async def perform(px: AsyncProximity, op: dict[str, Any]) -> None:
    kind, name = op["kind"], op["name"]
    if kind == "deploy":
        await px.apps.deploy("gotify", name=name, method="compose")
    elif kind == "deploy-oci":
        await px.apps.deploy("gotify", name=name, method="oci")
    elif kind == "start":
        await px.apps.start(name)
    elif kind == "stop":
        await px.apps.stop(name)
    elif kind == "backup":
        await px.backups.create(name)
    elif kind == "delete":
        await px.apps.delete(name, confirm=True)
    elif kind == "clone":
        await px.apps.clone(op["source"], name)
    else:
        raise ValueError(f"unknown operation {kind!r}")


async def main(spec: dict[str, Any]) -> None:
    waits = TransactionWaits()
    results: list[dict[str, Any]] = []
    async with AsyncProximity(spec["state"], front_end="concurrency", **FAST) as px:

        async def one(op: dict[str, Any]) -> None:
            started = time.monotonic()
            try:
                await perform(px, op)
                outcome, message = "ok", ""
            except ProximityError as error:
                outcome, message = type(error).__name__, str(error)
            except Exception:  # noqa: BLE001 - the test fails on these; the traceback says where
                outcome, message = "unexpected", traceback.format_exc()
            results.append(
                {**op, "outcome": outcome, "message": message, "seconds": time.monotonic() - started}
            )

        await anyio.sleep(max(0.0, spec["start_at"] - time.time()))
        began = time.time()
        async with anyio.create_task_group() as group:
            for op in spec["ops"]:
                group.start_soon(one, op)
        ended = time.time()
    report = {
        "results": results,
        "began_at": began,
        "ended_at": ended,
        "longest_transaction_wait_s": waits.longest_s,
        "transactions": waits.count,
    }
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    anyio.run(main, json.loads(sys.argv[1]))
