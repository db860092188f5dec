"""The dashboard in a real browser (Debian's Chromium via Playwright) against a served dashboard on the
simulator: deploy from the store and watch the LED, lifecycle, backup, restore, delete; themes persisted
across a reload; a viewer refused on the server; screenshots of each page in each theme."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.conftest import Served

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

APP = "gotify"
WAIT_MS = 60_000


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def login(
    browser: Any, served: Served, user: str, password: str, width: int = 1280, height: int = 800
) -> Any:
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(served.url)
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit], input[type=submit]")
    page.get_by_test_id("who").wait_for()
    return page


def nav(page: Any, label: str) -> None:
    page.get_by_role("button", name=label, exact=True).click()


def message_text(page: Any) -> str:
    message = page.get_by_test_id("message")
    return message.inner_text() if message.count() else ""


def click_and_wait(page: Any, button: str, pattern: str) -> str:
    """Click a button and wait for the result line the action writes (a new one, matching ``pattern``);
    an unexpected failure message fails at once with the server's words."""
    before = message_text(page)
    page.get_by_role("button", name=button, exact=True).click()
    return wait_message(page, pattern, stale=before)


def wait_message(page: Any, pattern: str, stale: str = "") -> str:
    message = page.get_by_test_id("message")
    deadline = time.monotonic() + WAIT_MS / 1000
    while time.monotonic() < deadline:
        if message.count():
            text = message.inner_text()
            if text != stale:
                if re.search(pattern, text):
                    return text
                if message.get_attribute("data-kind") == "error" and "failed" in text:
                    raise AssertionError(text)
        page.wait_for_timeout(100)
    raise AssertionError(f"no message matching {pattern!r}")


def wait_status(page: Any, testid: str, wanted: str) -> list[str]:
    """Poll an LED's status; returns every status seen on the way (to show the transition)."""
    seen: list[str] = []
    deadline = time.monotonic() + WAIT_MS / 1000
    while time.monotonic() < deadline:
        led = page.get_by_test_id(testid)
        if led.count():
            status = led.first.get_attribute("data-status")
            if not seen or seen[-1] != status:
                seen.append(status)
            if status == wanted:
                return seen
        page.wait_for_timeout(100)
    raise AssertionError(f"{testid} never became {wanted}; saw {seen}")


def http_status(url: str) -> int:
    """GET the app's URL. The simulator derives a container's address from its VMID, so simulators run at
    the same time on one machine (other suites) can hold the same address: the failure says so."""
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return int(answer.status)
    except OSError as error:
        raise AssertionError(
            f"{url} did not answer ({error}); if another simulator runs on this machine it may hold the same "
            "container address"
        ) from error


def add_user(served: Served, name: str, role: str, password: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from proximity.cli import main; main()",
            "dashboard",
            "--db",
            str(served.home),
            "users",
            "add",
            name,
            "--role",
            role,
            "--password-file",
            "-",
        ],
        input=password,
        text=True,
        check=True,
        capture_output=True,
    )


