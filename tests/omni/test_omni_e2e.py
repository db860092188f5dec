"""Requests run end to end on the real SDK against the simulator (HTTPS + SSH), parser only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from proximity.jobs import RetryPolicy
from proximity.omni.ask import ask, undo
from proximity.pve import ApiRetry, PollPolicy

pytestmark = pytest.mark.timeout(240)

FAST = {
    "retry": RetryPolicy(attempts=3, base_s=0.01, max_s=0.05),
    "api_retry": ApiRetry(attempts=4, base_s=0.01, max_s=0.05),
    "poll": PollPolicy(first_s=0.01, factor=1.5, max_interval_s=0.2),
}


@pytest.fixture
def px(tmp_path: Path) -> Iterator[Any]:
    from proximity import Proximity
    from proximity.sim import Simulator

    with Simulator(nodes=2, time_scale=0.01) as sim:
        client = Proximity(tmp_path / "state", front_end="test", **FAST)
        client.hosts.add("lab", **sim.host_options())
        client.update_settings(health_timeout_s=20, task_timeout_s=60)
        try:
            yield client
        finally:
            client.close()


def test_plan_confirm_run_delete_and_undo(px: Any) -> None:
    installed = ask(px, "installa gotify chiamato notify e poi fai un backup", ranker=None)
    assert installed.plan.as_json() == [
        {"action": "apps.deploy", "args": {"catalog_id": "gotify", "name": "notify"}, "risk": "change"},
        {"action": "backups.create", "args": {"app": "notify"}, "risk": "change"},
    ]
    assert px.store.list_apps() == []  # planning changed nothing
    result = installed.run(confirm=True)
    assert result.ok, result.summary()
    assert px.apps.get("notify").status.value == "running"
    assert len(px.backups.list("notify")) == 1

    bounce = ask(px, "bounce notify then show me the last 5 lines of its logs", ranker=None)
    assert [s.action for s in bounce.plan.steps] == ["apps.restart", "apps.logs"]
    assert bounce.run(confirm=True).ok

    delete = ask(px, "delete notify", ranker=None)
    assert delete.run(confirm=True).missing  # a yes is not enough
    assert px.apps.get("notify", live=False).name == "notify"
    assert delete.run(typed=["notify"]).ok
    assert [a.name for a in px.store.list_apps()] == []

    outcomes = undo(px, confirm=True)  # restores the final backup as "notify"
    assert [o.status for o in outcomes] == ["done"], outcomes
    assert px.apps.get("notify").status.value == "running"

    actions = [entry.action for entry in px.audit(200) if entry.front_end == "omni"]
    assert {"omni.plan", "omni.confirm", "omni.step", "omni.undo"} <= set(actions)


def test_a_bulk_stop_leaves_the_excepted_app_running(px: Any) -> None:
    for name in ("gitea", "plex", "gotify"):  # three small gotify installs under those names
        px.apps.deploy("gotify", name=name)
    result = ask(px, "ferma tutte le app tranne plex", ranker=None).run(confirm=True)
    assert result.ok, result.summary()
    states = {app.name: app.status.value for app in px.apps.list()}
    assert states == {"gitea": "stopped", "gotify": "stopped", "plex": "running"}
