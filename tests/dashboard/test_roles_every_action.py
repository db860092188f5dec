"""Every action the dashboard's service exposes, enumerated: a viewer is refused on the server for each one
that needs more than the viewer role (the chat's plans included, one per step kind), each refusal is in
the audit log as ``denied`` with the user and front end ``dashboard``, and nothing reached Proxmox.

The lists below are checked against ``UserActions`` and ``Action`` themselves, so a new action or a new
method that nobody classified fails here instead of shipping unchecked.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dashboards.chat import STEP_PERMISSIONS, ChatPlan, chat_plan
from dashboards.permissions import Action, allowed
from dashboards.service import DashboardService, UserActions
from dashboards.users import Role, UserStore
from proximity.errors import PermissionDenied
from proximity.omni.ask import AskedPlan
from proximity.omni.llm_grammar import SIGNATURES, ArgKind
from proximity.omni.plan import RISKS, Plan, Step

# UserActions methods a viewer may call (reads of what the deck shows, own preferences, asking the chat)
VIEWER_METHODS = {
    "placement",
    "app",
    "app_logs",
    "metrics",
    "migration_targets",
    "backups",
    "schedules",
    "hosts",
    "nodes",
    "storages",
    "jobs",
    "job_events",
    "settings",
    "set_preferences",
    "preferences",
    "ask",
    "can",
    "can_manage_users",
}

# every method that needs more than a viewer: (the permission it checks, a call with plausible arguments)
RESTRICTED: dict[str, tuple[Action, Callable[[UserActions], Any]]] = {
    "deploy": (
        Action.DEPLOY,
        lambda a: a.deploy(
            "gotify", name="gotify", host="lab", node="pve1", cores=1, memory_mb=256, disk_gb=2, env={}
        ),
    ),
    "start": (Action.START, lambda a: a.start("movies")),
    "stop": (Action.STOP, lambda a: a.stop("movies")),
    "restart": (Action.RESTART, lambda a: a.restart("movies")),
    "delete": (Action.DELETE, lambda a: a.delete("movies", typed_name="movies", purge=True)),
    "clone": (Action.CLONE, lambda a: a.clone("movies", "movies-copy")),
    "update": (Action.UPDATE, lambda a: a.update("movies")),
    "resize": (Action.RESIZE, lambda a: a.resize("movies", cores=2, memory_mb=1024, disk_gb=20)),
    "migrate": (Action.MIGRATE, lambda a: a.migrate("movies", "pve2")),
    "backup": (Action.BACKUP_CREATE, lambda a: a.backup("movies")),
    "restore": (
        Action.BACKUP_RESTORE,
        lambda a: a.restore("local:backup/x", as_name=None, typed_name="movies"),
    ),
    "delete_backup": (
        Action.BACKUP_DELETE,
        lambda a: a.delete_backup("local:backup/x", typed_volid="local:backup/x"),
    ),
    "protect": (Action.BACKUP_PROTECT, lambda a: a.protect("local:backup/x", True)),
    "schedule": (Action.BACKUP_SCHEDULE, lambda a: a.schedule("movies", 6, 3)),
    "unschedule": (Action.BACKUP_SCHEDULE, lambda a: a.unschedule(1)),
    "add_host": (Action.HOST_ADD, lambda a: a.add_host("evil", "https://127.0.0.1:1", token_id="a@pam!b")),
    "test_host": (Action.HOST_TEST, lambda a: a.test_host("lab")),
    "remove_host": (Action.HOST_REMOVE, lambda a: a.remove_host("lab", typed_name="lab")),
    "cancel_job": (Action.JOB_CANCEL, lambda a: a.cancel_job("job-1")),
    "update_settings": (Action.SETTINGS_UPDATE, lambda a: a.update_settings(cores=8)),
    "list_users": (Action.USERS_MANAGE, lambda a: a.list_users()),
    "add_user": (Action.USERS_MANAGE, lambda a: a.add_user("eve", Role.ADMIN, "a-long-password")),
    "remove_user": (Action.USERS_MANAGE, lambda a: a.remove_user("ada")),
}


@pytest.fixture
def service(tmp_path: Path) -> Iterator[DashboardService]:
    users = UserStore(tmp_path)
    users.add("ada", Role.ADMIN, "admin-password-1")
    users.add("vera", Role.VIEWER, "viewer-password-1")
    service = DashboardService(tmp_path, users, scheduler=False, chat_ranker=None)
    try:
        yield service
    finally:
        service.close()


def _denied(service: DashboardService) -> list[tuple[str, str, str, str]]:
    return [
        (e.who, e.front_end, e.action, e.target) for e in service.reader.audit(1000) if e.outcome == "denied"
    ]


def test_every_method_and_every_permission_is_classified() -> None:
    public = {
        name
        for name, member in inspect.getmembers(UserActions)
        if not name.startswith("_") and (inspect.isfunction(member))
    }
    assert public == VIEWER_METHODS | set(RESTRICTED) | {"run_plan"}, public ^ (
        VIEWER_METHODS | set(RESTRICTED) | {"run_plan"}
    )
    above_viewer = {action for action in Action if not allowed(Role.VIEWER, action)}
    by_buttons = {permission for permission, _ in RESTRICTED.values()}
    by_chat = {STEP_PERMISSIONS[a] for a in STEP_PERMISSIONS} - {Action.VIEW}
    assert above_viewer == by_buttons | by_chat  # every restricted permission is exercised below
    executing = {action for action in RISKS if action not in ("out_of_scope", "refused")}
    assert executing == set(STEP_PERMISSIONS)  # the chat maps every action the Omni-Prompt can run


def test_a_viewer_is_refused_every_restricted_method_and_each_refusal_is_audited(
    service: DashboardService,
) -> None:
    vera = service.for_user("vera")
    for name, (permission, call) in RESTRICTED.items():
        before = len(_denied(service))
        with pytest.raises(PermissionDenied):
            call(vera)
        new = _denied(service)[: len(_denied(service)) - before]  # newest first
        assert [(who, front, action) for who, front, action, _ in new] == [
            ("vera", "dashboard", permission.value)
        ], name
    assert service.users.get("eve") is None and service.users.get("ada") is not None
    assert service.reader.settings().cores != 8


def _sample_args(action: str) -> dict[str, Any]:
    signature = next(s for s in SIGNATURES if s.action == action)
    samples: dict[ArgKind, Any] = {ArgKind.INT: 1, ArgKind.BOOL: False}
    args = {}
    for spec in signature.args:
        if spec.required:
            value = samples.get(spec.kind, "movies")
            args[spec.name] = 64 if spec.name == "memory_mb" else value
    return args


def _one_step_plan(service: DashboardService, user: str, action: str) -> ChatPlan:
    step = Step(action=action, args=_sample_args(action), sentence=action)
    plan = Plan(request=f"test {action}", steps=(step,), confidence=1.0)
    actions = service.for_user(user)
    return chat_plan(user, AskedPlan(service.client(user), plan), actions.can)


def test_a_viewer_is_refused_every_restricted_chat_step_and_each_refusal_is_audited(
    service: DashboardService,
) -> None:
    vera = service.for_user("vera")
    restricted = [a for a, permission in STEP_PERMISSIONS.items() if permission is not Action.VIEW]
    assert len(restricted) == 11
    for action in restricted:
        chat = _one_step_plan(service, "vera", action)
        assert not chat.steps[0].allowed
        before = len(_denied(service))
        with pytest.raises(PermissionDenied):
            vera.run_plan(chat, approve=True, typed=["movies", "purge movies"])
        new = _denied(service)[: len(_denied(service)) - before]
        assert [(who, front, act) for who, front, act, _ in new] == [
            ("vera", "dashboard", STEP_PERMISSIONS[action].value)
        ], action
        assert new[0][3].startswith(f"omni: {action}(")
    # refused before the runner: no confirmation was even asked, no step audited
    assert not [e for e in service.reader.audit(1000) if e.action in ("omni.confirm", "omni.step")]


def test_the_admin_passes_the_role_check_for_every_chat_step(service: DashboardService) -> None:
    for action in STEP_PERMISSIONS:
        assert _one_step_plan(service, "ada", action).steps[0].allowed, action
