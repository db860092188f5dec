"""A process killed in the middle of a deploy leaves a CT and a running job; the next process rolls it
back (no orphan CT, no record, no leaked port)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from proximity import Proximity
from proximity.models import JobState
from tests.sdk.conftest import FAST, add_lab

CHILD = """
import sys
from proximity import Proximity
from tests.sdk.conftest import FAST
with Proximity(sys.argv[1], **FAST) as px:
    px.apps.deploy("gotify", name="interrupted")
"""


def test_killed_deploy_is_rolled_back_on_restart(sim: Any, tmp_path: Path) -> None:
    state = tmp_path / "state"
    with Proximity(state, **FAST) as px:
        add_lab(px, sim)
    before = set(sim.cluster.containers)
    # starting the CT hangs, so the child is killed after "create" and "record" are done
    rule = sim.faults.latency(60, path="/nodes/*/lxc/*/status/start", method="POST")
    root = Path(__file__).resolve().parents[2]
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(state)], cwd=root)
    try:
        deadline = time.monotonic() + 60
        while not (set(sim.cluster.containers) - before):
            assert child.poll() is None, "the child died on its own"
            assert time.monotonic() < deadline, "the child never created its CT"
            time.sleep(0.05)
        time.sleep(0.3)  # let it record the app and reach the start call
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    sim.faults.remove(rule)
    (orphan,) = set(sim.cluster.containers) - before

    with Proximity(state, **FAST) as px:
        (job,) = [j for j in px.jobs.list() if j.kind == "deploy"]
        assert job.state == JobState.RUNNING
        recovered = px.jobs.recover()
        assert [j.id for j in recovered] == [job.id]
        assert px.jobs.get(job.id).state == JobState.FAILED
        assert orphan not in sim.cluster.containers
        assert px.store.find_app("interrupted") is None
        assert px.store.db.execute("SELECT COUNT(*) FROM ports").fetchone()[0] == 0
        assert px.store.secrets.app("interrupted") == {}
