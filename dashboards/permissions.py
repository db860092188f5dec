"""What each role may do. Checked on the server in every action handler (a disabled button is not a check)."""

from __future__ import annotations

from enum import StrEnum

from dashboards.users import Role
from proximity.errors import PermissionDenied


class Action(StrEnum):
    VIEW = "view"
    DEPLOY = "apps.deploy"
    START = "apps.start"
    STOP = "apps.stop"
    RESTART = "apps.restart"
    DELETE = "apps.delete"
    CLONE = "apps.clone"  # these four: the App page's maintenance buttons and the Omni-Prompt chat
    UPDATE = "apps.update"
    MIGRATE = "apps.migrate"
    RESIZE = "apps.resize"
    BACKUP_CREATE = "backups.create"
    BACKUP_RESTORE = "backups.restore"
    BACKUP_DELETE = "backups.delete"
    BACKUP_PROTECT = "backups.protect"
    BACKUP_SCHEDULE = "backups.schedule"
    HOST_ADD = "hosts.add"
    HOST_TEST = "hosts.test"
    HOST_REMOVE = "hosts.remove"
    SETTINGS_UPDATE = "settings.update"
    USERS_MANAGE = "users.manage"
    JOB_CANCEL = "jobs.cancel"
    PREFERENCES = "preferences"  # a user's own theme and sounds


_VIEWER = {Action.VIEW, Action.PREFERENCES}
_OPERATOR = _VIEWER | {
    Action.DEPLOY,
    Action.START,
    Action.STOP,
    Action.RESTART,
    Action.CLONE,
    Action.UPDATE,
    Action.MIGRATE,
    Action.RESIZE,
    Action.BACKUP_CREATE,
    Action.BACKUP_PROTECT,
    Action.HOST_TEST,
    Action.JOB_CANCEL,
}
# admins may do everything, destructive and administrative actions included
_ALLOWED: dict[Role, frozenset[Action]] = {
    Role.VIEWER: frozenset(_VIEWER),
    Role.OPERATOR: frozenset(_OPERATOR),
    Role.ADMIN: frozenset(Action),
}


def allowed(role: Role, action: Action) -> bool:
    return action in _ALLOWED[role]


def require(user: str, role: Role, action: Action) -> None:
    if not allowed(role, action):
        raise PermissionDenied(f"{user} ({role.value}) may not {action.value}")
