"""``proximity apps``: deploy, list, show, lifecycle verbs, logs, metrics, update, adopt, reconcile."""

from __future__ import annotations

import sys

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
from proximity.models import App


def _env_pairs(pairs: tuple[str, ...]) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected NAME=value, got {pair!r}", param_hint="--env")
        env[key] = value
    return env


def _env_file_values(text: str, source: str) -> dict[str, str]:
    """``NAME=value`` lines (blank lines and ``#`` comments skipped, an optional ``export``); the value is
    everything after the first ``=``, with one pair of surrounding matching quotes removed. No escapes and
    no ``$`` expansion: what is written is what the app gets."""
    env: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        key = key.strip()
        if not sep or not key:
            raise click.BadParameter(f"line {number}: expected NAME=value", param_hint=source)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[key] = value
    return env


def _read_stdin_once(used: list[str], what: str) -> str:
    if used:
        raise click.UsageError(f"stdin is already read for {used[0]}; it cannot also give {what}")
    used.append(what)
    return sys.stdin.read()


def collect_env(
    pairs: tuple[str, ...], env_files: tuple[str, ...], stdin_names: tuple[str, ...]
) -> dict[str, str]:
    """The inputs of a deploy: ``--env-file`` files first (``-`` is stdin), then ``--env NAME=value``, then
    ``--env-stdin NAME`` (the whole of stdin, less its final line break, as NAME's value). Files and stdin
    keep secrets off the command line, where ``ps`` would show them to every local user."""
    stdin_used: list[str] = []
    env: dict[str, str] = {}
    for path in env_files:
        if path == "-":
            text = _read_stdin_once(stdin_used, "--env-file -")
        else:
            try:
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
            except OSError as error:
                raise click.BadParameter(f"{path}: {error.strerror}", param_hint="--env-file") from None
            except UnicodeDecodeError:
                raise click.BadParameter(f"{path}: not UTF-8 text", param_hint="--env-file") from None
        env.update(_env_file_values(text, f"--env-file {path}"))
    env.update(_env_pairs(pairs))
    if len(stdin_names) > 1:
        raise click.UsageError("--env-stdin can be given once (stdin holds one value)")
    for name in stdin_names:
        value = _read_stdin_once(stdin_used, f"--env-stdin {name}")
        env[name] = value.removesuffix("\n")
    return env


def _summary(app: App) -> str:
    return f"{app.name}: {app.status.value} on {app.host}/{app.node} (CT {app.vmid})" + (
        f" {app.url}" if app.url else ""
    )


@click.group()
def apps() -> None:
    """Apps deployed from the catalog (one LXC container each)."""


@apps.command("deploy")
@click.argument("catalog_id")
@click.option("--name", help="App name (default: the catalog id)")
@click.option("--host", help="Host (default: the only one recorded)")
@click.option("--node", help="Node (default: the one with most headroom)")
@click.option("--cores", type=int)
@click.option("--memory", type=int, help="MiB")
@click.option("--disk", type=int, help="GiB")
@click.option("--env", "env", multiple=True, metavar="NAME=value", help="An input of the catalog entry")
@click.option(
    "--env-file",
    "env_files",
    multiple=True,
    metavar="FILE",
    help="NAME=value lines (- for stdin); keeps secrets out of `ps`",
)
@click.option("--env-stdin", "env_stdin", multiple=True, metavar="NAME", help="Read NAME's value from stdin")
@click.option("--method", type=click.Choice(["oci", "compose", "script"]), help="Install method")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar")
@db_option
@json_option
@handle_errors
def deploy(
    catalog_id: str,
    name: str | None,
    host: str | None,
    node: str | None,
    cores: int | None,
    memory: int | None,
    disk: int | None,
    env: tuple[str, ...],
    env_files: tuple[str, ...],
    env_stdin: tuple[str, ...],
    method: str | None,
    quiet: bool,
    db: str | None,
    as_json: bool,
) -> None:
    """Deploy CATALOG_ID as a new app."""
    inputs = collect_env(env, env_files, env_stdin)
    with open_client(db) as px, job_progress(f"deploy {name or catalog_id}", quiet or as_json) as on_event:
        app = px.apps.deploy(
            catalog_id,
            name=name,
            host=host,
            node=node,
            cores=cores,
            memory=memory,
            disk=disk,
            env=inputs,
            method=method,
            on_event=on_event,
        )
    if as_json:
        print_json(app)
    else:
        click.echo(_summary(app))


@apps.command("list")
@click.option("--host")
@db_option
@json_option
@handle_errors
def list_apps(host: str | None, db: str | None, as_json: bool) -> None:
    """Apps with their live state."""
    with open_client(db) as px:
        rows = px.apps.list(host)
    if as_json:
        print_json(rows)
        return
    print_table(
        "Apps",
        ["name", "app", "status", "host", "node", "CT", "url"],
        [[a.name, a.catalog_id, a.status.value, a.host, a.node, a.vmid, a.url] for a in rows],
    )


@apps.command("show")
@click.argument("name")
@db_option
@json_option
@handle_errors
def show(name: str, db: str | None, as_json: bool) -> None:
    with open_client(db) as px:
        app = px.apps.get(name)
    if as_json:
        print_json(app)
        return
    for key, value in app.model_dump().items():
        click.echo(f"{key:>14}: {value}")


def _verb(verb: str, help_text: str) -> None:
    @apps.command(verb, help=help_text)
    @click.argument("name")
    @db_option
    @json_option
    @handle_errors
    def command(name: str, db: str | None, as_json: bool) -> None:
        with open_client(db) as px, job_progress(f"{verb} {name}", as_json) as on_event:
            app = getattr(px.apps, verb)(name, on_event=on_event)
        print_json(app) if as_json else click.echo(_summary(app))


