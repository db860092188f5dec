"""``proximity ask "..."``: a request in English or Italian -> a plan, shown, then run once confirmed.

``--plan-only --json`` prints ``[{"action": ..., "args": {...}, "risk": ...}]`` and changes nothing.
``--yes`` answers the yes of changes; it never answers a destructive step, whose exact text (the app's
name) is always typed at the prompt.
"""

from __future__ import annotations

import json
import sys

import click

from proximity.cli._sdk import console, db_option, errors, handle_errors, open_client


def _confirmer(yes: bool):  # type: ignore[no-untyped-def]
    from proximity.omni.safety import Confirmation, Need

    def confirm(item: Confirmation) -> bool | str:
        if item.need is Need.YES:
            if yes:
                return True
            return click.confirm(f"Run step {item.index + 1}: {item.message}?", default=False, err=True)
        if not sys.stdin.isatty():
            errors.print(f"[yellow]{item.message}[/yellow] (needs a terminal to type it)", highlight=False)
        try:
            return str(click.prompt(item.message, default="", show_default=False, err=True))
        except click.Abort:
            return ""

    return confirm


@click.command()
@click.argument("request", nargs=-1)
@click.option("--plan-only", is_flag=True, help="Show the plan and change nothing")
@click.option("--json", "as_json", is_flag=True, help="Print the plan (or the outcome) as JSON")
@click.option("--yes", "-y", is_flag=True, help="Approve changes (never a destructive step: type its name)")
@click.option(
    "--no-model", is_flag=True, help="Use the deterministic parser only, even if the model is installed"
)
@click.option("--undo", "undo_last", is_flag=True, help="Reverse the last plan that changed something")
@db_option
@handle_errors
def ask(
    request: tuple[str, ...],
    plan_only: bool,
    as_json: bool,
    yes: bool,
    no_model: bool,
    undo_last: bool,
    db: str | None,
) -> None:
    """Turn REQUEST (English or Italian) into a plan of Proximity actions and run it once confirmed."""
    from proximity.omni.ask import ask as plan_request
    from proximity.omni.ask import undo

    with open_client(db) as px:
        if undo_last:
            outcomes = undo(px, confirm=_confirmer(yes))
            for outcome in outcomes:
                console.print(f"undo {outcome.action}: {outcome.status} {outcome.detail}", highlight=False)
            if any(o.status != "done" for o in outcomes):
                sys.exit(1)
            return
        text = " ".join(request).strip()
        if not text:
            raise click.UsageError('give a request, e.g. proximity ask "riavvia jellyfin"')
        asked = plan_request(px, text, ranker=None if no_model else "auto")
        plan = asked.plan
        if plan_only:
            if as_json:
                click.echo(json.dumps(plan.as_json(), indent=2, ensure_ascii=False))
            else:
                console.print(plan.describe(), highlight=False, markup=False)
            return
        if not as_json:
            console.print(f"[bold]Plan[/bold] ({plan.chosen_by}, confidence {plan.confidence:.2f}):")
            console.print(plan.describe(), highlight=False, markup=False)
        if plan.out_of_scope or plan.refused:
            if as_json:
                click.echo(json.dumps({"plan": plan.as_json(), "outcomes": []}, indent=2, ensure_ascii=False))
            return
        result = asked.run(confirm=_confirmer(yes))
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "plan": plan.as_json(),
                        "outcomes": [
                            {"step": o.index + 1, "action": o.action, "status": o.status, "detail": o.detail}
                            for o in result.outcomes
                        ],
                        "missing": [m.message for m in result.missing],
                    },
                    indent=2,
                    ensure_ascii=False,
                )
            )
        else:
            for outcome in result.outcomes:
                colour = "green" if outcome.status == "done" else "yellow"
                console.print(
                    f"{outcome.index + 1}. {outcome.action}: [{colour}]{outcome.status}[/{colour}] "
                    f"{outcome.detail}",
                    highlight=False,
                )
            if result.missing:
                console.print("[yellow]Nothing was changed: a confirmation was missing.[/yellow]")
        if not result.ok:
            sys.exit(1)
