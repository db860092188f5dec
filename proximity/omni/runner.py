"""Running a confirmed plan through the public SDK, with a safety net, an undo record and the audit log.

Order of work: every step's requirement is checked first (``safety``); if a change or destructive step
lacks its confirmation, no change runs at all (read-only steps still do). Then steps run in order; the
first failure stops the rest. Before a risky step a safety net is taken where possible (a backup before
a restore in place, a snapshot before an update), and the inverse of each done step is written to
``<state dir>/omni-last-plan.json`` so ``undo`` can reverse the last plan.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from proximity.errors import ProximityError
from proximity.omni.plan import Plan, Risk, Step
from proximity.omni.safety import Confirmation, Confirmer, Need, approved, requirements
from proximity.store import default_who

UNDO_FILE = "omni-last-plan.json"
AUDIT_TEXT_LIMIT = 500
Status = Literal["done", "failed", "not confirmed", "skipped"]


@dataclass
class StepOutcome:
    index: int
    action: str
    status: Status
    detail: str = ""
    data: Any = None


@dataclass
class RunResult:
    plan: Plan
    outcomes: list[StepOutcome] = field(default_factory=list)
    missing: list[Confirmation] = field(default_factory=list)  # confirmations that were not given

    @property
    def ok(self) -> bool:
        return not self.missing and all(o.status == "done" for o in self.outcomes)

    def summary(self) -> str:
        lines = [
            f"{o.index + 1}. {o.action}: {o.status}" + (f" - {o.detail}" if o.detail else "")
            for o in self.outcomes
        ]
        lines += [f"needs confirmation: {m.message}" for m in self.missing]
        return "\n".join(lines)


def audit(px: Any, action: str, request: str, outcome: str) -> None:
    """One line in the SDK's audit log, with the original request text, naming the client's user (the
    signed-in dashboard user, or the local user for the CLI and notebooks)."""
    px.store.audit(
        who=getattr(px, "who", None) or default_who(),
        front_end="omni",
        action=action,
        target=request[:AUDIT_TEXT_LIMIT],
        outcome=outcome[:AUDIT_TEXT_LIMIT],
    )


StepProgress = Callable[[int, Step, str], None]  # (index, step, "running" | the step's final status)


def run_plan(
    px: Any,
    plan: Plan,
    *,
    confirm: bool | Confirmer = False,
    typed: Iterable[str] = (),
    progress: StepProgress | None = None,
) -> RunResult:
    """Run ``plan`` under the confirmation rules above; ``progress`` (optional) hears each step start and
    end, for a front end's progress display. It decides nothing."""
    typed = tuple(typed)
    result = RunResult(plan)
    if plan.refused or plan.out_of_scope:
        audit(
            px,
            "omni.run",
            plan.request,
            "nothing to run (" + ("refused" if plan.refused else "out of scope") + ")",
        )
        return result
    needs = requirements(plan)
    missing = [item for item in needs if not approved(item, confirm, typed)]
    for item in needs:
        if item.need is not Need.NOTHING:
            state = "missing" if item in missing else "given"
            audit(
                px,
                "omni.confirm",
                plan.request,
                f"step {item.index + 1} {item.step.call_text()}: {item.need} {state}",
            )
    result.missing = missing
    undo_steps: list[dict[str, Any]] = []
    stopped = False
    for item in needs:
        step = item.step
        if missing and step.risk is not Risk.READ:
            result.outcomes.append(StepOutcome(item.index, step.action, "not confirmed"))
            continue
        if stopped:
            result.outcomes.append(StepOutcome(item.index, step.action, "skipped"))
            continue
        if progress is not None:
            progress(item.index, step, "running")
        try:
            net = safety_net(px, step)
            detail, data, inverse = execute(px, step, net)
        except ProximityError as error:
            outcome = StepOutcome(item.index, step.action, "failed", f"{type(error).__name__}: {error}")
            stopped = True
        else:
            outcome = StepOutcome(item.index, step.action, "done", detail, data)
            undo_steps = inverse + undo_steps
        result.outcomes.append(outcome)
        if progress is not None:
            progress(item.index, step, outcome.status)
        audit(px, "omni.step", plan.request, f"{step.call_text()}: {outcome.status} {outcome.detail}".strip())
    if undo_steps:
        save_undo(px, plan.request, undo_steps)
    return result


# ------------------------------------------------------------------ safety nets and execution


def safety_net(px: Any, step: Step) -> dict[str, Any]:
    """Taken just before a risky step: what undo needs to put things back."""
    net: dict[str, Any] = {}
    if step.action in ("apps.resize", "apps.migrate", "apps.update"):
        app = px.apps.get(str(step.args["name"]), live=False)
        net.update(node=app.node, cores=app.cores, memory_mb=app.memory_mb, host=app.host, vmid=app.vmid)
    if step.action == "apps.update":
        snapname = "omni" + datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        px.pve(net["host"]).snapshot(net["node"], net["vmid"], snapname, "before an Omni-Prompt update")
        net["snapshot"] = snapname
    if step.action == "backups.restore" and not step.args.get("as_name"):
        app_name = _restore_app(px, step)
        net["backup_before"] = px.backups.create(app_name).volid
    return net


