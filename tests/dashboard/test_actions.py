"""Roles are enforced on the server in every action handler, refusals are audited, and destructive actions
need the typed confirmation; the store's search and filters; the rack rows; serving options."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from dashboards.pages.rack import rack_rows
from dashboards.pages.store import filter_entries
from dashboards.permissions import Action, allowed
from dashboards.server import DashboardConfigError, ensure_admin, is_loopback, serve
from dashboards.service import DashboardService
from dashboards.users import Role, UserStore
from proximity.errors import ConfirmationRequired, PermissionDenied
from proximity.models import App, AppStatus


@pytest.fixture
def service(tmp_path: Path) -> Iterator[DashboardService]:
    users = UserStore(tmp_path)
    users.add("ada", Role.ADMIN, "admin-password-1")
    users.add("otto", Role.OPERATOR, "operator-password-1")
    users.add("vera", Role.VIEWER, "viewer-password-1")
    service = DashboardService(tmp_path, users, scheduler=False)
    try:
        yield service
    finally:
        service.close()


def test_role_matrix() -> None:
    assert allowed(Role.ADMIN, Action.DELETE) and allowed(Role.ADMIN, Action.USERS_MANAGE)
    assert allowed(Role.OPERATOR, Action.DEPLOY) and allowed(Role.OPERATOR, Action.STOP)
    assert not allowed(Role.OPERATOR, Action.DELETE)
    assert not allowed(Role.OPERATOR, Action.BACKUP_RESTORE)
    assert not allowed(Role.OPERATOR, Action.SETTINGS_UPDATE)
    assert allowed(Role.VIEWER, Action.VIEW) and allowed(Role.VIEWER, Action.PREFERENCES)
    for action in Action:
        if action not in (Action.VIEW, Action.PREFERENCES):
            assert not allowed(Role.VIEWER, action), action


def test_viewer_actions_are_refused_and_audited(service: DashboardService) -> None:
    vera = service.for_user("vera")
    with pytest.raises(PermissionDenied):
        vera.delete("movies", typed_name="movies", purge=False)
    with pytest.raises(PermissionDenied):
        vera.stop("movies")
    with pytest.raises(PermissionDenied):
        vera.update_settings(cores=2)
    with pytest.raises(PermissionDenied):
        vera.add_user("eve", Role.ADMIN, "a-long-password")
    entries = service.reader.audit(10)
    denied = [(e.who, e.front_end, e.action, e.outcome) for e in entries if e.outcome == "denied"]
    assert ("vera", "dashboard", "apps.delete", "denied") in denied
    assert ("vera", "dashboard", "users.manage", "denied") in denied
    assert service.users.get("eve") is None


def test_a_demoted_user_loses_rights_at_once(service: DashboardService) -> None:
    ada = service.for_user("ada")
    service.users.add("tmp", Role.ADMIN, "a-long-password")
    tmp = service.for_user("tmp")
    assert tmp.can(Action.DELETE)
    ada.remove_user("tmp")
    assert not tmp.can(Action.DELETE)
    with pytest.raises(PermissionDenied):
        tmp.update_settings(cores=2)


def test_admin_actions_write_the_audit_with_the_user(service: DashboardService) -> None:
    ada = service.for_user("ada")
    ada.update_settings(cores=2, memory_mb=1024)
    assert service.reader.settings().cores == 2
    ada.add_user("newbie", Role.VIEWER, "a-long-password")
    rows = [(e.who, e.front_end, e.action) for e in service.reader.audit(10)]
    assert ("ada", "dashboard", "settings.update") in rows
    assert ("ada", "dashboard", "users.add") in rows


def test_destructive_actions_need_the_typed_name(service: DashboardService) -> None:
    ada = service.for_user("ada")
    with pytest.raises(ConfirmationRequired):
        ada.delete("movies", typed_name="movie", purge=False)
    with pytest.raises(ConfirmationRequired):
        ada.remove_host("lab", typed_name="")
    with pytest.raises(ConfirmationRequired):
        ada.delete_backup("local:backup/x.tar.zst", typed_volid="x")


def test_store_search_tolerates_typos_and_filters(service: DashboardService) -> None:
    catalog = service.catalog()
    assert filter_entries(catalog, "jelyfin", "all", [])[0].id == "jellyfin"
    media = filter_entries(catalog, "", "media", [], limit=500)
    assert media and all("media" in e.categories for e in media)
    needing = {
        need: [e for e in catalog.list() if getattr(e.requirements, need)] for need in ("nesting", "fuse")
    }
    for need, entries in needing.items():
        kept = filter_entries(catalog, "", "all", [need], limit=500)
        assert len(kept) == len(catalog) - len(entries)
    oci = filter_entries(catalog, "", "all", [], limit=500, method="oci")
    assert oci and len(oci) < len(catalog) and all(any(i.type == "oci" for i in e.install) for e in oci)
    small = filter_entries(catalog, "", "all", [], limit=500, max_memory_mb=128)
    assert small and all(e.resources.memory_min_mb <= 128 for e in small) and len(small) < len(catalog)


def test_rack_rows_show_deploys_in_flight_and_escape_names() -> None:
    app = App(
        name="movies",
        catalog_id="jellyfin",
        host="lab",
        node="pve1",
        vmid=100,
        install_method="oci",
        status=AppStatus.RUNNING,
        url="http://127.81.0.5:8096/",
    )
    rows = rack_rows([app], {"photos": "immich", "movies": "jellyfin"})
    assert len(rows) == 2
    assert 'data-status="deploying"' in rows[0][0] and "photos" in rows[0][1]
    assert 'data-status="running"' in rows[1][0]
    hostile = App(name="x", catalog_id="<script>", host="lab", node="pve1", vmid=1, install_method="oci")
    assert "<script>" not in "".join(rack_rows([hostile])[0])


def test_login_cannot_be_turned_off_beyond_loopback(tmp_path: Path) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    with pytest.raises(DashboardConfigError):
        serve(tmp_path, host="0.0.0.0", port=0, login=False, origins=[])


def test_first_admin_is_created_once(tmp_path: Path) -> None:
    users = UserStore(tmp_path)
    admin = ensure_admin(users)
    assert admin is not None and users.verify("admin", admin.password) is not None
    assert ensure_admin(users) is None


def test_cli_manages_users_without_showing_hashes(tmp_path: Path) -> None:
    from proximity.cli import main

    runner = CliRunner()
    added = runner.invoke(
        main,
        [
            "dashboard",
            "--db",
            str(tmp_path),
            "users",
            "add",
            "vera",
            "--role",
            "viewer",
            "--password-file",
            "-",
        ],
        input="viewer-password-1\n",
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(main, ["dashboard", "--db", str(tmp_path), "users", "list"])
    assert "vera\tviewer" in listed.output and "viewer-password-1" not in listed.output
    refused = runner.invoke(main, ["dashboard", "--host", "0.0.0.0", "--no-login", "--db", str(tmp_path)])
    assert refused.exit_code != 0 and "loopback" in refused.output
