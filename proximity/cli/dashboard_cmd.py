"""``proximity dashboard``: serve the Panel command deck (login, roles, live jobs); ``--demo`` adds the
embedded Proxmox VE simulator as host ``demo`` first. ``proximity dashboard users ...`` manages logins."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from proximity.cli._sdk import db_option, handle_errors, read_secret_file


@click.group(invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on")
@click.option("--port", type=int, default=5006, show_default=True, help="Port (0: a free one)")
@click.option("--demo", is_flag=True, help="Start the built-in simulator and add it as host 'demo'")
@click.option(
    "--time-scale",
    type=float,
    default=0.2,
    show_default=True,
    help="Simulator speed for --demo (simulated seconds per real second; smaller is faster)",
)
@click.option("--no-login", is_flag=True, help="Skip the login page (only allowed on loopback)")
@click.option("--origin", "origins", multiple=True, help="Extra allowed websocket origin host:port")
@click.option(
    "--tls-cert", type=click.Path(dir_okay=False), help="PEM certificate: serve HTTPS (Secure cookies)"
)
@click.option("--tls-key", type=click.Path(dir_okay=False), help="PEM private key for --tls-cert")
@click.option(
    "--behind-proxy",
    is_flag=True,
    help="A TLS-terminating reverse proxy forwards to the dashboard: trust its X-Forwarded-Proto/-For "
    "(session cookies become Secure when it says https). Only with a proxy in front.",
)
@db_option
@click.pass_context
@handle_errors
def dashboard(
    ctx: click.Context,
    host: str,
    port: int,
    demo: bool,
    time_scale: float,
    no_login: bool,
    origins: tuple[str, ...],
    tls_cert: str | None,
    tls_key: str | None,
    behind_proxy: bool,
    db: str | None,
) -> None:
    """Serve the dashboard (the All-is-Rack command deck)."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = db
        return
    from dashboards.server import (
        DashboardConfigError,
        add_demo_host,
        check_tls,
        ensure_admin,
        free_port,
        is_loopback,
        serve,
    )
    from dashboards.users import UserStore
    from proximity.settings import state_dir

    if no_login and not is_loopback(host):
        raise click.UsageError("--no-login is only allowed when listening on loopback")
    home = state_dir(db)
    port = port or free_port(host)
    simulator = None
    try:
        check_tls(Path(tls_cert) if tls_cert else None, Path(tls_key) if tls_key else None)  # before anything
        if demo:
            from proximity.sim import Simulator

            simulator = Simulator(nodes=3, time_scale=time_scale).start()
            what = add_demo_host(home, simulator)
            click.echo(f"Simulator (3 nodes) at {simulator.url}; host 'demo' {what} in {home}")
        if not no_login:
            admin = ensure_admin(UserStore(home))
            if admin is not None:
                # printed once, to the terminal only (never logged); change it in Settings > Users
                click.echo(f"First run: created user '{admin.name}' with password: {admin.password}")

        def ready(url: str) -> None:
            click.echo(f"Proximity dashboard: {url}", err=False)
            sys.stdout.flush()

        serve(
            home,
            host=host,
            port=port,
            login=not no_login,
            origins=list(origins),
            ready=ready,
            tls_cert=Path(tls_cert) if tls_cert else None,
            tls_key=Path(tls_key) if tls_key else None,
            behind_proxy=behind_proxy,
        )
    except DashboardConfigError as error:
        raise click.ClickException(str(error)) from None
    except KeyboardInterrupt:
        pass
    finally:
        if simulator is not None:
            simulator.stop()


@dashboard.group()
def users() -> None:
    """Dashboard logins (stored hashed in the state directory)."""


@users.command("add")
@click.argument("name")
@click.option(
    "--role", type=click.Choice(["admin", "operator", "viewer"]), default="viewer", show_default=True
)
@click.option("--password-file", help="File holding the password ('-' for stdin); default: generate one")
@click.pass_obj
def users_add(db: str | None, name: str, role: str, password_file: str | None) -> None:
    """Add a user; a generated password is printed once."""
    from dashboards.users import UserError, UserStore, generate_password
    from proximity.settings import state_dir

    password = read_secret_file(password_file) or generate_password()
    try:
        UserStore(state_dir(db)).add(name, role, password)
    except UserError as error:
        raise click.ClickException(str(error)) from None
    if password_file is None:
        click.echo(f"Created {role} '{name}' with password: {password}")
    else:
        click.echo(f"Created {role} '{name}'")


@users.command("list")
@click.pass_obj
def users_list(db: str | None) -> None:
    """List users and roles (never passwords)."""
    from dashboards.users import UserStore
    from proximity.settings import state_dir

    for user in UserStore(state_dir(db)).list():
        locked = " (locked)" if user.locked_until else ""
        click.echo(f"{user.name}\t{user.role.value}{locked}")


@users.command("remove")
@click.argument("name")
@click.pass_obj
def users_remove(db: str | None, name: str) -> None:
    """Remove a user (the last admin stays)."""
    from dashboards.users import UserError, UserStore
    from proximity.settings import state_dir

    try:
        UserStore(state_dir(db)).remove(name)
    except UserError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Removed '{name}'")
