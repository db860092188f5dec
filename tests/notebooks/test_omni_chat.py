"""The Omni-Prompt chat box: the plan table is shown before anything runs, Run is only a yes (a destructive
step also needs its text typed), and every value in the table is HTML-escaped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ipywidgets")

from proximity.omni.plan import Plan, Step
from proximity.widgets import OmniChat
from proximity.widgets.omni_chat import plan_table_html


@pytest.fixture(scope="module")
def px(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from proximity import Proximity
    from proximity.sim import Simulator
    from tests.sdk.conftest import FAST, add_lab

    with Simulator(nodes=1, time_scale=0.01) as sim:
        client = Proximity(tmp_path_factory.mktemp("omni-chat"), **FAST)
        add_lab(client, sim)
        client.apps.deploy("gotify", name="chat-app")
        try:
            yield client
        finally:
            client.close()


@pytest.mark.timeout(120)
def test_plan_shown_before_run_then_a_yes_runs_a_change(px: Any) -> None:
    chat = OmniChat(px)
    asked = chat.propose("ferma chat-app")
    assert asked.plan.call_text() == 'apps.stop(name="chat-app")'
    assert "data-risk='change'" in chat.plan_view.value and "a yes (Run)" in chat.plan_view.value
    assert px.apps.get("chat-app").status.value == "running"  # planning changed nothing
    assert not chat.run_button.disabled
    result = chat.run()
    assert result.ok and "apps.stop: done" in chat.result_view.value
    assert px.apps.get("chat-app").status.value == "stopped"
    assert chat.run_button.disabled  # a plan runs once


@pytest.mark.timeout(120)
def test_a_destructive_step_needs_its_text_typed(px: Any) -> None:
    chat = OmniChat(px)
    chat.propose("delete chat-app")
    assert "type <code>chat-app</code>" in chat.plan_view.value
    refused = chat.run()  # Run alone is a yes: never enough for a delete
    assert not refused.ok and refused.outcomes[0].status == "not confirmed"
    assert px.apps.get("chat-app", live=False).name == "chat-app"
    chat.typed.value = "something else, chat-app"  # comma-separated texts; the right one among them
    deleted = chat.run()
    assert deleted.ok, deleted.summary()
    assert [app.name for app in px.apps.list()] == []


def test_run_before_a_plan_is_refused() -> None:
    with pytest.raises(RuntimeError, match="propose a plan first"):
        OmniChat(object()).run()


def test_plan_table_escapes_every_value(tmp_path: Path) -> None:
    class Asked:
        plan = Plan(
            request="<script>",
            steps=(Step(action="apps.stop", args={"name": "<b>x</b>"}, sentence="Stop <b>x</b>"),),
            confidence=0.5,
            notes=("<i>note</i>",),
        )

        def confirmations(self) -> list[Any]:
            from proximity.omni.safety import requirements

            return requirements(self.plan)

    table = plan_table_html(Asked())  # type: ignore[arg-type]
    assert "<b>x</b>" not in table and "&lt;b&gt;x&lt;/b&gt;" in table
    assert "&lt;i&gt;note&lt;/i&gt;" in table
