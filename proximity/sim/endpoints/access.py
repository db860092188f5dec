"""Access control: tickets (and their renewal), permissions, users, API tokens, ACLs, roles."""

from __future__ import annotations

from typing import Any

from proximity.sim.auth import ROLES, Identity
from proximity.sim.context import Call
from proximity.sim.errors import fail, parameter_error
from proximity.sim.router import Route, perm


def ticket(call: Call) -> dict[str, Any]:
    auth = call.services.auth
    username = call.required("username")
    password = call.required("password")
    if "@" not in username:
        realm = call.text("realm") or "pam"
        username = f"{username}@{realm}"
    identity = auth.login(username, password)
    return {
        "username": identity.userid,
        "ticket": auth.issue_ticket(identity.userid),
        "CSRFPreventionToken": auth.issue_csrf(identity.userid),
        "cap": _capabilities(call, identity),
    }


def _capabilities(call: Call, identity: Identity) -> dict[str, dict[str, int]]:
    auth = call.services.auth
    groups = {"vms": "/vms", "storage": "/storage", "nodes": "/nodes", "access": "/access", "dc": "/"}
    return {name: {p: 1 for p in sorted(auth.privileges(identity, path))} for name, path in groups.items()}


def permissions(call: Call) -> dict[str, dict[str, int]]:
    auth = call.services.auth
    target = call.text("userid")
    identity = call.identity
    if target and target != identity.name:
        call.check("/access", "Sys.Audit")
        userid, _, tokenid = target.partition("!")
        with auth.lock:
            if userid not in auth.users or (tokenid and target not in auth.tokens):
                raise fail(f"no such user/token '{target}'")
        identity = Identity(userid, tokenid or None)
    path = call.text("path")
    if path:
        return auth.permission_map(identity, [path])
    paths = set(auth.acl_paths()) | {"/vms", "/storage", "/nodes", "/access", "/pool"}
    paths |= {f"/vms/{vmid}" for vmid in call.cluster.containers}
    paths |= {f"/nodes/{node}" for node in call.cluster.nodes}
    paths |= {f"/storage/{storage}" for storage in call.cluster.storages}
    answer = auth.permission_map(identity, sorted(paths))
    return {path: privs for path, privs in answer.items() if privs}


def list_users(call: Call) -> list[dict[str, Any]]:
    auth = call.services.auth
    rows = []
    with auth.lock:
        for user in sorted(auth.users.values(), key=lambda u: u.userid):
            if user.userid != call.identity.userid and not call.allowed(
                "/access/groups", "User.Modify", "Sys.Audit"
            ):
                continue
            row: dict[str, Any] = {
                "userid": user.userid,
                "enable": int(user.enable),
                "expire": 0,
                "realm-type": user.userid.rsplit("@", 1)[1],
            }
            if user.comment:
                row["comment"] = user.comment
            if call.flag("full"):
                row["tokens"] = [_token_row(t) for t in auth.tokens.values() if t.userid == user.userid]
            rows.append(row)
    return rows


def _token_row(token: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"tokenid": token.tokenid, "privsep": int(token.privsep), "expire": token.expire}
    if token.comment:
        row["comment"] = token.comment
    return row


def _may_manage_tokens(call: Call, userid: str) -> None:
    if call.identity.userid != userid or call.identity.tokenid is not None:
        call.check(f"/access/users/{userid}", "User.Modify")


def list_tokens(call: Call) -> list[dict[str, Any]]:
    auth = call.services.auth
    userid = call.required("userid")
    if call.identity.userid != userid:
        call.check(f"/access/users/{userid}", "Sys.Audit")
    with auth.lock:
        if userid not in auth.users:
            raise fail(f"no such user ('{userid}')")
        return [_token_row(t) for t in auth.tokens.values() if t.userid == userid]


def get_token(call: Call) -> dict[str, Any]:
    auth = call.services.auth
    userid, tokenid = call.required("userid"), call.required("tokenid")
    if call.identity.userid != userid:
        call.check(f"/access/users/{userid}", "Sys.Audit")
    with auth.lock:
        token = auth.tokens.get(f"{userid}!{tokenid}")
        if token is None:
            raise fail(f"no such token '{tokenid}' for user '{userid}'")
        row = _token_row(token)
        row.pop("tokenid")
        return row


def create_token(call: Call) -> dict[str, Any]:
    userid, tokenid = call.required("userid"), call.required("tokenid")
    _may_manage_tokens(call, userid)
    token, secret = call.services.auth.add_token(
        userid,
        tokenid,
        call.flag("privsep", True),
        call.text("comment") or "",
        expire=call.integer("expire", 0) or 0,
    )
    call.cluster.changed()
    info = _token_row(token)
    info.pop("tokenid")
    return {"full-tokenid": token.full_id, "info": info, "value": secret}


def delete_token(call: Call) -> None:
    userid, tokenid = call.required("userid"), call.required("tokenid")
    _may_manage_tokens(call, userid)
    call.services.auth.remove_token(userid, tokenid)
    call.cluster.changed()


def list_acl(call: Call) -> list[dict[str, Any]]:
    auth = call.services.auth
    with auth.lock:
        return [
            {
                "path": a.path,
                "ugid": a.ugid,
                "roleid": a.roleid,
                "propagate": int(a.propagate),
                "type": "token" if "!" in a.ugid else "user",
            }
            for a in auth.acls
        ]


def update_acl(call: Call) -> None:
    auth = call.services.auth
    path = call.required("path")
    roles = [r for r in call.required("roles").split(",") if r]
    subjects = [u for u in (call.text("users") or "").split(",") if u] + [
        t for t in (call.text("tokens") or "").split(",") if t
    ]
    if not subjects:
        raise parameter_error({"users": "either 'users', 'groups' or 'tokens' is required"})
    for role in roles:
        if role not in ROLES:
            raise fail(f"role '{role}' does not exist")
    with auth.lock:
        for subject in subjects:
            if (
                "!" in subject
                and subject not in auth.tokens
                or "!" not in subject
                and subject not in auth.users
            ):
                raise fail(f"no such {'token' if '!' in subject else 'user'} '{subject}'")
    for subject in subjects:
        for role in roles:
            if call.flag("delete"):
                auth.revoke(path, subject, role)
            else:
                auth.grant(path, subject, role, call.flag("propagate", True))
    call.cluster.changed()


def list_roles(call: Call) -> list[dict[str, Any]]:
    return [{"roleid": name, "privs": ",".join(sorted(privs)), "special": 1} for name, privs in ROLES.items()]


ROUTES = [
    Route("POST", "/access/ticket", ticket, public=True),
    Route("GET", "/access/permissions", permissions),
    Route("GET", "/access/users", list_users),
    Route("GET", "/access/users/{userid}/token", list_tokens),
    Route("GET", "/access/users/{userid}/token/{tokenid}", get_token),
    Route("POST", "/access/users/{userid}/token/{tokenid}", create_token),
    Route("DELETE", "/access/users/{userid}/token/{tokenid}", delete_token),
    Route("GET", "/access/acl", list_acl, perm("/access", "Sys.Audit")),
    Route("PUT", "/access/acl", update_acl, perm("/access", "Permissions.Modify")),
    Route("GET", "/access/roles", list_roles),
]
