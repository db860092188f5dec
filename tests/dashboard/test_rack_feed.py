"""The rack's feed: units from SDK objects (never an invented figure) and the deltas between snapshots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dashboards.rack.feed import (
    UNIT_FIELDS,
    activities,
    build_units,
    diff,
    kind_of,
    last_backups,
    pending_unit,
    percent,
    snapshot,
    unit_of,
    usage_of,
)
from proximity.catalog.loader import load_catalog
from proximity.models import App, AppStatus, Backup, Job, JobState, PortBinding

MIB = 1024 * 1024
GIB = 1024 * MIB


def make_app(name: str = "gotify", **fields: Any) -> App:
    values: dict[str, Any] = {
        "name": name, "catalog_id": "gotify", "host": "lab", "node": "pve1", "vmid": 101,
        "install_method": "oci", "status": AppStatus.RUNNING, "ip": "127.81.0.5",
        "url": "http://127.81.0.5:80", "ports": [PortBinding(name="http", port=80)],
        "cores": 2, "memory_mb": 1024, "disk_gb": 8,
    }  # fmt: skip
    values.update(fields)
    return App(**values)


def running_row(vmid: int = 101, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "vmid": vmid, "type": "lxc", "node": "pve1", "status": "running", "cpu": 0.423, "maxcpu": 2,
        "mem": 768 * MIB, "maxmem": 1024 * MIB, "disk": 2 * GIB, "maxdisk": 8 * GIB,
    }  # fmt: skip
    row.update(fields)
    return row


def test_percent_is_absent_when_a_figure_is_missing() -> None:
    assert percent(768, 1024) == 75
    assert percent(2000, 1000) == 100  # clamped
    assert percent(None, 1024) is None
    assert percent(10, None) is None
    assert percent(10, 0) is None
    assert percent("x", 10) is None


def test_usage_comes_from_a_running_containers_row_only() -> None:
    assert usage_of(running_row()) == (42, 75, 25)
    # Proxmox reports zeros for a stopped container: those are not measurements, so nothing is shown
    assert usage_of(running_row(status="stopped", cpu=0, mem=0)) == (None, None, None)
    assert usage_of(None) == (None, None, None)
    # a row without a figure leaves that figure absent, never 0
    row = running_row()
    del row["cpu"], row["maxdisk"]
    assert usage_of(row) == (None, 75, None)


def test_unit_of_an_app() -> None:
    unit = unit_of(make_app(), running_row(), last_backup=datetime(2026, 11, 25, 9, 30, tzinfo=UTC))
    assert set(unit) == set(UNIT_FIELDS)
    assert unit["id"] == "gotify" and unit["status"] == "running" and unit["vmid"] == 101
    assert unit["ports"] == ["http 80/tcp"]
    assert (unit["cpu"], unit["mem"], unit["disk"]) == (42, 75, 25)
    assert unit["last_backup"] == "2026-11-25 09:30 UTC"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (AppStatus.RUNNING, "running"),
        (AppStatus.STOPPED, "stopped"),
        (AppStatus.DEPLOYING, "deploying"),
        (AppStatus.FAILED, "error"),
        (AppStatus.MISSING, "missing"),
        (AppStatus.UNKNOWN, "unknown"),
    ],
)
def test_rack_status_of_each_app_status(status: AppStatus, expected: str) -> None:
    assert unit_of(make_app(status=status), None)["status"] == expected


def test_a_job_in_flight_shows_on_the_led() -> None:
    def job(kind: str, **context: Any) -> Job:
        return Job(id=kind, kind=kind, target="t", state=JobState.RUNNING, context=context)

    found = activities(
        [job("backup", app="a"), job("clone", source="b", name="b2"), job("restore", app="c"),
         job("update", app="d"), job("app", action="stop", app="e")]
    )  # fmt: skip
    assert found == {"a": "backing-up", "b": "cloning", "b2": "cloning", "c": "restoring", "d": "updating"}
    assert unit_of(make_app(name="a"), running_row(), activity=found["a"])["status"] == "backing-up"


def test_last_backup_is_the_newest() -> None:
    base = datetime(2026, 11, 1, tzinfo=UTC)

    def backup(app: str | None, hours: int) -> Backup:
        return Backup(volid=f"v{hours}", host="lab", node="pve1", storage="local", vmid=1, app=app,
                      created_at=base + timedelta(hours=hours))  # fmt: skip

    assert last_backups(
        [backup("a", 1), backup("a", 5), backup("a", 3), backup("b", 2), backup(None, 9)]
    ) == {
        "a": base + timedelta(hours=5),
        "b": base + timedelta(hours=2),
    }


def test_build_units_matches_rows_by_host_and_vmid_and_sorts() -> None:
    apps = [
        make_app("zeta", host="lab", vmid=101),
        make_app("alpha", host="other", vmid=101, node="n9"),  # the same VMID on another host
        make_app("beta", host="lab", vmid=102, status=AppStatus.STOPPED),
    ]
    resources = {("lab", 101): running_row(cpu=0.9), ("other", 101): running_row(cpu=0.1)}
    units = build_units(apps, resources, deploying={"newapp": "jellyfin", "zeta": "gotify"})
    assert [u["id"] for u in units] == ["newapp", "beta", "zeta", "alpha"]  # pending (no host) first
    by_id = {u["id"]: u for u in units}
    assert by_id["zeta"]["cpu"] == 90 and by_id["alpha"]["cpu"] == 10
    assert by_id["beta"]["cpu"] is None  # stopped and no row: nothing measured
    assert by_id["newapp"] == pending_unit("newapp", "jellyfin")
    assert by_id["newapp"]["status"] == "deploying" and by_id["newapp"]["vmid"] is None


def test_kind_from_the_catalog_and_for_an_unknown_entry() -> None:
    entry = load_catalog().get("gotify")
    assert entry is not None
    kind = kind_of("gotify", entry)
    assert kind["glyph"] == entry.icon.glyph and kind["color"] == entry.icon.color
    assert kind["paths"] == [v.path for v in entry.volumes] and kind["paths"]
    assert kind_of("custom", None) == {
        "name": "custom",
        "glyph": "CU",
        "color": "#607d8b",
        "icon": None,
        "paths": [],
    }


def test_snapshot_rows_follow_the_field_order() -> None:
    unit = unit_of(make_app(), running_row())
    shot = snapshot([unit], {"gotify": kind_of("custom", None)})
    assert shot["fields"] == list(UNIT_FIELDS)
    assert dict(zip(shot["fields"], shot["rows"][0], strict=True)) == unit


def test_diff_sends_only_the_changed_fields() -> None:
    kinds = {"gotify": kind_of("gotify", None), "jellyfin": kind_of("jellyfin", None)}
    old = [unit_of(make_app("a", vmid=1), running_row(1)), unit_of(make_app("b", vmid=2), running_row(2))]
    assert diff(old, old, kinds) is None

    stopped = unit_of(make_app("a", vmid=1, status=AppStatus.STOPPED), running_row(1, status="stopped"))
    delta = diff(old, [stopped, old[1]], kinds)
    assert delta is not None
    assert delta["set"] == {"a": {"status": "stopped", "cpu": None, "mem": None, "disk": None}}
    assert delta["add"] == [] and delta["remove"] == [] and delta["kinds"] == {}

    added = unit_of(make_app("c", vmid=3, catalog_id="jellyfin"), None)
    delta = diff(old, [old[0], added], kinds, known_kinds={"gotify"})
    assert delta is not None
    assert delta["set"] == {} and delta["remove"] == ["b"]
    assert delta["add"] == [[added[f] for f in UNIT_FIELDS]]  # type: ignore[literal-required]
    assert delta["kinds"] == {"jellyfin": kinds["jellyfin"]}
    # a kind the browser already has is not sent again
    delta = diff(old, [*old, added], kinds, known_kinds={"gotify", "jellyfin"})
    assert delta is not None and delta["kinds"] == {}
