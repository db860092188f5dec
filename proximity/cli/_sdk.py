"""What the SDK sub-commands (hosts, apps, backups, jobs) share: the state-dir option, opening the client,
JSON output, tables, progress bars fed by job events, confirmation, and turning SDK errors into messages."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import click
from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from proximity.errors import ProximityError
from proximity.models import JobEvent

F = TypeVar("F", bound=Callable[..., Any])
console = Console()
errors = Console(stderr=True)


def db_option(fn: F) -> F:
    return click.option(
        "--db",
        "db",
        envvar="PROXIMITY_HOME",
        type=click.Path(file_okay=True),
        help="State directory (default ~/.proximity; env PROXIMITY_HOME)",
    )(fn)


def json_option(fn: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table")(fn)


def yes_option(fn: F) -> F:
    return click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation")(fn)


def open_client(db: str | None) -> Any:
    from proximity.client import Proximity

    return Proximity(db, front_end="cli")


def handle_errors(fn: F) -> F:
    """SDK errors become one red line and exit status 1 (no traceback, no secret)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ProximityError as error:
            errors.print(f"[red]error:[/red] {type(error).__name__}: {error}", markup=True, highlight=False)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def to_jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return value


def print_json(value: Any) -> None:
    click.echo(json.dumps(to_jsonable(value), indent=2, default=str))


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)


def confirm(message: str, yes: bool) -> None:
    if not yes:
        click.confirm(message, abort=True)


def read_secret_file(path: str | None) -> str | None:
    """A secret from a file (``-`` is stdin), never from the command line where ``ps`` would show it."""
    if path is None:
        return None
    if path == "-":
        text = sys.stdin.read()
    else:
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as error:
            raise click.BadParameter(f"{path}: {error.strerror}") from None
        except UnicodeDecodeError:
            raise click.BadParameter(f"{path}: not UTF-8 text") from None
    return text.strip() or None


@contextmanager
def job_progress(title: str, quiet: bool = False) -> Iterator[Callable[[JobEvent], None]]:
    """A rich progress bar driven by job events; yields the ``on_event`` callback."""
    if quiet:
        yield lambda event: None
        return
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=errors,
        transient=False,
    )
    with progress:
        task = progress.add_task(title, total=1.0)

        def on_event(event: JobEvent) -> None:
            if event.kind == "step-started":
                progress.update(task, description=f"{title}: {event.message}", completed=event.progress)
            elif event.kind in ("step-done", "job-succeeded"):
                progress.update(task, completed=event.progress)
            elif event.kind in ("info", "retry"):
                progress.console.print(f"  [dim]{event.step or ''}[/dim] {event.message}", highlight=False)
            elif event.kind in ("step-failed", "undo-started", "undo-failed"):
                progress.console.print(
                    f"  [yellow]{event.kind}[/yellow] {event.step or ''} {event.message}", highlight=False
                )
            if event.kind == "job-succeeded":
                progress.update(task, description=f"{title}: done", completed=1.0)

        yield on_event
