"""``RackView`` in Debian's Chromium (Playwright), served by ``pn.serve`` on 127.0.0.1 with 50 units: LEDs,
deltas applied in place, the flip, actions back to Python, bar colours at 70/90 %, themes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bench.bench_dashboard import serve_rack, synthetic_units
from dashboards.rack import RackAction, RackView
from dashboards.rack.feed import Unit

pytestmark = [pytest.mark.browser, pytest.mark.timeout(150)]

# statuses forced on the first units so every LED colour is on the page
FORCED_STATUSES = ["running", "stopped", "deploying", "cloning", "backing-up", "error", "missing", "running"]
# cpu figures on running units around the thresholds (amber from 70 %, red from 90 %)
THRESHOLD_CPU = [69, 70, 89, 90, None]
LED_COLOURS = {  # the dark theme's --led-* colours
    "running": "rgb(46, 204, 64)",
    "stopped": "rgb(123, 133, 145)",
    "deploying": "rgb(255, 179, 0)",
    "cloning": "rgb(33, 150, 243)",
    "backing-up": "rgb(33, 150, 243)",
    "error": "rgb(255, 65, 54)",
    "missing": "rgb(255, 65, 54)",
}
BAR_COLOURS = {"ok": "rgb(46, 204, 113)", "warn": "rgb(255, 179, 0)", "crit": "rgb(255, 65, 54)"}


@dataclass
class Served:
    url: str
    racks: list[RackView]
    units: list[Unit]


def test_units() -> list[Unit]:
    units, _ = synthetic_units(50)
    for index, status in enumerate(FORCED_STATUSES):
        units[index]["status"] = status
    running = [u for u in units if u["status"] == "running"]
    for unit, cpu in zip(running, THRESHOLD_CPU, strict=False):
        unit["cpu"] = cpu
    return units


test_units.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    units = test_units()
    _, kinds = synthetic_units(50)
    with serve_rack(units, kinds) as (url, racks, _):
        yield Served(url, racks, units)


@pytest.fixture
def page(browser: Any, served: Served) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(served.url)
    page.locator(f"[data-testid='unit-{served.units[-1]['id']}']").wait_for(state="attached")
    yield page
    context.close()
    assert errors == [], errors


def led(page: Any, unit_id: str) -> Any:
    return page.locator(f"[data-testid='led-{unit_id}']")


def wait_until(condition: Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_leds_match_statuses(page: Any, served: Served) -> None:
    assert page.locator(".px-rack .unit").count() == len(served.units)
    for unit in served.units:
        assert led(page, unit["id"]).get_attribute("data-status") == unit["status"]
    for unit in served.units[: len(FORCED_STATUSES)]:
        colour = led(page, unit["id"]).evaluate("e => getComputedStyle(e).backgroundColor")
        assert colour == LED_COLOURS[unit["status"]], unit["status"]
    animation = led(page, served.units[0]["id"]).evaluate("e => getComputedStyle(e).animationName")
    assert animation == "px-rack-pulse"  # running pulses
    assert led(page, served.units[1]["id"]).evaluate("e => getComputedStyle(e).animationName") == "none"
    # each host a rack, each node a section
    assert page.locator(".px-rack .rack").count() == 3
    assert page.locator(".px-rack .node").count() == 9


def test_bar_colours_at_70_and_90_percent(page: Any, served: Served) -> None:
    running = [u for u in served.units if u["status"] == "running"]
    expected = ["ok", "warn", "warn", "crit", "none"]
    for unit, level, cpu in zip(running, expected, THRESHOLD_CPU, strict=False):
        bar = page.locator(f"[data-testid='unit-{unit['id']}'] .bar[data-metric='cpu']")
        assert bar.get_attribute("data-level") == level, cpu
        text = bar.locator("b").inner_text()
        if cpu is None:
            assert text == "—"  # not measured: a dash, never 0
        else:
            assert text == f"{cpu}%"
            fill = bar.locator("i").evaluate("e => getComputedStyle(e).backgroundColor")
            assert fill == BAR_COLOURS[level]


def test_a_delta_changes_one_led_and_one_bar_in_place(page: Any, served: Served) -> None:
    rack = served.racks[-1]
    units = [dict(u) for u in served.units]
    led_target = next(u for u in units if u["status"] == "stopped")
    bar_target = next(u for u in units if u["status"] == "running" and u["mem"] is not None and u["mem"] < 50)
    # remember every unit's element and record which units the delta touches
    page.locator(".px-rack").evaluate(
        """root => {
            root.querySelectorAll('.unit').forEach(e => { e.__mark = true; });
            window.__touched = new Set();
            new MutationObserver(changes => {
                for (const change of changes) {
                    const node = change.target.nodeType === 1 ? change.target : change.target.parentElement;
                    const unit = node.closest('.unit');
                    if (unit) window.__touched.add(unit.dataset.id);
                }
            }).observe(root, {subtree: true, childList: true, attributes: true, characterData: true});
        }"""
    )
    led_target["status"] = "running"
    bar_target["mem"] = 95
    message = rack.update(units)  # type: ignore[arg-type]
    assert message is not None
    assert message["set"] == {led_target["id"]: {"status": "running"}, bar_target["id"]: {"mem": 95}}

    wait_until(lambda: led(page, led_target["id"]).get_attribute("data-status") == "running")
    bar = page.locator(f"[data-testid='unit-{bar_target['id']}'] .bar[data-metric='mem']")
    wait_until(lambda: bar.get_attribute("data-level") == "crit")
    assert bar.locator("b").inner_text() == "95%"
    assert bar.locator("i").evaluate("e => e.style.width") == "95%"
    same_elements = page.locator(".px-rack").evaluate(
        "root => [...root.querySelectorAll('.unit')].filter(e => e.__mark).length"
    )
    assert same_elements == len(units)  # no unit was re-created
    touched = page.evaluate("() => [...window.__touched].sort()")
    assert touched == sorted([led_target["id"], bar_target["id"]])
    rack.update(served.units)  # back to the page's original rows for the other tests


def test_flip_shows_the_technical_sheet(page: Any, served: Served) -> None:
    unit = next(u for u in served.units if u["status"] == "running" and u["ip"])
    card = page.locator(f"[data-testid='unit-{unit['id']}']")
    showing_back = """e => {
        const box = e.getBoundingClientRect();
        const hit = e.getRootNode().elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
        return Boolean(hit && hit.closest('.face') && hit.closest('.face').classList.contains('back'));
    }"""
    card.scroll_into_view_if_needed()
    assert card.evaluate(showing_back) is False
    card.locator(".front button.flip").click()
    page.wait_for_timeout(800)  # the 0.5 s rotation
    assert "flipped" in (card.get_attribute("class") or "")
    assert card.evaluate("e => getComputedStyle(e.querySelector('.unit-inner')).transform") != "none"
    assert card.evaluate(showing_back) is True
    sheet = card.locator(".back .sheet").inner_text()
    for expected in (
        str(unit["vmid"]),
        unit["node"],
        unit["ip"],
        f"{unit['memory_mb']} MiB",
        f"{unit['disk_gb']} GiB",
    ):
        assert expected in sheet
    card.locator(".back button.flip").click()
    page.wait_for_timeout(800)
    assert card.evaluate(showing_back) is False


def test_stop_click_calls_the_python_callback_with_the_app(page: Any, served: Served) -> None:
    rack = served.racks[-1]
    clicked: list[RackAction] = []
    rack.on_action(clicked.append)
    target = served.units[7]["id"]
    page.locator(f"[data-testid='unit-{target}'] button[data-action='stop']").click()
    wait_until(lambda: bool(clicked))
    assert clicked == [RackAction("stop", target)]


def test_theme_switches_without_a_reload(page: Any, served: Served) -> None:
    rack = served.racks[-1]
    root = page.locator(".px-rack")
    dark = root.evaluate("e => getComputedStyle(e).backgroundColor")
    page.evaluate("() => { window.__sameDocument = true; }")
    rack.theme = "light"
    wait_until(lambda: root.get_attribute("data-theme") == "light")
    assert dark != "rgb(244, 246, 248)"
    # the background eases over 0.3 s: wait for the transition to land rather than read it mid-way
    wait_until(lambda: root.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(244, 246, 248)")
    rack.theme = "matrix"
    wait_until(lambda: root.get_attribute("data-theme") == "matrix")
    wait_until(lambda: root.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(0, 0, 0)")
    assert page.evaluate("() => window.__sameDocument") is True  # no reload happened
    rack.theme = "dark"


def test_added_removed_and_moved_units(page: Any, served: Served) -> None:
    rack = served.racks[-1]
    units = [dict(u) for u in served.units]
    removed = units.pop(5)
    moved = units[10]
    target_node = next(u["node"] for u in units if u["host"] == moved["host"] and u["node"] != moved["node"])
    moved["node"] = target_node
    pending = {**units[0], "id": "zz-new-app", "host": None, "node": None, "status": "deploying", "vmid": None,
               "ip": None, "url": None, "cpu": None, "mem": None, "disk": None}  # fmt: skip
    message = rack.update([*units, pending])  # type: ignore[list-item]
    assert message is not None and message["remove"] == [removed["id"]]
    new_unit = page.locator("[data-testid='unit-zz-new-app']")
    new_unit.wait_for(state="attached")
    assert page.locator(f"[data-testid='unit-{removed['id']}']").count() == 0
    assert led(page, "zz-new-app").get_attribute("data-status") == "deploying"
    assert new_unit.evaluate("e => e.closest('.rack').dataset.host") == "(placing)"
    section = page.locator(f"[data-testid='unit-{moved['id']}']").evaluate(
        "e => [e.closest('.rack').dataset.host, e.closest('.node').dataset.node]"
    )
    assert section == [moved["host"], target_node]
    assert page.locator(".px-rack .unit").count() == len(served.units)  # one out, one in
    assert (
        page.locator("[data-testid='rack-legend'] .legend-total").inner_text() == f"{len(served.units)} apps"
    )
