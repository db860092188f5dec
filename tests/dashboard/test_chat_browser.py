"""The Omni-Prompt chat in the deck's sidebar, in a real browser against the served demo dashboard: an
Italian request shows its plan before anything runs, "Run plan" runs it with per-step progress; a delete
asks for the app's name, does nothing without it, and deletes with it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dashboard.conftest import Served
from tests.dashboard.test_browser import expect, login

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

APP = "memos"


def ask(page: Any, text: str) -> Any:
    page.get_by_label("Ask Proximity").fill(text)
    page.get_by_role("button", name="Plan", exact=True).click()
    plan = page.get_by_test_id("omni-plan")
    expect(plan).to_contain_text("nothing has run yet")
    return plan


def test_chat_plans_confirms_and_runs(browser: Any, served: Served) -> None:
    from proximity.client import Proximity

    with Proximity(served.home, front_end="test") as px:  # set up through the SDK: the chat is the test
        px.apps.deploy(APP)

        page = login(browser, served, "admin", served.admin_password)
        plan = ask(page, f"ferma {APP}")
        expect(plan).to_have_attribute("data-risk", "change")
        expect(plan).to_contain_text(APP)
        assert px.apps.get(APP).status.value == "running"  # shown, not run
        page.get_by_role("button", name="Run plan").click()
        outcome = page.get_by_test_id("omni-outcome")
        expect(outcome).to_have_attribute("data-kind", "ok")
        expect(outcome).to_contain_text("apps.stop: done")
        expect(page.locator("[data-testid=omni-step][data-status=done]")).to_have_count(1)
        assert px.apps.get(APP).status.value == "stopped"

        plan = ask(page, f"delete {APP}")
        expect(plan).to_have_attribute("data-risk", "destructive")
        page.get_by_role("button", name="Run plan").click()  # nothing typed
        expect(page.get_by_test_id("omni-outcome")).to_contain_text("Nothing was changed")
        assert px.apps.get(APP, live=False).name == APP
        page.get_by_label(f"Type '{APP}' to confirm step 1").fill(APP)
        page.get_by_role("button", name="Run plan").click()
        expect(page.get_by_test_id("omni-outcome")).to_contain_text("apps.delete: done", timeout=90_000)
        assert APP not in [app.name for app in px.apps.list()]
    page.context.close()
