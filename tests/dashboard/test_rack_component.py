"""``RackView`` on the Python side: snapshot, deltas sent (and their size), actions received."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench.bench_dashboard import synthetic_units, with_status
from dashboards.rack import RackAction, RackView
from dashboards.rack.component import parse_action


@pytest.fixture(scope="module")
def fleet() -> tuple[list[Any], dict[str, Any]]:
    return synthetic_units(60)


def sent_messages(rack: RackView) -> list[Any]:
    sent: list[Any] = []
    rack._send_msg = sent.append  # type: ignore[method-assign]  # capture what would go to the browser
    return sent


def test_update_sends_only_the_changed_unit(fleet: Any) -> None:
    units, kinds = fleet
    rack = RackView(units, kinds)
    sent = sent_messages(rack)
    assert rack.update(units) is None and sent == []

    index = next(i for i, u in enumerate(units) if u["status"] == "running")
    message = rack.update(with_status(units, index, "stopped"))
    assert message is not None and sent == [message]
    assert message["type"] == "delta"
    assert message["set"] == {
        units[index]["id"]: {"status": "stopped", "cpu": None, "mem": None, "disk": None}
    }
    assert message["add"] == [] and message["remove"] == []
    assert len(json.dumps(message)) < 300
    # later views start from the current rows, not the first snapshot
    row = rack.snapshot["rows"][index]
    assert row[rack.snapshot["fields"].index("status")] == "stopped"


def test_update_adds_and_removes_units_with_their_kind(fleet: Any) -> None:
    units, kinds = fleet
    rack = RackView(units[:10], {k: kinds[k] for k in {u["catalog"] for u in units[:10]}})
    sent = sent_messages(rack)
    newcomer = units[40]
    message = rack.update([*units[1:10], newcomer], kinds)
    assert message is not None
    assert message["remove"] == [units[0]["id"]]
    assert [row[0] for row in message["add"]] == [newcomer["id"]]
    assert set(message["kinds"]) == {newcomer["catalog"]} - {u["catalog"] for u in units[:10]}
    assert sent == [message]


def test_snapshot_replacement_does_not_fire_param_watchers(fleet: Any) -> None:
    units, kinds = fleet
    rack = RackView(units, kinds)
    sent_messages(rack)
    fired: list[Any] = []
    rack.param.watch(fired.append, "snapshot")
    rack.update(with_status(units, 0, "error"))
    assert fired == []  # a watcher would make Panel re-send the whole list to every open view


def test_actions_reach_callbacks_and_the_action_param(fleet: Any) -> None:
    units, kinds = fleet
    rack = RackView(units, kinds)
    calls: list[RackAction] = []
    seen: list[Any] = []
    rack.on_action(calls.append)
    rack.param.watch(lambda event: seen.append(event.new), "action")
    target = units[3]["id"]
    rack._handle_msg({"type": "action", "action": "stop", "id": target})
    rack._handle_msg({"type": "action", "action": "stop", "id": target})  # the same click twice
    assert calls == [RackAction("stop", target)] * 2
    assert seen == [RackAction("stop", target)] * 2 and rack.action == RackAction("stop", target)
    # malformed, unknown action, unknown app: ignored
    rack._handle_msg({"type": "action", "action": "format-disk", "id": target})
    rack._handle_msg({"type": "action", "action": "stop", "id": "not-in-this-rack"})
    rack._handle_msg("stop")
    assert len(calls) == 2


def test_parse_action() -> None:
    assert parse_action({"type": "action", "action": "backup", "id": "a"}, {"a"}) == RackAction("backup", "a")
    assert parse_action({"type": "action", "action": "backup", "id": 3}, {"a"}) is None
    assert parse_action({"type": "delta"}, {"a"}) is None
    assert parse_action(None, {"a"}) is None


def test_theme_is_validated() -> None:
    rack = RackView()
    rack.theme = "matrix"
    with pytest.raises(ValueError):
        rack.theme = "neon"


def test_a_coroutine_callback_is_awaited(fleet: Any) -> None:
    import asyncio

    units, kinds = fleet
    rack = RackView(units, kinds)
    calls: list[RackAction] = []

    async def handler(action: RackAction) -> None:
        calls.append(action)

    rack.on_action(handler)

    async def click() -> None:
        rack._handle_msg({"type": "action", "action": "backup", "id": units[0]["id"]})
        await asyncio.sleep(0.05)

    asyncio.run(click())
    assert calls == [RackAction("backup", units[0]["id"])]
