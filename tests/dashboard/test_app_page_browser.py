"""The app page's maintenance actions in a real browser against the served demo dashboard: clone an app
under a new name (the live log, the outcome with a link, the clone answering HTTP), then a safe update
after its yes (the snapshot, update and health steps in the log, the outcome said); the measured CPU and
memory chart holds Proxmox's samples; a viewer sees the new buttons disabled."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dashboard.conftest import Served
from tests.dashboard.test_browser import add_user, expect, http_status, login, wait_status

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

APP = "journal"  # a gotify install: a health check, an update that snapshots first
COPY = "journal-copy"
MAINTENANCE_BUTTONS = ["Clone", "Resize", "Migrate...", "Safe update..."]

# true once the chart's data source in the page's Bokeh document (what the browser draws) holds ``measured``
# measured CPU points; the figure is replaced on each fetch, so the new one may arrive just after the summary
CHART_HOLDS_JS = """(measured) => {
  for (const doc of window.Bokeh.documents) {
    for (const model of doc._all_models.values()) {
      if (model.name === "app-metrics-source"
          && model.data.cpu.filter((v) => v !== null && !Number.isNaN(v)).length === measured) {
        return true;
      }
    }
  }
  return false;
}"""


def test_clone_then_safe_update_from_the_app_page(browser: Any, served: Served) -> None:
    from proximity.client import Proximity

    with Proximity(served.home, front_end="test") as px:  # set up through the SDK: the page is the test
        px.apps.deploy("gotify", name=APP)
        try:
            page = login(browser, served, "admin", served.admin_password)
            page.goto(f"{served.url}?page=app&app={APP}")
            wait_status(page, "app-led", "running")

            expect(page.get_by_test_id("maintenance-rights")).to_have_attribute("data-refused", "")
            page.get_by_label("New app name").fill(COPY)
            page.get_by_role("button", name="Clone", exact=True).click()
            outcome = page.get_by_test_id("app-action-outcome")
            expect(outcome).to_contain_text(f"cloned {APP} as {COPY}: running")
            expect(outcome).to_have_attribute("data-kind", "ok")
            expect(
                page.locator("pre.px-log", has_text=f"job-succeeded: clone {APP} -> {COPY} done")
            ).to_have_count(1)
            copy = px.apps.get(COPY)
            assert copy.status.value == "running" and copy.url and http_status(copy.url) == 200
            assert page.get_by_test_id("clone-link").get_attribute("href") == f"?page=app&app={COPY}"

            page.get_by_role("button", name="Safe update...").click()
            expect(page.get_by_test_id("app-confirm")).to_contain_text("A snapshot is taken first")
            assert not [j for j in px.jobs.list(limit=20) if j.kind == "update"]  # asked, not run
            page.get_by_role("button", name="Yes, update").click()
            expect(outcome).to_contain_text(f"{APP} updated", timeout=90_000)
            expect(outcome).to_contain_text("health check passed")
            for step in ("snapshot", "update", "health", "cleanup"):
                expect(page.locator("pre.px-log", has_text=f"step-done {step}")).to_have_count(1)
            update = next(j for j in px.jobs.list(limit=20) if j.kind == "update")
            assert update.state.value == "succeeded"
            audit = [(e.who, e.action, e.outcome) for e in px.audit(50) if e.target == APP]
            assert ("admin", "apps.update", "ok") in audit

            summary = page.get_by_test_id("app-metrics-summary")
            expect(summary).to_contain_text("measured sample")
            measured = int(summary.get_attribute("data-measured") or 0)
            assert measured >= 1
            page.wait_for_function(CHART_HOLDS_JS, arg=measured, timeout=10_000)
            page.context.close()
        finally:
            for name in (COPY, APP):
                if px.store.find_app(name) is not None:
                    px.apps.delete(name, purge=True, confirm=True)


def test_a_viewer_sees_the_maintenance_buttons_disabled(browser: Any, served: Served) -> None:
    from proximity.client import Proximity

    add_user(served, "viola", "viewer", "viewer-password-2")
    with Proximity(served.home, front_end="test") as px:
        px.apps.deploy("gotify", name="diary")
        try:
            page = login(browser, served, "viola", "viewer-password-2")
            page.goto(f"{served.url}?page=app&app=diary")
            wait_status(page, "app-led", "running")
            rights = page.get_by_test_id("maintenance-rights")  # written when the role was read
            expect(rights).to_have_attribute(
                "data-refused", "apps.clone apps.resize apps.migrate apps.update"
            )
            expect(rights).to_contain_text("Your role (viewer) may not")
            for label in MAINTENANCE_BUTTONS:
                expect(page.get_by_role("button", name=label, exact=True)).to_be_disabled()
            page.context.close()
        finally:
            px.apps.delete("diary", purge=True, confirm=True)
