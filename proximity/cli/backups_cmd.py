"""``proximity backups``: create, list, restore, delete, protect, schedules."""

from __future__ import annotations

import re
from datetime import timedelta

import click

from proximity.cli._sdk import (
    confirm,
    db_option,
    handle_errors,
    job_progress,
    json_option,
    open_client,
    print_json,
    print_table,
    yes_option,
)


def _duration(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([mhdw])", text.strip())
    if not match:
        raise click.BadParameter("use a number and m, h, d or w, e.g. 12h or 1d", param_hint="--every")
    number, unit = int(match.group(1)), match.group(2)
    return {
        "m": timedelta(minutes=number),
        "h": timedelta(hours=number),
        "d": timedelta(days=number),
        "w": timedelta(weeks=number),
    }[unit]


@click.group()
def backups() -> None:
    """Backups of apps (vzdump, snapshot mode, zstd) and backup schedules."""


@backups.command("create")
@click.argument("app")
@click.option("--storage", help="Backup storage (default: Settings, else one that accepts backups)")
@click.option("--protect", is_flag=True, help="Protect the backup from pruning and deletion")
@db_option
@json_option
@handle_errors
def create(app: str, storage: str | None, protect: bool, db: str | None, as_json: bool) -> None:
    """Back up APP now."""
    with open_client(db) as px, job_progress(f"backup {app}", as_json) as on_event:
        backup = px.backups.create(app, storage=storage, protected=protect, on_event=on_event)
    print_json(backup) if as_json else click.echo(f"{backup.volid} ({backup.size / 1024**2:.1f} MiB)")


@backups.command("list")
@click.argument("app", required=False)
@db_option
@json_option
@handle_errors
def list_backups(app: str | None, db: str | None, as_json: bool) -> None:
    with open_client(db) as px:
        rows = px.backups.list(app)
    if as_json:
        print_json(rows)
        return
    print_table(
        "Backups",
        ["volid", "app", "host/node", "MiB", "created", "protected"],
        [
            [
                b.volid,
                b.app,
                f"{b.host}/{b.node}",
                f"{b.size / 1024**2:.1f}",
                f"{b.created_at:%Y-%m-%d %H:%M}",
                "yes" if b.protected else "",
            ]
            for b in rows
        ],
    )


@backups.command("restore")
@click.argument("volid")
@click.option("--as", "as_name", help="Restore as a new app with this name (default: over the original)")
@yes_option
@db_option
@json_option
@handle_errors
def restore(volid: str, as_name: str | None, yes: bool, db: str | None, as_json: bool) -> None:
    """Restore a backup in place (replaces the container) or as a new app."""
    if as_name is None:
        confirm(f"Restore {volid} over its app? Its current state is lost.", yes)
    with open_client(db) as px, job_progress(f"restore {volid}", as_json) as on_event:
        app = px.backups.restore(volid, as_name=as_name, confirm=True, on_event=on_event)
    print_json(app) if as_json else click.echo(
        f"{app.name}: {app.status.value} (CT {app.vmid}) {app.url or ''}"
    )


@backups.command("delete")
@click.argument("volid")
@yes_option
@db_option
@handle_errors
def delete(volid: str, yes: bool, db: str | None) -> None:
    confirm(f"Delete backup {volid}?", yes)
    with open_client(db) as px:
        px.backups.delete(volid, confirm=True)
    click.echo(f"deleted {volid}")


@backups.command("protect")
@click.argument("volid")
@click.option("--off", is_flag=True, help="Remove the protection")
@db_option
@handle_errors
def protect(volid: str, off: bool, db: str | None) -> None:
    with open_client(db) as px:
        backup = px.backups.protect(volid, protected=not off)
    click.echo(f"{backup.volid}: {'protected' if backup.protected else 'not protected'}")


@backups.command("schedule")
@click.argument("app")
@click.option("--every", required=True, help="Interval: 30m, 12h, 1d, 1w")
@click.option(
    "--keep", type=int, default=7, show_default=True, help="Backups kept (older unprotected ones pruned)"
)
@click.option("--storage")
@db_option
@json_option
@handle_errors
def schedule(app: str, every: str, keep: int, storage: str | None, db: str | None, as_json: bool) -> None:
    """Back up APP regularly (run by `proximity backups run-due` or the SDK's scheduler)."""
    with open_client(db) as px:
        result = px.backups.schedule(app, every=_duration(every), keep=keep, storage=storage)
    print_json(result) if as_json else click.echo(f"schedule {result.id}: {app} every {every}, keep {keep}")


@backups.command("schedules")
@db_option
@json_option
@handle_errors
def schedules(db: str | None, as_json: bool) -> None:
    with open_client(db) as px:
        rows = px.backups.schedules()
    if as_json:
        print_json(rows)
        return
    print_table(
        "Backup schedules",
        ["id", "app", "every (s)", "keep", "storage", "last run"],
        [[s.id, s.app, s.every_s, s.keep, s.storage, s.last_run] for s in rows],
    )


@backups.command("unschedule")
@click.argument("schedule_id", type=int)
@db_option
@handle_errors
def unschedule(schedule_id: int, db: str | None) -> None:
    with open_client(db) as px:
        px.backups.unschedule(schedule_id)
    click.echo(f"removed schedule {schedule_id}")


@backups.command("run-due")
@db_option
@json_option
@handle_errors
def run_due(db: str | None, as_json: bool) -> None:
    """Run the schedules that are due now (for cron or a systemd timer)."""
    with open_client(db) as px:
        made = px.backups.run_due()
    print_json(made) if as_json else click.echo("\n".join(b.volid for b in made) or "nothing due")