def test_deploy_lifecycle_backup_restore_delete(browser: Any, served: Served) -> None:
    page = login(browser, served, "admin", served.admin_password)
    nav(page, "App Store")
    page.get_by_label("Search the catalog").fill("gotfy")  # a typo: the catalog search tolerates it
    page.get_by_role("button", name="Deploy Gotify").click()
    # the placement is read from the served simulator (cluster/resources): slow on a busy machine
    expect(page.get_by_test_id("placement")).to_contain_text("node pve", timeout=WAIT_MS)
    page.get_by_role("button", name="Confirm deploy").click()
    nav(page, "Rack")
    try:
        seen = wait_status(page, f"led-{APP}", "running")
    except AssertionError as error:
        nav(page, "App Store")  # what the deploy said, and what the server printed
        said = page.locator("pre.px-log").all_inner_texts()
        raise AssertionError(f"{error}\ndeploy log: {said}\nserver:\n{served.output_tail()}") from None
    assert seen[0] == "deploying", seen
    nav(page, "App Store")  # the deploy's progress and live log stayed with the session
    expect(page.get_by_test_id("deploy-done")).to_contain_text(f"{APP} is running")
    expect(page.locator("pre.px-log", has_text=f"job-succeeded: deploy {APP} done")).to_have_count(1)
    nav(page, "Jobs")
    expect(page.get_by_test_id("jobs")).to_contain_text("deploy")
    page.goto(f"{served.url}?page=app&app={APP}")  # deep link
    wait_status(page, "app-led", "running")
    url = page.get_by_test_id("app-url").locator("a").get_attribute("href")
    assert url and re.match(
        r"http://127\.(8[1-9]|9\d|1\d\d|2[0-4]\d|25[0-4])\.\d+\.\d+:\d+/", url
    )  # a CT range
    assert http_status(url) == 200

    page.get_by_role("button", name="Stop", exact=True).click()
    wait_status(page, "app-led", "stopped")
    page.get_by_role("button", name="Start", exact=True).click()
    wait_status(page, "app-led", "running")
    click_and_wait(page, "Back up now", rf"backed up {APP}: ")

    nav(page, "Backups")
    page.get_by_test_id("backups").get_by_text(APP).first.wait_for()
    page.get_by_role("button", name="Restore over the app...").click()
    expect(page.get_by_test_id("restore-warning")).to_contain_text("is lost")
    page.get_by_label("Type it to confirm").fill(APP)
    click_and_wait(page, "Confirm", r"restore .*: done")

    nav(page, "Rack")
    wait_status(page, f"led-{APP}", "running")
    # the rack's own delete button: the click reaches Python, which opens the app page's confirmation
    page.get_by_test_id(f"unit-{APP}").locator("[data-action=delete]").first.click()
    expect(page.get_by_test_id("delete-warning")).to_contain_text("destroys its container")
    page.get_by_label("Type the app's name to confirm").fill("wrong-name")
    assert "ConfirmationRequired" in click_and_wait(page, "Delete for good", "failed")
    page.get_by_label("Type the app's name to confirm").fill(APP)
    click_and_wait(page, "Delete for good", rf"delete {APP}: done")
    nav(page, "Rack")
    expect(page.get_by_test_id(f"led-{APP}")).to_have_count(0)
    page.context.close()


def test_viewer_cannot_delete(browser: Any, served: Served) -> None:
    from proximity.client import Proximity

    add_user(served, "vera", "viewer", "viewer-password-1")
    with Proximity(served.home, front_end="test") as px:  # set up through the SDK: only the refusal is UI
        px.apps.deploy("adminer")
    page = login(browser, served, "vera", "viewer-password-1")
    page.goto(f"{served.url}?page=app&app=adminer")
    wait_status(page, "app-led", "running")
    page.get_by_role("button", name="Delete...").click()
    page.get_by_label("Type the app's name to confirm").fill("adminer")
    assert "PermissionDenied" in click_and_wait(page, "Delete for good", "failed")
    page.reload()
    wait_status(page, "app-led", "running")  # still there
    page.context.close()


BACKGROUNDS = {"Dark": "rgb(16, 20, 26)", "Light": "rgb(244, 246, 248)", "Matrix": "rgb(0, 0, 0)"}
PAGES = [
    ("Rack", "rack", "Rack"),
    ("App Store", "store", "App Store"),
    ("Hosts", "hosts", "Hosts"),
    ("Backups", "backups", "Backups"),
    ("Settings", "settings", "Settings"),
    ("Jobs", "jobs", "Jobs"),
]


def wait_background(page: Any, theme: str) -> None:
    page.wait_for_function(
        "want => getComputedStyle(document.body).backgroundColor === want",
        arg=BACKGROUNDS[theme],
        timeout=WAIT_MS,
    )


def test_theme_switch_persists_and_screenshots(browser: Any, served: Served, screenshot_dir: Path) -> None:
    page = login(browser, served, "admin", served.admin_password, width=1024, height=640)  # small PNGs
    written: list[Path] = []
    for theme in ("Light", "Matrix", "Dark"):
        page.get_by_role("button", name=theme, exact=True).click()
        wait_background(page, theme)  # applied in place: no reload
        for label, key, heading in PAGES:
            nav(page, label)
            page.get_by_role("heading", name=heading, exact=True).wait_for()
            page.wait_for_timeout(250)  # let the page's first refresh land
            shot = screenshot_dir / f"{key}-{theme.lower()}.png"
            page.screenshot(path=str(shot), type="png")
            written.append(shot)
    for shot in written:  # real PNG files (docs/screenshots/ with PROXIMITY_SCREENSHOTS=1, else tmp)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", shot
    page.get_by_role("button", name="Matrix", exact=True).click()
    wait_background(page, "Matrix")
    page.wait_for_timeout(300)
    page.reload()
    page.get_by_test_id("who").wait_for()
    wait_background(page, "Matrix")  # the choice was saved for this user
    expect(page.get_by_role("button", name="Matrix", exact=True)).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="Dark", exact=True).click()
    wait_background(page, "Dark")
    page.context.close()
