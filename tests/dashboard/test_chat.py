"""The dashboard's Omni-Prompt chat at the service level, on the simulator: the plan is shown before anything
runs; a viewer may ask but the server refuses to run what the role does not allow (audited, nothing runs);
changes need the yes of "Run plan"; a destructive step needs its exact text typed; progress is reported per
step; everything is audited with the user and front end ``dashboard``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboards.chat import ChatProgress
from dashboards.pages.chat import outcome_html, plan_html
from dashboards.service import DashboardService
from dashboards.users import Role, UserStore
from proximity.client import Proximity
from proximity.errors import PermissionDenied
from proximity.omni.safety import Need
from tests.sdk.conftest import FAST, add_lab

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def deck(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardService]:
    from proximity.sim import Simulator

    home: Path = tmp_path_factory.mktemp("chat-home")
    with Simulator(nodes=1, time_scale=0.01) as sim:
        with Proximity(home, front_end="test", **FAST) as px:
            add_lab(px, sim)
            px.update_settings(health_timeout_s=20, task_timeout_s=60)
            px.apps.deploy("gotify")
            px.apps.deploy("adminer")
        users = UserStore(home)
        users.add("ada", Role.ADMIN, "admin-password-1")
        users.add("otto", Role.OPERATOR, "operator-password-1")
        users.add("vera", Role.VIEWER, "viewer-password-1")
        service = DashboardService(home, users, scheduler=False, chat_ranker=None)
        try:
            yield service
        finally:
            service.close()


def _audit(service: DashboardService, who: str) -> list[tuple[str, str, str, str]]:
    return [(e.who, e.front_end, e.action, e.outcome) for e in service.reader.audit(200) if e.who == who]


def _jobs(service: DashboardService) -> int:
    return len(service.reader.jobs.list(limit=500))


def test_a_viewer_sees_the_plan_but_the_server_refuses_to_run_it(deck: DashboardService) -> None:
    vera = deck.for_user("vera")
    jobs_before = _jobs(deck)
    chat = vera.ask("riavvia gotify")
    assert [v.step.action for v in chat.steps] == ["apps.restart"]
    assert chat.plan.language == "it" and not chat.steps[0].allowed
    assert "your role may not" in plan_html(chat) and "nothing has run yet" in plan_html(chat)
    with pytest.raises(PermissionDenied, match="apps.restart"):
        vera.run_plan(chat, approve=True, typed=[])
    assert _jobs(deck) == jobs_before  # nothing ran
    assert ("vera", "dashboard", "apps.restart", "denied") in _audit(deck, "vera")
    assert ("vera", "omni", "omni.plan", 'apps.restart(name="gotify") (by parser, 1.00)') in _audit(
        deck, "vera"
    )


def test_a_viewer_may_run_a_read_only_plan(deck: DashboardService) -> None:
    vera = deck.for_user("vera")
    chat = vera.ask("show me the last 5 lines of the logs of gotify")
    assert [v.step.action for v in chat.steps] == ["apps.logs"] and chat.steps[0].allowed
    result = vera.run_plan(chat, approve=False, typed=[])
    assert result.ok and result.outcomes[0].status == "done"


def test_an_operator_runs_a_two_step_plan_with_progress(deck: DashboardService) -> None:
    otto = deck.for_user("otto")
    backups_before = len(deck.reader.backups.list("gotify"))
    chat = otto.ask("back up gotify and then restart it")
    assert [v.need for v in chat.steps] == [Need.YES, Need.YES]
    assert len(deck.reader.backups.list("gotify")) == backups_before  # asking changed nothing
    unconfirmed = otto.run_plan(chat, approve=False, typed=[])
    assert unconfirmed.missing and len(deck.reader.backups.list("gotify")) == backups_before
    progress = ChatProgress(total=len(chat.steps))
    result = otto.run_plan(chat, approve=True, typed=[], progress=progress)
    assert result.ok, result.summary()
    assert progress.snapshot()[0] == {0: "done", 1: "done"} and progress.fraction == 1.0
    assert len(deck.reader.backups.list("gotify")) == backups_before + 1
    assert 'data-kind="ok"' in outcome_html(result)
    rows = _audit(deck, "otto")
    assert (
        "otto",
        "dashboard",
        "backups.create",
        f"ok ({deck.reader.backups.list('gotify')[0].volid})",
    ) in rows
    assert ("otto", "dashboard", "omni.run", "backups.create: done; apps.restart: done") in rows
    assert ("otto", "omni", "omni.step", 'apps.restart(name="gotify"): done gotify is running') in rows


def test_an_operator_may_not_delete_through_the_chat(deck: DashboardService) -> None:
    otto = deck.for_user("otto")
    chat = otto.ask("delete adminer")
    with pytest.raises(PermissionDenied, match="apps.delete"):
        otto.run_plan(chat, approve=True, typed=["adminer"])  # even with the name typed
    assert deck.reader.apps.get("adminer", live=False).name == "adminer"
    assert ("otto", "dashboard", "apps.delete", "denied") in _audit(deck, "otto")


def test_one_forbidden_step_refuses_the_whole_plan(deck: DashboardService) -> None:
    otto = deck.for_user("otto")
    backups_before = len(deck.reader.backups.list("adminer"))
    chat = otto.ask("back up adminer and then delete it")
    with pytest.raises(PermissionDenied):
        otto.run_plan(chat, approve=True, typed=["adminer"])
    assert len(deck.reader.backups.list("adminer")) == backups_before  # the allowed backup did not run


def test_a_plan_is_checked_against_the_role_when_it_runs(deck: DashboardService) -> None:
    deck.users.add("tess", Role.OPERATOR, "operator-password-2")
    tess = deck.for_user("tess")
    chat = tess.ask("stop gotify")
    assert chat.steps[0].allowed
    deck.users.set_role("tess", Role.VIEWER)  # demoted between the plan and the click
    with pytest.raises(PermissionDenied):
        tess.run_plan(chat, approve=True, typed=[])
    assert deck.reader.apps.get("gotify").status.value == "running"


def test_a_plan_made_for_one_user_cannot_be_run_by_another(deck: DashboardService) -> None:
    chat = deck.for_user("vera").ask("stop gotify")
    with pytest.raises(PermissionDenied, match="made for vera"):
        deck.for_user("ada").run_plan(chat, approve=True, typed=[])


def test_an_admin_deletes_only_with_the_typed_name(deck: DashboardService) -> None:
    ada = deck.for_user("ada")
    chat = ada.ask("elimina adminer")
    [view] = chat.to_type()
    assert view.expected == "adminer" and view.step.risk.value == "destructive"
    assert "Scrivi 'adminer'" in view.message  # the request's language, naming what is lost
    for typed in ([], ["Adminer"], ["gotify"], ["purge adminer"], ["yes"]):
        result = ada.run_plan(chat, approve=True, typed=typed)
        assert result.missing and result.outcomes[0].status == "not confirmed", typed
        assert deck.reader.apps.get("adminer", live=False).name == "adminer"
    result = ada.run_plan(chat, approve=True, typed=["adminer"])
    assert result.ok, result.summary()
    assert "adminer" not in [a.name for a in deck.reader.apps.list()]
    rows = _audit(deck, "ada")
    assert ("ada", "dashboard", "apps.delete", "ok") in rows
    assert sum(1 for r in rows if r[2] == "omni.confirm" and r[3].endswith("typed missing")) == 5
    assert sum(1 for r in rows if r[2] == "omni.confirm" and r[3].endswith("typed given")) == 1


def test_refused_and_out_of_scope_plans_cannot_run(deck: DashboardService) -> None:
    ada = deck.for_user("ada")
    for text in ("delete everything", "cancella tutto", "what's the weather tomorrow?"):
        chat = ada.ask(text)
        assert not chat.runnable
        result = ada.run_plan(chat, approve=True, typed=["gotify"])
        assert result.outcomes == []
    assert deck.reader.apps.get("gotify", live=False).name == "gotify"


def test_the_audit_chain_is_intact_after_all_of_it(deck: DashboardService) -> None:
    report = deck.reader.verify_audit()
    assert report.intact and report.entries >= 40, report.describe()