_verb("start", "Start an app.")
_verb("stop", "Stop an app (hard stop; see shutdown).")
_verb("restart", "Restart an app.")
_verb("update", "Safe update: snapshot, update, health check, automatic rollback on failure.")


@apps.command("shutdown")
@click.argument("name")
@click.option("--timeout", type=int, default=60, show_default=True, help="Seconds before a hard stop")
@db_option
@json_option
@handle_errors
def shutdown(name: str, timeout: int, db: str | None, as_json: bool) -> None:
    """Graceful shutdown, then a hard stop after --timeout."""
    with open_client(db) as px, job_progress(f"shutdown {name}", as_json) as on_event:
        app = px.apps.shutdown(name, timeout=timeout, on_event=on_event)
    print_json(app) if as_json else click.echo(_summary(app))


@apps.command("delete")
@click.argument("name")
@click.option("--purge", is_flag=True, help="Also delete the app's backups (default: keep a final backup)")
@yes_option
@db_option
@handle_errors
def delete(name: str, purge: bool, yes: bool, db: str | None) -> None:
    """Destroy an app's container (a final backup is kept unless --purge)."""
    what = "and ALL its backups" if purge else "(a final backup is kept)"
    confirm(f"Delete app {name!r} {what}?", yes)
    with open_client(db) as px, job_progress(f"delete {name}") as on_event:
        px.apps.delete(name, purge=purge, confirm=True, on_event=on_event)
    click.echo(f"deleted {name}")


@apps.command("clone")
@click.argument("name")
@click.argument("new_name")
@db_option
@json_option
@handle_errors
def clone(name: str, new_name: str, db: str | None, as_json: bool) -> None:
    """A copy of NAME as NEW_NAME (from a temporary snapshot)."""
    with open_client(db) as px, job_progress(f"clone {name} -> {new_name}", as_json) as on_event:
        app = px.apps.clone(name, new_name, on_event=on_event)
    print_json(app) if as_json else click.echo(_summary(app))


@apps.command("resize")
@click.argument("name")
@click.option("--cores", type=int)
@click.option("--memory", type=int, help="MiB")
@click.option("--disk", type=int, help="GiB (grow only)")
@db_option
@json_option
@handle_errors
def resize(
    name: str, cores: int | None, memory: int | None, disk: int | None, db: str | None, as_json: bool
) -> None:
    """Change cores, memory or disk size."""
    with open_client(db) as px:
        app = px.apps.resize(name, cores=cores, memory_mb=memory, disk_gb=disk)
    print_json(app) if as_json else click.echo(
        f"{_summary(app)}: {app.cores} cores, {app.memory_mb} MiB, {app.disk_gb} GiB"
    )


@apps.command("migrate")
@click.argument("name")
@click.argument("node")
@db_option
@json_option
@handle_errors
def migrate(name: str, node: str, db: str | None, as_json: bool) -> None:
    """Move an app to another node of its cluster."""
    with open_client(db) as px, job_progress(f"migrate {name} -> {node}", as_json) as on_event:
        app = px.apps.migrate(name, node, on_event=on_event)
    print_json(app) if as_json else click.echo(_summary(app))


@apps.command("adopt")
@click.argument("vmid", type=int)
@click.option("--name", required=True)
@click.option("--host")
@click.option("--catalog-id", help="The catalog app this container runs, if any")
@db_option
@json_option
@handle_errors
def adopt(
    vmid: int, name: str, host: str | None, catalog_id: str | None, db: str | None, as_json: bool
) -> None:
    """Record an existing container that Proximity did not create."""
    with open_client(db) as px:
        app = px.apps.adopt(vmid, name=name, host=host, catalog_id=catalog_id)
    print_json(app) if as_json else click.echo(_summary(app))


@apps.command("logs")
@click.argument("name")
@click.option("--lines", "-n", type=int, default=100, show_default=True)
@click.option("--deployment", is_flag=True, help="The deployment log instead of the app's own logs")
@db_option
@handle_errors
def logs(name: str, lines: int, deployment: bool, db: str | None) -> None:
    with open_client(db) as px:
        click.echo(px.apps.logs(name, lines=lines, deployment=deployment), nl=False)


@apps.command("metrics")
@click.argument("name")
@click.option("--timeframe", type=click.Choice(["hour", "day", "week", "month", "year"]), default="hour")
@db_option
@json_option
@handle_errors
def metrics(name: str, timeframe: str, db: str | None, as_json: bool) -> None:
    """CPU, memory and network figures from rrddata."""
    with open_client(db) as px:
        points = px.apps.metrics(name, timeframe=timeframe)
    if as_json:
        print_json(points)
        return
    print_table(
        f"{name} ({timeframe})",
        ["time", "cpu %", "mem MiB", "net in B/s", "net out B/s"],
        [
            [
                f"{p.time:%H:%M}",
                f"{(p.cpu or 0) * 100:.1f}",
                f"{(p.mem or 0) / 1024**2:.0f}",
                f"{p.netin or 0:.0f}",
                f"{p.netout or 0:.0f}",
            ]
            for p in points[-20:]
        ],
    )


@apps.command("reconcile")
@db_option
@json_option
@handle_errors
def reconcile(db: str | None, as_json: bool) -> None:
    """Compare records with Proxmox and repair drift."""
    with open_client(db) as px:
        drifts = px.apps.reconcile()
    if as_json:
        print_json(drifts)
        return
    if not drifts:
        click.echo("no drift")
    for d in drifts:
        click.echo(
            f"{d.app}: {d.field} was {d.recorded}, is {d.actual} ({'repaired' if d.repaired else 'left'})"
        )
