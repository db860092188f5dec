"""The app page's maintenance actions at the service level, on the simulator: clone, safe update (and its
automatic rollback, shown as an outcome), resize, migrate, each run as the signed-in user with the role
checked on the server and the SDK's audit naming the user; the metrics chart's figures are Proxmox's own
RRD figures; the page itself disables what the role may not do and fetches metrics at most every 30 s."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dashboards.pages.app_detail import METRICS_EVERY_S, AppDetailPage
from dashboards.pages.app_metrics import metric_series, summary_html
from dashboards.service import DashboardService, UserActions
from dashboards.session import DeckSession
from dashboards.users import Role, UserStore
from proximity.client import Proximity
from proximity.errors import AlreadyExists, Conflict, NotFound, PermissionDenied, ValidationError
from proximity.models import JobEvent
from tests.sdk.conftest import FAST, add_lab

pytestmark = pytest.mark.timeout(240)

APP = "notes"  # a gotify install (compose, a health check on /health)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DashboardService, Any]]:
    from proximity.sim import Simulator

    home: Path = tmp_path_factory.mktemp("app-actions-home")
    with Simulator(nodes=2, time_scale=0.01) as sim:
        with Proximity(home, front_end="test", **FAST) as px:
            add_lab(px, sim)
            px.update_settings(health_timeout_s=20, task_timeout_s=60)
            px.apps.deploy("gotify", name=APP)
        users = UserStore(home)
        users.add("otto", Role.OPERATOR, "operator-password-1")
        users.add("vera", Role.VIEWER, "viewer-password-1")
        service = DashboardService(home, users, scheduler=False, chat_ranker=None)
        try:
            yield service, sim
        finally:
            service.close()


@pytest.fixture
def deck(lab: tuple[DashboardService, Any]) -> DashboardService:
    return lab[0]


@pytest.fixture
def sim(lab: tuple[DashboardService, Any]) -> Iterator[Any]:
    yield lab[1]
    lab[1].faults.clear()


def _audit(service: DashboardService, who: str, action: str) -> list[tuple[str, str, str]]:
    return [
        (e.front_end, e.target, e.outcome)
        for e in service.reader.audit(300)
        if (e.who, e.action) == (who, action)
    ]


def test_an_operator_clones_an_app_with_its_events_and_the_audit(deck: DashboardService, sim: Any) -> None:
    otto = deck.for_user("otto")
    events: list[JobEvent] = []
    copy = otto.clone(APP, f"{APP}-copy", on_event=events.append)
    assert copy.name == f"{APP}-copy" and copy.status.value == "running"
    assert copy.vmid != deck.reader.apps.get(APP, live=False).vmid and copy.vmid in sim.cluster.containers
    kinds = [e.kind for e in events]
    assert kinds[0] == "job-started" and kinds[-1] == "job-succeeded" and "step-done" in kinds
    assert ("dashboard", f"{APP}-copy", "ok") in _audit(deck, "otto", "apps.clone")
    with pytest.raises(AlreadyExists):
        otto.clone(APP, f"{APP}-copy")
    with pytest.raises(ValidationError):
        otto.clone(APP, "Not A Name")
    deck.reader.apps.delete(f"{APP}-copy", purge=True, confirm=True)


def test_a_safe_update_reports_its_steps_and_leaves_no_snapshot(deck: DashboardService, sim: Any) -> None:
    otto = deck.for_user("otto")
    vmid = deck.reader.apps.get(APP, live=False).vmid
    events: list[JobEvent] = []
    outcome = otto.update(APP, on_event=events.append)
    assert outcome.updated and outcome.job_id and outcome.status == "running"
    assert "health check passed" in outcome.summary() and not outcome.undone
    assert [e.step for e in events if e.kind == "step-done"] == ["snapshot", "update", "health", "cleanup"]
    assert not [s for s in sim.cluster.containers[vmid].snapshots if s.startswith("pxupdate")]
    assert ("dashboard", APP, "ok") in _audit(deck, "otto", "apps.update")


def test_an_update_that_fails_its_health_check_is_rolled_back_and_said_so(
    deck: DashboardService, sim: Any
) -> None:
    otto = deck.for_user("otto")
    app = deck.reader.apps.get(APP, live=False)
    deck.reader.update_settings(health_timeout_s=1)
    sim.faults.app_never_healthy(app.vmid)
    try:
        outcome = otto.update(APP)
    finally:
        deck.reader.update_settings(health_timeout_s=20)
    assert not outcome.updated and outcome.error.startswith("HealthCheckFailed: ")
    assert outcome.undone == ("snapshot",) and not outcome.undo_failed
    assert outcome.status == "running" and outcome.version_after == app.version
    assert "rolled back automatically (snapshot)" in outcome.summary()
    assert sim.cluster.containers[app.vmid].status == "running"
    assert not [s for s in sim.cluster.containers[app.vmid].snapshots if s.startswith("pxupdate")]
    assert ("dashboard", APP, "rolled back: HealthCheckFailed") in _audit(deck, "otto", "apps.update")


def test_an_update_that_cannot_start_raises_its_typed_error(deck: DashboardService) -> None:
    with pytest.raises(NotFound):
        deck.for_user("otto").update("no-such-app")


def test_an_oci_install_already_at_the_catalog_version_has_nothing_to_update(deck: DashboardService) -> None:
    deck.reader.apps.deploy("gotify", name="notes-oci", method="oci")
    try:
        outcome = deck.for_user("otto").update("notes-oci")
        assert outcome.job_id is None and not outcome.updated and not outcome.error
        assert outcome.summary() == f"notes-oci is already at {outcome.version_after}: nothing to update"
    finally:
        deck.reader.apps.delete("notes-oci", purge=True, confirm=True)


def test_resize_grows_the_disk_only_and_changes_what_it_is_given(deck: DashboardService, sim: Any) -> None:
    otto = deck.for_user("otto")
    before = deck.reader.apps.get(APP, live=False)
    resized = otto.resize(APP, cores=2, disk_gb=before.disk_gb + 1)
    config = sim.cluster.containers[before.vmid].config
    assert (resized.cores, resized.memory_mb, resized.disk_gb) == (2, before.memory_mb, before.disk_gb + 1)
    assert int(config["cores"]) == 2 and int(config["memory"]) == before.memory_mb
    with pytest.raises(ValidationError, match="disks only grow"):
        otto.resize(APP, disk_gb=before.disk_gb)
    with pytest.raises(ValidationError, match="needs cores"):
        otto.resize(APP)
    assert ("dashboard", APP, "ok") in _audit(deck, "otto", "apps.resize")


def test_migrate_offers_the_other_online_nodes_and_moves_the_app(deck: DashboardService, sim: Any) -> None:
    otto = deck.for_user("otto")
    app = deck.reader.apps.get(APP, live=False)
    targets = deck.for_user("vera").migration_targets(APP)  # a read: viewers see the choices
    assert targets and app.node not in targets
    with pytest.raises(Conflict):
        otto.migrate(APP, app.node)
    with pytest.raises(NotFound):
        otto.migrate(APP, "pve9")
    moved = otto.migrate(APP, targets[0])
    assert moved.node == targets[0] and sim.cluster.containers[app.vmid].node == targets[0]
    assert moved.status.value == "running"
    assert ("dashboard", APP, "ok") in _audit(deck, "otto", "apps.migrate")


def test_a_viewer_is_refused_each_new_action_and_nothing_changes(deck: DashboardService, sim: Any) -> None:
    vera = deck.for_user("vera")
    app = deck.reader.apps.get(APP, live=False)
    jobs = len(deck.reader.jobs.list(limit=500))
    for call in (
        lambda: vera.clone(APP, "stolen"),
        lambda: vera.update(APP),
        lambda: vera.resize(APP, cores=4),
        lambda: vera.migrate(APP, "pve1" if app.node != "pve1" else "pve2"),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert len(deck.reader.jobs.list(limit=500)) == jobs
    denied = [e.action for e in deck.reader.audit(50) if e.who == "vera" and e.outcome == "denied"]
    assert {"apps.clone", "apps.update", "apps.resize", "apps.migrate"} <= set(denied)


def test_the_chart_draws_proxmox_s_own_rrd_figures(deck: DashboardService, sim: Any) -> None:
    app = deck.reader.apps.get(APP, live=False)
    points = deck.for_user("vera").metrics(APP)
    rows = {int(r["time"]): r for r in sim.metrics.rrddata(f"lxc/{app.vmid}", "hour")}
    series = metric_series(points)
    assert series.measured >= 1 and len(series.time_ms) == len(points)
    for point, cpu, memory in zip(points, series.cpu_percent, series.memory_mib, strict=True):
        row = rows.get(int(point.time.timestamp()), {})
        if "cpu" in row:
            assert cpu == pytest.approx(row["cpu"] * 100, rel=0.05, abs=0.5)  # sampled again since: close
        else:
            assert math.isnan(cpu)  # no sample: a gap, never a guess
        assert math.isnan(memory) == ("mem" not in row)
    assert series.max_memory_mib == app.memory_mb
    assert f'data-measured="{series.measured}"' in summary_html(points, "hour")


def _page(deck: DashboardService, actions: UserActions) -> AppDetailPage:
    session = DeckSession(deck, actions)
    session.nav.app = APP
    return AppDetailPage(session)


def test_the_page_disables_what_the_role_may_not_and_refreshes_metrics_every_30_s(
    deck: DashboardService, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetches: list[str] = []
    vera = deck.for_user("vera")
    real = vera.metrics

    def counted(name: str, timeframe: str = "hour") -> Any:
        fetches.append(timeframe)
        return real(name, timeframe)

    monkeypatch.setattr(vera, "metrics", counted)
    viewer_page = _page(deck, vera)
    operator_page = _page(deck, deck.for_user("otto"))

    async def refresh_both() -> None:
        await viewer_page.refresh()
        await viewer_page.refresh()  # within 30 s: no second fetch
        await operator_page.refresh()

    asyncio.run(refresh_both())
    maintenance = viewer_page.maintenance
    buttons = [
        maintenance.clone_button,
        maintenance.update_button,
        maintenance.resize_button,
        maintenance.migrate_button,
    ]
    assert all(button.disabled for button in buttons)
    assert "Your role (viewer) may not apps.clone, apps.resize, apps.migrate, apps.update" in str(
        maintenance.rights.object
    )
    assert not any(
        b.disabled
        for b in (
            operator_page.maintenance.clone_button,
            operator_page.maintenance.update_button,
            operator_page.maintenance.resize_button,
            operator_page.maintenance.migrate_button,
        )
    )
    assert fetches == ["hour"]
    assert "measured sample" in viewer_page.metrics_summary.object
    assert len(viewer_page.chart.source.data["cpu"]) == 70  # PVE's hour frame: 70 slots of one minute
    viewer_page._metrics_at -= METRICS_EVERY_S  # 30 s later
    asyncio.run(viewer_page.refresh())
    assert fetches == ["hour", "hour"]
    viewer_page.timeframe.value = "day"  # another time frame: fetched at once
    asyncio.run(viewer_page.refresh())
    assert fetches == ["hour", "hour", "day"] and "in the last day" in viewer_page.metrics_summary.object
    viewer_page.set_theme("light")  # the chart follows the deck's theme, keeping its data
    assert viewer_page.chart.pane.object.background_fill_color == "#ffffff"
    assert len(viewer_page.chart.source.data["cpu"]) == 70


def _outcome(page: AppDetailPage) -> str:
    return str(page.maintenance.outcome.object)


def test_the_page_resizes_only_what_changed_and_migrates_after_a_yes(
    deck: DashboardService, sim: Any
) -> None:
    page = _page(deck, deck.for_user("otto"))
    maintenance = page.maintenance
    asyncio.run(page.refresh())
    app = deck.reader.apps.get(APP, live=False)
    assert (maintenance.cores.value, maintenance.memory.value, maintenance.disk.value) == (
        app.cores,
        app.memory_mb,
        app.disk_gb,
    )
    jobs = len(deck.reader.jobs.list(limit=500))
    asyncio.run(maintenance._resize(None))  # nothing changed: nothing sent
    assert 'data-kind="error"' in _outcome(page) and "nothing changed" in _outcome(page)
    assert len(deck.reader.jobs.list(limit=500)) == jobs
    maintenance.memory.value = app.memory_mb + 64
    asyncio.run(maintenance._resize(None))
    config = sim.cluster.containers[app.vmid].config
    assert int(config["memory"]) == app.memory_mb + 64 and int(config["cores"]) == app.cores
    assert 'data-kind="ok"' in _outcome(page) and f"{app.memory_mb + 64} MiB" in _outcome(page)
    assert maintenance.memory.value == app.memory_mb + 64  # refilled from the resized app

    target = maintenance.target.value
    assert target and target != app.node and target in maintenance.target.options
    maintenance._ask_migrate(None)
    assert maintenance.yes_box.visible and f"to <b>{target}</b>" in maintenance.yes_text.object
    maintenance._cancel(None)
    asyncio.run(maintenance._yes(None))  # a yes after cancel: nothing pending, nothing runs
    assert sim.cluster.containers[app.vmid].node == app.node
    maintenance._ask_migrate(None)
    asyncio.run(maintenance._yes(None))
    assert sim.cluster.containers[app.vmid].node == target and not maintenance.yes_box.visible
    assert f"moved {APP} to {target}: running" in _outcome(page)
    log = "".join(str(line.object) for line in maintenance.log.lines.objects)
    assert f"job-succeeded: app migrate {APP} done" in log


def test_the_page_shows_a_rolled_back_update_and_a_typed_error(deck: DashboardService, sim: Any) -> None:
    page = _page(deck, deck.for_user("otto"))
    maintenance = page.maintenance
    asyncio.run(page.refresh())
    maintenance.clone_name.param.update(value=APP, value_input=APP)
    asyncio.run(maintenance._clone(None))
    assert 'data-kind="error"' in _outcome(page) and "AlreadyExists: " in _outcome(page)

    vmid = deck.reader.apps.get(APP, live=False).vmid
    deck.reader.update_settings(health_timeout_s=1)
    sim.faults.app_never_healthy(vmid)
    try:
        maintenance._ask_update(None)
        assert "rolled back to the snapshot automatically" in maintenance.yes_text.object
        asyncio.run(maintenance._yes(None))
    finally:
        deck.reader.update_settings(health_timeout_s=20)
    assert 'data-kind="error"' in _outcome(page) and "rolled back automatically (snapshot)" in _outcome(page)
    maintenance.log.flush()
    log = "".join(str(line.object) for line in maintenance.log.lines.objects)
    assert "undo-done snapshot" in log and "job-failed" in log
    assert deck.reader.apps.get(APP).status.value == "running"