def _restore_app(px: Any, step: Step) -> str:
    if "app" in step.args:
        return str(step.args["app"])
    return str(px.backups.get(str(step.args["backup_id"])).app)


def _latest_backup(px: Any, app: str) -> str:
    backups = sorted(px.backups.list(app), key=lambda b: b.created_at)
    if not backups:
        from proximity.errors import NotFound

        raise NotFound(f"{app} has no backup to restore")
    return str(backups[-1].volid)


def execute(px: Any, step: Step, net: dict[str, Any]) -> tuple[str, Any, list[dict[str, Any]]]:
    """Run one step; return (a line saying what happened, the SDK's result, the undo steps)."""
    a = step.args
    action = step.action
    if action == "apps.deploy":
        app = px.apps.deploy(
            str(a["catalog_id"]),
            name=a.get("name"),
            host=a.get("host"),
            node=a.get("node"),
            cores=a.get("cores"),
            memory=a.get("memory_mb"),
            disk=a.get("disk_gb"),
        )
        return (
            f"{app.name} is {app.status.value}" + (f" at {app.url}" if app.url else ""),
            app,
            [{"action": "apps.delete", "args": {"name": app.name}}],
        )
    if action == "apps.list":
        apps = px.apps.list(a.get("host"))
        apps = [
            x
            for x in apps
            if ("status" not in a or x.status.value == a["status"])
            and ("name" not in a or x.name == a["name"])
        ]
        return ", ".join(f"{x.name} ({x.status.value})" for x in apps) or "no apps", apps, []
    if action in ("apps.start", "apps.stop", "apps.restart"):
        app = getattr(px.apps, action.split(".")[1])(str(a["name"]))
        inverse = {"apps.start": "apps.stop", "apps.stop": "apps.start"}.get(action)
        return (
            f"{app.name} is {app.status.value}",
            app,
            ([{"action": inverse, "args": {"name": app.name}}] if inverse else []),
        )
    if action == "apps.delete":
        px.apps.delete(str(a["name"]), purge=bool(a.get("purge")), confirm=True)
        if a.get("purge"):
            return f"{a['name']} and its backups are deleted", None, []
        kept = _latest_backup(px, str(a["name"]))
        return (
            f"{a['name']} is deleted (final backup {kept})",
            None,
            [{"action": "backups.restore", "args": {"backup_id": kept, "as_name": str(a["name"])}}],
        )
    if action == "apps.clone":
        app = px.apps.clone(str(a["name"]), str(a["new_name"]))
        return (
            f"{app.name} is {app.status.value}",
            app,
            [{"action": "apps.delete", "args": {"name": app.name}}],
        )
    if action == "apps.update":
        app = px.apps.update(str(a["name"]))
        return (
            f"{app.name} is at version {app.version}",
            app,
            [{"action": "snapshot.rollback", "args": {"name": app.name, "snapshot": net["snapshot"]}}],
        )
    if action == "apps.logs":
        text = px.apps.logs(str(a["name"]), lines=int(a.get("lines", 100)))
        return f"{len(text.splitlines())} lines", text, []
    if action == "apps.migrate":
        app = px.apps.migrate(str(a["name"]), str(a["node"]))
        return (
            f"{app.name} now runs on {app.node}",
            app,
            [{"action": "apps.migrate", "args": {"name": app.name, "node": net["node"]}}],
        )
    if action == "apps.resize":
        app = px.apps.resize(
            str(a["name"]), cores=a.get("cores"), memory_mb=a.get("memory_mb"), disk_gb=a.get("disk_gb")
        )
        back = {k: net[k] for k in ("cores", "memory_mb") if k in a}
        return (
            f"{app.name}: {app.cores} cores, {app.memory_mb} MiB, {app.disk_gb} GiB",
            app,
            ([{"action": "apps.resize", "args": {"name": app.name, **back}}] if back else []),
        )
    if action == "backups.create":
        backup = px.backups.create(str(a["app"]))
        return f"backup {backup.volid}", backup, []
    if action == "backups.list":
        backups = px.backups.list(a.get("app"))
        return f"{len(backups)} backup(s)", backups, []
    if action == "backups.restore":
        volid = str(a["backup_id"]) if "backup_id" in a else _latest_backup(px, str(a["app"]))
        as_name = a.get("as_name")
        app = px.backups.restore(volid, as_name=as_name, confirm=as_name is None)
        if as_name:
            return (
                f"{app.name} restored from {volid}",
                app,
                [{"action": "apps.delete", "args": {"name": app.name}}],
            )
        return (
            f"{app.name} restored from {volid}",
            app,
            [{"action": "backups.restore", "args": {"backup_id": net["backup_before"]}}],
        )
    if action == "catalog.search":
        if "query" in a:
            entries = [hit.entry for hit in px.catalog.search(str(a["query"]))]
        else:
            entries = px.catalog.list()
        if "category" in a:
            entries = [e for e in entries if a["category"] in e.categories]
        return ", ".join(e.id for e in entries[:10]) or "nothing found", entries, []
    if action == "hosts.list":
        hosts = px.hosts.list()
        return ", ".join(h.name for h in hosts) or "no hosts", hosts, []
    if action == "hosts.status":
        return _host_status(px, str(a["host"]))
    if action == "help":
        return HELP_TEXT, None, []
    raise ProximityError(f"{action} cannot run")


