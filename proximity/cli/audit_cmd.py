"""``proximity audit``: read the audit log and check its hash chain.

``verify`` exits 0 with "N entries, chain intact" and prints an anchor (``<count>:<head hash>``) to keep
somewhere else; given back with ``--anchor``, it also proves no entry up to that point was cut or
rewritten. It exits 1 naming the first broken entry otherwise.
"""

from __future__ import annotations

import sys

import click

from proximity.cli._sdk import db_option, handle_errors, json_option, open_client, print_json, print_table


@click.group()
def audit() -> None:
    """The audit log: who did what, from which front end, with what outcome (append-only, hash-chained)."""


@audit.command("list")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@db_option
@json_option
@handle_errors
def list_entries(limit: int, db: str | None, as_json: bool) -> None:
    """The most recent entries, newest first."""
    with open_client(db) as px:
        entries = px.audit(limit)
    if as_json:
        print_json(entries)
        return
    print_table(
        "Audit log",
        ["id", "time", "who", "front end", "action", "target", "outcome"],
        [
            [e.id, f"{e.time:%Y-%m-%d %H:%M:%S}", e.who, e.front_end, e.action, e.target[:60], e.outcome[:60]]
            for e in entries
        ],
    )


@audit.command("verify")
@click.option(
    "--anchor",
    help="<count>:<hash> printed by an earlier verify: also check that prefix is still there, unchanged",
)
@db_option
@handle_errors
def verify(anchor: str | None, db: str | None) -> None:
    """Recompute the hash chain; exit 1 at the first entry that was edited, removed or inserted."""
    with open_client(db) as px:
        report = px.verify_audit(anchor)
    if report.intact:
        click.echo(report.describe())
        if report.anchor is not None:
            click.echo(f"anchor: {report.anchor}  (keep it elsewhere; --anchor checks the tail was not cut)")
        return
    click.echo(report.describe(), err=True)
    sys.exit(1)
