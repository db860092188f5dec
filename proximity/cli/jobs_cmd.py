"""``proximity jobs``: list, show (with events), follow, cancel, recover."""

from __future__ import annotations

import click

from proximity.cli._sdk import db_option, handle_errors, json_option, open_client, print_json, print_table


@click.group()
def jobs() -> None:
    """Long operations: their steps, events and outcome."""


@jobs.command("list")
@click.option(
    "--state",
    type=click.Choice(["pending", "running", "succeeded", "failed", "rollback-failed", "cancelled"]),
)
@click.option("--limit", type=int, default=30, show_default=True)
@db_option
@json_option
@handle_errors
def list_jobs(state: str | None, limit: int, db: str | None, as_json: bool) -> None:
    with open_client(db) as px:
        rows = px.jobs.list(state, limit)
    if as_json:
        print_json(rows)
        return
    print_table(
        "Jobs",
        ["id", "kind", "target", "state", "progress", "started", "error"],
        [
            [
                j.id,
                j.kind,
                j.target,
                j.state.value,
                f"{j.progress * 100:.0f}%",
                f"{j.created_at:%m-%d %H:%M:%S}",
                (j.error or "")[:60],
            ]
            for j in rows
        ],
    )


@jobs.command("show")
@click.argument("job_id")
@db_option
@json_option
@handle_errors
def show(job_id: str, db: str | None, as_json: bool) -> None:
    """A job and its events."""
    with open_client(db) as px:
        job = px.jobs.get(job_id)
        events = px.jobs.events(job_id)
    if as_json:
        print_json({"job": job, "events": events})
        return
    click.echo(
        f"{job.id} {job.kind} {job.target}: {job.state.value}" + (f" ({job.error})" if job.error else "")
    )
    for e in events:
        click.echo(f"  {e.time:%H:%M:%S.%f}"[:-3] + f" {e.kind:<14} {e.step or '':<14} {e.message}")


@jobs.command("follow")
@click.argument("job_id")
@db_option
@handle_errors
def follow(job_id: str, db: str | None) -> None:
    """Print a job's events as they happen (also a job run by another process)."""
    with open_client(db) as px:
        for e in px.jobs.follow(job_id):
            click.echo(f"{e.time:%H:%M:%S} {e.kind:<14} {e.step or '':<14} {e.message}")


@jobs.command("cancel")
@click.argument("job_id")
@db_option
@handle_errors
def cancel(job_id: str, db: str | None) -> None:
    """Ask a running job to stop after its current step (it rolls back); works across processes."""
    with open_client(db) as px:
        px.jobs.cancel(job_id)
    click.echo(f"cancel requested for {job_id}")


@jobs.command("recover")
@db_option
@json_option
@handle_errors
def recover(db: str | None, as_json: bool) -> None:
    """Roll back the jobs a killed process left running."""
    with open_client(db) as px:
        rows = px.jobs.recover()
    if as_json:
        print_json(rows)
        return
    click.echo(
        "\n".join(f"{j.id} {j.kind} {j.target}: {j.state.value}" for j in rows) or "nothing to recover"
    )