def _host_status(px: Any, name: str) -> tuple[str, Any, list[dict[str, Any]]]:
    hosts = [h.name for h in px.hosts.list()]
    nodes = px.hosts.nodes(name) if name in hosts else [n for n in px.hosts.nodes() if n.name == name]
    if not nodes:
        from proximity.errors import NotFound

        raise NotFound(f"no host or node named {name!r}")
    parts = [
        f"{n.name}: {'online' if n.online else 'offline'}, cpu {n.cpu:.0%}, "
        f"memory {n.mem_used / max(n.mem_total, 1):.0%}"
        for n in nodes
    ]
    return "; ".join(parts), nodes, []


HELP_TEXT = (
    "I turn requests into plans of Proximity actions: install apps from the catalog, start/stop/restart, "
    "update, clone, move, resize, show logs, back up and restore, list apps, backups and hosts. "
    "Read-only steps run at once, changes need a yes, deletions need you to type the app's name."
)


# ------------------------------------------------------------------ the undo record


def undo_path(px: Any) -> Path:
    return Path(px.home) / UNDO_FILE


def save_undo(px: Any, request: str, steps: list[dict[str, Any]]) -> None:
    path = undo_path(px)
    record = {"request": request, "time": datetime.now(UTC).isoformat(), "steps": steps}
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(record, indent=2), encoding="utf-8")
    os.replace(temporary, path)


def load_undo(px: Any) -> dict[str, Any] | None:
    path = undo_path(px)
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


# ------------------------------------------------------------------ undo


def undo_requirements(record: dict[str, Any]) -> list[Confirmation]:
    """Undo steps need what their own action needs; a snapshot rollback (it discards every change made
    since the update) is confirmed by typing the app's name."""
    from proximity.omni.safety import requirement
    from proximity.omni.sentences import sentence

    items: list[Confirmation] = []
    for index, raw in enumerate(record["steps"]):
        if raw["action"] == "snapshot.rollback":
            name = str(raw["args"]["name"])
            items.append(
                Confirmation(
                    index,
                    None,
                    Need.TYPED,
                    f"Roll {name} back to the snapshot taken before its update "
                    f"(changes since are lost). Type '{name}' to confirm.",
                    name,
                )
            )
            continue
        step = Step(
            action=raw["action"], args=raw["args"], sentence=sentence(raw["action"], raw["args"], "en")
        )
        items.append(requirement(index, step))
    return items


def undo_last(px: Any, *, confirm: bool | Confirmer = False, typed: Iterable[str] = ()) -> list[StepOutcome]:
    """Reverse the last plan that changed something. Needs the same confirmations as any plan."""
    from proximity.errors import NotFound

    record = load_undo(px)
    if record is None:
        raise NotFound("there is no plan to undo")
    typed = tuple(typed)
    items = undo_requirements(record)
    missing = [item for item in items if not approved(item, confirm, typed)]
    if missing:
        audit(px, "omni.undo", record["request"], "not confirmed")
        return [
            StepOutcome(item.index, _undo_action(record, item.index), "not confirmed", item.message)
            for item in missing
        ]
    outcomes: list[StepOutcome] = []
    for item in items:
        raw = record["steps"][item.index]
        try:
            if raw["action"] == "snapshot.rollback":
                app = px.apps.get(str(raw["args"]["name"]), live=False)
                px.pve(app.host).rollback(app.node, app.vmid, str(raw["args"]["snapshot"]))
                detail = f"{app.name} rolled back to {raw['args']['snapshot']}"
            else:
                assert item.step is not None
                detail, _, _ = execute(px, item.step, {})
        except ProximityError as error:
            outcomes.append(
                StepOutcome(item.index, raw["action"], "failed", f"{type(error).__name__}: {error}")
            )
            break
        outcomes.append(StepOutcome(item.index, raw["action"], "done", detail))
    audit(px, "omni.undo", record["request"], "; ".join(f"{o.action}: {o.status}" for o in outcomes))
    if all(o.status == "done" for o in outcomes):
        undo_path(px).unlink(missing_ok=True)
    return outcomes


def _undo_action(record: dict[str, Any], index: int) -> str:
    return str(record["steps"][index]["action"])
