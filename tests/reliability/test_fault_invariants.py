"""The invariant checker itself: it must see each kind of damage the fault matrix could leave, or a green
matrix would prove nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.reliability.conftest import Clients
from tests.reliability.invariants import assert_consistent, violations


@pytest.mark.timeout(60)
def test_each_kind_of_damage_is_reported(px_factory: Clients, fault_sim: Any) -> None:
    px = px_factory()
    app = px.apps.deploy("gotify", name="probe", node="pve2")
    assert_consistent(px, fault_sim, expect_apps={"probe"})  # a clean deploy passes

    problems = violations(px, fault_sim, expect_apps={"other"})
    assert any("expected ['other']" in p for p in problems)

    fault_sim.hold_lock(app.vmid, "backup", seconds=30)  # a lock left behind
    locked = violations(px, fault_sim, settle_s=0.1)
    assert any(f"CT {app.vmid} is still locked (backup)" in p for p in locked)
    assert any("PVE task still running" in p for p in locked)
    fault_sim.tasks.stop(next(t.upid for t in fault_sim.tasks.running()))

    # the schema's foreign key refuses a port without its app; a database written without it may hold one
    px.store.db.execute("PRAGMA foreign_keys = OFF")
    px.store.db.execute("INSERT INTO ports (app, name, port, protocol) VALUES ('ghost', 'web', 81, 'tcp')")
    px.store.db.execute("PRAGMA foreign_keys = ON")
    job = px.jobs.list()[0]
    px.store.delete_app("probe")  # the record goes, the container stays: an orphan
    problems = violations(px, fault_sim)
    assert any(f"orphan CT {app.vmid}" in p and job.id in p for p in problems)
    assert any("reserved for ghost" in p for p in problems)
